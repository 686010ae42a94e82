package embed

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/onnx/gomlxrun"
	"github.com/medflow/medflow/ort"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/embed/batching"
)

// Names of the text encoder's tensors (the Llama export's contract).
const (
	InputIDs        = "input_ids"
	AttentionMask   = "attention_mask"
	LastHiddenState = "last_hidden_state"
)

// TextContract is what text.embed expects of its model.
func TextContract(dim int) ort.Contract {
	return ort.Contract{
		Inputs: []ort.Spec{
			{Name: InputIDs, DType: ort.Int64, Rank: 2, Doc: "[batch, seq]"},
			{Name: AttentionMask, DType: ort.Int64, Rank: 2, Doc: "[batch, seq]"},
		},
		Outputs: []ort.Spec{{Name: LastHiddenState, DType: ort.Float32, Rank: 3, Dims: []int64{-1, -1, int64(dim)},
			Doc: fmt.Sprintf("[batch, seq, %d]", dim)}},
	}
}

func textParams() []pipeline.Param {
	return append([]pipeline.Param{
		{Name: "model", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatPath, Doc: "ONNX text encoder (inputs input_ids, attention_mask int64 [batch, seq]; output last_hidden_state float32 [batch, seq, dim])"},
		{Name: "column", Type: pipeline.String, Default: "input_ids", Doc: "token id column, list<int32> or list<int64> (text.tokenize's output)"},
		{Name: "dim", Type: pipeline.Int, Required: true, Range: "[1,)", Doc: "hidden size D of the model (checked against the model when it loads); the output is fixed_size_list<float32>[D]"},
		{Name: "pooling", Type: pipeline.String, Default: "mean", Doc: "how a row's hidden states become one vector",
			Options: []pipeline.Option{
				{Value: "mean", Doc: "mean over the real (unpadded) tokens"},
				{Value: "last", Doc: "the last real token"},
				{Value: "bos", Doc: "the first token"},
			}},
		{Name: "max_tokens", Type: pipeline.Int, Default: 512, Range: "[0,)", Doc: "longest sequence fed to the model (0: no limit)"},
		{Name: "truncate", Type: pipeline.String, Default: "head", Doc: "which tokens a row longer than max_tokens keeps",
			Options: []pipeline.Option{{Value: "head", Doc: "the first max_tokens"}, {Value: "tail", Doc: "the last max_tokens"}}},
		{Name: "pad_id", Type: pipeline.Int, Default: 0, Doc: "id written in padded positions (masked out)"},
		{Name: "batch_tokens", Type: pipeline.Int, Default: 8192, Range: "[1,)", Doc: "token budget per ORT call: rows × padded length"},
		{Name: "bucket_width", Type: pipeline.Int, Default: 16, Range: "[1,)", Doc: "rows whose lengths fall in the same width-wide class share ORT calls (padding < width per row)"},
		{Name: "runtime", Type: pipeline.String, Default: "ort", Doc: "what runs the ONNX model",
			Options: []pipeline.Option{
				{Value: "ort", Doc: "ONNX Runtime (threads, optimization, provider and device apply)"},
				{Value: "gomlx", Doc: "GoMLX on the backend GOMLX_BACKEND names: simplego (CPU) by default, xla:cuda on a GPU with a build with -tags xla"},
			}},
	}, commonParams()...)
}

func commonParams() []pipeline.Param {
	return []pipeline.Param{
		{Name: "normalize", Type: pipeline.Bool, Default: false, Doc: "scale each embedding to unit L2 norm"},
		{Name: "hold_rows", Type: pipeline.Int, Default: 4096, Range: "[0,)", Doc: "with 1 worker: rows held across input batches waiting for full ORT calls"},
		{Name: "key_column", Type: pipeline.String, Doc: "column naming a row in the quarantine and, when the stage is materialized, the rows of the parts it commits and resumes from (unique values then); default: study_id if present (image.embed resumes by dicom_id if present)"},
		{Name: "threads", Type: pipeline.Int, Default: 0, Range: "[0,)", Doc: "ORT intra-op threads per session (0: ORT default)"},
		{Name: "optimization", Type: pipeline.String, Default: "all", Doc: "ORT graph optimization level",
			Options: []pipeline.Option{
				{Value: "disable", Doc: "none"},
				{Value: "basic", Doc: "constant folding, redundant node removal"},
				{Value: "extended", Doc: "basic + fusions"},
				{Value: "all", Doc: "extended + layout optimizations"},
			}},
		{Name: "provider", Type: pipeline.String, Default: "cpu", Doc: "ONNX Runtime execution provider",
			Options: []pipeline.Option{
				{Value: ort.ProviderCPU, Doc: "the CPU"},
				{Value: ort.ProviderCUDA, Doc: "an NVIDIA GPU (needs the CUDA provider libraries beside libonnxruntime)"},
			}},
		{Name: "device", Type: pipeline.Int, Default: 0, Range: "[0,)", Doc: "CUDA device id"},
	}
}

