package train

import (
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas"
)

// tensors maps a collected model table's tensor names to their values.
func tensors(t *testing.T, res *pipelinetest.Result, sink string) map[string][]float32 {
	t.Helper()
	names, values := res.Column(sink, schemas.CheckpointNameColumn), res.Column(sink, schemas.CheckpointValuesColumn)
	if len(names) == 0 || len(names) != len(values) {
		t.Fatalf("%s: %d names, %d values", sink, len(names), len(values))
	}
	out := map[string][]float32{}
	for i, n := range names {
		for _, v := range values[i].([]any) {
			out[n.(string)] = append(out[n.(string)], v.(float32))
		}
	}
	return out
}

// TestProbeOnFeatures: a probe classifier trained on predict.features'
// table (the frozen encoder run once per image) is the model trained on
// the images (the encoder run every step), within float tolerance, for
// the MAE checkpoint's mean features and the contrastive checkpoint's
// attention pool; the features table holds only the train and validate
// rows.
func TestProbeOnFeatures(t *testing.T) {
	probe := tinyParams(map[string]any{"epochs": 3})
	stages := []pipeline.StageSpec{
		pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1})),
		pipelinetest.Stage("con", "train.contrastive", []string{"mae", "pairs"}, tinyParams(nil)),
	}
	for _, from := range []string{"mae", "con"} {
		stages = append(stages,
			pipelinetest.Stage("img-"+from, "train.classifier", []string{from, "pairs"}, probe),
			pipelinetest.Stage("feats-"+from, "predict.features", []string{from, "pairs"}, map[string]any{"batch_size": 24}),
			pipelinetest.Stage("head-"+from, "train.classifier", []string{from, "feats-" + from}, probe),
			pipelinetest.Stage("m-img-"+from, "test.collect", []string{"img-" + from}, nil),
			pipelinetest.Stage("m-head-"+from, "test.collect", []string{"head-" + from}, nil),
			pipelinetest.Stage("f-"+from, "test.collect", []string{"feats-" + from}, nil))
	}
	res, err := pipelinetest.Run(t, newRegistry(t, true), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)}, stages...)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"mae", "con"} {
		// 80 rows: 56 train, 8 validate, 16 test.
		if n := res.Rows("f-" + from); n != 64 {
			t.Errorf("%s features: %d rows, want 64 (train and validate)", from, n)
		}
		for _, s := range res.Column("f-"+from, SplitColumn) {
			if s == "test" {
				t.Fatalf("%s features hold a test row", from)
			}
		}
		want, got := tensors(t, res, "m-img-"+from), tensors(t, res, "m-head-"+from)
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors on features, %d on images", from, len(got), len(want))
		}
		moved := false
		for name, w := range want {
			g := got[name]
			if len(g) != len(w) {
				t.Fatalf("%s: tensor %s: %d values, want %d", from, name, len(g), len(w))
			}
			for i := range w {
				if d := math.Abs(float64(g[i] - w[i])); d > 1e-4+1e-3*math.Abs(float64(w[i])) {
					t.Fatalf("%s: tensor %s[%d] = %g on features, %g on images", from, name, i, g[i], w[i])
				}
			}
			if strings.HasPrefix(name, "head/") {
				moved = true
			}
		}
		if !moved {
			t.Fatalf("%s: no head tensors", from)
		}
	}
}

// TestFeaturesMismatch: features of another checkpoint are refused
// naming the column, and fine-tuning cannot train on features.
func TestFeaturesMismatch(t *testing.T) {
	base := []pipeline.StageSpec{
		pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1})),
		pipelinetest.Stage("mae2", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1, "seed": 2})),
		pipelinetest.Stage("feats", "predict.features", []string{"mae", "pairs"}, nil),
	}
	for _, c := range []struct {
		name, from, mode, want string
	}{
		{"other checkpoint", "mae2", "probe", FeatureSourceColumn},
		{"finetune", "mae", "finetune", "mode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stages := append(append([]pipeline.StageSpec{}, base...),
				pipelinetest.Stage("clf", "train.classifier", []string{c.from, "feats"}, tinyParams(map[string]any{"mode": c.mode})),
				pipelinetest.Stage("o", "test.collect", []string{"clf"}, nil))
			_, err := pipelinetest.Run(t, newRegistry(t, false), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)}, stages...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %s", err, c.want)
			}
		})
	}
}

// TestFeaturesReused: a materialized predict.features is computed once:
// a rerun with other classifier params reuses it (and the MAE checkpoint),
// skips the pairs and recomputes only the classifier, which gives another
// model.
func TestFeaturesReused(t *testing.T) {
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := func(lr float64) (map[string]pipeline.Decision, map[string][]float32) {
		t.Helper()
		reg := newRegistry(t, false)
		res := &pipelinetest.Result{}
		pipelinetest.Register(reg, res)
		mem := pipelinetest.Allocator(t)
		mat := func(s pipeline.StageSpec) pipeline.StageSpec { s.Materialize = true; return s }
		plan, err := reg.Plan(pipeline.Spec{Variant: "test", Stages: []pipeline.StageSpec{
			pipelinetest.Stage("pairs", "test.pairs", nil, nil),
			mat(pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
				"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1}))),
			mat(pipelinetest.Stage("feats", "predict.features", []string{"mae", "pairs"}, nil)),
			mat(pipelinetest.Stage("clf", "train.classifier", []string{"mae", "feats"}, tinyParams(map[string]any{"lr": lr}))),
			pipelinetest.Stage("model", "test.collect", []string{"clf"}, nil),
		}}, pipeline.PlanOptions{Alloc: mem, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := plan.Resolve(t.Context(), dataset.NewCache(store, "cache", mem), nil); err != nil {
			t.Fatal(err)
		}
		if err := plan.NewRun(pipeline.RunOptions{SpillDir: t.TempDir(),
			Artifacts: func(string) pipeline.Artifacts { return pipeline.NewMemArtifacts() }}).Execute(t.Context()); err != nil {
			t.Fatal(err)
		}
		d := map[string]pipeline.Decision{}
		for _, n := range plan.Nodes {
			d[n.Spec.Name] = n.Decision
		}
		return d, tensors(t, res, "model")
	}
	first, m1 := run(3e-3)
	second, m2 := run(1e-2)
	if first["feats"] != pipeline.Compute || first["clf"] != pipeline.Compute {
		t.Fatalf("first run: %v", first)
	}
	// The pairs (the images) are not even read: the classifier needs only
	// the features and the checkpoint.
	if second["feats"] != pipeline.Reuse || second["mae"] != pipeline.Reuse || second["pairs"] != pipeline.Skip || second["clf"] != pipeline.Compute {
		t.Fatalf("rerun with another lr: feats %v, mae %v, pairs %v, clf %v; want reuse, reuse, skip, compute",
			second["feats"], second["mae"], second["pairs"], second["clf"])
	}
	if slices.Equal(m1["head/w"], m2["head/w"]) {
		t.Fatal("another lr gave the same head")
	}
}
