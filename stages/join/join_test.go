package join_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/join"
)

var (
	images = arrow.NewSchema([]arrow.Field{
		{Name: "study_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "image", Type: arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float32)},
	}, nil)
	texts = arrow.NewSchema([]arrow.Field{
		{Name: "study_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "embedding", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32)},
		{Name: "text", Type: arrow.BinaryTypes.String},
	}, nil)
)

func registry(t *testing.T, left, right []string) *pipeline.Registry {
	t.Helper()
	r := pipeline.NewRegistry()
	if err := join.Register(r); err != nil {
		t.Fatal(err)
	}
	pt.RegisterJSON(r, "left", images, left...)
	pt.RegisterJSON(r, "right", texts, right...)
	return r
}

func TestJoin(t *testing.T) {
	left := []string{
		`[{"study_id": 1, "image": [1, 1]}, {"study_id": 2, "image": [2, 2]}, {"study_id": 9, "image": [9, 9]}]`,
		`[{"study_id": 3, "image": [3, 3]}, {"study_id": null, "image": [0, 0]}, {"study_id": 1, "image": [1.5, 1.5]}]`,
		`[{"study_id": 2, "image": [2.5, 2.5]}]`,
	}
	right := []string{
		`[{"study_id": 3, "embedding": [3, 0, 0], "text": "c"}, {"study_id": 1, "embedding": [1, 0, 0], "text": "a"}]`,
		`[{"study_id": 2, "embedding": [2, 0, 0], "text": "b"}, {"study_id": 1, "embedding": [7, 7, 7], "text": "dup"}, {"study_id": null, "embedding": [0, 0, 0], "text": "n"}]`,
	}
	cases := []struct {
		name     string
		params   map[string]any
		wantIDs  []int64
		wantQuar []string
		wantErr  error
		wantCols []string
	}{
		{name: "quarantine", params: map[string]any{"key": "study_id"},
			wantIDs:  []int64{1, 2, 3, 1, 2},
			wantQuar: []string{"right key 1", "right row 4", "left key 9", "left row 4"},
			wantCols: []string{"study_id", "image", "embedding", "text"}},
		{name: "drop, chosen columns", params: map[string]any{"key": "study_id", "columns": []any{"embedding"}, "on_missing": "drop"},
			wantIDs:  []int64{1, 2, 3, 1, 2},
			wantQuar: []string{"right key 1", "right row 4"},
			wantCols: []string{"study_id", "image", "embedding"}},
		{name: "fail", params: map[string]any{"key": "study_id", "on_missing": "fail"}, wantErr: join.ErrNoMatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := pt.Run(t, registry(t, left, right), pipeline.PlanOptions{},
				pt.Stage("l", "left", nil, nil), pt.Stage("r", "right", nil, nil),
				pt.Stage("j", "join", []string{"l", "r"}, c.params),
				pt.Stage("out", "test.collect", []string{"j"}, nil))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), `stage "j"`) || !strings.Contains(err.Error(), "record 2") {
					t.Fatalf("err %v, want %v naming the stage and record", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, v := range res.Column("out", "study_id") {
				ids = append(ids, v.(int64))
			}
			if !slices.Equal(ids, c.wantIDs) {
				t.Errorf("ids %v, want %v", ids, c.wantIDs)
			}
			emb := res.Column("out", "embedding")
			img := res.Column("out", "image")
			for i, id := range ids {
				e := emb[i].([]any)
				if e[0].(float32) != float32(id) || e[1].(float32) != 0 {
					t.Errorf("row %d (study %d): embedding %v, want the first right row of that study", i, id, e)
				}
				if v := img[i].([]any)[0].(float32); v != float32(id) && v != float32(id)+0.5 {
					t.Errorf("row %d: image %v does not belong to study %d", i, img[i], id)
				}
			}
			var quar []string
			for _, q := range res.Run.Quarantined() {
				quar = append(quar, q.Key)
			}
			if !slices.Equal(quar, c.wantQuar) {
				t.Errorf("quarantined %q, want %q", quar, c.wantQuar)
			}
			got := []string{}
			for _, f := range []string{"study_id", "image", "embedding", "text"} {
				if res.Column("out", f) != nil {
					got = append(got, f)
				}
			}
			if !slices.Equal(got, c.wantCols) {
				t.Errorf("columns %v, want %v", got, c.wantCols)
			}
		})
	}
}

func TestJoinPlanErrors(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"unknown key", map[string]any{"key": "nope"}, `missing column "nope"`},
		{"collision", map[string]any{"key": "study_id", "right_key": "study_id", "columns": []any{"study_id"}}, "also a left column"},
		{"bad mode", map[string]any{"key": "study_id", "on_missing": "ignore"}, "on_missing"},
		{"wrong key type", map[string]any{"key": "study_id", "right_key": "text"}, "on the left and"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pt.Run(t, registry(t, nil, nil), pipeline.PlanOptions{},
				pt.Stage("l", "left", nil, nil), pt.Stage("r", "right", nil, nil),
				pt.Stage("j", "join", []string{"l", "r"}, c.params),
				pt.Stage("out", "test.collect", []string{"j"}, nil))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"j"`) {
				t.Fatalf("err %v, want one naming stage j and %q", err, c.want)
			}
		})
	}
}
