package train

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/train"
)

// side and embDim size the synthetic pairs (variables so that a local
// timing run can try the demo's 64×64).
var side, embDim = 32, 16

func pairsSchema(withEmb bool) *arrow.Schema {
	nl := int32(len(cxrschema.LabelNames))
	f := []arrow.Field{
		{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "dicom_id", Type: arrow.BinaryTypes.String},
		{Name: "split", Type: arrow.BinaryTypes.String},
		{Name: "labels", Type: arrow.FixedSizeListOfNonNullable(nl, arrow.PrimitiveTypes.Float32)},
		{Name: "label_mask", Type: arrow.FixedSizeListOfNonNullable(nl, arrow.PrimitiveTypes.Uint8)},
		{Name: "image", Type: arrow.FixedSizeListOfNonNullable(int32(side*side), arrow.PrimitiveTypes.Float32)},
	}
	if withEmb {
		f = append(f, arrow.Field{Name: "embedding", Type: arrow.FixedSizeListOfNonNullable(int32(embDim), arrow.PrimitiveTypes.Float32)})
	}
	return arrow.NewSchema(f, nil)
}

// registerPairs adds test.pairs: n synthetic rows (4 classes; a class sets
// a bright block of the image, the embedding's prototype and label bits),
// 2 in 10 rows in split "test", 1 in 10 in "validate", in batches of 16.
func registerPairs(r *pipeline.Registry, n int, withEmb bool) {
	r.MustRegister(pipeline.Definition{Kind: "test.pairs", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &pairsSrc{n: n, schema: pairsSchema(withEmb), alloc: b.Alloc}, nil
		}})
}

type pairsSrc struct {
	n      int
	schema *arrow.Schema
	alloc  memory.Allocator
}

func (p *pairsSrc) Schema() *arrow.Schema { return p.schema }

