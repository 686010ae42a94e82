package embed_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/medflow/medflow/internal/testenv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/llama/llamaref"
	"github.com/medflow/medflow/onnx/graph"
	"github.com/medflow/medflow/ort"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/embed"
)

// requireORT skips (or, with MEDFLOW_REQUIRE_ORT=1, fails) when the ONNX
// Runtime library is not installed.
func requireORT(t testing.TB) {
	t.Helper()
	testenv.ORTLibrary(t)
}

const tinySeed = 11

var (
	tinyOnce sync.Once
	tinyPath string
	tinyCfg  llama.Config
	tinyErr  error
)

// tiny writes the tiny random Llama once per test binary.
func tiny(t testing.TB) (string, llama.Config) {
	t.Helper()
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "medflow-embed-*")
		if err != nil {
			tinyErr = err
			return
		}
		tinyPath = filepath.Join(dir, "tiny-llama.onnx")
		tinyCfg, tinyErr = llama.WriteTiny(tinyPath, tinySeed)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyPath, tinyCfg
}

// tokens is a source stage emitting study_id int64 and input_ids
// list<int32> (nil: null) in batches of the given sizes.
type tokens struct {
	rows  [][]int32
	sizes []int
	alloc memory.Allocator
}

var tokenSchema = arrow.NewSchema([]arrow.Field{
	{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "input_ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

func (s *tokens) Schema() *arrow.Schema { return tokenSchema }
func (s *tokens) Produce(ctx context.Context, out pipeline.Emitter) error {
	for start, k := 0, 0; start < len(s.rows); k++ {
		n := len(s.rows) - start
		if len(s.sizes) > 0 {
			n = min(n, s.sizes[k%len(s.sizes)])
		}
		ib := array.NewInt64Builder(s.alloc)
		lb := array.NewListBuilder(s.alloc, arrow.PrimitiveTypes.Int32)
		vb := lb.ValueBuilder().(*array.Int32Builder)
		for i := start; i < start+n; i++ {
			ib.Append(int64(1000 + i))
			if s.rows[i] == nil {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			vb.AppendValues(s.rows[i], nil)
		}
		ids, lists := ib.NewArray(), lb.NewArray()
		ib.Release()
		lb.Release()
		rec := array.NewRecordBatch(tokenSchema, []arrow.Array{ids, lists}, int64(n))
		ids.Release()
		lists.Release()
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
		start += n
	}
	return nil
}

// runText runs tokens -> text.embed -> collect.
func runText(t *testing.T, rows [][]int32, sizes []int, workers int, params map[string]any) (*pt.Result, error) {
	t.Helper()
	r := pipeline.NewRegistry()
	if err := embed.Register(r); err != nil {
		t.Fatal(err)
	}
	r.MustRegister(pipeline.Definition{Kind: "test.tokens", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &tokens{rows: rows, sizes: sizes, alloc: b.Alloc}, nil
		}})
	emb := pt.Stage("embed", "text.embed", []string{"src"}, params)
	emb.Workers = workers
	return pt.Run(t, r, pipeline.PlanOptions{},
		pt.Stage("src", "test.tokens", nil, nil), emb,
		pt.Stage("out", "test.collect", []string{"embed"}, nil))
}

// reportRows makes n token rows with lengths spread over [1, maxLen],
// starting with BOS (1), ids from a fixed sequence.
func reportRows(n, maxLen int, seed uint64) [][]int32 {
	rows := make([][]int32, n)
	x := seed*2654435761 + 1
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range rows {
		l := 1 + int(next()%uint64(maxLen))
		r := make([]int32, l)
		r[0] = 1
		for j := 1; j < l; j++ {
			r[j] = int32(3 + next()%31990)
		}
		rows[i] = r
	}
	return rows
}

func embeddings(t *testing.T, res *pt.Result, dim int) [][]float32 {
	t.Helper()
	col := res.Column("out", schemas.EmbeddingColumn)
	out := make([][]float32, len(col))
	for i, v := range col {
		l := v.([]any)
		if len(l) != dim {
			t.Fatalf("row %d: embedding has %d values, want %d", i, len(l), dim)
		}
		out[i] = make([]float32, dim)
		for k, x := range l {
			out[i][k] = x.(float32)
		}
	}
	return out
}

// refPool is the reference: llamaref on the row alone, pooled by hand.
func refPool(cfg llama.Config, w llama.Weights, ids []int32, pooling string, norm bool) []float32 {
	in := make([]int64, len(ids))
	mask := make([]int64, len(ids))
	for i, id := range ids {
		in[i], mask[i] = int64(id), 1
	}
	h := llamaref.Forward(cfg, w, [][]int64{in}, [][]int64{mask})[0]
	out := make([]float32, cfg.Dim)
	switch pooling {
	case "mean":
		for k := range out {
			var s float64
			for _, v := range h {
				s += float64(v[k])
			}
			out[k] = float32(s / float64(len(h)))
		}
	case "last":
		copy(out, h[len(h)-1])
	case "bos":
		copy(out, h[0])
	}
	if norm {
		var ss float64
		for _, v := range out {
			ss += float64(v) * float64(v)
		}
		for k := range out {
			out[k] = float32(float64(out[k]) / math.Sqrt(ss))
		}
	}
	return out
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestTextEmbedMatchesReference(t *testing.T) {
	requireORT(t)
	path, cfg := tiny(t)
	w := llama.RandomWeights(cfg, tinySeed)
	rows := reportRows(12, 40, 1)
	rows = append(rows, []int32{1}, []int32{1, 5}) // one- and two-token rows next to long ones
	tests := []struct {
		pooling string
		norm    bool
		maxTok  int
		trunc   string
	}{
		{"mean", false, 0, "head"},
		{"last", false, 0, "head"},
		{"bos", false, 0, "head"},
		{"mean", true, 0, "head"},
		{"mean", false, 9, "head"},
		{"last", false, 9, "tail"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s-norm=%v-max=%d-%s", tc.pooling, tc.norm, tc.maxTok, tc.trunc), func(t *testing.T) {
			res, err := runText(t, rows, []int{5}, 1, map[string]any{"model": path, "dim": cfg.Dim, "pooling": tc.pooling,
				"normalize": tc.norm, "max_tokens": tc.maxTok, "truncate": tc.trunc, "batch_tokens": 64, "bucket_width": 8, "threads": 1})
			if err != nil {
				t.Fatal(err)
			}
			got := embeddings(t, res, cfg.Dim)
			if len(got) != len(rows) {
				t.Fatalf("%d rows out, want %d", len(got), len(rows))
			}
			worst := 0.0
			defer func() { t.Logf("largest |ORT - llamaref|: %g", worst) }()
			for i, ids := range rows {
				if tc.maxTok > 0 && len(ids) > tc.maxTok {
					if tc.trunc == "head" {
						ids = ids[:tc.maxTok]
					} else {
						ids = ids[len(ids)-tc.maxTok:]
					}
				}
				want := refPool(cfg, w, ids, tc.pooling, tc.norm)
				worst = max(worst, maxDiff(got[i], want))
				if d := maxDiff(got[i], want); d > 1e-4 {
					t.Errorf("row %d (%d tokens): max |ORT - llamaref| = %g", i, len(ids), d)
				}
			}
		})
	}
}

func TestTextEmbedBatchingInvariance(t *testing.T) {
	requireORT(t)
	path, cfg := tiny(t)
	rows := reportRows(40, 70, 2)
	base := map[string]any{"model": path, "dim": cfg.Dim, "threads": 1}
	with := func(kv ...any) map[string]any {
		p := map[string]any{}
		for k, v := range base {
			p[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			p[kv[i].(string)] = kv[i+1]
		}
		return p
	}
	type layout struct {
		name    string
		sizes   []int
		workers int
		params  map[string]any
	}
	layouts := []layout{
		{"one-row-calls", []int{40}, 1, with("batch_tokens", 1)},
		{"big-calls-wide-buckets", []int{40}, 1, with("batch_tokens", 100000, "bucket_width", 128)},
		{"held-across-batches", []int{3, 7, 1}, 1, with("batch_tokens", 300, "bucket_width", 4, "hold_rows", 1000)},
		{"hold-limit", []int{2}, 1, with("batch_tokens", 500, "hold_rows", 3)},
		{"two-workers", []int{4, 9}, 2, with("batch_tokens", 200, "bucket_width", 8)},
	}
	var ref [][]float32
	worst := 0.0
	defer func() { t.Logf("largest difference between layouts: %g", worst) }()
	for _, l := range layouts {
		res, err := runText(t, rows, l.sizes, l.workers, l.params)
		if err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		got := embeddings(t, res, cfg.Dim)
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			worst = max(worst, maxDiff(got[i], ref[i]))
			if d := maxDiff(got[i], ref[i]); d > 1e-5 {
				t.Errorf("%s: row %d differs from %s by %g", l.name, i, layouts[0].name, d)
			}
		}
	}
}

func TestTextEmbedOrderWithWorkers(t *testing.T) {
	requireORT(t)
	path, cfg := tiny(t)
	rows := reportRows(60, 50, 3)
	rows[7], rows[30] = nil, []int32{}
	for _, workers := range []int{1, 2} {
		res, err := runText(t, rows, []int{1, 4, 2, 9}, workers, map[string]any{"model": path, "dim": cfg.Dim,
			"batch_tokens": 256, "bucket_width": 8, "threads": 1})
		if err != nil {
			t.Fatal(err)
		}
		ids := res.Column("out", "study_id")
		var want []any
		for i := range rows {
			if i != 7 && i != 30 {
				want = append(want, int64(1000+i))
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("workers %d: study ids %v\nwant %v", workers, ids, want)
		}
		got := res.Column("out", "input_ids")
		for i, v := range got {
			if len(v.([]any)) != len(rows[int(ids[i].(int64))-1000]) {
				t.Fatalf("workers %d: row %d carries the wrong input_ids", workers, i)
			}
		}
		q := res.Run.Quarantined()
		if len(q) != 2 {
			t.Fatalf("workers %d: quarantined %v, want 2 records", workers, q)
		}
	}
}

func TestTextEmbedQuarantine(t *testing.T) {
	requireORT(t)
	path, cfg := tiny(t)
	rows := [][]int32{{1, 2, 3}, nil, {}, {1, 9}}
	res, err := runText(t, rows, nil, 1, map[string]any{"model": path, "dim": cfg.Dim})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Column("out", "study_id")); got != "[1000 1003]" {
		t.Fatalf("kept study ids %s, want [1000 1003]", got)
	}
	q := fmt.Sprint(res.Run.Quarantined())
	for _, w := range []string{"1001", "null token list", "1002", "empty token list"} {
		if !strings.Contains(q, w) {
			t.Errorf("quarantine %s does not mention %q", q, w)
		}
	}
}

func TestTextEmbedModelErrors(t *testing.T) {
	requireORT(t)
	path, cfg := tiny(t)
	tests := []struct {
		name   string
		params map[string]any
		is     error
		want   []string
	}{
		{"wrong-dim", map[string]any{"model": path, "dim": cfg.Dim + 1}, ort.ErrContract,
			[]string{path, fmt.Sprintf("dim 2 is %d, want %d", cfg.Dim, cfg.Dim+1), `stage "embed"`}},
		{"no-model", map[string]any{"model": filepath.Join(t.TempDir(), "missing.onnx"), "dim": cfg.Dim}, ort.ErrLoad,
			[]string{"missing.onnx"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runText(t, [][]int32{{1, 2}}, nil, 1, tc.params)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestTextEmbedParamErrors(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"pooling", map[string]any{"model": "m.onnx", "dim": 8, "pooling": "max"}, `key "params.pooling": invalid param value: "max": want mean, last or bos`},
		{"truncate", map[string]any{"model": "m.onnx", "dim": 8, "truncate": "middle"}, `key "params.truncate": invalid param value: "middle": want head or tail`},
		{"dim", map[string]any{"model": "m.onnx", "dim": 0}, `key "params.dim": invalid param value: 0: must be >= 1`},
		{"column", map[string]any{"model": "m.onnx", "dim": 8, "column": "study_id"}, `column "study_id" is int64`},
		{"provider", map[string]any{"model": "m.onnx", "dim": 8, "provider": "tpu"}, `key "params.provider": invalid param value: "tpu": want cpu or cuda`},
		{"budget", map[string]any{"model": "m.onnx", "dim": 8, "batch_tokens": 0}, "batch_tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runText(t, nil, nil, 1, tc.params)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// images is a source of a fixed_size_list<float32>[n] "image" column.
type images struct {
	rows  [][]float32
	n     int
	alloc memory.Allocator
}

func imageSchema(n int) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "image", Type: arrow.FixedSizeListOfNonNullable(int32(n), arrow.PrimitiveTypes.Float32), Nullable: true},
	}, nil)
}

func (s *images) Schema() *arrow.Schema { return imageSchema(s.n) }
func (s *images) Produce(ctx context.Context, out pipeline.Emitter) error {
	for start := 0; start < len(s.rows); start += 3 {
		end := min(start+3, len(s.rows))
		ib := array.NewInt64Builder(s.alloc)
		lb := array.NewBuilder(s.alloc, s.Schema().Field(1).Type).(*array.FixedSizeListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for i := start; i < end; i++ {
			ib.Append(int64(i))
			if s.rows[i] == nil {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			vb.AppendValues(s.rows[i], nil)
		}
		a, b := ib.NewArray(), lb.NewArray()
		ib.Release()
		lb.Release()
		rec := array.NewRecordBatch(s.Schema(), []arrow.Array{a, b}, int64(end-start))
		a.Release()
		b.Release()
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

// imageModel writes an encoder over [batch, 1, side, side]: with tokens,
// rows of the image are tokens (embedding [batch, side, dim] = rows·W,
// W [side, dim]); without, the flat image times W [side*side, dim].
func imageModel(t *testing.T, side, dim int, tokens bool) (string, []float32) {
	t.Helper()
	g := graph.New("tiny-image")
	x, err := g.Input("pixel_values", graph.Float32, graph.Sym("batch"), graph.D(1), graph.D(int64(side)), graph.D(int64(side)))
	if err != nil {
		t.Fatal(err)
	}
	in := side * side
	shape := []int64{-1, int64(in)}
	outDims := []graph.Dim{graph.Sym("batch"), graph.D(int64(dim))}
	if tokens {
		in = side
		shape = []int64{-1, int64(side), int64(side)}
		outDims = []graph.Dim{graph.Sym("batch"), graph.D(int64(side)), graph.D(int64(dim))}
	}
	w := make([]float32, in*dim)
	for i := range w {
		w[i] = float32((i*37)%19-9) / 10
	}
	wv, err := g.Float32("W", []int64{int64(in), int64(dim)}, w)
	if err != nil {
		t.Fatal(err)
	}
	y := g.MatMul(g.Reshape(x, shape...), wv)
	if err := g.Output(y, "embedding", graph.Float32, outDims...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.onnx")
	if err := g.Model("medflow-test").Write(path); err != nil {
		t.Fatal(err)
	}
	return path, w
}

func TestImageEmbed(t *testing.T) {
	requireORT(t)
	const side, dim = 4, 5
	imgs := make([][]float32, 8)
	for i := range imgs {
		imgs[i] = make([]float32, side*side)
		for k := range imgs[i] {
			imgs[i][k] = float32((i+1)*(k%7)) / 8
		}
	}
	imgs[5] = nil
	tests := []struct {
		pooling string
		tokens  bool
		workers int
	}{
		{"none", false, 1}, {"mean", true, 1}, {"cls", true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.pooling, func(t *testing.T) {
			path, w := imageModel(t, side, dim, tc.tokens)
			r := pipeline.NewRegistry()
			if err := embed.Register(r); err != nil {
				t.Fatal(err)
			}
			r.MustRegister(pipeline.Definition{Kind: "test.images", Doc: "test kind", Role: pipeline.RoleSource,
				New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
					return &images{rows: imgs, n: side * side, alloc: b.Alloc}, nil
				}})
			st := pt.Stage("embed", "image.embed", []string{"src"}, map[string]any{"model": path, "dim": dim, "size": side,
				"pooling": tc.pooling, "batch_rows": 2, "threads": 1})
			st.Workers = tc.workers
			res, err := pt.Run(t, r, pipeline.PlanOptions{}, pt.Stage("src", "test.images", nil, nil), st,
				pt.Stage("out", "test.collect", []string{"embed"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(res.Column("out", "study_id")); got != "[0 1 2 3 4 6 7]" {
				t.Fatalf("study ids %s", got)
			}
			got := embeddings(t, res, dim)
			for r, id := range res.Column("out", "study_id") {
				img := imgs[id.(int64)]
				want := make([]float32, dim)
				for j := range dim {
					var s float64
					switch {
					case !tc.tokens:
						for k := range side * side {
							s += float64(img[k]) * float64(w[k*dim+j])
						}
					default:
						rowsUsed := side
						if tc.pooling == "cls" {
							rowsUsed = 1
						}
						for tok := range rowsUsed {
							for k := range side {
								s += float64(img[tok*side+k]) * float64(w[k*dim+j])
							}
						}
						s /= float64(rowsUsed)
					}
					want[j] = float32(s)
				}
				if d := maxDiff(got[r], want); d > 1e-5 {
					t.Errorf("image %v: embedding off by %g", id, d)
				}
			}
		})
	}
}

func TestImageEmbedContract(t *testing.T) {
	requireORT(t)
	path, _ := imageModel(t, 4, 5, false)
	r := pipeline.NewRegistry()
	if err := embed.Register(r); err != nil {
		t.Fatal(err)
	}
	r.MustRegister(pipeline.Definition{Kind: "test.images", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &images{rows: [][]float32{make([]float32, 16)}, n: 16, alloc: b.Alloc}, nil
		}})
	// mean pooling expects [batch, tokens, D]; the model gives [batch, D].
	_, err := pt.Run(t, r, pipeline.PlanOptions{}, pt.Stage("src", "test.images", nil, nil),
		pt.Stage("embed", "image.embed", []string{"src"}, map[string]any{"model": path, "dim": 5, "size": 4, "pooling": "mean"}),
		pt.Stage("out", "test.collect", []string{"embed"}, nil))
	if !errors.Is(err, ort.ErrContract) || !strings.Contains(err.Error(), "rank 2, want 3") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want a contract error naming the rank and %s", err, path)
	}
}

// An ORT failure (a token id outside the vocabulary) fails the run with
// ort.ErrRun, whether it happens while batches are held (released by the
// stage; the checked allocator of pt.Run fails the test on a leak), in
// Flush, or with two workers sharing calls.
func TestTextEmbedRunErrorReleasesHeld(t *testing.T) {
	requireORT(t)
	path, cfg := tiny(t)
	rows := reportRows(30, 20, 4)
	rows[17] = []int32{1, int32(cfg.Vocab + 5)}
	tests := []struct {
		name    string
		workers int
		hold    int
	}{
		{"fails-in-flush", 1, 1000},
		{"fails-in-process", 1, 0},
		{"two-workers", 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runText(t, rows, []int{4}, tc.workers, map[string]any{"model": path, "dim": cfg.Dim,
				"hold_rows": tc.hold, "batch_tokens": 64, "threads": 1})
			if !errors.Is(err, ort.ErrRun) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want ort.ErrRun naming %s", err, path)
			}
		})
	}
}
