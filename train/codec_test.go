package train

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/medflow/medflow/nn"
)

// memCodec is a Codec for tests that keeps deep copies of what it encodes
// in memory; the bytes are a handle.
type memCodec struct {
	mu     sync.Mutex
	ckpts  []*Checkpoint
	curves [][]CurvePoint
}

func cloneMoments(m map[string][]float32) map[string][]float32 {
	out := maps.Clone(m)
	for k, v := range out {
		out[k] = slices.Clone(v)
	}
	return out
}

func cloneCheckpoint(c *Checkpoint) *Checkpoint {
	opt := *c.Opt
	opt.M, opt.V = cloneMoments(c.Opt.M), cloneMoments(c.Opt.V)
	m := *c.Model
	m.Params = c.Model.Params.Clone()
	return &Checkpoint{Model: &m, Opt: &opt, Step: c.Step}
}

func (c *memCodec) handle(data []byte, n int) (int, error) {
	i, err := strconv.Atoi(string(data))
	if err != nil || i < 0 || i >= n {
		return 0, fmt.Errorf("memCodec: bad handle %q", data)
	}
	return i, nil
}

func (c *memCodec) EncodeCheckpoint(ck *Checkpoint) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ckpts = append(c.ckpts, cloneCheckpoint(ck))
	return []byte(strconv.Itoa(len(c.ckpts) - 1)), nil
}

func (c *memCodec) DecodeCheckpoint(data []byte, cfg nn.AdamWConfig) (*Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.handle(data, len(c.ckpts))
	if err != nil {
		return nil, err
	}
	ck := cloneCheckpoint(c.ckpts[i])
	ck.Opt.Cfg = cfg
	return ck, nil
}

func (c *memCodec) EncodeCurve(points []CurvePoint) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.curves = append(c.curves, slices.Clone(points))
	return []byte(strconv.Itoa(len(c.curves) - 1)), nil
}

func (c *memCodec) DecodeCurve(data []byte) ([]CurvePoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, err := c.handle(data, len(c.curves))
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.curves[i]), nil
}
