// Package pipelinetest runs small pipelines in tests: a checked, poisoning
// allocator that fails the test on any leaked byte and overwrites every
// freed buffer, and a test.collect sink that keeps what reaches it as Go
// values for assertions.
package pipelinetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/bufpool"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
)

// Allocator returns the allocator end-to-end tests run with: the CLI's
// pooling allocator (freed buffers are handed out again) in poison mode,
// so every freed buffer is overwritten with 0xDE at once, under a checked
// allocator that fails t if any byte is still allocated when t ends. A
// value that outlives its batch without being copied (a string from
// keys.Value(i) kept in a map, a quarantine entry, a Go struct) then reads
// as 0xDE bytes and fails the test's assertions, as it would give wrong
// data, some of the time, in a real run.
func Allocator(t testing.TB) memory.Allocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(bufpool.New(true))
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// Result holds what each test.collect sink received.
type Result struct {
	mu      sync.Mutex
	columns map[string]map[string][]any // sink -> column -> values
	rows    map[string]int
	// Run is the finished run (stats, quarantine).
	Run *pipeline.Run
	// Artifacts are the stages' artifact stores, by stage name.
	Artifacts map[string]*pipeline.MemArtifacts
	// SpillDir is the run's spill and temp directory (pipeline.TempDir).
	SpillDir string
}

// Column returns the values of column name that reached sink, in order.
func (r *Result) Column(sink, name string) []any { return r.columns[sink][name] }

// Rows returns the number of rows that reached sink.
func (r *Result) Rows(sink string) int { return r.rows[sink] }

// Register adds the test.collect sink kind, recording into res (a zero
// Result is fine).
func Register(reg *pipeline.Registry, res *Result) {
	if res.columns == nil {
		res.columns, res.rows = map[string]map[string][]any{}, map[string]int{}
	}
	reg.MustRegister(pipeline.Definition{Kind: "test.collect", Doc: "test kind", Role: pipeline.RoleSink, MinInputs: 1, MaxInputs: -1,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return &collect{res: res, name: b.Stage}, nil }})
}

type collect struct {
	res  *Result
	name string
}

func (c *collect) Schema() *arrow.Schema       { return nil }
func (c *collect) Close(context.Context) error { return nil }
func (c *collect) Abort()                      {}
func (c *collect) Consume(_ context.Context, b arrow.RecordBatch) error {
	c.res.mu.Lock()
	defer c.res.mu.Unlock()
	cols := c.res.columns[c.name]
	if cols == nil {
		cols = map[string][]any{}
		c.res.columns[c.name] = cols
	}
	for i, f := range b.Schema().Fields() {
		col := b.Column(i)
		for j := range col.Len() {
			cols[f.Name] = append(cols[f.Name], Value(col, j))
		}
	}
	c.res.rows[c.name] += int(b.NumRows())
	return nil
}

// Value returns element i of a as a Go value (schemas.Value).
func Value(a arrow.Array, i int) any { return schemas.Value(a, i) }

// Run plans and runs stages of variant "test" on reg (test.collect is added
// to it) with Allocator(t); it fails t on a plan error or a leak and
// returns the result and the run's error.
func Run(t testing.TB, reg *pipeline.Registry, opts pipeline.PlanOptions, stages ...pipeline.StageSpec) (*Result, error) {
	t.Helper()
	return run(t, reg, opts, nil, stages)
}

// RunAfterResolve is Run with Plan.Resolve first (no cache: sources take
// their input fingerprints, as in a CLI run), and between called after
// Resolve and before Execute: for tests of inputs that change during a
// run.
func RunAfterResolve(t testing.TB, reg *pipeline.Registry, between func(), stages ...pipeline.StageSpec) (*Result, error) {
	t.Helper()
	return run(t, reg, pipeline.PlanOptions{}, between, stages)
}

// run plans and executes stages; a non-nil between makes it resolve the
// plan first and call between before executing.
func run(t testing.TB, reg *pipeline.Registry, opts pipeline.PlanOptions, between func(), stages []pipeline.StageSpec) (*Result, error) {
	t.Helper()
	mem := Allocator(t)
	res := &Result{columns: map[string]map[string][]any{}, rows: map[string]int{}}
	if _, ok := reg.Lookup("test.collect"); !ok {
		Register(reg, res)
	} else {
		t.Fatal("pipelinetest.Run: registry already has test.collect; use a fresh registry")
	}
	opts.Alloc = mem
	plan, err := reg.Plan(pipeline.Spec{Variant: "test", Stages: stages}, opts)
	if err != nil {
		return nil, err
	}
	byFP := map[string]*pipeline.MemArtifacts{}
	res.Artifacts = map[string]*pipeline.MemArtifacts{}
	for _, n := range plan.Nodes {
		if byFP[n.Fingerprint] == nil {
			byFP[n.Fingerprint] = pipeline.NewMemArtifacts()
		}
		res.Artifacts[n.Spec.Name] = byFP[n.Fingerprint]
	}
	if between != nil {
		if err := plan.Resolve(context.Background(), nil, nil); err != nil {
			return nil, err
		}
		between()
	}
	res.SpillDir = t.TempDir()
	res.Run = plan.NewRun(pipeline.RunOptions{SpillDir: res.SpillDir,
		Artifacts: func(fp string) pipeline.Artifacts { return byFP[fp] }})
	return res, res.Run.Execute(context.Background())
}

// Stage is shorthand for a StageSpec.
func Stage(name, kind string, inputs []string, params map[string]any) pipeline.StageSpec {
	return pipeline.StageSpec{Name: name, Kind: kind, Inputs: inputs, Params: params}
}

// RegisterJSON adds a source kind that emits one batch per JSON document
// (an array of row objects, as array.RecordFromJSON reads it) with the
// given schema, built with the run's allocator.
func RegisterJSON(reg *pipeline.Registry, kind string, schema *arrow.Schema, batches ...string) {
	reg.MustRegister(pipeline.Definition{Kind: kind, Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &jsonSource{schema: schema, docs: batches, mem: b.Alloc}, nil
		}})
}

type jsonSource struct {
	schema *arrow.Schema
	docs   []string
	mem    memory.Allocator
}

func (s *jsonSource) Schema() *arrow.Schema { return s.schema }

func (s *jsonSource) Produce(ctx context.Context, out pipeline.Emitter) error {
	for i, doc := range s.docs {
		b, _, err := array.RecordFromJSON(s.mem, s.schema, strings.NewReader(doc))
		if err != nil {
			return fmt.Errorf("batch %d: %w", i, err)
		}
		if err := out.Emit(ctx, b); err != nil {
			return err
		}
	}
	return nil
}
