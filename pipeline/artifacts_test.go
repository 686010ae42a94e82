package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// noteBarrier counts its input rows and writes the count as an artifact.
type noteBarrier struct {
	countBarrier
	art Artifacts
}

func (n *noteBarrier) Run(ctx context.Context, in []Dataset, out Emitter) error {
	var rows int64
	for _, d := range in {
		rows += d.NumRows()
	}
	if err := n.art.Put(ctx, "rows.txt", []byte(strconv.FormatInt(rows, 10))); err != nil {
		return err
	}
	return n.countBarrier.Run(ctx, in, out)
}

func TestArtifactsBoundPerFingerprint(t *testing.T) {
	r := testRegistry(nil)
	var built []*noteBarrier
	r.MustRegister(Definition{Kind: "note", Doc: "test kind", Role: RoleBarrier, Version: "1",
		New: func(b *BuildContext) (Stage, error) {
			n := &noteBarrier{countBarrier: countBarrier{alloc: b.Alloc}, art: b.Artifacts}
			built = append(built, n)
			return n, nil
		}})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	plan, err := r.Plan(Spec{Variant: "v", Stages: []StageSpec{
		stage("g1", "gen", nil, map[string]any{"batches": 2, "rows": 10}),
		stage("g2", "gen", nil, map[string]any{"batches": 3, "rows": 10}),
		stage("n1", "note", []string{"g1"}, nil),
		stage("n2", "note", []string{"g2"}, nil),
		stage("out", "collect", []string{"n1", "n2"}, nil),
	}}, PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := built[0].art.Put(ctx, "x", nil); !errors.Is(err, ErrNoArtifacts) {
		t.Fatalf("Put before the run: %v, want ErrNoArtifacts", err)
	}
	stores := map[string]*MemArtifacts{}
	run := plan.NewRun(RunOptions{SpillDir: t.TempDir(), Artifacts: func(fp string) Artifacts {
		stores[fp] = NewMemArtifacts()
		return stores[fp]
	}})
	if err := run.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range plan.Nodes {
		want := map[string]string{"n1": "20", "n2": "30"}[n.Spec.Name]
		if want == "" {
			continue
		}
		got, err := stores[n.Fingerprint].Get(ctx, "rows.txt")
		if err != nil || string(got) != want {
			t.Errorf("stage %s: artifact %q, %v; want %q under its fingerprint", n.Spec.Name, got, err, want)
		}
		if _, err := stores[n.Fingerprint].Get(ctx, "absent"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get(absent): %v, want fs.ErrNotExist", err)
		}
	}
}
