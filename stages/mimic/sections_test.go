package mimic_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
)

var keysSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "report_key", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// keys emits one batch: ids 0.. and the given keys ("<null>" = null).
type keys struct {
	keys  []string
	alloc memory.Allocator
}

func (k *keys) Schema() *arrow.Schema { return keysSchema }
func (k *keys) Produce(ctx context.Context, out pipeline.Emitter) error {
	b := array.NewRecordBuilder(k.alloc, keysSchema)
	defer b.Release()
	for i, key := range k.keys {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if key == "<null>" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(key)
		}
	}
	return out.Emit(ctx, b.NewRecordBatch())
}

// TestSectionsKeys covers every quarantine reason of report.sections,
// keys that repeat without being adjacent, and a fully quarantined batch.
func TestSectionsKeys(t *testing.T) {
	dir := t.TempDir()
	store, err := deps().Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string]string{
		"a.txt":     " FINDINGS: fa\n IMPRESSION: ia\n",
		"b.txt":     " IMPRESSION: ib\n",
		"empty.txt": "",
		"bad.txt":   " FINAL REPORT\n EXAMINATION:\n \n",
	} {
		if err := objstore.PutBytes(t.Context(), store, key, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		keys     []string
		workers  int
		wantIDs  []int64
		wantText []any
		wantQuar []string
		wantErr  error
	}{
		{name: "mixed", workers: 2,
			keys:     []string{"a.txt", "a.txt", "missing.txt", "b.txt", "a.txt", "<null>", "../x.txt", "", "empty.txt", "bad.txt", "bad.txt", "b.txt"},
			wantIDs:  []int64{0, 1, 3, 4, 11},
			wantText: []any{"fa ia", "fa ia", "ib", "fa ia", "ib"},
			wantQuar: []string{
				": invalid report key: ",
				"../x.txt: invalid report key: ",
				"bad.txt: no usable section (sections found: EXAMINATION)",
				"empty.txt: no usable section (sections found: none)",
				"missing.txt: report not found",
				"<null>: null report_key",
			}},
		// Every row quarantined: the run fails (an empty output is not
		// committed), and the entry keeps its key after the batch's
		// buffers were freed (and poisoned) by the test allocator.
		{name: "all dropped", workers: 1, keys: []string{"missing.txt", "missing.txt"},
			wantQuar: []string{"missing.txt: report not found"}, wantErr: pipeline.ErrAllQuarantined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registry(t)
			reg.MustRegister(pipeline.Definition{Kind: "test.keys", Doc: "test kind", Role: pipeline.RoleSource,
				New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
					return &keys{keys: tc.keys, alloc: b.Alloc}, nil
				}})
			res, err := pt.Run(t, reg, pipeline.PlanOptions{},
				pt.Stage("k", "test.keys", nil, nil),
				pipeline.StageSpec{Name: "rep", Kind: "report.sections", Inputs: []string{"k"}, Workers: tc.workers,
					Params: map[string]any{"root": dir}},
				pt.Stage("out", "test.collect", []string{"rep"}, nil))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			var ids []int64
			for _, v := range res.Column("out", "id") {
				ids = append(ids, v.(int64))
			}
			if !slices.Equal(ids, tc.wantIDs) || !slices.Equal(res.Column("out", "report_text"), tc.wantText) {
				t.Errorf("ids %v texts %q; want %v %q", ids, res.Column("out", "report_text"), tc.wantIDs, tc.wantText)
			}
			var quar []string
			for _, q := range res.Run.Quarantined() {
				r := q.Reason
				if len(r) > len("invalid report key: ") && r[:len("invalid report key: ")] == "invalid report key: " {
					r = r[:len("invalid report key: ")]
				}
				quar = append(quar, q.Key+": "+r)
			}
			slices.Sort(quar)
			slices.Sort(tc.wantQuar)
			if !slices.Equal(quar, tc.wantQuar) {
				t.Errorf("quarantined\n%q\nwant\n%q", quar, tc.wantQuar)
			}
		})
	}
}
