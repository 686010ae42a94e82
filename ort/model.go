package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/medflow/medflow/onnx/onnxwire"
)

// Model is a loaded ONNX model: a pool of ORT sessions that any number of
// goroutines may Run concurrently (at most Options.Concurrency at a time;
// the others wait). Close releases the sessions after the runs in flight.
type Model struct {
	path     string
	opts     Options
	contract Contract
	inputs   []Info // the model's, as declared
	outputs  []Info
	in, out  []Info // the contract's inputs/outputs as the model declares them, in contract order

	sessions []*onnx.DynamicAdvancedSession
	slots    chan *onnx.DynamicAdvancedSession

	mu     sync.RWMutex // Run holds it shared, Close exclusively
	closed bool
}

// Load initialises ONNX Runtime (see Init), checks the model at path
// against c (ErrContract) and creates the session pool. The model is
// opened twice: once for its declared inputs and outputs, once per session.
func Load(path string, c Contract, o Options) (*Model, error) {
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	if len(c.Inputs) == 0 || len(c.Outputs) == 0 {
		return nil, fmt.Errorf("%w: %s: the contract needs at least one input and one output", ErrOptions, path)
	}
	lib, err := FindLibrary(o.Library)
	if err != nil {
		return nil, err
	}
	if o.Provider == ProviderCUDA { // before ORT is loaded: a CPU machine gets the precise message
		if err := checkCUDAProvider(lib); err != nil {
			return nil, fmt.Errorf("model %s: %w", path, err)
		}
	}
	if _, err := Init(lib); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLoad, err)
	}
	inputs, outputs, err := signature(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLoad, path, err)
	}
	so, err := o.sessionOptions()
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	defer so.Destroy()
	m := &Model{path: path, opts: o, contract: c, inputs: inputs, outputs: outputs}
	if err := c.Check(path, m.inputs, m.outputs); err != nil {
		return nil, err
	}
	pick := func(list []Info, specs []Spec) []Info {
		out := make([]Info, len(specs))
		for i, s := range specs {
			for _, x := range list {
				if x.Name == s.Name {
					out[i] = x
				}
			}
		}
		return out
	}
	m.in, m.out = pick(m.inputs, c.Inputs), pick(m.outputs, c.Outputs)
	inNames, outNames := names(c.Inputs), names(c.Outputs)
	for range o.Sessions {
		s, err := onnx.NewDynamicAdvancedSession(path, inNames, outNames, so)
		if err != nil {
			m.destroy()
			if o.Provider == ProviderCUDA {
				return nil, fmt.Errorf("%w: %s: device %d: %v", ErrNoCUDAProvider, path, o.DeviceID, err)
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrLoad, path, err)
		}
		m.sessions = append(m.sessions, s)
	}
	m.slots = make(chan *onnx.DynamicAdvancedSession, o.Concurrency)
	for i := range o.Concurrency {
		m.slots <- m.sessions[i%len(m.sessions)]
	}
	return m, nil
}

