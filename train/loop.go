package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/nn"
)

// Artifacts is the side-file store a run checkpoints into
// (pipeline.Artifacts satisfies it).
type Artifacts interface {
	Put(ctx context.Context, name string, data []byte) error
	Get(ctx context.Context, name string) ([]byte, error)
	List(ctx context.Context) ([]string, error)
	Delete(ctx context.Context, name string) error
}

// Artifact names.
const (
	CurveArtifact     = "curve.arrow"
	CheckpointPrefix  = "checkpoints/"
	checkpointPattern = CheckpointPrefix + "step-%06d.arrow"
)

// Config is the optimization schedule.
type Config struct {
	Epochs    int
	BatchSize int
	// MaxSteps, when > 0, stops (and ends the cosine schedule) after that
	// many steps.
	MaxSteps int64
	LR       float64
	// MinLRRatio is the final learning rate as a fraction of LR.
	MinLRRatio float64
	// WarmupSteps, or when 0 WarmupFrac of the total steps, of linear warm-up.
	WarmupSteps int64
	WarmupFrac  float64
	Adam        nn.AdamWConfig
	ClipNorm    float64
	Seed        uint64
	// CheckpointEvery saves a checkpoint every that many steps (and at the
	// end); 0: only at the end.
	CheckpointEvery int64
	// Keep is how many checkpoints are kept (default 2).
	Keep int
	// ShuffleRows is how many rows the shuffle buffer holds (0:
	// DefaultShuffleRows); a split of at most that many rows is shuffled
	// as a whole.
	ShuffleRows int
}

// Batcher returns the data inputs of the step for the assembled batch (its
// images normalised; valid only during the call, its memory is reused);
// rng is derived from the seed and the step (masking, augmentation).
type Batcher func(batch *Data, step int64, rng *rand.Rand) ([]*tensors.Tensor, error)

// Job is one training run.
type Job struct {
	Name  string // for logs and errors ("train.mae")
	Model *nn.Model
	// Data is the training split, read through once per epoch.
	Data    Blocks
	Loss    nn.LossFn
	Batch   Batcher
	Backend backends.Backend
	Store   Artifacts
	// Codec writes and reads Store's checkpoints and curve; required
	// with a Store.
	Codec  Codec
	Logger *slog.Logger // per-epoch progress; add the job's name with Logger.With
	// Stock uses GoMLX's own matmul gradients (benchmarks).
	Stock bool
	// Val, when it has rows, is a validation set (read in order, batched
	// by Batch) whose mean loss is added to the curve (split "validate")
	// after every epoch.
	Val Blocks
}

// Result describes a finished run; the model's parameters are updated in
// place.
type Result struct {
	Steps       int64
	ResumedFrom int64 // 0 when started fresh
	Curve       []CurvePoint
}

// SteadyImagesPerS is the median images/s of this run's training steps
// after its first one (which compiles the step's graph on an XLA backend),
// or 0 when it ran fewer than two steps.
func (r *Result) SteadyImagesPerS() float64 {
	var v []float64
	for _, p := range r.Curve {
		if p.Split == "train" {
			v = append(v, float64(p.ImagesPerS))
		}
	}
	if len(v) < 2 {
		return 0
	}
	v = v[1:]
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Plan is the step arithmetic of a run.
type Plan struct {
	BatchSize     int
	StepsPerEpoch int64
	Total         int64
	Warmup        int64
}

// MakePlan derives batch size, steps per epoch and total steps; the last
// partial batch of an epoch is dropped (shapes stay fixed), and a dataset
// smaller than the batch trains with one batch of all examples.
func MakePlan(cfg Config, n int) (Plan, error) {
	if cfg.ShuffleRows < 0 {
		return Plan{}, fmt.Errorf("%w: shuffle_rows %d must be >= 1", ErrData, cfg.ShuffleRows)
	}
	if n < 2 {
		return Plan{}, fmt.Errorf("%w: %d examples; training needs at least 2", ErrData, n)
	}
	if cfg.BatchSize < 1 || cfg.Epochs < 1 {
		return Plan{}, fmt.Errorf("%w: batch_size %d and epochs %d must be >= 1", ErrData, cfg.BatchSize, cfg.Epochs)
	}
	p := Plan{BatchSize: min(cfg.BatchSize, n)}
	p.StepsPerEpoch = int64(n / p.BatchSize)
	p.Total = p.StepsPerEpoch * int64(cfg.Epochs)
	if cfg.MaxSteps > 0 && cfg.MaxSteps < p.Total {
		p.Total = cfg.MaxSteps
	}
	p.Warmup = cfg.WarmupSteps
	if p.Warmup == 0 {
		p.Warmup = int64(math.Round(cfg.WarmupFrac * float64(p.Total)))
	}
	return p, nil
}

// StepRNG is the per-step random source handed to the Batcher.
func StepRNG(seed uint64, step int64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(step)))
}

