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
// since onnx-gomlx loads only inline raw_data), float16 compute. Inputs
// can be padded (SetPadding, PadBatchSeq) so that a few shapes, each
// compiled once, serve calls of many shapes.
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
	pad     Padding
	shapes  map[string]bool // padded input shapes run so far (one executable each)
	dropped int64           // bytes of ONNX weight copies freed after loading (dropWeights)
}

// Padding maps an input's length n along axis to the length it is padded
// to before a run, so that a few shapes (each compiled once: minutes on a
// GPU for a large model) serve calls of many shapes. Padded entries are
// zeros; outputs are cut back to the caller's shapes, so a Padding suits
// models whose zero entries are padding (the Llama contract: attention
// mask 0) and whose outputs keep the inputs' leading axes.
type Padding func(axis int, n int64) int64

// PadBatchSeq pads axis 0 (rows) to a power of two and axis 1 (tokens) to
// a multiple of 64: with length bucketing, a handful of shapes per run.
func PadBatchSeq(axis int, n int64) int64 {
	switch axis {
	case 0:
		p := int64(1)
		for p < n {
			p *= 2
		}
		return p
	case 1:
		return (n + 63) / 64 * 64
	}
	return n
}

// SetPadding makes later runs pad their inputs with p (nil: none).
func (m *Model) SetPadding(p Padding) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pad = p
}

// FreedWeightBytes is how many bytes of the ONNX file's float weights
// were freed after loading them into GoMLX (dropWeights); 0 for a graph
// with sub-graphs, whose initializers stay.
func (m *Model) FreedWeightBytes() int64 { return m.dropped }

// Shapes is the number of distinct (padded) input shapes run so far:
// the number of executables compiled.
func (m *Model) Shapes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.shapes)
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
	dropped := dropWeights(om)
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
	return &Model{path: path, inputs: inputs, outputs: outputs, exec: exec, dropped: dropped}, nil
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
	m.mu.Lock()
	defer m.mu.Unlock()
	args := make([]any, len(inputs))
	key := ""
	for i, in := range inputs {
		dims := make([]int, len(in.Shape))
		for k, d := range in.Shape {
			dims[k] = int(d)
			if m.pad != nil && k < 2 {
				dims[k] = int(m.pad(k, d))
			}
		}
		key += fmt.Sprint(dims)
		switch data := in.Data.(type) {
		case []int64:
			args[i] = tensors.FromFlatDataAndDimensions(padFlat(data, in.Shape, dims), dims...)
		case []float32:
			args[i] = tensors.FromFlatDataAndDimensions(padFlat(data, in.Shape, dims), dims...)
		default:
			return fmt.Errorf("%w %s: input %q: unsupported data %T", ErrModel, m.path, m.inputs[i], in.Data)
		}
	}
	if m.exec == nil {
		return fmt.Errorf("%w %s: closed", ErrModel, m.path)
	}
	if m.shapes == nil {
		m.shapes = map[string]bool{}
	}
	m.shapes[key] = true
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
		want := make([]int, len(out.Shape))
		for k, d := range out.Shape {
			want[k] = int(d)
			if m.pad != nil && k < 2 {
				want[k] = int(m.pad(k, d))
			}
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%w %s: output %q has shape %v, the caller expects %v", ErrModel, m.path, m.outputs[i], got, out.Shape)
		}
		if err := res[i].ConstFlatData(func(flat any) {
			unpadFlat(dst, out.Shape, flat.([]float32), got)
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

// padFlat copies row-major data of shape from into a zeroed buffer of the
// larger shape to (the same rank); data itself when nothing is padded.
func padFlat[T int64 | float32](data []T, from []int64, to []int) []T {
	same := true
	for k := range from {
		same = same && int(from[k]) == to[k]
	}
	if same {
		return data
	}
	n := 1
	for _, d := range to {
		n *= d
	}
	out := make([]T, n)
	copyBlock(len(from), func(k int) (int, int, int) { return int(from[k]), int(from[k]), to[k] },
		func(src, dst, n int) { copy(out[dst:dst+n], data[src:src+n]) })
	return out
}

// unpadFlat copies the leading block of shape want out of row-major src of
// shape got (each axis at least as long) into dst.
func unpadFlat(dst []float32, want []int64, src []float32, got []int) {
	copyBlock(len(want), func(k int) (int, int, int) { return int(want[k]), got[k], int(want[k]) },
		func(s, d, n int) { copy(dst[d:d+n], src[s:s+n]) })
}

// copyBlock walks the block of extents n(k) inside a source of extents
// src(k) and a destination of extents dst(k) (row-major, rank axes) and
// calls move(srcOff, dstOff, count) once per innermost run.
func copyBlock(rank int, dims func(k int) (n, src, dst int), move func(srcOff, dstOff, count int)) {
	if rank == 0 {
		move(0, 0, 1)
		return
	}
	n := make([]int, rank)
	sStride, dStride := make([]int, rank), make([]int, rank)
	ss, ds := 1, 1
	for k := rank - 1; k >= 0; k-- {
		var se, de int
		n[k], se, de = dims(k)
		sStride[k], dStride[k] = ss, ds
		ss, ds = ss*se, ds*de
	}
	var walk func(k, so, do int)
	walk = func(k, so, do int) {
		if k == rank-1 {
			move(so, do, n[k])
			return
		}
		for i := range n[k] {
			walk(k+1, so+i*sStride[k], do+i*dStride[k])
		}
	}
	walk(0, 0, 0)
}
