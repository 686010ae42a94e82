package mimic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/objstore"
	cxr "github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/stages/stagekit"
)

// Sections is report.sections.
type Sections struct {
	root   string
	store  *stagekit.Store
	snap   *objstore.Snapshot // what InputFingerprint listed, checked again at read
	col    int
	sel    cxr.Selector
	schema *arrow.Schema
	alloc  memory.Allocator
	q      pipeline.Quarantine
	log    *slog.Logger

	reports  atomic.Int64 // reports read
	invalid  atomic.Int64 // reports with invalid UTF-8
	badBytes atomic.Int64 // invalid bytes replaced
	dropped  atomic.Int64 // rows quarantined
}

func newSections(b *pipeline.BuildContext, d stagekit.Deps) (pipeline.Stage, error) {
	in := b.Inputs[0]
	col, err := schemas.Column(in, b.Params.String("column"), arrow.STRING)
	if err != nil {
		return nil, pipeline.AtParam("column", err)
	}
	sel, err := cxr.ParseSelector(b.Params.Strings("select"))
	if err != nil {
		return nil, pipeline.ParamErrorf("select", "%v", err)
	}
	schema, err := schemas.AppendColumns(in,
		arrow.Field{Name: cxrschema.ReportTextColumn, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: cxrschema.ReportSectionsColumn, Type: arrow.ListOf(arrow.BinaryTypes.String)},
	)
	if err != nil {
		return nil, err
	}
	return &Sections{root: b.Params.String("root"), store: stagekit.NewStore(d.Open, b.Params.String("root")), col: col, sel: sel,
		schema: schema, alloc: b.Alloc, q: b.Quarantine, log: b.Logger}, nil
}

func (s *Sections) Schema() *arrow.Schema { return s.schema }

// parsed is the outcome for one report key.
type parsed struct {
	key      string
	text     string
	sections []string
	problem  string // non-empty: quarantine reason
}

// InputFingerprint identifies the reports under root (keys, sizes, ETags),
// so that changed reports change the stage fingerprint.
func (s *Sections) InputFingerprint(ctx context.Context) (string, error) {
	store, err := s.store.Get(ctx)
	if err != nil {
		return "", err
	}
	var fp string
	s.snap, fp, err = objstore.TakeSnapshot(ctx, store, "", func(key string) bool { return strings.HasSuffix(key, ".txt") })
	return fp, err
}

func (s *Sections) parse(ctx context.Context, store objstore.Store, key string) (parsed, error) {
	p := parsed{key: key}
	if err := objstore.ValidateKey(key); err != nil {
		p.problem = fmt.Sprintf("invalid report key: %v", err)
		return p, nil
	}
	b, err := objstore.ReadAll(ctx, store, key)
	if errors.Is(err, objstore.ErrNotFound) {
		p.problem = "report not found"
		return p, nil
	}
	if err != nil {
		return p, err
	}
	// A report rewritten since the stage's listing fails the run.
	if err := s.snap.Check(ctx, store, key); err != nil {
		return p, err
	}
	s.reports.Add(1)
	r := cxr.ParseReport(b)
	if r.InvalidUTF8 > 0 {
		s.invalid.Add(1)
		s.badBytes.Add(int64(r.InvalidUTF8))
	}
	p.sections = r.SectionNames()
	text, ok := r.Select(s.sel)
	if !ok {
		found := "none"
		if len(p.sections) > 0 {
			found = strings.Join(p.sections, ", ")
		}
		p.problem = fmt.Sprintf("no usable section (sections found: %s)", found)
		return p, nil
	}
	p.text = text
	return p, nil
}

func (s *Sections) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	store, err := s.store.Get(ctx)
	if err != nil {
		return err
	}
	keys := in.Column(s.col).(*array.String)
	n := int(in.NumRows())
	tb := array.NewStringBuilder(s.alloc)
	defer tb.Release()
	lb := array.NewListBuilder(s.alloc, arrow.BinaryTypes.String)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.StringBuilder)
	keep := make([]bool, n)
	kept := 0
	var cur parsed
	have := false
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if keys.IsNull(i) {
			if err := s.q.Add(ctx, "<null>", "null "+in.Schema().Field(s.col).Name); err != nil {
				return err
			}
			s.dropped.Add(1)
			continue
		}
		key := keys.Value(i)
		// Rows come sorted by study: images of one study share the report,
		// which is read and quarantined once.
		fresh := !have || cur.key != key
		if fresh {
			have = true
			if cur, err = s.parse(ctx, store, key); err != nil {
				return pipeline.RecordError(i, err)
			}
		}
		if cur.problem != "" {
			if fresh {
				if err := s.q.Add(ctx, key, cur.problem); err != nil {
					return err
				}
			}
			s.dropped.Add(1)
			continue
		}
		keep[i] = true
		kept++
		tb.Append(cur.text)
		lb.Append(true)
		for _, name := range cur.sections {
			vb.Append(name)
		}
	}
	if kept == 0 {
		return nil
	}
	cols, err := filterColumns(s.alloc, in.Columns(), keep, kept)
	if err != nil {
		return err
	}
	cols = append(cols, tb.NewArray(), lb.NewArray())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return out.Emit(ctx, array.NewRecordBatch(s.schema, cols, int64(kept)))
}

// filterColumns returns new references to the rows of cols where keep is
// true (kept of them). The caller releases the result.
func filterColumns(alloc memory.Allocator, cols []arrow.Array, keep []bool, kept int) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(cols)+2)
	if kept == len(keep) {
		for _, c := range cols {
			c.Retain()
			out = append(out, c)
		}
		return out, nil
	}
	// Runs of kept rows.
	var runs [][2]int
	for i := 0; i < len(keep); {
		if !keep[i] {
			i++
			continue
		}
		j := i
		for j < len(keep) && keep[j] {
			j++
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	for _, c := range cols {
		if len(runs) == 1 {
			out = append(out, array.NewSlice(c, int64(runs[0][0]), int64(runs[0][1])))
			continue
		}
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(c, int64(r[0]), int64(r[1]))
		}
		joined, err := array.Concatenate(parts, alloc)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			for _, o := range out {
				o.Release()
			}
			return nil, err
		}
		out = append(out, joined)
	}
	return out, nil
}

// Flush logs the totals, including reports whose invalid UTF-8 was
// repaired.
func (s *Sections) Flush(context.Context, pipeline.Emitter) error {
	s.log.Info("report sections", "reports", s.reports.Load(), "quarantined_rows", s.dropped.Load(),
		"reports_with_invalid_utf8", s.invalid.Load(), "invalid_bytes_replaced", s.badBytes.Load())
	return nil
}