func names(specs []Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// Path is the model file.
func (m *Model) Path() string { return m.path }

// Options are the options the model was loaded with, defaults filled in.
func (m *Model) Options() Options { return m.opts }

// Inputs are all the model's declared inputs; Outputs all its outputs.
func (m *Model) Inputs() []Info  { return m.inputs }
func (m *Model) Outputs() []Info { return m.outputs }

// Output returns the model's declaration of the contract's i-th output.
func (m *Model) Output(i int) Info { return m.out[i] }

// Input returns the model's declaration of the contract's i-th input.
func (m *Model) Input(i int) Info { return m.in[i] }

// Run runs the model. inputs follow the contract's Inputs order; outputs
// has one entry per contract output: an entry with Data set is written in
// place (its Shape must be what the model produces), one with nil Data
// gets a newly allocated tensor. Input memory is used by ORT without a
// copy and must not change during the call. A cancelled ctx stops a Run
// that waits for a slot or is running.
func (m *Model) Run(ctx context.Context, inputs, outputs []Tensor) error {
	if len(inputs) != len(m.in) || len(outputs) != len(m.out) {
		return fmt.Errorf("%w: %s: got %d inputs and %d outputs, the contract has %d and %d",
			ErrInput, m.path, len(inputs), len(outputs), len(m.in), len(m.out))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return fmt.Errorf("%w: %s", ErrClosed, m.path)
	}
	var sess *onnx.DynamicAdvancedSession
	select {
	case sess = <-m.slots:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { m.slots <- sess }()

	values := make([]onnx.Value, len(inputs)+len(outputs))
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, t := range inputs {
		if err := m.checkTensor("input", m.in[i], t); err != nil {
			return err
		}
		v, err := t.value()
		if err != nil {
			return fmt.Errorf("%w: %s: input %q: %v", ErrInput, m.path, m.in[i].Name, err)
		}
		values[i] = v
	}
	outVals := values[len(inputs):]
	for i, t := range outputs {
		if t.Data == nil {
			continue
		}
		if err := m.checkTensor("output", m.out[i], t); err != nil {
			return err
		}
		v, err := t.value()
		if err != nil {
			return fmt.Errorf("%w: %s: output %q: %v", ErrInput, m.path, m.out[i].Name, err)
		}
		outVals[i] = v
	}
	if err := m.runSession(ctx, sess, values[:len(inputs)], outVals); err != nil {
		return err
	}
	for i := range outputs {
		if outputs[i].Data != nil {
			continue
		}
		t, err := fromValue(outVals[i])
		if err != nil {
			return fmt.Errorf("%w: %s: output %q: %v", ErrRun, m.path, m.out[i].Name, err)
		}
		outputs[i] = t
	}
	return nil
}

// runSession runs sess, terminating it when ctx is cancelled.
func (m *Model) runSession(ctx context.Context, sess *onnx.DynamicAdvancedSession, in, out []onnx.Value) error {
	var err error
	if ctx.Done() == nil {
		err = sess.Run(in, out)
	} else {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		ro, rerr := onnx.NewRunOptions()
		if rerr != nil {
			return fmt.Errorf("%w: %s: run options: %v", ErrRun, m.path, rerr)
		}
		done := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(done)
			ro.Terminate()
		})
		err = sess.RunWithOptions(in, out, ro)
		if !stop() {
			<-done // the terminate callback ran or is running: wait before destroying ro
		}
		ro.Destroy()
		if cerr := ctx.Err(); cerr != nil && err != nil {
			return fmt.Errorf("%s: %w", m.path, cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRun, m.path, err)
	}
	return nil
}

func (m *Model) checkTensor(kind string, want Info, t Tensor) error {
	if dt := t.DType(); dt != want.DType {
		return fmt.Errorf("%w: %s: %s %q: got %s data, the model wants %s", ErrInput, m.path, kind, want.Name, t.DType(), want.DType)
	}
	if len(t.Shape) != len(want.Dims) {
		return fmt.Errorf("%w: %s: %s %q: shape %v has rank %d, the model wants %s", ErrInput, m.path, kind, want.Name, t.Shape, len(t.Shape), dimsString(want.Dims))
	}
	for i, d := range t.Shape {
		if d < 0 || (want.Dims[i] >= 0 && d != want.Dims[i]) {
			return fmt.Errorf("%w: %s: %s %q: shape %v, the model wants %s", ErrInput, m.path, kind, want.Name, t.Shape, dimsString(want.Dims))
		}
	}
	if n, have := Elems(t.Shape), dataLen(t.Data); have < n {
		return fmt.Errorf("%w: %s: %s %q: shape %v needs %d values, data has %d", ErrInput, m.path, kind, want.Name, t.Shape, n, have)
	}
	return nil
}

func dataLen(d any) int64 {
	switch x := d.(type) {
	case []float32:
		return int64(len(x))
	case []float64:
		return int64(len(x))
	case []int64:
		return int64(len(x))
	case []int32:
		return int64(len(x))
	case []int8:
		return int64(len(x))
	case []uint8:
		return int64(len(x))
	case []bool:
		return int64(len(x))
	}
	return 0
}

// Close waits for the runs in flight and releases the sessions. Later
// Runs fail with ErrClosed. Closing twice is a no-op.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.destroy()
}

func (m *Model) destroy() error {
	var errs []error
	for _, s := range m.sessions {
		if err := s.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	m.sessions = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ort: %s: close: %w", m.path, err)
	}
	return nil
}

// signature reads the model's declared inputs and outputs from the file
// (onnxwire.Signature), so that checking the contract does not cost a
// session load of its own (for a 7B model, every weight once more). A
// model that leaves a tensor's shape undeclared is asked through a session
// instead, which infers it.
func signature(path string) (inputs, outputs []Info, err error) {
	in, out, err := onnxwire.Signature(path)
	if err != nil {
		return nil, nil, err
	}
	conv := func(vs []onnxwire.Value) ([]Info, bool) {
		infos := make([]Info, len(vs))
		for i, v := range vs {
			infos[i] = Info{Name: v.Name, DType: Other, Dims: v.Dims}
			if v.Tensor {
				if v.Dims == nil {
					return nil, false
				}
				infos[i].DType = dtypeOf(onnx.TensorElementDataType(v.ElemType))
			}
		}
		return infos, true
	}
	inputs, okIn := conv(in)
	outputs, okOut := conv(out)
	if okIn && okOut {
		return inputs, outputs, nil
	}
	return sessionInfo(path)
}

// sessionInfo asks a session that only loads the model: CPU, one thread,
// no graph optimization, no weight prepacking.
func sessionInfo(path string) (inputs, outputs []Info, err error) {
	so, err := Options{IntraOpThreads: 1, InterOpThreads: 1, GraphOptimization: "disable"}.sessionOptions()
	if err != nil {
		return nil, nil, err
	}
	defer so.Destroy()
	if err := so.AddSessionConfigEntry("session.disable_prepacking", "1"); err != nil {
		return nil, nil, fmt.Errorf("session options: %w", err)
	}
	in, out, err := onnx.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, nil, err
	}
	return infos(in), infos(out), nil
}

func infos(in []onnx.InputOutputInfo) []Info {
	out := make([]Info, len(in))
	for i, x := range in {
		dt := dtypeOf(x.DataType)
		if x.OrtValueType != onnx.ONNXTypeTensor {
			dt = Other
		}
		out[i] = Info{Name: x.Name, DType: dt, Dims: []int64(x.Dimensions.Clone())}
	}
	return out
}
