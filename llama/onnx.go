package llama

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/onnx/graph"
	"github.com/medflow/medflow/onnx/onnxpb"
)

// Names of the ONNX graph's inputs and output.
const (
	InputIDs        = "input_ids"
	AttentionMask   = "attention_mask"
	LastHiddenState = "last_hidden_state"
)

// MaskValue is the additive score of a masked (future or padding) key. A
// large finite negative rather than -Inf, so that a query whose keys are all
// masked gets a uniform (finite) softmax instead of NaN.
const MaskValue = -1e9

// ExternalAlign is the byte alignment of each tensor in the external data file.
const ExternalAlign = 4096

// maxInlineBytes is the most weight bytes WriteONNX stores inside the
// model proto (protobuf messages are limited to 2 GiB).
const maxInlineBytes = 1900 << 20

// externalMin is the size from which an initializer goes to the external data file.
const externalMin = 1024

// WriteOptions selects how WriteONNX stores the weights.
type WriteOptions struct {
	// Float16 stores the weights as IEEE float16 initializers that the graph
	// casts to float32 before use (compute stays float32; the file halves).
	Float16 bool
	// ExternalData writes weights of 1 KiB or more to PATH.data (named by its
	// base name in the model, at 4096-byte aligned offsets) instead of
	// inside the model proto. Needed for models above 2 GB.
	ExternalData bool
}

// ErrONNX wraps failures while building or writing the ONNX model.
var ErrONNX = errors.New("llama: write onnx")

// source returns the float32 data of a parameter in the Hugging Face
// layout; the slice is only read, and only until the next call.
type source func(p Param) ([]float32, error)

// streamer, when not nil, writes a parameter that needs no transposition
// straight to w, encoded as float16 or float32 little-endian, in pieces.
type streamer func(p Param, float16 bool, w io.Writer) error

// WriteONNX writes the model cfg with weights w to path (see package doc for
// the graph's inputs and output).
func WriteONNX(path string, cfg Config, w Weights, opt WriteOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !opt.ExternalData {
		var n int64
		for _, p := range cfg.Params() {
			n += int64(numel(p.Shape))
		}
		if opt.Float16 {
			n *= 2
		} else {
			n *= 4
		}
		if n > maxInlineBytes {
			return fmt.Errorf("%w: %s: %d bytes of weights do not fit in a protobuf (limit 2 GB); use ExternalData", ErrONNX, path, n)
		}
	}
	if err := w.Check(cfg); err != nil {
		return err
	}
	return writeModel(path, cfg, opt, func(p Param) ([]float32, error) { return w[p.Name].Data, nil }, nil)
}

// WriteTiny writes TinyConfig with RandomWeights(seed) to path (fp32, inline
// weights) and returns the config.
func WriteTiny(path string, seed int64) (Config, error) {
	cfg := TinyConfig()
	return cfg, WriteONNX(path, cfg, RandomWeights(cfg, seed), WriteOptions{})
}

// ConfigFromModel reads the Config that WriteONNX stored in a model's
// metadata (key "medflow.llama.config").
func ConfigFromModel(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("llama: read model %s: %w", path, err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return Config{}, fmt.Errorf("llama: decode model %s: %w", path, err)
	}
	for _, kv := range m.GetMetadataProps() {
		if kv.GetKey() == metaConfigKey {
			var c Config
			if err := json.Unmarshal([]byte(kv.GetValue()), &c); err != nil {
				return Config{}, fmt.Errorf("llama: model %s metadata %s: %w", path, metaConfigKey, err)
			}
			return c, c.Validate()
		}
	}
	return Config{}, fmt.Errorf("%w: model %s has no %s metadata", ErrConfig, path, metaConfigKey)
}

const metaConfigKey = "medflow.llama.config"

// writeModel builds the graph, pulling each parameter from get in graph
// order, and writes it (plus path.data with ExternalData).
func writeModel(path string, cfg Config, opt WriteOptions, get source, stream streamer) (err error) {
	g := graph.New("llama")
	if opt.ExternalData {
		dataPath := path + ".data"
		f, ferr := os.Create(dataPath)
		if ferr != nil {
			return fmt.Errorf("%w: %w", ErrONNX, ferr)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			if ferr := bw.Flush(); ferr != nil && err == nil {
				err = fmt.Errorf("%w: %s: %w", ErrONNX, dataPath, ferr)
			}
			if ferr := f.Close(); ferr != nil && err == nil {
				err = fmt.Errorf("%w: %s: %w", ErrONNX, dataPath, ferr)
			}
		}()
		g.SetExternalData(bw, filepath.Base(dataPath), externalMin, ExternalAlign)
	}
	if err := build(g, cfg, opt, get, stream); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrONNX, path, err)
	}
	m := g.Model("medflow")
	cj, _ := json.Marshal(cfg)
	m.Proto.MetadataProps = append(m.Proto.MetadataProps, &onnxpb.StringStringEntryProto{
		Key: proto.String(metaConfigKey), Value: proto.String(string(cj)),
	})
	if err := m.Write(path); err != nil {
		return fmt.Errorf("%w: %w", ErrONNX, err)
	}
	return nil
}