// runner runs a loaded model: ONNX Runtime's session or GoMLX's graph.
type runner interface {
	Run(ctx context.Context, inputs, outputs []ort.Tensor) error
	Close() error
}

// gomlxRunner is a gomlxrun.Model behind the runner interface.
type gomlxRunner struct{ m *gomlxrun.Model }

func (g gomlxRunner) Run(ctx context.Context, inputs, outputs []ort.Tensor) error {
	conv := func(ts []ort.Tensor) []gomlxrun.Tensor {
		out := make([]gomlxrun.Tensor, len(ts))
		for i, t := range ts {
			out[i] = gomlxrun.Tensor{Shape: t.Shape, Data: t.Data}
		}
		return out
	}
	return g.m.Run(ctx, conv(inputs), conv(outputs))
}

func (g gomlxRunner) Close() error { return g.m.Close() }

// loadGoMLX loads path for the GoMLX backend GOMLX_BACKEND names.
func loadGoMLX(path string, c ort.Contract) (runner, error) {
	backend, err := nn.Backend()
	if err != nil {
		return nil, err
	}
	names := func(specs []ort.Spec) []string {
		out := make([]string, len(specs))
		for i, s := range specs {
			out[i] = s.Name
		}
		return out
	}
	m, err := gomlxrun.Load(path, backend, names(c.Inputs), names(c.Outputs))
	if err != nil {
		return nil, err
	}
	// Each new shape is a new compilation (seconds for a 7B-width layer on
	// a GPU): pad rows to a power of two and tokens to a multiple of 64
	// (mask 0), so the length buckets of a run share a few executables.
	m.SetPadding(gomlxrun.PadBatchSeq)
	return gomlxRunner{m}, nil
}

// common holds the params and lazily loaded model shared by both kinds.
type common struct {
	shared
	path     string
	contract ort.Contract
	opts     ort.Options
	log      *slog.Logger

	gomlx  bool // runtime: gomlx
	loadMu sync.Mutex
	model  runner
	err    error

	rows, embedded atomic.Int64
}

func (c *common) init(b *pipeline.BuildContext, dim int) error {
	p := b.Params
	c.path, c.log = p.String("model"), b.Logger
	c.dim, c.norm, c.alloc, c.q = dim, p.Bool("normalize"), b.Alloc, b.Quarantine
	c.gomlx = p.Declares("runtime") && p.String("runtime") == "gomlx" // text.embed only
	c.opts = ort.Options{IntraOpThreads: p.Int("threads"), GraphOptimization: p.String("optimization"),
		Provider: p.String("provider"), DeviceID: p.Int("device"), Sessions: 1, Concurrency: max(1, b.Workers)}
	in := b.Inputs[0]
	c.keyCol = -1
	if k := p.String("key_column"); k != "" {
		i, err := schemas.Column(in, k)
		if err != nil {
			return pipeline.AtParam("key_column", err)
		}
		c.keyCol = i
	} else if idx := in.FieldIndices("study_id"); len(idx) > 0 {
		c.keyCol = idx[0]
	}
	if c.keyCol >= 0 {
		c.keyName = in.Field(c.keyCol).Name
	}
	var err error
	c.schema, err = schemas.AppendColumns(in, arrow.Field{Name: schemas.EmbeddingColumn, Type: embeddingType(dim)})
	return err
}

// load opens the model once (a failure is remembered).
func (c *common) load() (runner, error) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	if c.model == nil && c.err == nil {
		if c.gomlx {
			c.model, c.err = loadGoMLX(c.path, c.contract)
		} else {
			var m *ort.Model
			if m, c.err = ort.Load(c.path, c.contract, c.opts); c.err == nil {
				c.model = m
			}
		}
	}
	return c.model, c.err
}

