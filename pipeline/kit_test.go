package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Test stage kinds. They work on one int64 column "x".

var (
	xSchema = arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	ySchema = arrow.NewSchema([]arrow.Field{{Name: "y", Type: arrow.PrimitiveTypes.Int64}}, nil)
)

var errBoom = errors.New("boom")

type genSource struct {
	alloc              memory.Allocator
	batches, rows      int
	failAt, panicAt    int
	delay              time.Duration
	emitted            *atomic.Int64
	wrongSchemaAtBatch int
}

func (g *genSource) Schema() *arrow.Schema { return xSchema }

func (g *genSource) Produce(ctx context.Context, out Emitter) error {
	v := int64(0)
	for i := range g.batches {
		if g.failAt >= 0 && g.failAt/g.rows == i {
			return RecordError(g.failAt, errBoom)
		}
		if g.panicAt >= 0 && g.panicAt/g.rows == i {
			panic("source exploded")
		}
		schema := xSchema
		if i == g.wrongSchemaAtBatch {
			schema = ySchema
		}
		bld := array.NewInt64Builder(g.alloc)
		bld.Reserve(g.rows)
		for range g.rows {
			bld.UnsafeAppend(v)
			v++
		}
		col := bld.NewArray()
		bld.Release()
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(g.rows))
		col.Release()
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
		if g.emitted != nil {
			g.emitted.Add(1)
		}
		if g.delay > 0 {
			time.Sleep(g.delay)
		}
	}
	return nil
}

type addTransform struct {
	alloc           memory.Allocator
	delta           int64
	failOn, panicOn int64
	jitter          bool
}

func (a *addTransform) Schema() *arrow.Schema { return xSchema }

func (a *addTransform) Process(ctx context.Context, in arrow.RecordBatch, out Emitter) error {
	if a.jitter {
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
	}
	xs := in.Column(0).(*array.Int64).Int64Values()
	bld := array.NewInt64Builder(a.alloc)
	defer bld.Release()
	bld.Reserve(len(xs))
	for i, x := range xs {
		if x == a.failOn {
			return RecordError(i, fmt.Errorf("value %d: %w", x, errBoom))
		}
		if x == a.panicOn {
			var m map[string]int
			m["nil map"] = 1
		}
		bld.UnsafeAppend(x + a.delta)
	}
	col := bld.NewArray()
	defer col.Release()
	return out.Emit(ctx, array.NewRecordBatch(xSchema, []arrow.Array{col}, int64(len(xs))))
}

// collectSink records every x it sees, in order.
type collectSink struct {
	mu        sync.Mutex
	xs        []int64
	delay     time.Duration
	closed    bool
	aborted   bool
	failClose bool
}

func (c *collectSink) Schema() *arrow.Schema { return nil }
func (c *collectSink) Consume(ctx context.Context, in arrow.RecordBatch) error {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.xs = append(c.xs, in.Column(0).(*array.Int64).Int64Values()...)
	return nil
}
func (c *collectSink) Close(context.Context) error {
	c.closed = true
	if c.failClose {
		return errors.New("commit failed")
	}
	return nil
}
func (c *collectSink) Abort() { c.aborted = true }

func (c *collectSink) sum() (n int, s int64) {
	for _, x := range c.xs {
		s += x
	}
	return len(c.xs), s
}

// countBarrier iterates each input twice and emits one row per input with
// its row count (checking both epochs agree).
type countBarrier struct{ alloc memory.Allocator }

func (c *countBarrier) Schema() *arrow.Schema { return xSchema }
func (c *countBarrier) Run(ctx context.Context, in []Dataset, out Emitter) error {
	bld := array.NewInt64Builder(c.alloc)
	defer bld.Release()
	for _, d := range in {
		var counts [2]int64
		var sums [2]int64
		for epoch := range 2 {
			for b, err := range d.Batches(ctx) {
				if err != nil {
					return err
				}
				counts[epoch] += b.NumRows()
				for _, x := range b.Column(0).(*array.Int64).Int64Values() {
					sums[epoch] += x
				}
			}
		}
		if counts[0] != counts[1] || sums[0] != sums[1] || counts[0] != d.NumRows() {
			return fmt.Errorf("epochs disagree: %v %v (NumRows %d)", counts, sums, d.NumRows())
		}
		bld.Append(counts[0])
	}
	col := bld.NewArray()
	defer col.Release()
	return out.Emit(ctx, array.NewRecordBatch(xSchema, []arrow.Array{col}, int64(col.Len())))
}