// Run trains job.Model for the configured steps, resuming from the latest
// checkpoint in job.Store when there is one.
func Run(ctx context.Context, cfg Config, job Job) (*Result, error) {
	if job.Store != nil && job.Codec == nil {
		return nil, fmt.Errorf("%s: train: Job.Store needs a Job.Codec", job.Name)
	}
	if job.Logger == nil {
		job.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 2
	}
	if cfg.ShuffleRows == 0 {
		cfg.ShuffleRows = DefaultShuffleRows
	}
	if job.Data == nil {
		return nil, fmt.Errorf("%s: train: Job.Data is nil", job.Name)
	}
	n := job.Data.Len()
	plan, err := MakePlan(cfg, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", job.Name, err)
	}
	res := &Result{}
	opt := nn.NewAdamW(cfg.Adam)
	start, curve, err := resume(ctx, cfg, job, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", job.Name, err)
	}
	res.ResumedFrom, res.Curve = start, curve
	if start > 0 {
		job.Logger.Info("resuming from checkpoint", "step", start, "total", plan.Total)
	}
	step, err := nn.NewTrainStep(job.Backend, job.Model.Params, job.Model.Trainable(), job.Stock, cfg.Adam, cfg.ClipNorm, job.Loss)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", job.Name, err)
	}
	defer step.Finalize()
	if err := step.Load(job.Model.Params, opt); err != nil {
		return nil, fmt.Errorf("%s: %w", job.Name, err)
	}
	// The parameters and moments live in the step between steps; synced
	// marks job.Model.Params and opt as holding them (after validation,
	// checkpoints, the end, and on an early return).
	synced := true
	sync := func() error {
		if synced {
			return nil
		}
		if err := step.Sync(job.Model.Params, opt); err != nil {
			return err
		}
		synced = true
		return nil
	}
	defer func() { _ = sync() }()
	var val *nn.Func
	if job.Val != nil && job.Val.Len() > 0 {
		if val, err = nn.NewFunc(job.Backend, job.Model.Params, job.Stock, func(s *nn.Scope, d []*graph.Node) []*graph.Node {
			loss, _ := job.Loss(s, d)
			return []*graph.Node{loss}
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", job.Name, err)
		}
		defer val.Finalize()
	}
	sched := nn.Schedule{Peak: cfg.LR, Warmup: plan.Warmup, Total: plan.Total, MinRatio: cfg.MinLRRatio}
	job.Logger.Info("training", append([]any{"examples", n, "shuffle_rows", cfg.ShuffleRows, "batch", plan.BatchSize,
		"steps_per_epoch", plan.StepsPerEpoch, "steps", plan.Total, "params", job.Model.Params.Count()}, nn.BackendAttrs(job.Backend)...)...)

	// One stream per epoch; a resumed epoch skips the rows of its steps
	// already taken.
	var st *stream
	defer func() {
		if st != nil {
			st.stop()
		}
	}()
	epochLoss, epochImgs, epochSteps := 0.0, 0, 0
	epochStart := time.Now()
	for s := start; s < plan.Total; s++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: step %d: %w", job.Name, s, err)
		}
		epoch := s / plan.StepsPerEpoch
		pos := int(s % plan.StepsPerEpoch)
		if st == nil {
			st = startStream(ctx, streamSpec{src: job.Data, rng: EpochRNG(cfg.Seed, epoch), k: cfg.ShuffleRows,
				batch: plan.BatchSize, skip: pos * plan.BatchSize, want: int(plan.StepsPerEpoch) - pos})
		}
		t0 := time.Now()
		b, err := st.next()
		if err == nil && b == nil {
			err = fmt.Errorf("%w: the split ended before step %d of epoch %d", ErrData, pos+1, epoch+1)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: step %d: read: %w", job.Name, s, err)
		}
		data, err := job.Batch(b, s, StepRNG(cfg.Seed, s))
		if err != nil {
			return nil, fmt.Errorf("%s: step %d: batch: %w", job.Name, s, err)
		}
		rows := b.Len()
		st.recycle(b)
		lr := sched.LR(s)
		loss, gnorm, err := step.Run(data, lr)
		for _, d := range data {
			_ = d.FinalizeAll()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: step %d: %w", job.Name, s, err)
		}
		synced = false
		dt := time.Since(t0).Seconds()
		res.Curve = append(res.Curve, CurvePoint{Step: s + 1, Epoch: int32(epoch), Split: "train", Loss: loss,
			LR: float32(lr), GradNorm: float32(gnorm), ImagesPerS: float32(float64(rows) / dt)})
		epochLoss += float64(loss)
		epochImgs += rows
		epochSteps++
		last := s+1 == plan.Total
		if (s+1)%plan.StepsPerEpoch == 0 || last {
			st.stop()
			st = nil
			el := time.Since(epochStart).Seconds()
			job.Logger.Info("epoch", "epoch", epoch+1, "step", s+1, "loss", epochLoss/float64(epochSteps),
				"lr", lr, "img_per_s", math.Round(float64(epochImgs)/el*10)/10)
			epochLoss, epochImgs, epochSteps, epochStart = 0, 0, 0, time.Now()
			if val != nil {
				if err := sync(); err != nil {
					return nil, fmt.Errorf("%s: step %d: %w", job.Name, s+1, err)
				}
				vl, err := validate(ctx, val, cfg, job, plan.BatchSize)
				if err != nil {
					return nil, fmt.Errorf("%s: validation after step %d: %w", job.Name, s+1, err)
				}
				res.Curve = append(res.Curve, CurvePoint{Step: s + 1, Epoch: int32(epoch), Split: "validate", Loss: float32(vl)})
				job.Logger.Info("validation", "epoch", epoch+1, "loss", vl)
			}
		}
		if last || (cfg.CheckpointEvery > 0 && (s+1)%cfg.CheckpointEvery == 0) {
			if err := sync(); err != nil {
				return nil, fmt.Errorf("%s: step %d: %w", job.Name, s+1, err)
			}
			if err := save(ctx, cfg, job, opt, s+1, res.Curve); err != nil {
				return nil, fmt.Errorf("%s: step %d: %w", job.Name, s+1, err)
			}
		}
	}
	if err := sync(); err != nil {
		return nil, fmt.Errorf("%s: %w", job.Name, err)
	}
	res.Steps = plan.Total
	return res, nil
}