func (c *common) Schema() *arrow.Schema { return c.schema }

// PartKey is the key column (pipeline.PartKeyer): a materialized stage with
// one resumes by parts, each emitted batch (one input batch's rows)
// committed as soon as it is emitted.
func (c *common) PartKey() string { return c.keyName }

// closeModel closes the model (waiting for runs in flight); later loads
// fail with reason.
func (c *common) closeModel(reason error) error {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	var err error
	if c.model != nil {
		err = c.model.Close()
		c.model = nil
	}
	if c.err == nil {
		c.err = reason
	}
	return err
}

// ReleaseRun is called by the engine once the run is over, whatever its
// outcome: it drops rows still held (a run that failed elsewhere never
// flushes) and closes the model session.
func (c *common) ReleaseRun() {
	if c.b != nil {
		c.releaseHeld()
	}
	c.closeModel(fmt.Errorf("%w: %s: the run is over", ort.ErrClosed, c.path))
}

// fail closes the model when a Process call fails (the run is over; Flush
// will not be called), so a failed run does not keep the session.
func (c *common) fail(err error) error {
	if err != nil {
		c.closeModel(fmt.Errorf("%w: %s: closed after an earlier error", ort.ErrClosed, c.path))
	}
	return err
}

// finish embeds what is held, emits it, closes the model and logs totals.
func (c *common) finish(ctx context.Context, out pipeline.Emitter, extra func() []any) error {
	err := c.flush(ctx, out)
	if cerr := c.closeModel(fmt.Errorf("%w: %s: flushed", ort.ErrClosed, c.path)); cerr != nil && err == nil {
		err = cerr
	}
	jobs, jobRows := c.b.Calls()
	c.log.Info("embedded", append([]any{"model", c.path, "rows", c.rows.Load(), "embedded", c.embedded.Load(),
		"quarantined", c.quarantined.Load(), "ort_calls", jobs, "rows_per_call", float64(jobRows) / float64(max(jobs, 1))}, extra()...)...)
	return err
}

// TextEmbed is text.embed.
type TextEmbed struct {
	common
	col      int
	pooling  string
	maxTok   int
	tail     bool
	padID    int64
	budget   int
	width    int
	tokens   atomic.Int64
	padded   atomic.Int64
	truncRow atomic.Int64
}

func newTextEmbed(b *pipeline.BuildContext) (pipeline.Stage, error) {
	p := b.Params
	t := &TextEmbed{pooling: p.String("pooling"), maxTok: p.Int("max_tokens"), tail: p.String("truncate") == "tail",
		padID: int64(p.Int("pad_id")), budget: p.Int("batch_tokens"), width: p.Int("bucket_width")}
	if err := t.init(b, p.Int("dim")); err != nil {
		return nil, err
	}
	in := b.Inputs[0]
	col, err := schemas.Column(in, p.String("column"), arrow.LIST, arrow.LARGE_LIST)
	if err != nil {
		return nil, pipeline.AtParam("column", err)
	}
	switch in.Field(col).Type.(arrow.ListLikeType).Elem().ID() {
	case arrow.INT32, arrow.INT64:
	default:
		return nil, pipeline.AtParam("column", fmt.Errorf("%w: column %q is %s, want list<int32> or list<int64>", schemas.ErrMismatch, p.String("column"), in.Field(col).Type))
	}
	t.col = col
	t.contract = TextContract(t.dim)
	t.b = batching.New[*held](b.Workers <= 1, p.Int("hold_rows"), t.rowsPerCall, t.run)
	return t, nil
}

// bucket is the length class of an n-token row.
func (t *TextEmbed) bucket(n int) int { return (n + t.width - 1) / t.width }

// rowsPerCall is the most rows of bucket k in one ORT call.
func (t *TextEmbed) rowsPerCall(k int) int {
	l := k * t.width
	if t.maxTok > 0 {
		l = min(l, t.maxTok)
	}
	return max(1, t.budget/l)
}

// Process queues the batch's rows and emits the batches that are complete.
func (t *TextEmbed) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	return t.fail(t.processBatch(ctx, in, out))
}