// echoBarrier emits its input's batches, epochs times over: a sink after
// it sees the input's rows, in order, once per epoch.
type echoBarrier struct{ epochs int }

func (e *echoBarrier) Schema() *arrow.Schema { return xSchema }
func (e *echoBarrier) Run(ctx context.Context, in []Dataset, out Emitter) error {
	for range e.epochs {
		for b, err := range in[0].Batches(ctx) {
			if err != nil {
				return err
			}
			b.Retain() // borrowed; Emit takes ownership
			if err := out.Emit(ctx, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// ySource declares a column "y" (and emits nothing).
type ySource struct{}

func (ySource) Schema() *arrow.Schema                  { return ySchema }
func (ySource) Produce(context.Context, Emitter) error { return nil }

// testRegistry registers the kit. sinks collects every collectSink built,
// by stage name.
func testRegistry(sinks map[string]*collectSink) *Registry {
	return testRegistryHolds(sinks, nil)
}

func testRegistryHolds(sinks map[string]*collectSink, holds map[string]*holdTransform) *Registry {
	r := NewRegistry()
	r.MustRegister(Definition{Kind: "gen", Doc: "test kind", Role: RoleSource, Version: "1",
		Params: []Param{
			{Name: "batches", Type: Int, Default: 4, Doc: "batches (test param)"},
			{Name: "rows", Type: Int, Default: 1000, Doc: "rows (test param)"},
			{Name: "fail_at", Type: Int, Default: -1, Doc: "fail_at (test param)"},
			{Name: "panic_at", Type: Int, Default: -1, Doc: "panic_at (test param)"},
			{Name: "wrong_schema_at_batch", Type: Int, Default: -1, Doc: "wrong_schema_at_batch (test param)"},
			{Name: "delay", Type: Duration, Doc: "delay (test param)"},
		},
		New: func(b *BuildContext) (Stage, error) {
			return &genSource{alloc: b.Alloc, batches: b.Params.Int("batches"), rows: b.Params.Int("rows"),
				failAt: b.Params.Int("fail_at"), panicAt: b.Params.Int("panic_at"),
				wrongSchemaAtBatch: b.Params.Int("wrong_schema_at_batch"), delay: b.Params.Duration("delay")}, nil
		}})
	r.MustRegister(Definition{Kind: "add", Doc: "test kind", Role: RoleTransform, Version: "1",
		Params: []Param{
			{Name: "delta", Type: Int, Required: true, Doc: "delta (test param)"},
			{Name: "fail_on", Type: Int, Default: -1, Doc: "fail_on (test param)"},
			{Name: "panic_on", Type: Int, Default: -1, Doc: "panic_on (test param)"},
			{Name: "jitter", Type: Bool, Default: false, Doc: "jitter (test param)"},
		},
		MinInputs: 1, MaxInputs: -1,
		New: func(b *BuildContext) (Stage, error) {
			if f := b.Inputs[0].Field(0); f.Name != "x" {
				return nil, fmt.Errorf("%w: want int64 column \"x\", got %q", ErrSchemaMismatch, f.Name)
			}
			return &addTransform{alloc: b.Alloc, delta: int64(b.Params.Int("delta")),
				failOn: int64(b.Params.Int("fail_on")), panicOn: int64(b.Params.Int("panic_on")),
				jitter: b.Params.Bool("jitter")}, nil
		}})
	r.MustRegister(Definition{Kind: "collect", Doc: "test kind", Role: RoleSink, MinInputs: 1, MaxInputs: -1,
		Params: []Param{{Name: "delay", Type: Duration, Doc: "delay (test param)"}, {Name: "fail_close", Type: Bool, Doc: "fail_close (test param)"}},
		New: func(b *BuildContext) (Stage, error) {
			s := &collectSink{delay: b.Params.Duration("delay"), failClose: b.Params.Bool("fail_close")}
			if sinks != nil {
				sinks[b.Stage] = s
			}
			return s, nil
		}})
	r.MustRegister(Definition{Kind: "count", Doc: "test kind", Role: RoleBarrier, MinInputs: 1, MaxInputs: -1,
		New: func(b *BuildContext) (Stage, error) { return &countBarrier{alloc: b.Alloc}, nil }})
	r.MustRegister(Definition{Kind: "echo", Doc: "test kind", Role: RoleBarrier, MinInputs: 1, MaxInputs: 1,
		Params: []Param{{Name: "epochs", Type: Int, Default: 2, Doc: "epochs (test param)"}},
		New:    func(b *BuildContext) (Stage, error) { return &echoBarrier{epochs: b.Params.Int("epochs")}, nil }})
	r.MustRegister(Definition{Kind: "hold", Doc: "test kind", Role: RoleTransform,
		New: func(b *BuildContext) (Stage, error) {
			h := &holdTransform{}
			if holds != nil {
				holds[b.Stage] = h
			}
			return h, nil
		}})
	r.MustRegister(Definition{Kind: "quar", Doc: "test kind", Role: RoleTransform,
		Params: []Param{{Name: "every", Type: Int, Required: true, Doc: "every (test param)"}},
		New: func(b *BuildContext) (Stage, error) {
			return &quarTransform{every: int64(b.Params.Int("every")), q: b.Quarantine}, nil
		}})
	r.MustRegister(Definition{Kind: "ysrc", Doc: "test kind", Role: RoleSource,
		New: func(b *BuildContext) (Stage, error) { return ySource{}, nil }})
	return r
}

// stage is shorthand for a StageSpec.
func stage(name, kind string, inputs []string, params map[string]any) StageSpec {
	return StageSpec{Name: name, Kind: kind, Inputs: inputs, Params: params}
}

// holdTransform keeps every batch and emits them all in Flush, counting
// its Flush calls.
type holdTransform struct {
	mu       sync.Mutex
	held     []arrow.RecordBatch
	flushes  atomic.Int32
	releases atomic.Int32
}

// ReleaseRun drops what a failed run left held.
func (h *holdTransform) ReleaseRun() {
	h.releases.Add(1)
	h.mu.Lock()
	releaseAll(h.held)
	h.held = nil
	h.mu.Unlock()
}

func (h *holdTransform) Schema() *arrow.Schema { return xSchema }
func (h *holdTransform) Process(_ context.Context, in arrow.RecordBatch, _ Emitter) error {
	in.Retain()
	h.mu.Lock()
	h.held = append(h.held, in)
	h.mu.Unlock()
	return nil
}
func (h *holdTransform) Flush(ctx context.Context, out Emitter) error {
	h.flushes.Add(1)
	held := h.held
	h.held = nil
	for i, b := range held {
		if err := out.Emit(ctx, b); err != nil {
			releaseAll(held[i+1:])
			return err
		}
	}
	return nil
}

// quarTransform quarantines rows whose x is a multiple of every and passes
// the batch on unchanged (tests only count the quarantine).
type quarTransform struct {
	every int64
	q     Quarantine
}

func (t *quarTransform) Schema() *arrow.Schema { return xSchema }
func (t *quarTransform) Process(ctx context.Context, in arrow.RecordBatch, out Emitter) error {
	for _, x := range in.Column(0).(*array.Int64).Int64Values() {
		if x%t.every == 0 {
			if err := t.q.Add(ctx, fmt.Sprint(x), "multiple"); err != nil {
				return err
			}
		}
	}
	in.Retain()
	return out.Emit(ctx, in)
}
