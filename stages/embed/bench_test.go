package embed

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/ort"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages/embed/batching"
	"github.com/medflow/medflow/synth"
	"github.com/medflow/medflow/tokenizer"
)

// Defaults of text.embed, used by the benchmarks.
const (
	benchBudget = 8192
	benchWidth  = 16
	benchMaxTok = 512
	benchHold   = 4096
)

// lognormalLengths draws n token counts from a lognormal with median
// ~120 and sigma 0.45, clipped to [4, 512], like tokenized reports.
func lognormalLengths(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]int, n)
	for i := range out {
		out[i] = min(512, max(4, int(math.Round(120*math.Exp(0.45*r.NormFloat64())))))
	}
	return out
}

// reportLengths tokenizes n synthetic MIMIC-CXR reports (synth.Report) with
// the real Llama-2 tokenizer (BOS added); ok is false without the model.
func reportLengths(n int, seed uint64) ([]int, bool) {
	path := filepath.Join("..", "..", ".cache", "tokenizer", "llama2", "tokenizer.model")
	if _, err := os.Stat(path); err != nil {
		return nil, false
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		return nil, false
	}
	tok = tok.WithOptions(tokenizer.Options{AddBOS: true})
	r := rand.New(rand.NewPCG(seed, 9))
	s := synth.NewSampler(synth.CheXpertPrevalence)
	out := make([]int, n)
	for i := range out {
		view := "PA"
		if r.IntN(3) == 0 {
			view = "AP"
		}
		out[i] = min(benchMaxTok, len(tok.Encode(synth.Report(r, s.Sample(r), view))))
	}
	return out, true
}

// planCalls runs the real batcher (hold mode, one Process call per input
// batch of batchRows rows, then Flush) without a model and returns the
// ORT calls it makes as lists of row lengths.
func planCalls(lengths []int, batchRows, width, budget, hold int) [][]int {
	t := &TextEmbed{width: width, budget: budget, maxTok: benchMaxTok}
	var calls [][]int
	b := batching.New[*held](true, hold, t.rowsPerCall, func(_ context.Context, rows []row) error {
		c := make([]int, len(rows))
		for i, r := range rows {
			c[i] = len(r.tokens)
		}
		calls = append(calls, c)
		return nil
	})
	ctx := context.Background()
	for start := 0; start < len(lengths); start += batchRows {
		end := min(start+batchRows, len(lengths))
		h := &held{}
		var rows []row
		var keys []int
		for i, l := range lengths[start:end] {
			rows = append(rows, row{h: h, slot: i, tokens: make([]int32, l)})
			keys = append(keys, t.bucket(l))
		}
		b.Add(h, rows, keys)
		if err := b.Work(ctx, nil, false); err != nil {
			panic(err)
		}
		b.PopDone(false)
	}
	if err := b.Work(ctx, nil, true); err != nil {
		panic(err)
	}
	return calls
}

// paddingOf is the fraction of padded positions in the calls.
func paddingOf(calls [][]int) float64 {
	var real, total int
	for _, c := range calls {
		total += len(c) * slices.Max(c)
		for _, l := range c {
			real += l
		}
	}
	return float64(total-real) / float64(total)
}

// arrivalCalls is the reference without bucketing: rows in arrival order,
// cut when the padded call would exceed the token budget.
func arrivalCalls(lengths []int, budget int) [][]int {
	var calls [][]int
	var cur []int
	for _, l := range lengths {
		m := l
		if len(cur) > 0 {
			m = max(slices.Max(cur), l)
		}
		if len(cur) > 0 && (len(cur)+1)*m > budget {
			calls = append(calls, cur)
			cur = nil
		}
		cur = append(cur, l)
	}
	return append(calls, cur)
}

