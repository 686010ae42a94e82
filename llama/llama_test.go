package llama_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/onnx/onnxpb"
	"github.com/medflow/medflow/safetensors"
)

func TestConfigValidate(t *testing.T) {
	ok := llama.TinyConfig()
	mod := func(f func(*llama.Config)) llama.Config { c := ok; f(&c); return c }
	tests := []struct {
		name string
		cfg  llama.Config
		ok   bool
	}{
		{"tiny", ok, true},
		{"7b", llama.Llama2_7B(), true},
		{"zero layers", mod(func(c *llama.Config) { c.Layers = 0 }), false},
		{"dim not divisible by heads", mod(func(c *llama.Config) { c.Dim = 66 }), false},
		{"odd head dim", mod(func(c *llama.Config) { c.Dim, c.Heads, c.KVHeads = 36, 4, 2 }), false},
		{"heads not divisible by kv heads", mod(func(c *llama.Config) { c.KVHeads = 3 }), false},
		{"no theta", mod(func(c *llama.Config) { c.RopeTheta = 0 }), false},
		{"NaN eps", mod(func(c *llama.Config) { c.NormEps = math.NaN() }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, llama.ErrConfig)) {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	c7 := llama.Llama2_7B()
	if c7.Dim != 4096 || c7.Layers != 32 || c7.Heads != 32 || c7.KVHeads != 32 || c7.Hidden != 11008 || c7.Vocab != 32000 {
		t.Errorf("7B config %+v", c7)
	}
	tc := llama.TinyConfig()
	if tc.Vocab != 32000 || tc.Layers != 2 || tc.Heads != 4 || tc.KVHeads != 2 || tc.Hidden != llama.HiddenFor(tc.Dim) {
		t.Errorf("tiny config %+v", tc)
	}
}

func TestRandomWeights(t *testing.T) {
	cfg := llama.TinyConfig()
	a, b, c := llama.RandomWeights(cfg, 1), llama.RandomWeights(cfg, 1), llama.RandomWeights(cfg, 2)
	if err := a.Check(cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different weights")
	}
	if reflect.DeepEqual(a[llama.Embed].Data[:10], c[llama.Embed].Data[:10]) {
		t.Error("different seeds, same weights")
	}
	delete(a, llama.FinalNorm)
	if err := a.Check(cfg); !errors.Is(err, llama.ErrWeights) || !strings.Contains(err.Error(), llama.FinalNorm) {
		t.Errorf("missing weight: %v", err)
	}
}

func int64s(xs []int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

// readONNXWeights decodes the initializers of a model written by WriteONNX
// (inline or external, float32 or float16) back to Hugging Face layout.
func readONNXWeights(t *testing.T, path string, cfg llama.Config) llama.Weights {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, it := range m.GetGraph().GetInitializer() {
		inits[it.GetName()] = it
	}
	w := llama.Weights{}
	for _, p := range cfg.Params() {
		it := inits[p.Name]
		if it == nil {
			t.Fatalf("initializer %s missing", p.Name)
		}
		raw := it.GetRawData()
		if it.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			kv := map[string]string{}
			for _, e := range it.GetExternalData() {
				kv[e.GetKey()] = e.GetValue()
			}
			off, _ := strconv.ParseInt(kv["offset"], 10, 64)
			n, _ := strconv.Atoi(kv["length"])
			if off%llama.ExternalAlign != 0 {
				t.Errorf("%s at unaligned offset %d", p.Name, off)
			}
			f, err := os.Open(filepath.Join(filepath.Dir(path), kv["location"]))
			if err != nil {
				t.Fatal(err)
			}
			raw = make([]byte, n)
			_, err = f.ReadAt(raw, off)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
		}
		var data []float32
		switch it.GetDataType() {
		case int32(onnxpb.TensorProto_FLOAT):
			for i := 0; i < len(raw); i += 4 {
				data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(raw[i:])))
			}
		case int32(onnxpb.TensorProto_FLOAT16):
			for i := 0; i < len(raw); i += 2 {
				data = append(data, safetensors.F16ToF32(binary.LittleEndian.Uint16(raw[i:])))
			}
		default:
			t.Fatalf("%s: data type %d", p.Name, it.GetDataType())
		}
		// Every initializer keeps its Hugging Face layout (Linear weights
		// [out, in]; the graph transposes them).
		if dims := it.GetDims(); !slices.Equal(dims, int64s(p.Shape)) {
			t.Fatalf("%s: dims %v, want the checkpoint's %v", p.Name, dims, p.Shape)
		}
		w[p.Name] = llama.Tensor{Shape: p.Shape, Data: data}
	}
	return w
}