func (t *TextEmbed) processBatch(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	if _, err := t.load(); err != nil {
		return err
	}
	list := in.Column(t.col).(array.ListLike)
	n := int(in.NumRows())
	h := &held{keep: make([]int, 0, n)}
	var rows []row
	var keys []int
	var all []int32
	vals := list.ListValues()
	for i := range n {
		if list.IsNull(i) {
			if err := t.quarantine(ctx, in, i, "null token list"); err != nil {
				return err
			}
			continue
		}
		start, end := list.ValueOffsets(i)
		if start == end {
			if err := t.quarantine(ctx, in, i, "empty token list"); err != nil {
				return err
			}
			continue
		}
		if t.maxTok > 0 && int(end-start) > t.maxTok {
			if t.tail {
				start = end - int64(t.maxTok)
			} else {
				end = start + int64(t.maxTok)
			}
			t.truncRow.Add(1)
		}
		off := len(all)
		switch v := vals.(type) {
		case *array.Int32:
			all = append(all, v.Int32Values()[start:end]...)
		case *array.Int64:
			for _, x := range v.Int64Values()[start:end] {
				all = append(all, int32(x))
			}
		}
		rows = append(rows, row{h: h, slot: len(h.keep), tokens: all[off:len(all):len(all)]})
		keys = append(keys, t.bucket(int(end-start)))
		h.keep = append(h.keep, i)
	}
	// all may have moved while growing: re-slice the token views.
	off := 0
	for i := range rows {
		l := len(rows[i].tokens)
		rows[i].tokens = all[off : off+l : off+l]
		off += l
	}
	t.rows.Add(int64(n))
	t.embedded.Add(int64(len(rows)))
	return t.process(ctx, in, h, rows, keys, out)
}

// Flush embeds the rows still held, emits their batches and closes the model.
func (t *TextEmbed) Flush(ctx context.Context, out pipeline.Emitter) error {
	return t.finish(ctx, out, func() []any {
		tok, pad := t.tokens.Load(), t.padded.Load()
		return []any{"tokens", tok, "truncated_rows", t.truncRow.Load(), "padding_fraction", float64(pad) / float64(max(tok+pad, 1))}
	})
}

// Padding returns the real and padding tokens fed to the model so far.
func (t *TextEmbed) Padding() (tokens, padding int64) { return t.tokens.Load(), t.padded.Load() }

// run is one ORT call: rows of one length class, right-padded.
func (t *TextEmbed) run(ctx context.Context, rows []row) error {
	model, err := t.load()
	if err != nil {
		return err
	}
	seq := 0
	real := 0
	for _, r := range rows {
		seq = max(seq, len(r.tokens))
		real += len(r.tokens)
	}
	B, D := len(rows), t.dim
	ids, mask := make([]int64, B*seq), make([]int64, B*seq)
	for i, r := range rows {
		o := i * seq
		for j, id := range r.tokens {
			ids[o+j] = int64(id)
			mask[o+j] = 1
		}
		if t.padID != 0 {
			for j := o + len(r.tokens); j < o+seq; j++ {
				ids[j] = t.padID
			}
		}
	}
	hidden := getFloats(B * seq * D)
	defer putFloats(hidden)
	shape := []int64{int64(B), int64(seq)}
	if err := model.Run(ctx, []ort.Tensor{{Shape: shape, Data: ids}, {Shape: shape, Data: mask}},
		[]ort.Tensor{{Shape: []int64{int64(B), int64(seq), int64(D)}, Data: hidden}}); err != nil {
		return err
	}
	t.tokens.Add(int64(real))
	t.padded.Add(int64(B*seq - real))
	for i, r := range rows {
		poolText(r.h.emb[r.slot*D:(r.slot+1)*D], hidden[i*seq*D:(i+1)*seq*D], len(r.tokens), D, t.pooling)
	}
	return nil
}

// poolText pools the hidden states h ([seq, D], the first n real) into dst.
func poolText(dst, h []float32, n, D int, pooling string) {
	switch pooling {
	case "last":
		copy(dst, h[(n-1)*D:n*D])
	case "bos":
		copy(dst, h[:D])
	default: // mean
		acc := make([]float64, D)
		for t := range n {
			for k, v := range h[t*D : (t+1)*D] {
				acc[k] += float64(v)
			}
		}
		for k := range dst {
			dst[k] = float32(acc[k] / float64(n))
		}
	}
}

var floatPool sync.Pool

func getFloats(n int) []float32 {
	if p, ok := floatPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putFloats(f []float32) { floatPool.Put(&f) }
