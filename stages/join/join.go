package join

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
)

// ErrNoMatch is the failure of on_missing: fail.
var ErrNoMatch = errors.New("no match in right input")

// Register adds the join kind to r.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Definition{
		Kind: "join", Role: pipeline.RoleBarrier, Version: "1",
		Doc:       "inner hash join of two inputs on a key column (right input held in memory)",
		MinInputs: 2, MaxInputs: 2,
		Params: []pipeline.Param{
			{Name: "key", Type: pipeline.String, Required: true, NonEmpty: true, Doc: "key column of the left (first) input"},
			{Name: "right_key", Type: pipeline.String, NonEmpty: true, Doc: "key column of the right input (default: key)"},
			{Name: "columns", Type: pipeline.List, Elem: pipeline.String, Doc: "right columns to add (default: all but its key)"},
			{Name: "on_missing", Type: pipeline.String, Default: "quarantine", Doc: "what a left row without a match does",
				Options: []pipeline.Option{
					{Value: "quarantine", Doc: "set it aside with the reason"},
					{Value: "drop", Doc: "drop it silently"},
					{Value: "fail", Doc: "fail the run naming the key"},
				}},
		},
		New: newJoin,
	})
}

// Join is the join stage.
type Join struct {
	lkey, rkey int
	rcols      []int
	onMissing  string
	schema     *arrow.Schema
	alloc      memory.Allocator
	q          pipeline.Quarantine
}

func newJoin(b *pipeline.BuildContext) (pipeline.Stage, error) {
	left, right := b.Inputs[0], b.Inputs[1]
	key := b.Params.String("key")
	rkey := key
	if b.Params.Has("right_key") {
		rkey = b.Params.String("right_key")
	}
	lk, err := schemas.Column(left, key, arrow.INT64, arrow.STRING)
	if err != nil {
		return nil, pipeline.AtParam("key", fmt.Errorf("left input: %w", err))
	}
	rk, err := schemas.Column(right, rkey, arrow.INT64, arrow.STRING)
	if err != nil {
		return nil, pipeline.AtParam("right_key", fmt.Errorf("right input: %w", err))
	}
	if lt, rt := left.Field(lk).Type, right.Field(rk).Type; !arrow.TypeEqual(lt, rt) {
		return nil, fmt.Errorf("%w: key %q is %s on the left and %s on the right", schemas.ErrMismatch, key, lt, rt)
	}
	var rcols []int
	if b.Params.Has("columns") {
		for _, name := range b.Params.Strings("columns") {
			c, err := schemas.Column(right, name)
			if err != nil {
				return nil, pipeline.AtParam("columns", fmt.Errorf("right input: %w", err))
			}
			rcols = append(rcols, c)
		}
	} else {
		for i := range right.NumFields() {
			if i != rk {
				rcols = append(rcols, i)
			}
		}
	}
	fields := left.Fields()
	for _, c := range rcols {
		f := right.Field(c)
		if len(left.FieldIndices(f.Name)) > 0 {
			return nil, fmt.Errorf("%w: right column %q is also a left column; list the right columns to add in params.columns", schemas.ErrMismatch, f.Name)
		}
		fields = append(fields, f)
	}
	md := left.Metadata()
	return &Join{lkey: lk, rkey: rk, rcols: rcols, onMissing: b.Params.String("on_missing"),
		schema: arrow.NewSchema(fields, &md), alloc: b.Alloc, q: b.Quarantine}, nil
}

func (j *Join) Schema() *arrow.Schema { return j.schema }

// keyAt returns row i's key as a map key, false when null.
func keyAt(a arrow.Array, i int) (string, bool) {
	if a.IsNull(i) {
		return "", false
	}
	switch a := a.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), true
	case *array.String:
		return a.Value(i), true
	}
	return "", false
}

// rightSide is the right input held in memory: its chosen columns
// concatenated, and the row of each key.
type rightSide struct {
	cols []arrow.Array
	rows map[string]int64
}

func (r *rightSide) release() {
	for _, c := range r.cols {
		c.Release()
	}
}