func checkpointNames(ctx context.Context, st Artifacts) ([]string, error) {
	all, err := st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var out []string
	for _, n := range all {
		if strings.HasPrefix(n, CheckpointPrefix) && strings.HasSuffix(n, ".arrow") {
			out = append(out, n) // zero-padded: sorted by step
		}
	}
	return out, nil
}

func resume(ctx context.Context, cfg Config, job Job, opt *nn.AdamW) (int64, []CurvePoint, error) {
	if job.Store == nil {
		return 0, nil, nil
	}
	names, err := checkpointNames(ctx, job.Store)
	if err != nil || len(names) == 0 {
		return 0, nil, err
	}
	// The latest readable checkpoint: one that went missing or was
	// dropped as damaged (the store reports fs.ErrNotExist) is skipped.
	var latest string
	var data []byte
	for i := len(names) - 1; i >= 0 && data == nil; i-- {
		latest = names[i]
		data, err = job.Store.Get(ctx, latest)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, nil, fmt.Errorf("read %s: %w", latest, err)
		}
	}
	if data == nil {
		return 0, nil, nil
	}
	ck, err := job.Codec.DecodeCheckpoint(data, cfg.Adam)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", latest, err)
	}
	if ck.Model.Kind != job.Model.Kind || ck.Model.Config.JSON() != job.Model.Config.JSON() {
		return 0, nil, fmt.Errorf("%s: %w: it holds a %s model with config %s, this run trains %s with %s",
			latest, ErrCheckpoint, ck.Model.Kind, ck.Model.Config.JSON(), job.Model.Kind, job.Model.Config.JSON())
	}
	job.Model.Params = ck.Model.Params
	*opt = *ck.Opt
	var curve []CurvePoint
	if b, err := job.Store.Get(ctx, CurveArtifact); err == nil {
		all, err := job.Codec.DecodeCurve(b)
		if err != nil {
			return 0, nil, err
		}
		for _, p := range all {
			if p.Step <= ck.Step {
				curve = append(curve, p)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, nil, fmt.Errorf("read %s: %w", CurveArtifact, err)
	}
	return ck.Step, curve, nil
}

func save(ctx context.Context, cfg Config, job Job, opt *nn.AdamW, step int64, curve []CurvePoint) error {
	if job.Store == nil {
		return nil
	}
	data, err := job.Codec.EncodeCheckpoint(&Checkpoint{Model: job.Model, Opt: opt, Step: step})
	if err != nil {
		return err
	}
	// Curve first: a checkpoint never points past the curve it resumes.
	cb, err := job.Codec.EncodeCurve(curve)
	if err != nil {
		return err
	}
	if err := job.Store.Put(ctx, CurveArtifact, cb); err != nil {
		return fmt.Errorf("write %s: %w", CurveArtifact, err)
	}
	name := fmt.Sprintf(checkpointPattern, step)
	if err := job.Store.Put(ctx, name, data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	names, err := checkpointNames(ctx, job.Store)
	if err != nil {
		return err
	}
	for i := 0; i < len(names)-cfg.Keep; i++ {
		if err := job.Store.Delete(ctx, names[i]); err != nil {
			return fmt.Errorf("delete %s: %w", names[i], err)
		}
	}
	job.Logger.Debug("checkpoint", "name", name)
	return nil
}

// validate is the mean loss over the validation set, in order, in batches
// of at most batch examples (weighted by batch size); its per-batch
// randomness (MAE masks) is fixed, so epochs are comparable.
func validate(ctx context.Context, f *nn.Func, cfg Config, job Job, batch int) (float64, error) {
	var sum float64
	err := Batches(ctx, job.Val, batch, func(lo int, b *Data) error {
		data, err := job.Batch(b, int64(lo), StepRNG(cfg.Seed+1, int64(lo)))
		if err != nil {
			return err
		}
		out, err := f.Run(job.Model.Params, data)
		for _, d := range data {
			_ = d.FinalizeAll()
		}
		if err != nil {
			return fmt.Errorf("rows %d..%d: %w", lo, lo+b.Len()-1, err)
		}
		sum += float64(out[0][0]) * float64(b.Len())
		return nil
	})
	return sum / float64(job.Val.Len()), err
}