func roundWeights(w llama.Weights, f func(float32) float32) llama.Weights {
	out := llama.Weights{}
	for k, t := range w {
		d := make([]float32, len(t.Data))
		for i, v := range t.Data {
			d[i] = f(v)
		}
		out[k] = llama.Tensor{Shape: t.Shape, Data: d}
	}
	return out
}

func f16(v float32) float32  { return safetensors.F16ToF32(safetensors.F32ToF16(v)) }
func bf16(v float32) float32 { return safetensors.BF16ToF32(safetensors.F32ToBF16(v)) }
func same(v float32) float32 { return v }

func smallConfig() llama.Config {
	return llama.Config{Vocab: 300, Dim: 32, Layers: 2, Heads: 4, KVHeads: 2, Hidden: llama.HiddenFor(32), MaxSeq: 64, RopeTheta: 500000, NormEps: 1e-6}
}

// WriteHF -> FromHF gives the same weights (up to the storage dtypes) and config.
func TestHFRoundTrip(t *testing.T) {
	cfg := smallConfig()
	w := llama.RandomWeights(cfg, 11)
	tests := []struct {
		dtype string
		f16   bool
		round func(float32) float32
	}{
		{safetensors.F32, false, same},
		{safetensors.F16, false, f16},
		{safetensors.BF16, false, bf16},
		{safetensors.F32, true, f16},
		{safetensors.BF16, true, func(v float32) float32 { return f16(bf16(v)) }},
	}
	for _, tc := range tests {
		t.Run(tc.dtype+"/float16="+strconv.FormatBool(tc.f16), func(t *testing.T) {
			dir := t.TempDir()
			hf := filepath.Join(dir, "hf")
			if err := llama.WriteHFDType(hf, cfg, w, tc.dtype); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "model.onnx")
			got, err := llama.FromHF(hf, out, llama.WriteOptions{Float16: tc.f16})
			if err != nil {
				t.Fatal(err)
			}
			if got != cfg {
				t.Errorf("config %+v, want %+v", got, cfg)
			}
			if mc, err := llama.ConfigFromModel(out); err != nil || mc != cfg {
				t.Errorf("ConfigFromModel = %+v, %v", mc, err)
			}
			if _, err := os.Stat(out + ".data"); err != nil {
				t.Errorf("no external data file: %v", err)
			}
			back := readONNXWeights(t, out, cfg)
			want := roundWeights(w, tc.round)
			for _, p := range cfg.Params() {
				if !reflect.DeepEqual(back[p.Name].Data, want[p.Name].Data) {
					t.Fatalf("%s differs after round trip", p.Name)
				}
			}
		})
	}
}

func TestFromHFErrors(t *testing.T) {
	cfg := smallConfig()
	w := llama.RandomWeights(cfg, 1)
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr error
		mention string
	}{
		{"no config", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "config.json")) }, llama.ErrHF, "config.json"},
		{"no safetensors", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) }, llama.ErrHF, "safetensors"},
		{"missing tensor", func(t *testing.T, dir string) {
			w2 := llama.Weights{}
			for k, v := range w {
				w2[k] = v
			}
			c2 := cfg
			c2.Layers = 1
			if err := llama.WriteHF(dir, c2, w2); err != nil {
				t.Fatal(err)
			}
			editConfig(t, dir, func(m map[string]any) { m["num_hidden_layers"] = 2 })
		}, llama.ErrWeights, "model.layers.1."},
		{"wrong shape", func(t *testing.T, dir string) {
			editConfig(t, dir, func(m map[string]any) { m["intermediate_size"] = 100 })
		}, llama.ErrWeights, "mlp.gate_proj.weight"},
		{"rope scaling", func(t *testing.T, dir string) {
			editConfig(t, dir, func(m map[string]any) { m["rope_scaling"] = map[string]any{"type": "linear", "factor": 2} })
		}, llama.ErrHF, "rope_scaling"},
		{"bad config", func(t *testing.T, dir string) {
			editConfig(t, dir, func(m map[string]any) { m["num_key_value_heads"] = 3 })
		}, llama.ErrConfig, "kv_heads"},
		{"truncated safetensors", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-10)
		}, safetensors.ErrOffsets, "model.norm.weight"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := llama.WriteHF(dir, cfg, w); err != nil {
				t.Fatal(err)
			}
			tc.prepare(t, dir)
			_, err := llama.FromHF(dir, filepath.Join(t.TempDir(), "m.onnx"), llama.WriteOptions{})
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("got %v, want %v mentioning %q", err, tc.wantErr, tc.mention)
			}
		})
	}
}

