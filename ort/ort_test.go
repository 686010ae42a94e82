package ort_test

import (
	"context"
	"errors"
	"github.com/medflow/medflow/internal/testenv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/medflow/medflow/ort"
	"github.com/medflow/medflow/ort/internal/testmodel"
)

// requireORT skips (or, with MEDFLOW_REQUIRE_ORT=1, fails) when the ONNX
// Runtime library is not installed.
func requireORT(t testing.TB) {
	t.Helper()
	testenv.ORTLibrary(t)
}

func TestFindLibraryMissing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "libonnxruntime.so.1")
	tests := []struct {
		name, explicit, env string
		want                []string
	}{
		{"explicit", missing, "", []string{missing + " (options)", "make onnxruntime-lib", ort.LibraryEnv}},
		{"env", "", missing, []string{missing + " ($MEDFLOW_ORT_LIB)", "make onnxruntime-lib"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(ort.LibraryEnv, tc.env)
			_, err := ort.FindLibrary(tc.explicit)
			if !errors.Is(err, ort.ErrNoLibrary) {
				t.Fatalf("err = %v, want ErrNoLibrary", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("default-walks-up", func(t *testing.T) {
		t.Setenv(ort.LibraryEnv, "")
		sub := filepath.Join(dir, "a", "b")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Chdir(sub)
		_, err := ort.FindLibrary("")
		if err == nil {
			t.Skip("a libonnxruntime exists above the temp dir")
		}
		for _, d := range []string{sub, filepath.Join(dir, "a"), dir} {
			if w := filepath.Join(d, ort.DefaultLibrary); !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not list %q", err, w)
			}
		}
		lib := filepath.Join(dir, ort.DefaultLibrary)
		if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lib, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ort.FindLibrary("")
		if err != nil || got != lib {
			t.Fatalf("FindLibrary = %q, %v; want %q", got, err, lib)
		}
	})
}

func TestCUDAProviderMissing(t *testing.T) {
	tests := []struct {
		name    string
		present []string
		missing []string
	}{
		{"none", nil, []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"}},
		{"shared-only", []string{"libonnxruntime_providers_shared.so"}, []string{"libonnxruntime_providers_cuda.so"}},
		{"cuda-only", []string{"libonnxruntime_providers_cuda.so"}, []string{"libonnxruntime_providers_shared.so"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lib := filepath.Join(dir, "libonnxruntime.so.1")
			for _, f := range append([]string{"libonnxruntime.so.1"}, tc.present...) {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ort.Load(filepath.Join(dir, "model.onnx"), textContract(8), ort.Options{Library: lib, Provider: "cuda", DeviceID: 1})
			if !errors.Is(err, ort.ErrNoCUDAProvider) {
				t.Fatalf("err = %v, want ErrNoCUDAProvider", err)
			}
			msg := err.Error()
			for _, f := range tc.missing {
				if !strings.Contains(msg, f) {
					t.Errorf("error %q does not name missing %s", msg, f)
				}
			}
			for _, f := range tc.present {
				if strings.Contains(msg, "missing "+f) || strings.Contains(msg, "and "+f) {
					t.Errorf("error %q names present %s as missing", msg, f)
				}
			}
			if !strings.Contains(msg, dir) {
				t.Errorf("error %q does not name the folder %s", msg, dir)
			}
		})
	}
}

// A file that is not an ONNX Runtime library: before ORT is initialised in
// this process the error is ErrNoLibrary naming the file and the loader's
// complaint; afterwards, asking for another library is ErrOptions.
func TestInitBadLibrary(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bad, []byte("not a shared object"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := ort.Library()
	_, err := ort.Init(bad)
	switch {
	case before == "":
		if !errors.Is(err, ort.ErrNoLibrary) || !strings.Contains(err.Error(), bad) {
			t.Fatalf("err = %v, want ErrNoLibrary naming %s", err, bad)
		}
		if ort.Library() != "" {
			t.Fatal("a failed Init left the environment marked initialised")
		}
	default:
		if !errors.Is(err, ort.ErrOptions) || !strings.Contains(err.Error(), "already initialised") {
			t.Fatalf("err = %v, want ErrOptions (already initialised)", err)
		}
	}
}

func TestOptionsInvalid(t *testing.T) {
	tests := []struct {
		name string
		o    ort.Options
		want string
	}{
		{"provider", ort.Options{Provider: "tpu"}, `provider "tpu"`},
		{"optimization", ort.Options{GraphOptimization: "max"}, `graph optimization "max"`},
		{"threads", ort.Options{IntraOpThreads: -1}, "threads"},
		{"concurrency", ort.Options{Sessions: 3, Concurrency: 2}, "concurrency 2 < sessions 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ort.Load("x.onnx", textContract(8), tc.o)
			if !errors.Is(err, ort.ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrOptions mentioning %q", err, tc.want)
			}
		})
	}
}

func textContract(dim int64) ort.Contract {
	return ort.Contract{
		Inputs: []ort.Spec{
			{Name: "input_ids", DType: ort.Int64, Rank: 2, Doc: "[batch, seq]"},
			{Name: "attention_mask", DType: ort.Int64, Rank: 2, Doc: "[batch, seq]"},
		},
		Outputs: []ort.Spec{{Name: "last_hidden_state", DType: ort.Float32, Rank: 3, Dims: []int64{-1, -1, dim}}},
	}
}

func TestContract(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "embed.onnx")
	if _, err := testmodel.Embedding(path, 50, 8, 1); err != nil {
		t.Fatal(err)
	}
	ok := textContract(8)
	mod := func(f func(c *ort.Contract)) ort.Contract {
		c := textContract(8)
		c.Inputs = append([]ort.Spec(nil), c.Inputs...)
		c.Outputs = append([]ort.Spec(nil), c.Outputs...)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		c    ort.Contract
		want []string // all must appear; nil: no error
	}{
		{"ok", ok, nil},
		{"input-name", mod(func(c *ort.Contract) { c.Inputs[0].Name = "ids" }),
			[]string{`input "ids" int64 [batch, seq]: the model has no input named "ids"`, `model input "input_ids" int64 [?, ?] is not fed`}},
		{"input-dtype", mod(func(c *ort.Contract) { c.Inputs[1].DType = ort.Int32 }),
			[]string{`input "attention_mask" int32`, "element type int64, want int32"}},
		{"input-rank", mod(func(c *ort.Contract) { c.Inputs[0].Rank = 3 }),
			[]string{`input "input_ids"`, "rank 2, want 3"}},
		{"output-dim", mod(func(c *ort.Contract) { c.Outputs[0].Dims = []int64{-1, -1, 16} }),
			[]string{`output "last_hidden_state"`, "dim 2 is 8, want 16"}},
		{"output-missing", mod(func(c *ort.Contract) { c.Outputs[0].Name = "pooler_output" }),
			[]string{`the model has no output named "pooler_output"`, `outputs ["last_hidden_state" float32 [?, ?, 8]]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ort.Load(path, tc.c, ort.Options{})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := m.Output(0).Dims; len(got) != 3 || got[2] != 8 || got[0] != -1 {
					t.Errorf("output dims %v", got)
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ort.ErrContract) {
				t.Fatalf("err = %v, want ErrContract", err)
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// embedRef is what the Embedding test model computes.
func embedRef(e []float32, dim int, ids, mask []int64) []float32 {
	out := make([]float32, len(ids)*dim)
	for i, id := range ids {
		for k := range dim {
			out[i*dim+k] = e[int(id)*dim+k] * float32(mask[i])
		}
	}
	return out
}

func TestRunDynamicShapes(t *testing.T) {
	requireORT(t)
	const vocab, dim = 40, 6
	path := filepath.Join(t.TempDir(), "embed.onnx")
	e, err := testmodel.Embedding(path, vocab, dim, 7)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ort.Load(path, textContract(dim), ort.Options{IntraOpThreads: 1, GraphOptimization: "basic"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, shape := range [][2]int{{1, 1}, {3, 5}, {2, 17}, {7, 2}} {
		b, s := shape[0], shape[1]
		ids, mask := make([]int64, b*s), make([]int64, b*s)
		for i := range ids {
			ids[i] = int64((i*7 + b) % vocab)
			mask[i] = int64((i + s) % 3 % 2)
		}
		want := embedRef(e, dim, ids, mask)
		in := []ort.Tensor{{Shape: []int64{int64(b), int64(s)}, Data: ids}, {Shape: []int64{int64(b), int64(s)}, Data: mask}}
		// ORT allocates the output.
		out := make([]ort.Tensor, 1)
		if err := m.Run(context.Background(), in, out); err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		if got := out[0].Shape; len(got) != 3 || got[0] != int64(b) || got[1] != int64(s) || got[2] != dim {
			t.Fatalf("%v: output shape %v", shape, got)
		}
		assertClose(t, out[0].Data.([]float32), want, 0)
		// Caller buffer.
		buf := make([]float32, b*s*dim)
		out = []ort.Tensor{{Shape: []int64{int64(b), int64(s), dim}, Data: buf}}
		if err := m.Run(context.Background(), in, out); err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		assertClose(t, buf, want, 0)
	}
}

func assertClose(t testing.TB, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("[%d] = %v, want %v (tol %g)", i, got[i], want[i], tol)
		}
	}
}

func TestRunInputErrors(t *testing.T) {
	requireORT(t)
	path := filepath.Join(t.TempDir(), "mm.onnx")
	if _, err := testmodel.MatMul(path, 4, 3, 1); err != nil {
		t.Fatal(err)
	}
	c := ort.Contract{Inputs: []ort.Spec{{Name: "x", DType: ort.Float32, Rank: 2}}, Outputs: []ort.Spec{{Name: "y", DType: ort.Float32, Rank: 2}}}
	m, err := ort.Load(path, c, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tests := []struct {
		name string
		in   []ort.Tensor
		want string
	}{
		{"dtype", []ort.Tensor{{Shape: []int64{1, 4}, Data: []int64{1, 2, 3, 4}}}, "got int64 data, the model wants float32"},
		{"rank", []ort.Tensor{{Shape: []int64{4}, Data: make([]float32, 4)}}, "has rank 1"},
		{"static-dim", []ort.Tensor{{Shape: []int64{1, 5}, Data: make([]float32, 5)}}, "the model wants [?, 4]"},
		{"short-data", []ort.Tensor{{Shape: []int64{2, 4}, Data: make([]float32, 5)}}, "needs 8 values, data has 5"},
		{"count", nil, "got 0 inputs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Run(context.Background(), tc.in, make([]ort.Tensor, 1))
			if !errors.Is(err, ort.ErrInput) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want ErrInput with %q and the path", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Run(ctx, []ort.Tensor{{Shape: []int64{1, 4}, Data: make([]float32, 4)}}, make([]ort.Tensor, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), []ort.Tensor{{Shape: []int64{1, 4}, Data: make([]float32, 4)}}, make([]ort.Tensor, 1)); !errors.Is(err, ort.ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
}

func TestPoolConcurrent(t *testing.T) {
	requireORT(t)
	const n, d = 16, 8
	path := filepath.Join(t.TempDir(), "mm.onnx")
	w, err := testmodel.MatMul(path, n, d, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := ort.Contract{Inputs: []ort.Spec{{Name: "x", DType: ort.Float32, Rank: 2, Dims: []int64{-1, n}}},
		Outputs: []ort.Spec{{Name: "y", DType: ort.Float32, Rank: 2, Dims: []int64{-1, d}}}}
	for _, o := range []ort.Options{{Sessions: 1, Concurrency: 3, IntraOpThreads: 1}, {Sessions: 2, IntraOpThreads: 1}} {
		m, err := ort.Load(path, c, o)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for g := range errs {
			wg.Go(func() {
				for it := range 20 {
					b := 1 + (g+it)%5
					x := testmodel.Random(uint64(g*100+it), b*n, 1)
					out := make([]ort.Tensor, 1)
					if err := m.Run(context.Background(), []ort.Tensor{{Shape: []int64{int64(b), n}, Data: x}}, out); err != nil {
						errs[g] = err
						return
					}
					y := out[0].Data.([]float32)
					for r := range b {
						for j := range d {
							var s float64
							for k := range n {
								s += float64(x[r*n+k]) * float64(w[k*d+j])
							}
							if math.Abs(s-float64(y[r*d+j])) > 1e-4 {
								errs[g] = errors.New("wrong product")
								return
							}
						}
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
