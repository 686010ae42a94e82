package train

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/train"
)

// killAfterCheckpoint is an artifact store that cancels the run once the
// first checkpoint has been stored (a crash right after a checkpoint).
type killAfterCheckpoint struct {
	*pipeline.MemArtifacts
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (k *killAfterCheckpoint) Put(ctx context.Context, name string, data []byte) error {
	err := k.MemArtifacts.Put(ctx, name, data)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cancel != nil && strings.HasPrefix(name, train.CheckpointPrefix) {
		k.cancel()
		k.cancel = nil
	}
	return err
}

// runMAE plans and runs pairs -> train.mae -> collect with store as every
// stage's artifacts; it returns the emitted model values and the log.
func runMAE(t *testing.T, ctx context.Context, store pipeline.Artifacts) ([]any, string, error) {
	t.Helper()
	reg := newRegistry(t, false)
	res := &pipelinetest.Result{}
	pipelinetest.Register(reg, res)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var log bytes.Buffer
	plan, err := reg.Plan(pipeline.Spec{Variant: "test", Stages: []pipeline.StageSpec{
		pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "epochs": 3})),
		pipelinetest.Stage("out", "test.collect", []string{"mae"}, nil),
	}}, pipeline.PlanOptions{Alloc: mem, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	run := plan.NewRun(pipeline.RunOptions{SpillDir: t.TempDir(),
		Artifacts: func(string) pipeline.Artifacts { return store }})
	err = run.Execute(ctx)
	return res.Column("out", schemas.CheckpointValuesColumn), log.String(), err
}

// TestResumeAfterKill: a train.mae run killed after its first checkpoint
// (step 3 of 12) restarts from that checkpoint and emits the same model as
// an uninterrupted run.
func TestResumeAfterKill(t *testing.T) {
	want, _, err := runMAE(t, context.Background(), pipeline.NewMemArtifacts())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &killAfterCheckpoint{MemArtifacts: pipeline.NewMemArtifacts(), cancel: cancel}
	if _, _, err := runMAE(t, ctx, store); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run: err %v, want context.Canceled", err)
	}
	got, log, err := runMAE(t, context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "resuming from checkpoint") || !strings.Contains(log, "step=3 ") {
		t.Fatalf("rerun did not log resuming at step 3:\n%s", log)
	}
	if len(got) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("resumed model differs from the uninterrupted one (%d vs %d tensors)", len(got), len(want))
	}
}
