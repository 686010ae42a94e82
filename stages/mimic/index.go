package mimic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/objstore"
	cxr "github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/stages/stagekit"
)

// Register adds mimic.index and report.sections to r.
func Register(r *pipeline.Registry, d stagekit.Deps) error {
	if err := d.Check("mimic"); err != nil {
		return err
	}
	if err := r.Register(pipeline.Definition{
		Kind: "mimic.index", Role: pipeline.RoleSource, Version: "1",
		Doc: "MIMIC-CXR images joined with split and CheXpert/NegBio labels, one row per image",
		Params: []pipeline.Param{
			{Name: "root", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatURI, Doc: "URI of the MIMIC-CXR(-JPG) root (folder or s3://)"},
			{Name: "views", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Default: []any{"PA", "AP"},
				Doc: `ViewPosition values to keep; ["all"] keeps every view`},
			{Name: "splits", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Default: []any{"train", "validate", "test"},
				Doc: "splits to keep", Options: splitOptions},
			{Name: "uncertain", Type: pipeline.Any, Default: "zeros",
				Doc: "-1.0 labels: ones, zeros, ignore, or a map label -> policy with optional default", Example: map[string]any{"Atelectasis": "ones", "default": "zeros"}},
			{Name: "blank", Type: pipeline.String, Default: "zeros", Doc: "labels not mentioned",
				Options: []pipeline.Option{{Value: "zeros", Doc: "negative"}, {Value: "ignore", Doc: "masked out of the loss and the metrics"}}},
			{Name: "labeler", Type: pipeline.String, Default: "chexpert", Doc: "which label table to read",
				Options: []pipeline.Option{{Value: "chexpert", Doc: "mimic-cxr-2.0.0-chexpert.csv"}, {Value: "negbio", Doc: "mimic-cxr-2.0.0-negbio.csv"}}},
			{Name: "batch_rows", Type: pipeline.Int, Default: 8192, Range: "[1,)", Doc: "rows per emitted batch"},
			{Name: "problems", Type: pipeline.Bool, Default: true,
				Doc: "quarantine the tables' problems (malformed rows, images without labels) with their reasons; false when another mimic.index of the same root in the variant already does (the studies index beside the images index)"},
			{Name: "rows", Type: pipeline.String, Default: "images", Doc: "what a row is",
				Options: []pipeline.Option{
					{Value: "images", Doc: "one kept image (schema MIMICIndex): for image.decode and the pairs"},
					{Value: "studies", Doc: "one study with a kept image (schema MIMICStudies): for report.sections, so each report is read, tokenized and embedded once"},
				}},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newIndex(b, d) },
	}); err != nil {
		return err
	}
	return r.Register(pipeline.Definition{
		Kind: "report.sections", Role: pipeline.RoleTransform, Version: "1",
		Doc: "read each row's MIMIC-CXR report and add the selected section text and the section names",
		Params: []pipeline.Param{
			{Name: "root", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatURI, Doc: "URI the report keys are relative to"},
			{Name: "column", Type: pipeline.String, Default: "report_key", Doc: "string column holding each row's report key"},
			{Name: "select", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Default: []any{"findings+impression", "last"},
				Doc: "alternatives tried in order: section names joined by +, last, all or text"},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newSections(b, d) },
	})
}

// Index is mimic.index.
type Index struct {
	store    *stagekit.Store // root's
	root     string
	opts     cxr.Options
	labeler  string
	batch    int
	studies  bool // one row per study (rows: studies)
	problems bool // quarantine the tables' problems
	shard    pipeline.Shard
	alloc    memory.Allocator
	q        pipeline.Quarantine
	log      *slog.Logger
}

func newIndex(b *pipeline.BuildContext, d stagekit.Deps) (pipeline.Stage, error) {
	pol, err := cxr.ParsePolicy(b.Params.Any("uncertain"), b.Params.String("blank"))
	if err != nil {
		return nil, pipeline.ParamErrorf("uncertain", "%v", err)
	}
	return &Index{store: stagekit.NewStore(d.Open, b.Params.String("root")), root: b.Params.String("root"), labeler: b.Params.String("labeler"), batch: b.Params.Int("batch_rows"), studies: b.Params.String("rows") == "studies", problems: b.Params.Bool("problems"),
		opts: cxr.Options{Views: b.Params.Strings("views"), Splits: b.Params.Strings("splits"), Policy: pol}, shard: b.Shard, alloc: b.Alloc,
		q: b.Quarantine, log: b.Logger}, nil
}

