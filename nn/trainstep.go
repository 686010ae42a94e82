package nn

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TrainStep is one compiled training step that runs entirely in the
// graph: forward, backward, global-norm clipping and the AdamW update.
// The parameters and AdamW's moments stay backend tensors between steps
// (on a GPU: device memory; their buffers are donated to the next step
// where the backend allows); each Run returns only the loss and the
// gradient norm. Load uploads the state, Sync downloads it (checkpoints,
// the end of a run).
//
// The update is the same arithmetic as AdamW.Update after ClipGlobalNorm,
// in float32 instead of AdamW's float64 intermediates (the two agree to
// float32 rounding; TestTrainStepMatchesHostAdamW). When the loss or the
// gradient norm is not finite the step keeps the previous state (the
// update is selected away in the graph) and Run returns ErrNonFinite.
type TrainStep struct {
	exec     *Exec
	backend  backends.Backend
	names    []string
	shapes   [][]int
	trainIdx []int
	cfg      AdamWConfig
	// state: all parameters (in Params order), then m and v of the
	// trainable ones (in trainIdx order).
	params []*tensors.Tensor
	m, v   []*tensors.Tensor
	step   int64
}

// NewTrainStep compiles (lazily, per data shape) the in-graph training step
// of fn over the parameters of p; trainable selects the parameters to
// update (nil: all), clipNorm <= 0 disables clipping. Call Load before Run.
func NewTrainStep(backend backends.Backend, p *Params, trainable func(name string) bool, stock bool,
	cfg AdamWConfig, clipNorm float64, fn LossFn) (*TrainStep, error) {
	ts := &TrainStep{backend: backend, cfg: cfg}
	for i, t := range p.List() {
		ts.names = append(ts.names, t.Name)
		ts.shapes = append(ts.shapes, t.Shape)
		if trainable == nil || trainable(t.Name) {
			ts.trainIdx = append(ts.trainIdx, i)
		}
	}
	if len(ts.trainIdx) == 0 {
		return nil, fmt.Errorf("%w: no trainable parameters", ErrParam)
	}
	nP, nT := len(ts.names), len(ts.trainIdx)
	e, err := NewExec(backend, func(ins []*Node) []*Node {
		g := ins[0].Graph()
		vars := make(map[string]*Node, nP)
		for i, n := range ts.names {
			vars[n] = ins[i]
		}
		s := NewScope(g, vars)
		s.Stock = stock
		m, v := ins[nP:nP+nT], ins[nP+nT:nP+2*nT]
		lr, c1, c2 := ins[nP+2*nT], ins[nP+2*nT+1], ins[nP+2*nT+2]
		loss, _ := fn(s, ins[nP+2*nT+3:])
		w := make([]*Node, nT)
		for i, j := range ts.trainIdx {
			w[i] = ins[j]
		}
		grads := Gradient(loss, w...)
		var sumSq *Node
		for _, gr := range grads {
			if sq := ReduceAllSum(Square(gr)); sumSq == nil {
				sumSq = sq
			} else {
				sumSq = Add(sumSq, sq)
			}
		}
		norm := Sqrt(sumSq)
		ok := LogicalAnd(IsFinite(loss), IsFinite(norm))
		scale := Scalar(g, dtypes.Float32, 1)
		if clipNorm > 0 {
			lim := Scalar(g, dtypes.Float32, clipNorm)
			scale = Where(GreaterThan(norm, lim), Div(lim, norm), scale)
		}
		b1, b2 := ts.cfg.Beta1, ts.cfg.Beta2
		outW, outM, outV := make([]*Node, nT), make([]*Node, nT), make([]*Node, nT)
		for i, j := range ts.trainIdx {
			gr := Mul(grads[i], scale)
			mi := Add(MulScalar(m[i], b1), MulScalar(gr, 1-b1))
			vi := Add(MulScalar(v[i], b2), MulScalar(Square(gr), 1-b2))
			upd := Div(Div(mi, c1), AddScalar(Sqrt(Div(vi, c2)), ts.cfg.Eps))
			if Decays(ts.names[j], ts.shapes[j]) {
				upd = Add(upd, MulScalar(w[i], ts.cfg.WeightDecay))
			}
			wi := Sub(w[i], Mul(lr, upd))
			keep := BroadcastToDims(ok, w[i].Shape().Dimensions...)
			outW[i], outM[i], outV[i] = Where(keep, wi, w[i]), Where(keep, mi, m[i]), Where(keep, vi, v[i])
		}
		out := []*Node{loss, norm}
		out = append(out, outW...)
		out = append(out, outM...)
		return append(out, outV...)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: compile train step: %v", ErrBackend, err)
	}
	ts.exec = e
	return ts, nil
}

// Trainable returns the trainable tensors of p, in the step's order.
func (ts *TrainStep) Trainable(p *Params) []*Tensor {
	out := make([]*Tensor, len(ts.trainIdx))
	for i, j := range ts.trainIdx {
		out[i] = p.List()[j]
	}
	return out
}

// Load uploads the parameters of p (same names and shapes as at
// NewTrainStep) and opt's moments and step count (zero moments for
// tensors opt has none for).
func (ts *TrainStep) Load(p *Params, opt *AdamW) error {
	if p.Len() != len(ts.names) {
		return fmt.Errorf("%w: train step compiled for %d tensors, got %d", ErrParam, len(ts.names), p.Len())
	}
	ts.free()
	for i, t := range p.List() {
		if t.Name != ts.names[i] || Size(t.Shape) != Size(ts.shapes[i]) {
			return fmt.Errorf("%w %q: train step compiled for %q %v", ErrParam, t.Name, ts.names[i], ts.shapes[i])
		}
		ts.params = append(ts.params, F32(t.Data, t.Shape...))
	}
	for _, j := range ts.trainIdx {
		t := p.List()[j]
		m, v := opt.M[t.Name], opt.V[t.Name]
		if m == nil || v == nil {
			m, v = make([]float32, len(t.Data)), make([]float32, len(t.Data))
		}
		if len(m) != len(t.Data) || len(v) != len(t.Data) {
			return fmt.Errorf("%w %q: optimizer moments of size %d/%d, parameter size %d", ErrParam, t.Name, len(m), len(v), len(t.Data))
		}
		ts.m = append(ts.m, F32(m, t.Shape...))
		ts.v = append(ts.v, F32(v, t.Shape...))
	}
	ts.step = opt.Step
	return nil
}

// Sync downloads the parameters into p's tensors (in place) and the
// moments and step count into opt.
func (ts *TrainStep) Sync(p *Params, opt *AdamW) error {
	if len(ts.params) == 0 {
		return fmt.Errorf("%w: train step not loaded", ErrParam)
	}
	for i, t := range p.List() {
		if t.Name != ts.names[i] {
			return fmt.Errorf("%w %q: train step holds %q", ErrParam, t.Name, ts.names[i])
		}
		if err := download(ts.params[i], t.Data); err != nil {
			return fmt.Errorf("%w %q: %v", ErrBackend, t.Name, err)
		}
	}
	for i, j := range ts.trainIdx {
		name := ts.names[j]
		n := Size(ts.shapes[j])
		if len(opt.M[name]) != n {
			opt.M[name] = make([]float32, n)
		}
		if len(opt.V[name]) != n {
			opt.V[name] = make([]float32, n)
		}
		if err := download(ts.m[i], opt.M[name]); err != nil {
			return fmt.Errorf("%w %q: %v", ErrBackend, name, err)
		}
		if err := download(ts.v[i], opt.V[name]); err != nil {
			return fmt.Errorf("%w %q: %v", ErrBackend, name, err)
		}
	}
	opt.Step = ts.step
	return nil
}

func download(t *tensors.Tensor, dst []float32) error {
	var err error
	t.ConstFlatData(func(flat any) {
		src, ok := flat.([]float32)
		if !ok || len(src) != len(dst) {
			err = fmt.Errorf("tensor %s, want %d float32", t.Shape(), len(dst))
			return
		}
		copy(dst, src)
	})
	return err
}

// Run does one step with learning rate lr on data and returns the loss and
// the gradient norm before clipping. A non-finite loss or norm leaves the
// state as it was and returns an error wrapping ErrNonFinite.
func (ts *TrainStep) Run(data []*tensors.Tensor, lr float64) (loss float32, gradNorm float64, err error) {
	if len(ts.params) == 0 {
		return 0, 0, fmt.Errorf("%w: train step not loaded", ErrParam)
	}
	t := ts.step + 1
	c1 := 1 - math.Pow(ts.cfg.Beta1, float64(t))
	c2 := 1 - math.Pow(ts.cfg.Beta2, float64(t))
	nT := len(ts.trainIdx)
	trainable := make([]bool, len(ts.params))
	for _, j := range ts.trainIdx {
		trainable[j] = true
	}
	args := make([]any, 0, len(ts.params)+2*nT+3+len(data))
	for j, x := range ts.params {
		args = append(args, ts.donate(x, trainable[j]))
	}
	for _, x := range ts.m {
		args = append(args, ts.donate(x, true))
	}
	for _, x := range ts.v {
		args = append(args, ts.donate(x, true))
	}
	hyper := []*tensors.Tensor{tensors.FromScalar(float32(lr)), tensors.FromScalar(float32(c1)), tensors.FromScalar(float32(c2))}
	for _, h := range hyper {
		args = append(args, h)
	}
	for _, d := range data {
		args = append(args, d)
	}
	res, err := ts.exec.Exec(args...)
	for _, h := range hyper {
		_ = h.FinalizeAll()
	}
	if err != nil {
		// Donated buffers may be gone: the state must be loaded again.
		ts.free()
		return 0, 0, fmt.Errorf("%w: exec: %v", ErrBackend, err)
	}
	// Replace the state by the step's outputs.
	for i, j := range ts.trainIdx {
		_ = ts.params[j].FinalizeAll()
		_ = ts.m[i].FinalizeAll()
		_ = ts.v[i].FinalizeAll()
		ts.params[j], ts.m[i], ts.v[i] = res[2+i], res[2+nT+i], res[2+2*nT+i]
	}
	lossV, errL := tensors.CopyFlatData[float32](res[0])
	normV, errN := tensors.CopyFlatData[float32](res[1])
	_ = res[0].FinalizeAll()
	_ = res[1].FinalizeAll()
	if errL != nil || errN != nil {
		return 0, 0, fmt.Errorf("%w: loss/norm outputs: %v %v", ErrBackend, errL, errN)
	}
	loss, gradNorm = lossV[0], float64(normV[0])
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return loss, gradNorm, fmt.Errorf("%w: loss %g", ErrNonFinite, loss)
	}
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		return loss, gradNorm, fmt.Errorf("%w: gradient norm %g", ErrNonFinite, gradNorm)
	}
	ts.step = t
	return loss, gradNorm, nil
}

// donate hands x's backend buffer to the step when it is replaced by an
// output (trainable state) and the backend does not share it with Go
// memory (shared buffers cannot be donated).
func (ts *TrainStep) donate(x *tensors.Tensor, replaced bool) any {
	if !replaced || x.IsShared() {
		return x
	}
	d, err := DonateTensorBuffer(x, ts.backend, 0)
	if err != nil {
		return x
	}
	return d
}

func (ts *TrainStep) free() {
	for _, l := range [][]*tensors.Tensor{ts.params, ts.m, ts.v} {
		for _, x := range l {
			_ = x.FinalizeAll()
		}
	}
	ts.params, ts.m, ts.v = nil, nil, nil
}

// Finalize frees the compiled graphs and the state.
func (ts *TrainStep) Finalize() {
	ts.free()
	ts.exec.Finalize()
}
