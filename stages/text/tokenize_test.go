package text_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/testenv"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/text"
	"github.com/medflow/medflow/tokenizer"
)

var (
	modelOnce sync.Once
	modelPath string
	modelErr  error
)

// llama2 builds the real Llama-2 tokenizer.model from the npm vocabulary
// once per test binary.
func llama2(t *testing.T) string {
	t.Helper()
	npm := testenv.Llama2NPM(t)
	modelOnce.Do(func() {
		dir, err := os.MkdirTemp("", "medflow-tok-*")
		if err != nil {
			modelErr = err
			return
		}
		modelPath = filepath.Join(dir, "tokenizer.model")
		modelErr = tokenizer.BuildLlama2Files(npm, modelPath, filepath.Join(dir, "tokenizer.json"))
	})
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return modelPath
}

// docs is a source stage emitting a "text" column.
type docs struct {
	texts []*string
	alloc memory.Allocator
}

var docSchema = arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)

func (d *docs) Schema() *arrow.Schema { return docSchema }
func (d *docs) Produce(ctx context.Context, out pipeline.Emitter) error {
	b := array.NewStringBuilder(d.alloc)
	defer b.Release()
	for _, s := range d.texts {
		if s == nil {
			b.AppendNull()
		} else {
			b.Append(*s)
		}
	}
	col := b.NewArray()
	defer col.Release()
	return out.Emit(ctx, array.NewRecordBatch(docSchema, []arrow.Array{col}, int64(col.Len())))
}

func run(t *testing.T, texts []*string, params map[string]any) (*pt.Result, error) {
	r := pipeline.NewRegistry()
	if err := text.Register(r); err != nil {
		t.Fatal(err)
	}
	r.MustRegister(pipeline.Definition{Kind: "docs", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &docs{texts: texts, alloc: b.Alloc}, nil
		}})
	return pt.Run(t, r, pipeline.PlanOptions{},
		pt.Stage("d", "docs", nil, nil),
		pt.Stage("tok", "text.tokenize", []string{"d"}, params),
		pt.Stage("out", "test.collect", []string{"tok"}, nil))
}

func str(s string) *string { return &s }

func ids(v any) []int32 {
	var out []int32
	for _, x := range v.([]any) {
		out = append(out, x.(int32))
	}
	return out
}

func TestTokenize(t *testing.T) {
	model := llama2(t)
	tok, err := tokenizer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("No acute cardiopulmonary process. ", 20)
	texts := []*string{str("Heart size is normal."), nil, str(long), str("")}
	full := tok.WithOptions(tokenizer.Options{AddBOS: true, AddEOS: true}).Encode(long)

	for _, tc := range []struct {
		name   string
		params map[string]any
		check  func(t *testing.T, res *pt.Result)
	}{
		{"no limit", map[string]any{"model": model}, func(t *testing.T, res *pt.Result) {
			got := res.Column("out", "input_ids")
			want := tok.WithOptions(tokenizer.Options{AddBOS: true}).Encode("Heart size is normal.")
			if !slices.Equal(ids(got[0]), want) || got[0].([]any)[0] != int32(1) {
				t.Errorf("ids %v, want %v", got[0], want)
			}
			if got[1] != nil || res.Column("out", "num_tokens")[1] != nil {
				t.Errorf("null text gave %v", got[1])
			}
			if n := res.Column("out", "num_tokens")[3]; n != int32(1) { // just <s>
				t.Errorf("empty text: %v tokens", n)
			}
		}},
		{"right", map[string]any{"model": model, "eos": true, "max_tokens": 16}, func(t *testing.T, res *pt.Result) {
			got := ids(res.Column("out", "input_ids")[2])
			want := append(append([]int32{}, full[:15]...), 2)
			if !slices.Equal(got, want) || res.Column("out", "truncated")[2] != true || res.Column("out", "truncated")[0] != false {
				t.Errorf("right-truncated %v, want %v", got, want)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, texts, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, res)
		})
	}
	t.Run("left keeps the end", func(t *testing.T) {
		res, err := run(t, texts, map[string]any{"model": model, "eos": true, "max_tokens": 16, "truncation": "left"})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(res.Column("out", "input_ids")[2])
		want := append([]int32{1}, full[len(full)-15:]...)
		if !slices.Equal(got, want) {
			t.Errorf("left-truncated %v, want %v", got, want)
		}
	})
	t.Run("fail names the record", func(t *testing.T) {
		_, err := run(t, texts, map[string]any{"model": model, "max_tokens": 16, "truncation": "fail"})
		if err == nil || !strings.Contains(err.Error(), `stage "tok": record 2:`) || !strings.Contains(err.Error(), "> max_tokens 16") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestTokenizeErrors(t *testing.T) {
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"model": "/nonexistent/tokenizer.model"}, `stage "tok": batch at record 0: params.model: tokenizer: open /nonexistent/tokenizer.model`},
		{map[string]any{"model": "x", "column": "body"}, `missing column "body"`},
		{map[string]any{"model": "x", "truncation": "middle"}, `key "params.truncation": invalid param value: "middle": want right, left or fail`},
		{map[string]any{"model": "x", "max_tokens": 1, "eos": true}, "leaves no room"},
		{map[string]any{"model": "x", "output": "text"}, `already has a column "text"`},
	} {
		_, err := run(t, []*string{str("a")}, tc.params)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.params, err, tc.want)
		}
	}
	// A file that is not a tokenizer: the error names it.
	bad := filepath.Join(t.TempDir(), "tokenizer.model")
	if err := os.WriteFile(bad, []byte("definitely not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, []*string{str("a")}, map[string]any{"model": bad})
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("err %v, want it to name %s", err, bad)
	}
}
