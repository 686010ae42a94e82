// Package gen holds stages that make or drop data: gen.rows emits
// deterministic demo rows (schemas.Demo) for the demo pipeline, tests and
// benchmarks, and discard drops its input. It does not generate MIMIC-CXR
// phantoms (package synth and `medflow synth` do).
package gen

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
)

// Register adds gen.rows to r.
func Register(r *pipeline.Registry) error {
	return r.Register(pipeline.Definition{
		Kind: "gen.rows", Role: pipeline.RoleSource, Version: "1",
		Doc: "deterministic synthetic rows (id, group, value) for demos and benchmarks",
		Params: []pipeline.Param{
			{Name: "rows", Type: pipeline.Int, Required: true, Range: "[0,)", Doc: "total rows"},
			{Name: "batch_rows", Type: pipeline.Int, Default: 65536, Range: "[1,)", Doc: "rows per batch"},
			{Name: "groups", Type: pipeline.Int, Default: 16, Range: "[1,1000000]", Doc: "distinct group keys"},
			{Name: "seed", Type: pipeline.Int, Default: 1, Doc: "seed of the values (row i's value depends only on seed and i)"},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			s := &Rows{Rows: int64(b.Params.Int("rows")), BatchRows: b.Params.Int("batch_rows"),
				Groups: b.Params.Int("groups"), Seed: uint64(b.Params.Int("seed")), Shard: b.Shard, Alloc: b.Alloc}
			return s, nil
		},
	})
}

// Rows emits Rows rows of schemas.Demo in batches of BatchRows. Row i has
// id i, group "gNN" and a value in [0, 100) that depend only on Seed and
// i, so any shard or batch size yields the same rows. Batch k belongs to
// shard k mod n.
type Rows struct {
	Rows      int64
	BatchRows int
	Groups    int
	Seed      uint64
	Shard     pipeline.Shard
	Alloc     memory.Allocator
}

func (s *Rows) Schema() *arrow.Schema { return schemas.Demo }

func (s *Rows) Produce(ctx context.Context, out pipeline.Emitter) error {
	names := make([]string, s.Groups)
	for g := range names {
		names[g] = fmt.Sprintf("g%02d", g)
	}
	for k, start := 0, int64(0); start < s.Rows; k, start = k+1, start+int64(s.BatchRows) {
		if !s.Shard.Owns(k) {
			continue
		}
		n := int(min(int64(s.BatchRows), s.Rows-start))
		if err := out.Emit(ctx, s.batch(start, n, names)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Rows) batch(start int64, n int, names []string) arrow.RecordBatch {
	ids := array.NewInt64Builder(s.Alloc)
	groups := array.NewStringBuilder(s.Alloc)
	vals := array.NewFloat64Builder(s.Alloc)
	defer ids.Release()
	defer groups.Release()
	defer vals.Release()
	ids.Reserve(n)
	groups.Reserve(n)
	groups.ReserveData(n * 3)
	vals.Reserve(n)
	for i := start; i < start+int64(n); i++ {
		h := splitmix(s.Seed ^ uint64(i)*0x9e3779b97f4a7c15)
		ids.UnsafeAppend(i)
		groups.Append(names[h%uint64(s.Groups)])
		vals.UnsafeAppend(float64(h>>11) / (1 << 53) * 100)
	}
	cols := []arrow.Array{ids.NewArray(), groups.NewArray(), vals.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecordBatch(schemas.Demo, cols, int64(n))
}

// splitmix is SplitMix64's finalizer: a cheap, well-mixed hash.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