func (x *Index) Schema() *arrow.Schema {
	if x.studies {
		return cxrschema.MIMICStudies
	}
	return cxrschema.MIMICIndex
}

// mimic.index reads the tables (cxr.MetadataTable, ...) under root:
// name+".gz" when present, else name (the compression is sniffed from the
// bytes either way).

func openTable(ctx context.Context, s objstore.Store, name string) (cxr.Input, func(), error) {
	for _, key := range []string{name + ".gz", name} {
		rc, err := s.Get(ctx, key, objstore.All)
		if errors.Is(err, objstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return cxr.Input{}, nil, err
		}
		return cxr.Input{Name: key, R: rc}, func() { rc.Close() }, nil
	}
	return cxr.Input{}, nil, fmt.Errorf("mimic.index: neither %s.gz nor %s under %s", name, name, s)
}

// InputFingerprint identifies the tables the index would read now (names,
// sizes, ETags), so that changed tables change the stage fingerprint.
func (x *Index) InputFingerprint(ctx context.Context) (string, error) {
	store, err := x.store.Get(ctx)
	if err != nil {
		return "", err
	}
	return objstore.Fingerprint(ctx, store, "mimic-cxr-", func(key string) bool { return !strings.Contains(key, "/") })
}

// Build reads the tables under the stage's root and joins them (Produce
// calls it; exported for tools that want the index without a pipeline).
func (x *Index) Build(ctx context.Context) (*cxr.Index, error) {
	store, err := x.store.Get(ctx)
	if err != nil {
		return nil, err
	}
	labels := cxr.ChexpertTable
	if x.labeler == "negbio" {
		labels = cxr.NegbioTable
	}
	var t cxr.Tables
	for _, p := range []struct {
		in   *cxr.Input
		name string
	}{{&t.Metadata, cxr.MetadataTable}, {&t.Split, cxr.SplitTable}, {&t.Labels, labels}} {
		in, done, err := openTable(ctx, store, p.name)
		if err != nil {
			return nil, err
		}
		defer done()
		*p.in = in
	}
	return cxr.Build(t, x.opts)
}

func (x *Index) owns(study int64) bool {
	return x.shard.All() || cxr.StudyShard(study, x.shard.Count) == x.shard.Index
}