// RopeTables returns cos and sin of the rotary angles, each [MaxSeq, HeadDim]
// row-major, Hugging Face layout: angle(p, i) = p * theta^(-2(i mod hd/2)/hd).
func RopeTables(cfg Config) (cos, sin []float32) {
	hd := cfg.HeadDim()
	cos = make([]float32, cfg.MaxSeq*hd)
	sin = make([]float32, cfg.MaxSeq*hd)
	for p := 0; p < cfg.MaxSeq; p++ {
		for i := 0; i < hd; i++ {
			j := i % (hd / 2)
			a := float64(p) * math.Pow(cfg.RopeTheta, -2*float64(j)/float64(hd))
			cos[p*hd+i] = float32(math.Cos(a))
			sin[p*hd+i] = float32(math.Sin(a))
		}
	}
	return cos, sin
}

// builder holds the shared values of the graph under construction.
type builder struct {
	g      *graph.Graph
	cfg    Config
	opt    WriteOptions
	get    source
	stream streamer // nil: every parameter goes through get
	// enc is reused across parameters written from memory.
	enc             []byte
	cos, sin        graph.Value // [S, 1, hd]
	bias            graph.Value // [B, 1, 1, S, S]
	eps, scale, one graph.Value
}

// weight adds parameter p as an initializer in its Hugging Face layout and
// returns a float32 value of it. Linear weights stay [out, in] and are
// transposed in the graph (ORT folds the Transpose into the MatMul, as
// FusedMatMul with transB, when it optimizes the session), so every tensor
// is a plain copy of the checkpoint's and a conversion streams them all in
// chunks instead of holding a transposed copy.
func (b *builder) weight(p Param, cast bool) (graph.Value, error) {
	v, err := b.initializer(p)
	if err != nil {
		return "", err
	}
	if cast && b.opt.Float16 {
		v = b.g.Cast(v, graph.Float32)
	}
	if p.Linear {
		v = b.g.Transpose(v, 1, 0)
	}
	return v, nil
}

// initializer adds parameter p's values, streamed when the builder has a
// streamer.
func (b *builder) initializer(p Param) (graph.Value, error) {
	dt := graph.Float32
	if b.opt.Float16 {
		dt = graph.Float16
	}
	dims := make([]int64, len(p.Shape))
	for i, d := range p.Shape {
		dims[i] = int64(d)
	}
	if b.stream != nil {
		return b.g.Stream(p.Name, dt, dims, func(w io.Writer) error { return b.stream(p, b.opt.Float16, w) })
	}
	data, err := b.get(p)
	if err != nil {
		return "", err
	}
	if len(data) != numel(p.Shape) {
		return "", fmt.Errorf("%w: %s has %d values, shape %v needs %d", ErrWeights, p.Name, len(data), p.Shape, numel(p.Shape))
	}
	if b.opt.Float16 {
		b.enc = graph.AppendFloat16Bytes(b.enc, data)
	} else {
		b.enc = graph.AppendFloat32Bytes(b.enc, data)
	}
	return b.g.Raw(p.Name, dt, dims, b.enc)
}

func build(g *graph.Graph, cfg Config, opt WriteOptions, get source, stream streamer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b := &builder{g: g, cfg: cfg, opt: opt, get: get, stream: stream}
	batch, seq := graph.Sym("batch"), graph.Sym("sequence")
	ids, err := g.Input(InputIDs, graph.Int64, batch, seq)
	if err != nil {
		return err
	}
	mask, err := g.Input(AttentionMask, graph.Int64, batch, seq)
	if err != nil {
		return err
	}
	hd := int64(cfg.HeadDim())

	// Shared: sequence length, rotary tables sliced to it, attention bias.
	g.SetScope("prep/")
	seqLen := g.Slice(g.Shape(ids), []int64{1}, []int64{2}, []int64{0}) // [1]
	cosT, sinT := RopeTables(cfg)
	ropeDims := []int64{int64(cfg.MaxSeq), hd}
	cosV, err := g.Float32("rope.cos", ropeDims, cosT)
	if err != nil {
		return err
	}
	sinV, err := g.Float32("rope.sin", ropeDims, sinT)
	if err != nil {
		return err
	}
	zero := g.ConstInt64(0)
	b.cos = g.Unsqueeze(g.SliceDyn(cosV, zero, seqLen, zero), 1)
	b.sin = g.Unsqueeze(g.SliceDyn(sinV, zero, seqLen, zero), 1)
	ones := g.ConstantOfShape(g.Concat(0, seqLen, seqLen),
		graph.Tensor("one", graph.Float32, []int64{1}, graph.Float32Bytes([]float32{1})))
	causal := g.Cast(g.Trilu(ones, false), graph.Bool)                        // [S, S]: key <= query
	keyOK := g.Unsqueeze(g.Cast(mask, graph.Bool), 1, 2, 3)                   // [B, 1, 1, 1, S]
	allowed := g.And(causal, keyOK)                                           // [B, 1, 1, S, S]
	b.bias = g.Where(allowed, g.ScalarFloat32(0), g.ScalarFloat32(MaskValue)) // additive
	b.eps = g.ScalarFloat32(float32(cfg.NormEps))
	b.one = g.ScalarFloat32(1)
	b.scale = g.ScalarFloat32(float32(1 / math.Sqrt(float64(hd))))

	g.SetScope("embed/")
	emb, err := b.weight(Param{Embed, []int{cfg.Vocab, cfg.Dim}, false}, false)
	if err != nil {
		return err
	}
	x := g.Gather(emb, ids, 0) // [B, S, D]
	if opt.Float16 {
		x = g.Cast(x, graph.Float32)
	}
	for l := 0; l < cfg.Layers; l++ {
		g.SetScope("layer" + strconv.Itoa(l) + "/")
		if x, err = b.layer(x, cfg.LayerParams(l)); err != nil {
			return err
		}
	}
	g.SetScope("final/")
	nw, err := b.weight(Param{FinalNorm, []int{cfg.Dim}, false}, true)
	if err != nil {
		return err
	}
	x = b.rmsNorm(x, nw)
	g.SetScope("")
	return g.Output(x, LastHiddenState, graph.Float32, batch, seq, graph.D(int64(cfg.Dim)))
}