func editConfig(t *testing.T, dir string, f func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteONNXErrors(t *testing.T) {
	cfg := smallConfig()
	w := llama.RandomWeights(cfg, 1)
	bad := cfg
	bad.Heads = 5
	if err := llama.WriteONNX(filepath.Join(t.TempDir(), "m.onnx"), bad, w, llama.WriteOptions{}); !errors.Is(err, llama.ErrConfig) {
		t.Errorf("bad config: %v", err)
	}
	w[llama.Embed] = llama.Tensor{Shape: []int{cfg.Vocab + 1, cfg.Dim}, Data: make([]float32, (cfg.Vocab+1)*cfg.Dim)}
	if err := llama.WriteONNX(filepath.Join(t.TempDir(), "m.onnx"), cfg, w, llama.WriteOptions{}); !errors.Is(err, llama.ErrWeights) {
		t.Errorf("bad shape: %v", err)
	}
	if err := llama.WriteONNX(filepath.Join(t.TempDir(), "no", "m.onnx"), cfg, llama.RandomWeights(cfg, 1), llama.WriteOptions{ExternalData: true}); !errors.Is(err, llama.ErrONNX) {
		t.Errorf("missing dir: %v", err)
	}
	// Llama-2-7B does not fit inline; the size check runs before the weights are looked at.
	if err := llama.WriteONNX(filepath.Join(t.TempDir(), "7b.onnx"), llama.Llama2_7B(), llama.Weights{}, llama.WriteOptions{Float16: true}); !errors.Is(err, llama.ErrONNX) || !strings.Contains(err.Error(), "ExternalData") {
		t.Errorf("7B inline: %v", err)
	}
}

// The graph has the documented interface and only default-domain ops.
func TestGraphInterface(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tiny.onnx")
	cfg, err := llama.WriteTiny(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	io := func(vs []*onnxpb.ValueInfoProto) (out []string) {
		for _, v := range vs {
			var dims []string
			for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
				if d.GetDimParam() != "" {
					dims = append(dims, d.GetDimParam())
				} else {
					dims = append(dims, strconv.FormatInt(d.GetDimValue(), 10))
				}
			}
			out = append(out, v.GetName()+":"+onnxpb.TensorProto_DataType(v.GetType().GetTensorType().GetElemType()).String()+"["+strings.Join(dims, ",")+"]")
		}
		return out
	}
	wantIn := []string{"input_ids:INT64[batch,sequence]", "attention_mask:INT64[batch,sequence]"}
	wantOut := []string{"last_hidden_state:FLOAT[batch,sequence," + strconv.Itoa(cfg.Dim) + "]"}
	if got := io(g.GetInput()); !reflect.DeepEqual(got, wantIn) {
		t.Errorf("inputs %v, want %v", got, wantIn)
	}
	if got := io(g.GetOutput()); !reflect.DeepEqual(got, wantOut) {
		t.Errorf("outputs %v, want %v", got, wantOut)
	}
	for _, n := range g.GetNode() {
		if n.GetDomain() != "" {
			t.Errorf("node %s in domain %q", n.GetName(), n.GetDomain())
		}
	}
	if m.GetOpsetImport()[0].GetVersion() != 17 {
		t.Errorf("opset %v", m.GetOpsetImport())
	}
}