func (j *Join) loadRight(ctx context.Context, ds pipeline.Dataset) (*rightSide, error) {
	parts := make([][]arrow.Array, len(j.rcols))
	side := &rightSide{rows: map[string]int64{}}
	defer func() {
		for _, p := range parts {
			for _, a := range p {
				a.Release()
			}
		}
	}()
	var base int64
	for b, err := range ds.Batches(ctx) {
		if err != nil {
			return nil, err
		}
		keys := b.Column(j.rkey)
		n := int(b.NumRows())
		idx := make([]int64, 0, n)
		for i := range n {
			k, ok := keyAt(keys, i)
			switch {
			case !ok:
				if err := j.q.Add(ctx, fmt.Sprintf("right row %d", base+int64(i)), "null key in right input"); err != nil {
					return nil, err
				}
			case side.rows[k] != 0:
				if err := j.q.Add(ctx, "right key "+k, "duplicate key in right input; the first row is kept"); err != nil {
					return nil, err
				}
			default:
				// The map outlives the batch, whose buffers may be reused.
				side.rows[strings.Clone(k)] = base + int64(len(idx)) + 1 // +1: 0 means absent
				idx = append(idx, int64(i))
			}
		}
		all := len(idx) == n
		for c, col := range j.rcols {
			a, err := j.take(ctx, b.Column(col), idx, all)
			if err != nil {
				return nil, err
			}
			parts[c] = append(parts[c], a)
		}
		base += int64(len(idx))
	}
	for c := range parts {
		if len(parts[c]) == 0 {
			side.cols = append(side.cols, array.MakeArrayOfNull(j.alloc, j.schema.Field(j.schema.NumFields()-len(j.rcols)+c).Type, 0))
			continue
		}
		a, err := array.Concatenate(parts[c], j.alloc)
		if err != nil {
			side.release()
			return nil, fmt.Errorf("right input: %w", err)
		}
		side.cols = append(side.cols, a)
	}
	return side, nil
}

// take returns the rows idx of a; a new reference to a itself when all
// rows are kept in order.
func (j *Join) take(ctx context.Context, a arrow.Array, idx []int64, all bool) (arrow.Array, error) {
	if all && len(idx) == a.Len() {
		a.Retain()
		return a, nil
	}
	ib := array.NewInt64Builder(j.alloc)
	defer ib.Release()
	ib.AppendValues(idx, nil)
	ia := ib.NewArray()
	defer ia.Release()
	return compute.TakeArrayOpts(compute.WithAllocator(ctx, j.alloc), a, ia, compute.TakeOptions{BoundsCheck: false})
}

func (j *Join) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	right, err := j.loadRight(ctx, in[1])
	if err != nil {
		return err
	}
	defer right.release()
	var base int64
	for b, err := range in[0].Batches(ctx) {
		if err != nil {
			return err
		}
		if err := j.joinBatch(ctx, b, base, right, out); err != nil {
			return err
		}
		base += b.NumRows()
	}
	return nil
}

func (j *Join) joinBatch(ctx context.Context, b arrow.RecordBatch, base int64, right *rightSide, out pipeline.Emitter) error {
	keys := b.Column(j.lkey)
	n := int(b.NumRows())
	lidx := make([]int64, 0, n)
	ridx := make([]int64, 0, n)
	for i := range n {
		k, ok := keyAt(keys, i)
		r := right.rows[k]
		if ok && r != 0 {
			lidx = append(lidx, int64(i))
			ridx = append(ridx, r-1)
			continue
		}
		reason, qkey := ErrNoMatch.Error(), "left key "+k
		if !ok {
			reason, qkey = "null key in left input", fmt.Sprintf("left row %d", base+int64(i))
		}
		switch j.onMissing {
		case "fail":
			return pipeline.RecordError(int(base)+i, fmt.Errorf("key %s: %w", k, ErrNoMatch))
		case "quarantine":
			if err := j.q.Add(ctx, qkey, reason); err != nil {
				return err
			}
		}
	}
	if len(lidx) == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, j.schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for c := range int(b.NumCols()) {
		a, err := j.take(ctx, b.Column(c), lidx, true)
		if err != nil {
			return err
		}
		cols = append(cols, a)
	}
	for _, rc := range right.cols {
		a, err := j.take(ctx, rc, ridx, false)
		if err != nil {
			return err
		}
		cols = append(cols, a)
	}
	return out.Emit(ctx, array.NewRecordBatch(j.schema, cols, int64(len(lidx))))
}
