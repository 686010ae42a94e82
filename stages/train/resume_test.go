package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
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
	mem := pipelinetest.Allocator(t)
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
	dir := t.TempDir()
	run := plan.NewRun(pipeline.RunOptions{SpillDir: dir,
		Artifacts: func(string) pipeline.Artifacts { return store }})
	err = run.Execute(ctx)
	noBlockFiles(t, dir) // also when killed
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

// killAt is the artifact store of one stage: it cancels the run right
// after that stage's n-th checkpoint has been stored (n counted over the
// store's life, so a rerun that resumes does not kill again).
type killAt struct {
	*pipeline.MemArtifacts
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (k *killAt) Put(ctx context.Context, name string, data []byte) error {
	err := k.MemArtifacts.Put(ctx, name, data)
	k.mu.Lock()
	defer k.mu.Unlock()
	if strings.HasPrefix(name, train.CheckpointPrefix) {
		if k.n--; k.n == 0 && k.cancel != nil {
			k.cancel()
		}
	}
	return err
}

// TestResumeAtEveryCheckpoint kills a run of mae -> classifier (probe,
// like the demo's clf-mae) -> predict right after each checkpoint of
// each trainer, the last one included (written when training has
// finished but before the stage emitted its model), then reruns it on the
// same artifact stores: the model and predictions must equal those of an
// uninterrupted run. The poisoning allocator makes any tensor name or
// value kept from a released checkpoint batch show.
func TestResumeAtEveryCheckpoint(t *testing.T) {
	stages := []pipeline.StageSpec{
		pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1, "checkpoint_every": 2,
			"block_rows": 5, "shuffle_rows": 8})),
		pipelinetest.Stage("clf", "train.classifier", []string{"mae", "pairs"}, tinyParams(map[string]any{"checkpoint_every": 2,
			"block_rows": 3, "shuffle_rows": 10})),
		pipelinetest.Stage("pred", "predict.classify", []string{"clf", "pairs"}, nil),
		pipelinetest.Stage("model", "test.collect", []string{"clf"}, nil),
		pipelinetest.Stage("out", "test.collect", []string{"pred"}, nil),
	}
	// run executes the chain with one artifact store per stage (stores,
	// by stage name, created on first use), forcing the stages named, and
	// returns the classifier's tensors, the predictions and the log.
	run := func(t *testing.T, ctx context.Context, stores map[string]pipeline.Artifacts, force ...string) ([]any, []any, string, error) {
		t.Helper()
		reg := newRegistry(t, false)
		res := &pipelinetest.Result{}
		pipelinetest.Register(reg, res)
		mem := pipelinetest.Allocator(t)
		var log bytes.Buffer
		plan, err := reg.Plan(pipeline.Spec{Variant: "test", Stages: stages},
			pipeline.PlanOptions{Alloc: mem, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if len(force) > 0 {
			store, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := plan.Resolve(ctx, dataset.NewCache(store, "cache", mem), force); err != nil {
				t.Fatal(err)
			}
		}
		byFP := map[string]pipeline.Artifacts{}
		for _, n := range plan.Nodes {
			if stores[n.Spec.Name] == nil {
				stores[n.Spec.Name] = pipeline.NewMemArtifacts()
			}
			byFP[n.Fingerprint] = stores[n.Spec.Name]
		}
		err = plan.NewRun(pipeline.RunOptions{SpillDir: t.TempDir(),
			Artifacts: func(fp string) pipeline.Artifacts { return byFP[fp] }}).Execute(ctx)
		return res.Column("model", schemas.CheckpointValuesColumn), res.Column("out", cxrschema.ProbsColumn), log.String(), err
	}
	wantModel, wantProbs, _, err := run(t, context.Background(), map[string]pipeline.Artifacts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(wantModel) == 0 || len(wantProbs) == 0 {
		t.Fatalf("uninterrupted run: %d tensors, %d predictions", len(wantModel), len(wantProbs))
	}
	// 56 train rows, batches of 16, 2 epochs: 6 steps, checkpoints at 2, 4, 6.
	for _, stage := range []string{"mae", "clf"} {
		for n := 1; n <= 3; n++ {
			t.Run(fmt.Sprintf("%s checkpoint %d of 3", stage, n), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				stores := map[string]pipeline.Artifacts{stage: &killAt{MemArtifacts: pipeline.NewMemArtifacts(), n: n, cancel: cancel}}
				if _, _, _, err := run(t, ctx, stores); !errors.Is(err, context.Canceled) {
					t.Fatalf("killed run: err %v, want context.Canceled", err)
				}
				gotModel, gotProbs, log, err := run(t, context.Background(), stores)
				if err != nil {
					t.Fatalf("rerun: %v", err)
				}
				if want := fmt.Sprintf("msg=\"resuming from checkpoint\" stage=%s step=%d ", stage, 2*n); !strings.Contains(log, want) {
					t.Errorf("rerun did not log %q:\n%s", want, log)
				}
				if !reflect.DeepEqual(gotModel, wantModel) || !reflect.DeepEqual(gotProbs, wantProbs) {
					t.Fatalf("rerun after a kill at checkpoint %d of %s differs from an uninterrupted run", n, stage)
				}
				// --force starts the stage afresh: its checkpoints go, it
				// trains from step 0 and gives the same model.
				gotModel, gotProbs, log, err = run(t, context.Background(), stores, stage)
				if err != nil {
					t.Fatalf("forced rerun: %v", err)
				}
				if strings.Contains(log, "msg=\"resuming from checkpoint\" stage="+stage+" ") {
					t.Errorf("forced rerun of %s resumed from a checkpoint:\n%s", stage, log)
				}
				if !reflect.DeepEqual(gotModel, wantModel) || !reflect.DeepEqual(gotProbs, wantProbs) {
					t.Fatalf("forced rerun of %s differs from an uninterrupted run", stage)
				}
			})
		}
	}
}
