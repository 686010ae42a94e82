package train

import (
	"errors"

	"github.com/medflow/medflow/nn"
)

// Sentinel errors.
var (
	ErrCheckpoint = errors.New("train: bad checkpoint")
	ErrData       = errors.New("train: bad data")
)

// Checkpoint is a resumable training state.
type Checkpoint struct {
	Model *nn.Model
	Opt   *nn.AdamW
	// Step is the number of optimizer steps done; training resumes there
	// (the shuffle of each epoch and the per-step randomness are derived
	// from the seed, epoch and step, so nothing else is needed).
	Step int64
}

// CurvePoint is one step of a training curve (one row of
// schemas.TrainingCurve).
type CurvePoint struct {
	Step       int64
	Epoch      int32
	Split      string
	Loss       float32
	LR         float32
	GradNorm   float32
	ImagesPerS float32
}

// Codec turns checkpoints and curves into artifact bytes and back. The
// trainer knows no file format; package stages/train gives the Arrow IPC
// one (model tables and curve tables).
type Codec interface {
	EncodeCheckpoint(c *Checkpoint) ([]byte, error)
	// DecodeCheckpoint reads what EncodeCheckpoint wrote; adam's
	// hyper-parameters come from cfg.
	DecodeCheckpoint(data []byte, cfg nn.AdamWConfig) (*Checkpoint, error)
	EncodeCurve(points []CurvePoint) ([]byte, error)
	DecodeCurve(data []byte) ([]CurvePoint, error)
}
