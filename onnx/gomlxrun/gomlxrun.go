// Package gomlxrun runs an ONNX model on a GoMLX backend: the pure-Go
// simplego backend on a CPU, or XLA through a PJRT plugin (a build with
// -tags xla and GOMLX_BACKEND=xla:cuda) on a GPU. It converts the model's
// graph with github.com/gomlx/onnx-gomlx and compiles one executable per
// distinct input shape (length bucketing keeps those few), so text.embed's
// `runtime: gomlx` runs the same model file as ONNX Runtime.
//
// Implemented: float32/int64 inputs and float32 outputs given as flat
// slices with shapes (the Llama export's contract). Not implemented: the
// ONNX operators onnx-gomlx v0.3.4 lacks (Reciprocal and Sigmoid among
// them: medflow's Llama writer emits Div and Exp instead), external-data
// files larger than memory (external data is read into memory whole,
// since onnx-gomlx loads only inline raw_data), float16 compute.
package gomlxrun

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"
)

// ErrModel is wrapped by errors about the model file or its contract.
var ErrModel = errors.New("gomlxrun: model")

// Tensor is a flat tensor: Data is []int64 or []float32 with
// product(Shape) elements (the same layout as ort.Tensor).
type Tensor struct {
	Shape []int64
	Data  any
}

// Model is a loaded ONNX model ready to run; safe for concurrent use (runs
// are serialized: the backend parallelizes inside one).
type Model struct {
	path    string
	inputs  []string
	outputs []string
	mu      sync.Mutex
	exec    *gctx.Exec
}

// Load reads the ONNX model at path (external data beside it) and
// prepares it for backend. inputs and outputs are the tensor names the
// caller feeds and reads, in order; a name the model lacks is an error
// naming the file and the names it has.
func Load(path string, backend backends.Backend, inputs, outputs []string) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil { // onnx-gomlx and GoMLX panic on bad graphs
			m, err = nil, fmt.Errorf("%w %s: %v", ErrModel, path, r)
		}
	}()
	om, err := onnx.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	if err := inlineExternalData(om, path); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrModel, path, err)
	}
	have, _ := om.Inputs()
	for _, name := range inputs {
		if !slices.Contains(have, name) {
			return nil, fmt.Errorf("%w %s: no input %q (inputs: %v)", ErrModel, path, name, have)
		}
	}
	haveOut, _ := om.Outputs()
	for _, name := range outputs {
		if !slices.Contains(haveOut, name) {
			return nil, fmt.Errorf("%w %s: no output %q (outputs: %v)", ErrModel, path, name, haveOut)
		}
	}
	vars := gctx.New()
	if err := om.VariablesToContext(vars); err != nil {
		return nil, fmt.Errorf("%w %s: weights: %v", ErrModel, path, err)
	}
	exec, err := gctx.NewExec(backend, vars.Reuse(), func(ctx *gctx.Context, in []*graph.Node) []*graph.Node {
		feed := make(map[string]*graph.Node, len(in))
		for i, name := range inputs {
			feed[name] = in[i]
		}
		return om.CallGraph(ctx, in[0].Graph(), feed, outputs...)
	})
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrModel, path, err)
	}
	exec.SetMaxCache(-1) // one graph per input shape; bucketing bounds them
	return &Model{path: path, inputs: inputs, outputs: outputs, exec: exec}, nil
}

// Run feeds inputs (in the order given to Load) and copies the outputs into
// outputs, whose shapes must be those the model produces.
func (m *Model) Run(ctx context.Context, inputs, outputs []Tensor) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(inputs) != len(m.inputs) || len(outputs) != len(m.outputs) {
		return fmt.Errorf("%w %s: got %d inputs and %d outputs, want %d and %d", ErrModel, m.path,
			len(inputs), len(outputs), len(m.inputs), len(m.outputs))
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		dims := make([]int, len(in.Shape))
		for k, d := range in.Shape {
			dims[k] = int(d)
		}
		switch data := in.Data.(type) {
		case []int64:
			args[i] = tensors.FromFlatDataAndDimensions(data, dims...)
		case []float32:
			args[i] = tensors.FromFlatDataAndDimensions(data, dims...)
		default:
			return fmt.Errorf("%w %s: input %q: unsupported data %T", ErrModel, m.path, m.inputs[i], in.Data)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exec == nil {
		return fmt.Errorf("%w %s: closed", ErrModel, m.path)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w %s: run: %v", ErrModel, m.path, r)
		}
	}()
	res, err := m.exec.Exec(args...)
	if err != nil {
		return fmt.Errorf("%w %s: run: %v", ErrModel, m.path, err)
	}
	defer func() {
		for _, t := range res {
			t.FinalizeAll()
		}
	}()
	for i, out := range outputs {
		dst, ok := out.Data.([]float32)
		if !ok {
			return fmt.Errorf("%w %s: output %q: want []float32, got %T", ErrModel, m.path, m.outputs[i], out.Data)
		}
		got := res[i].Shape().Dimensions
		same := len(got) == len(out.Shape)
		for k := 0; same && k < len(got); k++ {
			same = int64(got[k]) == out.Shape[k]
		}
		if !same {
			return fmt.Errorf("%w %s: output %q has shape %v, the caller expects %v", ErrModel, m.path, m.outputs[i], got, out.Shape)
		}
		if err := res[i].ConstFlatData(func(flat any) {
			copy(dst, flat.([]float32))
		}); err != nil {
			return fmt.Errorf("%w %s: output %q: %v", ErrModel, m.path, m.outputs[i], err)
		}
	}
	return nil
}

// Close frees the compiled executables.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exec != nil {
		m.exec.Finalize()
		m.exec = nil
	}
	return nil
}
