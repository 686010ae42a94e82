// Package aggregate holds barrier stages that need their whole input:
// agg.group_stats groups rows by a string key and emits count, sum, mean,
// min and max of a numeric column per key, sorted by key. Memory is one
// entry per distinct key; the input itself streams from the engine's
// (spillable) dataset. Not implemented: multi-key groups, quantiles.
package aggregate

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
)

// Schema is agg.group_stats' output.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "count", Type: arrow.PrimitiveTypes.Int64},
	{Name: "sum", Type: arrow.PrimitiveTypes.Float64},
	{Name: "mean", Type: arrow.PrimitiveTypes.Float64},
	{Name: "min", Type: arrow.PrimitiveTypes.Float64},
	{Name: "max", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// Register adds agg.group_stats to r.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Definition{
		Kind: "agg.group_stats", Role: pipeline.RoleBarrier, Version: "1",
		Doc: "count/sum/mean/min/max of a numeric column per string key",
		Params: []pipeline.Param{
			{Name: "key", Type: pipeline.String, Required: true, NonEmpty: true, Doc: "string column to group by"},
			{Name: "value", Type: pipeline.String, Required: true, NonEmpty: true, Doc: "float64 column to summarize"},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			k, err := schemas.Column(b.Inputs[0], b.Params.String("key"), arrow.STRING)
			if err != nil {
				return nil, pipeline.AtParam("key", err)
			}
			v, err := schemas.Column(b.Inputs[0], b.Params.String("value"), arrow.FLOAT64)
			if err != nil {
				return nil, pipeline.AtParam("value", err)
			}
			return &GroupStats{key: k, value: v, alloc: b.Alloc}, nil
		},
	})
}

// GroupStats is agg.group_stats.
type GroupStats struct {
	key, value int
	alloc      memory.Allocator
}

func (g *GroupStats) Schema() *arrow.Schema { return Schema }

type acc struct {
	n             int64
	sum, min, max float64
}

func (g *GroupStats) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	groups := map[string]*acc{}
	for b, err := range in[0].Batches(ctx) {
		if err != nil {
			return err
		}
		keys := b.Column(g.key).(*array.String)
		vals := b.Column(g.value).(*array.Float64)
		for i := range int(b.NumRows()) {
			if keys.IsNull(i) || vals.IsNull(i) {
				continue
			}
			a := groups[keys.Value(i)]
			if a == nil {
				a = &acc{min: math.Inf(1), max: math.Inf(-1)}
				groups[strings.Clone(keys.Value(i))] = a // the map outlives the batch
			}
			v := vals.Value(i)
			a.n++
			a.sum += v
			a.min = min(a.min, v)
			a.max = max(a.max, v)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bld := array.NewRecordBuilder(g.alloc, Schema)
	defer bld.Release()
	for _, k := range keys {
		a := groups[k]
		bld.Field(0).(*array.StringBuilder).Append(k)
		bld.Field(1).(*array.Int64Builder).Append(a.n)
		bld.Field(2).(*array.Float64Builder).Append(a.sum)
		bld.Field(3).(*array.Float64Builder).Append(a.sum / float64(a.n))
		bld.Field(4).(*array.Float64Builder).Append(a.min)
		bld.Field(5).(*array.Float64Builder).Append(a.max)
	}
	return out.Emit(ctx, bld.NewRecordBatch())
}
