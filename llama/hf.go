package llama

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/medflow/medflow/onnx/graph"
	"github.com/medflow/medflow/safetensors"
)

// streamChunk is how many elements FromHF converts at a time when streaming
// an untransposed tensor.
const streamChunk = 1 << 18

// ErrHF means a Hugging Face checkpoint directory cannot be converted.
var ErrHF = errors.New("llama: hugging face checkpoint")

// hfConfig is the part of a Hugging Face LlamaConfig config.json we use.
type hfConfig struct {
	Architectures         []string        `json:"architectures,omitempty"`
	ModelType             string          `json:"model_type,omitempty"`
	HiddenSize            int             `json:"hidden_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      int             `json:"num_key_value_heads,omitempty"`
	IntermediateSize      int             `json:"intermediate_size"`
	VocabSize             int             `json:"vocab_size"`
	RopeTheta             float64         `json:"rope_theta,omitempty"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	HeadDim               int             `json:"head_dim,omitempty"`
	RopeScaling           json.RawMessage `json:"rope_scaling,omitempty"`
	HiddenAct             string          `json:"hidden_act,omitempty"`
	TorchDType            string          `json:"torch_dtype,omitempty"`
}

// ReadHFConfig reads dir/config.json into a Config. Missing
// num_key_value_heads means multi-head attention, missing rope_theta 10000.
// rope_scaling, a head_dim other than hidden/heads and activations other
// than silu are rejected.
func ReadHFConfig(dir string) (Config, error) {
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrHF, err)
	}
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", ErrHF, p, err)
	}
	if h.NumKeyValueHeads == 0 {
		h.NumKeyValueHeads = h.NumAttentionHeads
	}
	if h.RopeTheta == 0 {
		h.RopeTheta = 10000
	}
	if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
		return Config{}, fmt.Errorf("%w: %s: rope_scaling %s is not supported", ErrHF, p, h.RopeScaling)
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return Config{}, fmt.Errorf("%w: %s: hidden_act %q is not supported (want silu)", ErrHF, p, h.HiddenAct)
	}
	cfg := Config{
		Vocab: h.VocabSize, Dim: h.HiddenSize, Layers: h.NumHiddenLayers, Heads: h.NumAttentionHeads,
		KVHeads: h.NumKeyValueHeads, Hidden: h.IntermediateSize, MaxSeq: h.MaxPositionEmbeddings,
		RopeTheta: h.RopeTheta, NormEps: h.RMSNormEps,
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", p, err)
	}
	if h.HeadDim != 0 && h.HeadDim != cfg.HeadDim() {
		return Config{}, fmt.Errorf("%w: %s: head_dim %d != hidden_size/num_attention_heads %d", ErrHF, p, h.HeadDim, cfg.HeadDim())
	}
	return cfg, nil
}

// FromHF converts the Hugging Face Llama checkpoint in dir (config.json and
// *.safetensors with F32, F16 or BF16 tensors) into an ONNX model at out
// with its weights in out.data. Tensors are streamed in graph order and
// appended to out.data as they are converted, every one in chunks of 256K
// elements (Linear weights keep their [out, in] layout; the graph transposes
// them), so memory stays near one chunk whatever the model size.
// opt.ExternalData is implied; opt.Float16 stores float16 weights.
func FromHF(dir, out string, opt WriteOptions) (Config, error) {
	cfg, err := ReadHFConfig(dir)
	if err != nil {
		return Config{}, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(files) == 0 {
		return Config{}, fmt.Errorf("%w: no *.safetensors in %s", ErrHF, dir)
	}
	sort.Strings(files)
	where := map[string]*safetensors.Reader{}
	for _, f := range files {
		r, err := safetensors.Open(f)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %w", ErrHF, err)
		}
		defer r.Close()
		for _, t := range r.Tensors() {
			where[t.Name] = r
		}
	}
	// Check every parameter exists with its shape before writing anything.
	for _, p := range cfg.Params() {
		r, ok := where[p.Name]
		if !ok {
			return Config{}, fmt.Errorf("%w: %s: tensor %s not found in %d safetensors file(s)", ErrWeights, dir, p.Name, len(files))
		}
		info, _ := r.Info(p.Name)
		if !slices.Equal(info.Shape, p.Shape) {
			return Config{}, fmt.Errorf("%w: %s: tensor %s has shape %v, config.json implies %v", ErrWeights, r.Name(), p.Name, info.Shape, p.Shape)
		}
	}
	opt.ExternalData = true
	// Every parameter is streamed in chunks of streamChunk elements.
	var chunk []float32
	var enc []byte
	stream := func(p Param, float16 bool, w io.Writer) error {
		r := where[p.Name]
		n := numel(p.Shape)
		if chunk == nil {
			chunk = make([]float32, streamChunk)
		}
		for start := 0; start < n; start += streamChunk {
			c := chunk[:min(streamChunk, n-start)]
			if err := r.ReadFloat32At(p.Name, start, c); err != nil {
				return fmt.Errorf("%w: %w", ErrHF, err)
			}
			if float16 {
				enc = graph.AppendFloat16Bytes(enc, c)
			} else {
				enc = graph.AppendFloat32Bytes(enc, c)
			}
			if _, err := w.Write(enc); err != nil {
				return err
			}
		}
		return nil
	}
	if err := writeModel(out, cfg, opt, nil, stream); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// WriteHF writes a Hugging Face-format checkpoint of cfg and w to dir:
// config.json (LlamaForCausalLM) and model.safetensors with F32 tensors.
func WriteHF(dir string, cfg Config, w Weights) error {
	return WriteHFDType(dir, cfg, w, safetensors.F32)
}

// WriteHFDType is WriteHF with the tensors stored as dtype (F32, F16, BF16).
func WriteHFDType(dir string, cfg Config, w Weights, dtype string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := w.Check(cfg); err != nil {
		return err
	}
	if err := WriteHFConfig(dir, cfg, dtype); err != nil {
		return err
	}
	p := filepath.Join(dir, "model.safetensors")
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHF, err)
	}
	var decl []safetensors.Decl
	for _, pr := range cfg.Params() {
		decl = append(decl, safetensors.Decl{Name: pr.Name, DType: dtype, Shape: pr.Shape})
	}
	sw, err := safetensors.NewWriter(f, decl, map[string]string{"format": "pt"})
	if err == nil {
		for _, pr := range cfg.Params() {
			if err = sw.WriteFloat32(pr.Name, w[pr.Name].Data); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = sw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrHF, p, err)
	}
	return nil
}

// WriteHFConfig writes dir/config.json for cfg (dtype names torch_dtype:
// F32 float32, F16 float16, BF16 bfloat16).
func WriteHFConfig(dir string, cfg Config, dtype string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrHF, err)
	}
	td := map[string]string{safetensors.F32: "float32", safetensors.F16: "float16", safetensors.BF16: "bfloat16"}[dtype]
	h := hfConfig{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama",
		HiddenSize: cfg.Dim, NumHiddenLayers: cfg.Layers, NumAttentionHeads: cfg.Heads,
		NumKeyValueHeads: cfg.KVHeads, IntermediateSize: cfg.Hidden, VocabSize: cfg.Vocab,
		RopeTheta: cfg.RopeTheta, RMSNormEps: cfg.NormEps, MaxPositionEmbeddings: cfg.MaxSeq,
		HiddenAct: "silu", TorchDType: td,
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHF, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrHF, err)
	}
	return nil
}