func (b *builder) rmsNorm(x, w graph.Value) graph.Value {
	g := b.g
	ms := g.ReduceMean(g.Mul(x, x), true, -1)
	// x / sqrt(ms + eps), not x * Reciprocal(...): Div is in every ONNX
	// runtime medflow targets (onnx-gomlx has no Reciprocal).
	return g.Mul(g.Div(x, g.Sqrt(g.Add(ms, b.eps))), w)
}

// rope applies rotary embeddings to x [B, S, n, hd] (rotate_half convention).
func (b *builder) rope(x graph.Value) graph.Value {
	g := b.g
	hd := int64(b.cfg.HeadDim())
	x1 := g.Slice(x, []int64{0}, []int64{hd / 2}, []int64{3})
	x2 := g.Slice(x, []int64{hd / 2}, []int64{hd}, []int64{3})
	rot := g.Concat(3, g.Neg(x2), x1)
	return g.Add(g.Mul(x, b.cos), g.Mul(rot, b.sin))
}

func (b *builder) layer(x graph.Value, ps []Param) (graph.Value, error) {
	g, cfg := b.g, b.cfg
	ws := make([]graph.Value, len(ps))
	for i, p := range ps {
		v, err := b.weight(p, true)
		if err != nil {
			return "", err
		}
		ws[i] = v
	}
	inNorm, wq, wk, wv, wo, postNorm, wg, wu, wd := ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7], ws[8]
	hd, H, KV := int64(cfg.HeadDim()), int64(cfg.Heads), int64(cfg.KVHeads)
	rep := H / KV

	h := b.rmsNorm(x, inNorm)
	q := b.rope(g.Reshape(g.MatMul(h, wq), 0, 0, H, hd))  // [B, S, H, hd]
	k := b.rope(g.Reshape(g.MatMul(h, wk), 0, 0, KV, hd)) // [B, S, KV, hd]
	v := g.MatMul(h, wv)
	// Grouped-query attention through broadcasting: query head h uses KV head h / rep.
	q5 := g.Transpose(g.Reshape(q, 0, 0, KV, rep, hd), 0, 2, 3, 1, 4) // [B, KV, rep, S, hd]
	k5 := g.Transpose(g.Reshape(k, 0, 0, KV, 1, hd), 0, 2, 3, 4, 1)   // [B, KV, 1, hd, S]
	v5 := g.Transpose(g.Reshape(v, 0, 0, KV, 1, hd), 0, 2, 3, 1, 4)   // [B, KV, 1, S, hd]
	scores := g.Add(g.Mul(g.MatMul(q5, k5), b.scale), b.bias)         // [B, KV, rep, S, S]
	att := g.MatMul(g.Softmax(scores, -1), v5)                        // [B, KV, rep, S, hd]
	att = g.Reshape(g.Transpose(att, 0, 3, 1, 2, 4), 0, 0, H*hd)      // [B, S, H*hd]
	x = g.Add(x, g.MatMul(att, wo))

	h = b.rmsNorm(x, postNorm)
	gate := g.MatMul(h, wg)
	// SiLU as gate / (1 + exp(-gate)) (onnx-gomlx has no Sigmoid).
	act := g.Mul(g.Div(gate, g.Add(b.one, g.Exp(g.Neg(gate)))), g.MatMul(h, wu))
	return g.Add(x, g.MatMul(act, wd)), nil
}