func (x *Index) Produce(ctx context.Context, out pipeline.Emitter) error {
	ix, err := x.Build(ctx)
	if err != nil {
		return err
	}
	// Problems tied to a study go to the study's shard; malformed CSV rows
	// (study unknown) to shard 0, so n shards report each problem once.
	for _, p := range ix.Problems() {
		if !x.problems {
			break
		}
		mine := x.owns(p.Study)
		if p.Study == 0 {
			mine = x.shard.All() || x.shard.Index == 0
		}
		if !mine {
			continue
		}
		if err := x.q.Add(ctx, p.Key, p.Reason); err != nil {
			return err
		}
	}
	bb := newIndexBuilder(x.alloc, x.studies)
	defer bb.release()
	emitted := 0
	flush := func(force bool) error {
		if bb.n == 0 || (!force && bb.n < x.batch) {
			return nil
		}
		emitted += bb.n
		return out.Emit(ctx, bb.batch())
	}
	if x.studies {
		for e, images := range ix.Studies(x.shard.Index, x.shard.Count) {
			bb.appendStudy(&e, images)
			if err := flush(false); err != nil {
				return err
			}
		}
	} else {
		for e := range ix.Shard(x.shard.Index, x.shard.Count) {
			bb.append(&e)
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	st := ix.Stats()
	what := "images"
	if x.studies {
		what = "studies"
	}
	x.log.Info("mimic index", what, emitted, "joined_images", st.Images, "studies", st.Studies,
		"dropped_view", st.DroppedView, "dropped_split", st.DroppedSplit, "problems", st.Problems,
		"views", strings.Join(x.opts.Views, ","), "shard", fmt.Sprintf("%d/%d", x.shard.Index, max(x.shard.Count, 1)))
	return nil
}

// indexBuilder builds batches of MIMICIndex (one image a row) or, for
// studies, MIMICStudies (one study a row); columns are found by name, so
// one builder serves both.
type indexBuilder struct {
	rb      *array.RecordBuilder
	subject *array.Int64Builder
	study   *array.Int64Builder
	dicom   *array.StringBuilder
	split   *array.StringBuilder
	view    *array.StringBuilder
	rows    *array.Int32Builder
	cols    *array.Int32Builder
	image   *array.StringBuilder
	report  *array.StringBuilder
	labels  *array.FixedSizeListBuilder
	lvals   *array.Float32Builder
	mask    *array.FixedSizeListBuilder
	mvals   *array.Uint8Builder
	images  *array.Int32Builder
	n       int
}

func newIndexBuilder(alloc memory.Allocator, studies bool) *indexBuilder {
	schema := cxrschema.MIMICIndex
	if studies {
		schema = cxrschema.MIMICStudies
	}
	rb := array.NewRecordBuilder(alloc, schema)
	b := &indexBuilder{rb: rb}
	for i, f := range schema.Fields() {
		fb := rb.Field(i)
		switch f.Name {
		case "subject_id":
			b.subject = fb.(*array.Int64Builder)
		case "study_id":
			b.study = fb.(*array.Int64Builder)
		case "dicom_id":
			b.dicom = fb.(*array.StringBuilder)
		case "split":
			b.split = fb.(*array.StringBuilder)
		case "view":
			b.view = fb.(*array.StringBuilder)
		case "rows":
			b.rows = fb.(*array.Int32Builder)
		case "columns":
			b.cols = fb.(*array.Int32Builder)
		case "image_key":
			b.image = fb.(*array.StringBuilder)
		case "report_key":
			b.report = fb.(*array.StringBuilder)
		case "labels":
			b.labels = fb.(*array.FixedSizeListBuilder)
			b.lvals = b.labels.ValueBuilder().(*array.Float32Builder)
		case "label_mask":
			b.mask = fb.(*array.FixedSizeListBuilder)
			b.mvals = b.mask.ValueBuilder().(*array.Uint8Builder)
		case "images":
			b.images = fb.(*array.Int32Builder)
		}
	}
	return b
}

// append adds an image row.
func (b *indexBuilder) append(e *cxr.Entry) {
	b.dicom.Append(e.DicomID)
	b.view.Append(e.View)
	b.rows.Append(e.Rows)
	b.cols.Append(e.Columns)
	b.image.Append(e.ImageKey())
	b.appendCommon(e)
}

// appendStudy adds a study row: e is the study's first kept image.
func (b *indexBuilder) appendStudy(e *cxr.Entry, images int) {
	b.images.Append(int32(images))
	b.appendCommon(e)
}

func (b *indexBuilder) appendCommon(e *cxr.Entry) {
	b.subject.Append(e.SubjectID)
	b.study.Append(e.StudyID)
	b.split.Append(e.Split)
	b.report.Append(e.ReportKey())
	b.labels.Append(true)
	b.lvals.AppendValues(e.Labels[:], nil)
	b.mask.Append(true)
	b.mvals.AppendValues(e.Mask[:], nil)
	b.n++
}

func (b *indexBuilder) batch() arrow.RecordBatch {
	b.n = 0
	return b.rb.NewRecordBatch()
}

func (b *indexBuilder) release() { b.rb.Release() }

// splitOptions are MIMIC-CXR's official splits (mimic-cxr-2.0.0-split.csv).
var splitOptions = []pipeline.Option{
	{Value: cxr.Train, Doc: "training studies"},
	{Value: cxr.Validate, Doc: "validation studies"},
	{Value: cxr.Test, Doc: "held-out test studies"},
}