// BenchmarkPadding reports the padding fraction (padding_%) of text.embed's
// length bucketing with its defaults against arrival-order batches with
// the same token budget, on report-like length distributions.
func BenchmarkPadding(b *testing.B) {
	dists := map[string][]int{"lognormal-120": lognormalLengths(4000, 1)}
	if l, ok := reportLengths(4000, 2); ok {
		dists["synth-reports-llama2-tokens"] = l
	} else {
		b.Log("no .cache/tokenizer/llama2/tokenizer.model: synth-reports skipped (make tokenizer-model)")
	}
	names := make([]string, 0, len(dists))
	for n := range dists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		lengths := dists[name]
		sorted := slices.Clone(lengths)
		slices.Sort(sorted)
		b.Run(name+"/bucketed", func(b *testing.B) {
			var pad float64
			var calls int
			for b.Loop() {
				c := planCalls(lengths, 256, benchWidth, benchBudget, benchHold)
				pad, calls = paddingOf(c), len(c)
			}
			b.ReportMetric(100*pad, "padding_%")
			b.ReportMetric(float64(len(lengths))/float64(calls), "rows/call")
			b.ReportMetric(float64(sorted[len(sorted)/2]), "median_tokens")
		})
		b.Run(name+"/arrival-order", func(b *testing.B) {
			var pad float64
			var calls int
			for b.Loop() {
				c := arrivalCalls(lengths, benchBudget)
				pad, calls = paddingOf(c), len(c)
			}
			b.ReportMetric(100*pad, "padding_%")
			b.ReportMetric(float64(len(lengths))/float64(calls), "rows/call")
		})
	}
}

// benchSource emits input_ids rows in batches of 256.
type benchSource struct {
	rows  [][]int32
	alloc memory.Allocator
}

var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "input_ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

