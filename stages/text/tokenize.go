package text

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/tokenizer"
)

// Register adds text.tokenize to r.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Definition{
		Kind: "text.tokenize", Role: pipeline.RoleTransform, Version: "1",
		Doc: "Llama-2 SentencePiece token ids of a text column (list<int32>), with truncation",
		Params: []pipeline.Param{
			{Name: "model", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatPath, Doc: "tokenizer.model or tokenizer.json path"},
			{Name: "column", Type: pipeline.String, Default: "text", Doc: "string column to tokenize"},
			{Name: "output", Type: pipeline.String, Default: "input_ids", NonEmpty: true, Doc: "name of the list<int32> token id column added"},
			{Name: "bos", Type: pipeline.Bool, Default: true, Doc: "prepend <s>"},
			{Name: "eos", Type: pipeline.Bool, Default: false, Doc: "append </s>"},
			{Name: "max_tokens", Type: pipeline.Int, Default: 0, Range: "[0,)", Doc: "most tokens per row, <s> and </s> included (0: no limit)"},
			{Name: "truncation", Type: pipeline.String, Default: "right", Doc: "what a row longer than max_tokens does",
				Options: []pipeline.Option{
					{Value: "right", Doc: "keep the start"},
					{Value: "left", Doc: "keep the end"},
					{Value: "fail", Doc: "fail the run naming the row"},
				}},
		},
		New: newTokenize,
	})
}

// Column names added next to the ids.
const (
	NumTokensColumn = "num_tokens"
	TruncatedColumn = "truncated"
)

// Tokenize is text.tokenize.
type Tokenize struct {
	path       string
	col        int
	opts       tokenizer.Options
	max        int
	truncation string
	schema     *arrow.Schema
	alloc      memory.Allocator
	log        *slog.Logger

	load      sync.Once
	tok       *tokenizer.Tokenizer
	loadErr   error
	rows      atomic.Int64
	truncated atomic.Int64
	tokens    atomic.Int64
}

func newTokenize(b *pipeline.BuildContext) (pipeline.Stage, error) {
	in := b.Inputs[0]
	col, err := schemas.Column(in, b.Params.String("column"), arrow.STRING, arrow.LARGE_STRING)
	if err != nil {
		return nil, pipeline.AtParam("column", err)
	}
	trunc := b.Params.String("truncation")
	opts := tokenizer.Options{AddBOS: b.Params.Bool("bos"), AddEOS: b.Params.Bool("eos")}
	maxTok := b.Params.Int("max_tokens")
	if maxTok > 0 && maxTok < boolInt(opts.AddBOS)+boolInt(opts.AddEOS)+1 {
		return nil, pipeline.ParamErrorf("max_tokens", "%d leaves no room for text", maxTok)
	}
	out := b.Params.String("output")
	schema, err := schemas.AppendColumns(in,
		arrow.Field{Name: out, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
		arrow.Field{Name: NumTokensColumn, Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: TruncatedColumn, Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	)
	if err != nil {
		return nil, err
	}
	return &Tokenize{path: b.Params.String("model"), col: col, opts: opts, max: maxTok, truncation: trunc,
		schema: schema, alloc: b.Alloc, log: b.Logger}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *Tokenize) Schema() *arrow.Schema { return t.schema }

func (t *Tokenize) tokenizer() (*tokenizer.Tokenizer, error) {
	t.load.Do(func() {
		tok, err := tokenizer.Load(t.path)
		if err != nil {
			t.loadErr = fmt.Errorf("params.model: %w", err)
			return
		}
		t.tok = tok.WithOptions(t.opts)
	})
	return t.tok, t.loadErr
}

// texts abstracts string and large_string columns.
type texts interface {
	arrow.Array
	Value(int) string
}

func (t *Tokenize) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	tok, err := t.tokenizer()
	if err != nil {
		return err
	}
	src := in.Column(t.col).(texts)
	n := int(in.NumRows())
	lb := array.NewListBuilder(t.alloc, arrow.PrimitiveTypes.Int32)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Int32Builder)
	nb := array.NewInt32Builder(t.alloc)
	defer nb.Release()
	tb := array.NewBooleanBuilder(t.alloc)
	defer tb.Release()
	lb.Reserve(n)
	nb.Reserve(n)
	tb.Reserve(n)

	var ids []int32
	var truncated, tokens int64
	for i := range n {
		if src.IsNull(i) {
			lb.AppendNull()
			nb.AppendNull()
			tb.AppendNull()
			continue
		}
		ids = tok.EncodeAppend(ids[:0], src.Value(i))
		cut := t.max > 0 && len(ids) > t.max
		if cut {
			if t.truncation == "fail" {
				return pipeline.RecordError(i, fmt.Errorf("%d tokens > max_tokens %d", len(ids), t.max))
			}
			ids = t.truncate(ids)
			truncated++
		}
		tokens += int64(len(ids))
		lb.Append(true)
		vb.AppendValues(ids, nil)
		nb.UnsafeAppend(int32(len(ids)))
		tb.UnsafeAppend(cut)
	}
	t.rows.Add(int64(n))
	t.truncated.Add(truncated)
	t.tokens.Add(tokens)

	cols := append(in.Columns()[:in.NumCols():in.NumCols()], lb.NewArray(), nb.NewArray(), tb.NewArray())
	added := cols[in.NumCols():]
	defer func() {
		for _, c := range added {
			c.Release()
		}
	}()
	return out.Emit(ctx, array.NewRecordBatch(t.schema, cols, int64(n)))
}

// truncate cuts ids (which include BOS/EOS when enabled) to t.max in
// place, keeping BOS first and EOS last.
func (t *Tokenize) truncate(ids []int32) []int32 {
	head, tail := boolInt(t.opts.AddBOS), boolInt(t.opts.AddEOS)
	keep := t.max - head - tail
	last := ids[len(ids)-1]
	if t.truncation == "left" {
		end := len(ids) - tail
		copy(ids[head:], ids[end-keep:end])
	}
	ids = ids[:head+keep]
	if tail == 1 {
		ids = append(ids, last)
	}
	return ids
}

// Flush reports the totals.
func (t *Tokenize) Flush(context.Context, pipeline.Emitter) error {
	t.log.Info("tokenized", "rows", t.rows.Load(), "tokens", t.tokens.Load(), "truncated_rows", t.truncated.Load())
	return nil
}