func (p *pairsSrc) Produce(ctx context.Context, out pipeline.Emitter) error {
	rng := rand.New(rand.NewPCG(1, 2))
	protos := make([][]float32, 4)
	for c := range protos {
		for range embDim {
			protos[c] = append(protos[c], float32(rng.NormFloat64()))
		}
	}
	nl := len(cxrschema.LabelNames)
	for lo := 0; lo < p.n; lo += 16 {
		b := array.NewRecordBuilder(p.alloc, p.schema)
		for i := lo; i < min(p.n, lo+16); i++ {
			c := i % 4
			b.Field(0).(*array.Int64Builder).Append(int64(1000 + i))
			b.Field(1).(*array.StringBuilder).Append("d" + string(rune('a'+i%26)))
			split := "train"
			switch i % 10 {
			case 4, 9:
				split = "test"
			case 7:
				split = "validate"
			}
			b.Field(2).(*array.StringBuilder).Append(split)
			lb, mb := b.Field(3).(*array.FixedSizeListBuilder), b.Field(4).(*array.FixedSizeListBuilder)
			lb.Append(true)
			mb.Append(true)
			for k := range nl {
				lb.ValueBuilder().(*array.Float32Builder).Append(float32((c >> (k % 2)) & 1))
				mb.ValueBuilder().(*array.Uint8Builder).Append(uint8(1 - k%3/2))
			}
			ib := b.Field(5).(*array.FixedSizeListBuilder)
			ib.Append(true)
			for y := range side {
				for x := range side {
					v := float32(rng.NormFloat64() * 0.3)
					if y/(side/2) == c/2 && x/(side/2) == c%2 {
						v += 2
					}
					ib.ValueBuilder().(*array.Float32Builder).Append(v)
				}
			}
			if len(p.schema.Fields()) > 6 {
				eb := b.Field(6).(*array.FixedSizeListBuilder)
				eb.Append(true)
				for k := range embDim {
					eb.ValueBuilder().(*array.Float32Builder).Append(protos[c][k] + float32(rng.NormFloat64()*0.3))
				}
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

func tinyParams(extra map[string]any) map[string]any {
	p := map[string]any{"epochs": 2, "batch_size": 16, "checkpoint_every": 3, "lr": 3e-3}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func chain(contrastiveLoss string) []pipeline.StageSpec {
	return []pipeline.StageSpec{
		pipelinetest.Stage("pairs", "test.pairs", nil, nil),
		pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, tinyParams(map[string]any{
			"patch": 8, "width": 32, "depth": 1, "heads": 2, "decoder_width": 16, "decoder_depth": 1})),
		pipelinetest.Stage("con", "train.contrastive", []string{"mae", "pairs"}, tinyParams(map[string]any{"loss": contrastiveLoss})),
		pipelinetest.Stage("cls", "train.classifier", []string{"con", "pairs"}, tinyParams(nil)),
		pipelinetest.Stage("base", "train.classifier", []string{"mae", "pairs"}, tinyParams(map[string]any{"mode": "finetune"})),
		pipelinetest.Stage("pred", "predict.classify", []string{"cls", "pairs"}, nil),
		pipelinetest.Stage("out", "test.collect", []string{"pred"}, nil),
		pipelinetest.Stage("model", "test.collect", []string{"base"}, nil),
	}
}

func newRegistry(t *testing.T, withEmb bool) *pipeline.Registry {
	r := pipeline.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	registerPairs(r, 80, withEmb)
	return r
}

// TestChain runs mae -> contrastive -> classifier -> predict (and the
// MAE-only baseline classifier) end to end with a checked allocator.
func TestChain(t *testing.T) {
	for _, loss := range []string{"margin", "infonce"} {
		t.Run(loss, func(t *testing.T) {
			res, err := pipelinetest.Run(t, newRegistry(t, true), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)}, chain(loss)...)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Rows("out"); got != 16 {
				t.Fatalf("predictions: %d rows, want 16 (the test split)", got)
			}
			for _, row := range res.Column("out", cxrschema.ProbsColumn) {
				for _, v := range row.([]any) {
					if p := v.(float32); !(p > 0 && p < 1) {
						t.Fatalf("probability %v not in (0,1)", p)
					}
				}
			}
			if kinds := res.Column("model", schemas.CheckpointModelColumn); len(kinds) == 0 || kinds[0] != "vit-classifier" {
				t.Fatalf("baseline model table: %v", kinds)
			}
			for _, st := range []string{"mae", "con", "cls", "base"} {
				names, _ := res.Artifacts[st].List(context.Background())
				var ck int
				for _, n := range names {
					if strings.HasPrefix(n, train.CheckpointPrefix) {
						ck++
					}
				}
				b, err := res.Artifacts[st].Get(context.Background(), schemas.CurveArtifact)
				if err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				curve, err := Codec{Alloc: memory.NewGoAllocator()}.DecodeCurve(b)
				var trainPts, valPts int
				for _, p := range curve {
					if p.Split == "validate" {
						valPts++
					} else {
						trainPts++
					}
				}
				// 56 train rows: 3 steps per epoch, 2 epochs; one validation row per epoch.
				if err != nil || trainPts != 6 || valPts != 2 || ck != 2 {
					t.Fatalf("%s: curve %d train + %d validate points (want 6 + 2, err %v), %d checkpoints (want 2): %v",
						st, trainPts, valPts, err, ck, names)
				}
				// The same curve as Parquet, for pandas and DuckDB.
				pq, err := res.Artifacts[st].Get(context.Background(), CurveParquet)
				if err != nil {
					t.Fatalf("%s: %v", st, err)
				}
				rdr, err := file.NewParquetReader(bytes.NewReader(pq))
				if err != nil || rdr.NumRows() != int64(len(curve)) {
					t.Fatalf("%s: %s: %v, %d rows, want %d", st, CurveParquet, err, rdr.NumRows(), len(curve))
				}
				rdr.Close()
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name   string
		emb    bool
		stages []pipeline.StageSpec
		want   string
	}{
		{"no embedding", false, chain("margin"), `"embedding"`},
		{"bad loss", true, append(chain("triplet")[:3:3], pipelinetest.Stage("o", "test.collect", []string{"con"}, nil)), "triplet"},
		{"patch does not divide", true, []pipeline.StageSpec{pipelinetest.Stage("pairs", "test.pairs", nil, nil),
			pipelinetest.Stage("mae", "train.mae", []string{"pairs"}, map[string]any{"patch": 5}),
			pipelinetest.Stage("o", "test.collect", []string{"mae"}, nil)}, "patch 5"},
		{"pairs as checkpoint", true, []pipeline.StageSpec{pipelinetest.Stage("pairs", "test.pairs", nil, nil),
			pipelinetest.Stage("con", "train.contrastive", []string{"pairs", "pairs"}, nil),
			pipelinetest.Stage("o", "test.collect", []string{"con"}, nil)}, "checkpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pipelinetest.Run(t, newRegistry(t, c.emb), pipeline.PlanOptions{}, c.stages...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %s", err, c.want)
			}
			if !errors.Is(err, schemas.ErrMismatch) && !errors.Is(err, pipeline.ErrParamValue) {
				t.Fatalf("err %v wraps neither ErrMismatch nor ErrParamValue", err)
			}
			if n := strings.Count(err.Error(), `stage "`); n != 1 {
				t.Fatalf("err %v names the stage %d times, want once", err, n)
			}
		})
	}
}