func (s *benchSource) Schema() *arrow.Schema { return benchSchema }
func (s *benchSource) Produce(ctx context.Context, out pipeline.Emitter) error {
	for start := 0; start < len(s.rows); start += 256 {
		end := min(start+256, len(s.rows))
		ib := array.NewInt64Builder(s.alloc)
		lb := array.NewListBuilder(s.alloc, arrow.PrimitiveTypes.Int32)
		vb := lb.ValueBuilder().(*array.Int32Builder)
		for i := start; i < end; i++ {
			ib.Append(int64(i))
			lb.Append(true)
			vb.AppendValues(s.rows[i], nil)
		}
		a, l := ib.NewArray(), lb.NewArray()
		ib.Release()
		lb.Release()
		rec := array.NewRecordBatch(benchSchema, []arrow.Array{a, l}, int64(end-start))
		a.Release()
		l.Release()
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

type discard struct{}

func (discard) Schema() *arrow.Schema                            { return nil }
func (discard) Consume(context.Context, arrow.RecordBatch) error { return nil }
func (discard) Close(context.Context) error                      { return nil }
func (discard) Abort()                                           {}

// BenchmarkTextEmbed compares text.embed in a pipeline (source -> embed ->
// discard) with calling ORT directly on the same calls (the ones the
// stage's batcher makes: same rows, same padding), interleaved in the same
// iterations, on 512 report-like rows (lognormal lengths around 120
// tokens). direct/stage is the stage's efficiency (1 = no overhead).
//
// The model is the tiny random Llama unless $MEDFLOW_EMBED_BENCH_MODEL
// names another Llama export (bench/gpu/run.sh); $MEDFLOW_EMBED_BENCH_PROVIDER
// (cpu or cuda) and $MEDFLOW_EMBED_BENCH_ROWS change the provider and row count.
func BenchmarkTextEmbed(b *testing.B) {
	if _, err := ort.FindLibrary(""); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	path := os.Getenv("MEDFLOW_EMBED_BENCH_MODEL")
	var cfg llama.Config
	var err error
	if path == "" {
		path = filepath.Join(dir, "tiny.onnx")
		cfg, err = llama.WriteTiny(path, 1)
	} else {
		cfg, err = llama.ConfigFromModel(path)
	}
	if err != nil {
		b.Fatal(err)
	}
	provider := cmp.Or(os.Getenv("MEDFLOW_EMBED_BENCH_PROVIDER"), "cpu")
	nRows := 512
	if v := os.Getenv("MEDFLOW_EMBED_BENCH_ROWS"); v != "" {
		if nRows, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	lengths := lognormalLengths(nRows, 3)
	r := rand.New(rand.NewPCG(5, 5))
	rows := make([][]int32, len(lengths))
	var real int
	for i, l := range lengths {
		rows[i] = make([]int32, l)
		rows[i][0] = 1
		for j := 1; j < l; j++ {
			rows[i][j] = int32(3 + r.IntN(31990))
		}
		real += l
	}
	// The same rows in the same calls as the stage: map each planned call's
	// lengths back to rows.
	calls := planCalls(lengths, 256, benchWidth, benchBudget, benchHold)
	byLen := map[int][]int{}
	for i, l := range lengths {
		byLen[l] = append(byLen[l], i)
	}
	var callRows [][]int
	for _, c := range calls {
		var ids []int
		for _, l := range c {
			ids = append(ids, byLen[l][0])
			byLen[l] = byLen[l][1:]
		}
		callRows = append(callRows, ids)
	}
	direct := func(threads int) {
		m, err := ort.Load(path, TextContract(cfg.Dim), ort.Options{IntraOpThreads: threads, Provider: provider})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		for _, ids := range callRows {
			seq := 0
			for _, i := range ids {
				seq = max(seq, len(rows[i]))
			}
			in, mask := make([]int64, len(ids)*seq), make([]int64, len(ids)*seq)
			for k, i := range ids {
				for j, id := range rows[i] {
					in[k*seq+j], mask[k*seq+j] = int64(id), 1
				}
			}
			shape := []int64{int64(len(ids)), int64(seq)}
			out := []ort.Tensor{{Shape: []int64{int64(len(ids)), int64(seq), int64(cfg.Dim)}, Data: make([]float32, len(ids)*seq*cfg.Dim)}}
			if err := m.Run(context.Background(), []ort.Tensor{{Shape: shape, Data: in}, {Shape: shape, Data: mask}}, out); err != nil {
				b.Fatal(err)
			}
		}
	}
	reg := pipeline.NewRegistry()
	if err := Register(reg); err != nil {
		b.Fatal(err)
	}
	reg.MustRegister(pipeline.Definition{Kind: "bench.src", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(bc *pipeline.BuildContext) (pipeline.Stage, error) {
			return &benchSource{rows: rows, alloc: bc.Alloc}, nil
		}})
	reg.MustRegister(pipeline.Definition{Kind: "bench.discard", Doc: "test kind", Role: pipeline.RoleSink,
		New: func(*pipeline.BuildContext) (pipeline.Stage, error) { return discard{}, nil }})
	stage := func(threads int) {
		spec := pipeline.Spec{Variant: "bench", Stages: []pipeline.StageSpec{
			{Name: "src", Kind: "bench.src"},
			{Name: "embed", Kind: "text.embed", Inputs: []string{"src"}, Params: map[string]any{"model": path, "dim": cfg.Dim, "threads": threads, "provider": provider}},
			{Name: "out", Kind: "bench.discard", Inputs: []string{"embed"}},
		}}
		plan, err := reg.Plan(spec, pipeline.PlanOptions{Alloc: memory.DefaultAllocator,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := plan.NewRun(pipeline.RunOptions{SpillDir: dir}).Execute(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	threadCounts := []int{1, 2}
	if provider == ort.ProviderCUDA {
		threadCounts = []int{1}
	}
	for _, threads := range threadCounts {
		b.Run(provider+"/threads="+strconv.Itoa(threads), func(b *testing.B) {
			var tStage, tDirect time.Duration
			i := 0
			for b.Loop() {
				// Alternate which goes first, so neither gains from order.
				for k := range 2 {
					t0 := time.Now()
					if (i+k)%2 == 0 {
						direct(threads)
						tDirect += time.Since(t0)
					} else {
						stage(threads)
						tStage += time.Since(t0)
					}
				}
				i++
			}
			n := float64(b.N)
			b.ReportMetric(tStage.Seconds()/n*1e3, "stage_ms")
			b.ReportMetric(tDirect.Seconds()/n*1e3, "direct_ms")
			b.ReportMetric(tDirect.Seconds()/tStage.Seconds(), "direct/stage")
			b.ReportMetric(float64(real)*n/tStage.Seconds(), "stage_tokens/s")
		})
	}
}
