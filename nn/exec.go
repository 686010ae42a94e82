package nn

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// LossFn builds a scalar loss (and optional extra outputs) from the model
// parameters in s and the data inputs.
type LossFn func(s *Scope, data []*graph.Node) (loss *graph.Node, extras []*graph.Node)

// Step is a compiled training step: loss, extras and the gradients of the
// loss with respect to the trainable parameters. Frozen parameters are
// still inputs but get no gradient. Graphs are compiled per distinct input
// shape and cached.
type Step struct {
	exec      *graph.Exec
	names     []string
	trainIdx  []int
	nExtras   int
	stock     bool
	paramsLen int
}

// StepOut is what Step.Run returns.
type StepOut struct {
	Loss   float32
	Extras [][]float32
	// Grads are in the order of Step.Trainable.
	Grads [][]float32
}

// NewStep compiles (lazily, on first Run) fn over the parameters of p;
// trainable selects the parameters to differentiate (nil: all). stock
// makes the layers use GoMLX's own matmul gradients.
func NewStep(backend backends.Backend, p *Params, trainable func(name string) bool, stock bool, fn LossFn) (*Step, error) {
	st := &Step{stock: stock, paramsLen: p.Len()}
	for i, t := range p.List() {
		st.names = append(st.names, t.Name)
		if trainable == nil || trainable(t.Name) {
			st.trainIdx = append(st.trainIdx, i)
		}
	}
	if len(st.trainIdx) == 0 {
		return nil, fmt.Errorf("%w: no trainable parameters", ErrParam)
	}
	e, err := graph.NewExec(backend, func(ins []*graph.Node) []*graph.Node {
		s := st.scope(ins)
		loss, extras := fn(s, ins[len(st.names):])
		train := make([]*graph.Node, len(st.trainIdx))
		for i, j := range st.trainIdx {
			train[i] = ins[j]
		}
		grads := graph.Gradient(loss, train...)
		st.nExtras = len(extras)
		return append(append([]*graph.Node{loss}, extras...), grads...)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: compile step: %v", ErrBackend, err)
	}
	st.exec = e
	return st, nil
}

func (st *Step) scope(ins []*graph.Node) *Scope {
	vars := make(map[string]*graph.Node, len(st.names))
	for i, n := range st.names {
		vars[n] = ins[i]
	}
	s := NewScope(ins[0].Graph(), vars)
	s.Stock = st.stock
	return s
}

// Trainable returns the trainable tensors of p, in gradient order.
func (st *Step) Trainable(p *Params) []*Tensor {
	out := make([]*Tensor, len(st.trainIdx))
	for i, j := range st.trainIdx {
		out[i] = p.List()[j]
	}
	return out
}

// Run executes the step on p (same names as at NewStep) and data.
func (st *Step) Run(p *Params, data []*tensors.Tensor) (StepOut, error) {
	if p.Len() != st.paramsLen {
		return StepOut{}, fmt.Errorf("%w: step compiled for %d tensors, got %d", ErrParam, st.paramsLen, p.Len())
	}
	outs, err := run(st.exec, p, data)
	if err != nil {
		return StepOut{}, err
	}
	o := StepOut{Loss: outs[0][0], Extras: outs[1 : 1+st.nExtras], Grads: outs[1+st.nExtras:]}
	return o, nil
}

// Finalize frees the compiled graphs.
func (st *Step) Finalize() { st.exec.Finalize() }

// Func is a compiled forward function of the parameters and data.
type Func struct {
	exec  *graph.Exec
	names []string
}

// NewFunc compiles fn over the parameters of p (lazily, per input shape).
func NewFunc(backend backends.Backend, p *Params, stock bool, fn func(s *Scope, data []*graph.Node) []*graph.Node) (*Func, error) {
	f := &Func{}
	for _, t := range p.List() {
		f.names = append(f.names, t.Name)
	}
	e, err := graph.NewExec(backend, func(ins []*graph.Node) []*graph.Node {
		vars := make(map[string]*graph.Node, len(f.names))
		for i, n := range f.names {
			vars[n] = ins[i]
		}
		s := NewScope(ins[0].Graph(), vars)
		s.Stock = stock
		return fn(s, ins[len(f.names):])
	})
	if err != nil {
		return nil, fmt.Errorf("%w: compile: %v", ErrBackend, err)
	}
	f.exec = e
	return f, nil
}

// Run returns the outputs as flat float32 slices.
func (f *Func) Run(p *Params, data []*tensors.Tensor) ([][]float32, error) {
	return run(f.exec, p, data)
}

// Finalize frees the compiled graphs.
func (f *Func) Finalize() { f.exec.Finalize() }

func run(e *graph.Exec, p *Params, data []*tensors.Tensor) (outs [][]float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: exec: %v", ErrBackend, r)
		}
	}()
	args := make([]any, 0, p.Len()+len(data))
	var owned []*tensors.Tensor
	for _, t := range p.List() {
		x := tensors.FromFlatDataAndDimensions(t.Data, t.Shape...)
		owned = append(owned, x)
		args = append(args, x)
	}
	for _, d := range data {
		args = append(args, d)
	}
	defer func() {
		for _, x := range owned {
			_ = x.FinalizeAll()
		}
	}()
	res, err := e.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("%w: exec: %v", ErrBackend, err)
	}
	outs = make([][]float32, len(res))
	for i, r := range res {
		outs[i], err = tensors.CopyFlatData[float32](r)
		_ = r.FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("%w: output %d: %v", ErrBackend, i, err)
		}
	}
	return outs, nil
}

// F32 wraps data as a float32 tensor of the given dimensions (copied).
func F32(data []float32, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(data, dims...)
}
