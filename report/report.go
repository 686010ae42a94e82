package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/plots"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
)

// ErrArtifact is wrapped by errors reading a stage's artifact.
var ErrArtifact = errors.New("report: bad artifact")

// Input is what Build reads.
type Input struct {
	Record runrecord.Record
	// Artifacts returns the artifact store of the stage with a fingerprint.
	Artifacts func(fingerprint string) pipeline.Artifacts
	// Quarantine optionally holds quarantined-record counts per stage
	// name; nil when only the record's total is known.
	Quarantine map[string]int
}

// Table is a metric table read from a stage's artifacts.
type Table struct {
	Stage, Kind string
	Name        string // artifact name without extension ("summary")
	Record      arrow.RecordBatch
}

// Figure is a plot for the report: read from an artifact or drawn from a
// training curve.
type Figure struct {
	Stage, Title string
	// File is the base name under plots/ ("train-mae-curve").
	File     string
	PNG, SVG []byte
}

// Report is a built report. Release it when done.
type Report struct {
	Run     runrecord.Record
	Tables  []Table
	Figures []Figure
	// Quarantine is Input.Quarantine.
	Quarantine map[string]int
	// Notes list what could not be shown (missing artifacts, empty curves).
	Notes []string
}

// Release frees the tables.
func (r *Report) Release() {
	for _, t := range r.Tables {
		t.Record.Release()
	}
	r.Tables = nil
}

// evalTables maps an eval kind to the tables and plot it stores.
var evalTables = map[string]struct {
	table, plot, plotTitle string
}{
	cxrschema.EvalLabelsKind:  {cxrschema.LabelsTable, cxrschema.ROCPlot, "ROC per label"},
	cxrschema.EvalSummaryKind: {cxrschema.SummaryTable, "", ""},
	cxrschema.EvalCompareKind: {cxrschema.CompareTable, cxrschema.AUCBarsPlot, "AUC per label of the compared models"},
}

// Build reads the artifacts of every stage of in.Record. Missing artifacts
// become notes; unreadable ones are errors naming the stage and artifact.
func Build(ctx context.Context, in Input, mem memory.Allocator) (*Report, error) {
	r := &Report{Run: in.Record, Quarantine: in.Quarantine}
	ok := false
	defer func() {
		if !ok {
			r.Release()
		}
	}()
	for _, s := range in.Record.Stages {
		arts := in.Artifacts(s.Fingerprint)
		if et, isEval := evalTables[s.Kind]; isEval {
			name := et.table + ".arrow"
			data, err := arts.Get(ctx, name)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				r.Notes = append(r.Notes, fmt.Sprintf("stage %s (%s): no %s artifact (the stage did not finish?)", s.Name, s.Kind, name))
			case err != nil:
				return nil, fmt.Errorf("stage %s: artifact %s: %w", s.Name, name, err)
			default:
				rec, err := formats.DecodeIPC(data, mem)
				if err != nil {
					return nil, fmt.Errorf("%w: stage %s: %s: %w", ErrArtifact, s.Name, name, err)
				}
				r.Tables = append(r.Tables, Table{Stage: s.Name, Kind: s.Kind, Name: et.table, Record: rec})
			}
			if et.plot != "" {
				if err := r.addPlot(ctx, arts, s, et.plot, et.plotTitle); err != nil {
					return nil, err
				}
			}
		}
		if err := r.addCurve(ctx, arts, s, mem); err != nil {
			return nil, err
		}
	}
	ok = true
	return r, nil
}

func (r *Report) addPlot(ctx context.Context, arts pipeline.Artifacts, s runrecord.Stage, name, title string) error {
	var f = Figure{Stage: s.Name, Title: fmt.Sprintf("%s: %s", s.Name, title), File: fileName(s.Name + "-" + name)}
	for _, ext := range []string{".png", ".svg"} {
		data, err := arts.Get(ctx, name+ext)
		if errors.Is(err, fs.ErrNotExist) {
			r.Notes = append(r.Notes, fmt.Sprintf("stage %s (%s): no %s%s plot", s.Name, s.Kind, name, ext))
			return nil
		}
		if err != nil {
			return fmt.Errorf("stage %s: artifact %s%s: %w", s.Name, name, ext, err)
		}
		if ext == ".png" {
			f.PNG = data
		} else {
			f.SVG = data
		}
	}
	r.Figures = append(r.Figures, f)
	return nil
}

// addCurve plots the stage's training curve when it stored one.
func (r *Report) addCurve(ctx context.Context, arts pipeline.Artifacts, s runrecord.Stage, mem memory.Allocator) error {
	data, err := arts.Get(ctx, schemas.CurveArtifact)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stage %s: artifact %s: %w", s.Name, schemas.CurveArtifact, err)
	}
	rec, err := formats.DecodeIPC(data, mem)
	if err != nil {
		return fmt.Errorf("%w: stage %s: %s: %w", ErrArtifact, s.Name, schemas.CurveArtifact, err)
	}
	defer rec.Release()
	train, validate, err := curveSeries(rec)
	if err != nil {
		return fmt.Errorf("%w: stage %s: %s: %w", ErrArtifact, s.Name, schemas.CurveArtifact, err)
	}
	title := fmt.Sprintf("%s (%s): training curve", s.Name, s.Kind)
	f, err := plots.TrainingCurve(title, train, validate)
	if errors.Is(err, plots.ErrNoData) {
		r.Notes = append(r.Notes, fmt.Sprintf("stage %s (%s): the training curve has no points", s.Name, s.Kind))
		return nil
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", s.Name, err)
	}
	r.Figures = append(r.Figures, Figure{Stage: s.Name, Title: title, File: fileName(s.Name + "-curve"), PNG: f.PNG, SVG: f.SVG})
	return nil
}

// curveSeries splits a schemas.TrainingCurve table into loss-by-step
// series of the train and validate splits.
func curveSeries(rec arrow.RecordBatch) (train, validate plots.Series, err error) {
	s := rec.Schema()
	step, err1 := schemas.Column(s, "step", arrow.INT64)
	split, err2 := schemas.Column(s, "split", arrow.STRING)
	loss, err3 := schemas.Column(s, "loss", arrow.FLOAT32)
	if err := errors.Join(err1, err2, err3); err != nil {
		return train, validate, err
	}
	steps := rec.Column(step).(*array.Int64)
	splits := rec.Column(split).(*array.String)
	losses := rec.Column(loss).(*array.Float32)
	for i := range int(rec.NumRows()) {
		if losses.IsNull(i) || steps.IsNull(i) {
			continue
		}
		x, y := float64(steps.Value(i)), float64(losses.Value(i))
		switch splits.Value(i) {
		case "train":
			train.X, train.Y = append(train.X, x), append(train.Y, y)
		case "validate":
			validate.X, validate.Y = append(validate.X, x), append(validate.Y, y)
		}
	}
	return train, validate, nil
}

// fileName keeps letters, digits, '-' and '_'.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

// Mermaid returns the run's DAG as a Mermaid flowchart, from the stages'
// recorded inputs.
func Mermaid(rec runrecord.Record) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	for i, s := range rec.Stages {
		ids[s.Name] = fmt.Sprintf("n%d", i)
		label := strings.ReplaceAll(fmt.Sprintf("%s<br/>%s<br/>%s", s.Name, s.Kind, s.Decision), `"`, "#quot;")
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[s.Name], label)
	}
	for _, s := range rec.Stages {
		for _, in := range s.Inputs {
			if id, ok := ids[in]; ok {
				fmt.Fprintf(&b, "  %s --> %s\n", id, ids[s.Name])
			}
		}
	}
	return b.String()
}

// grid is a table of text cells.
type grid struct {
	header []string
	rows   [][]string
}

// cellText renders element i of a: floats with 4 decimals, null as "–",
// lists in brackets.
func cellText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "–"
	}
	switch x := a.(type) {
	case *array.Float64:
		return fmtFloat(x.Value(i))
	case *array.Float32:
		return fmtFloat(float64(x.Value(i)))
	case array.ListLike:
		start, end := x.ValueOffsets(i)
		parts := make([]string, 0, end-start)
		for k := start; k < end; k++ {
			parts = append(parts, cellText(x.ListValues(), int(k)))
		}
		return strings.Join(parts, ", ")
	}
	return a.ValueStr(i)
}

func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

// tableGrid renders rec; a one-row table with many columns is transposed
// (field, value).
func tableGrid(rec arrow.RecordBatch) grid {
	s := rec.Schema()
	if rec.NumRows() == 1 && s.NumFields() > 8 {
		g := grid{header: []string{"field", "value"}}
		for c, f := range s.Fields() {
			g.rows = append(g.rows, []string{f.Name, cellText(rec.Column(c), 0)})
		}
		return g
	}
	g := grid{}
	for _, f := range s.Fields() {
		g.header = append(g.header, f.Name)
	}
	for i := range int(rec.NumRows()) {
		row := make([]string, s.NumFields())
		for c := range row {
			row[c] = cellText(rec.Column(c), i)
		}
		g.rows = append(g.rows, row)
	}
	return g
}

// table1 renders an eval.compare table as the poster's Table 1.
func table1(rec arrow.RecordBatch) (grid, bool) {
	s := rec.Schema()
	idx := map[string]int{}
	for _, name := range []string{"model", "role", "mean_auc", "mean_auc_ci_low", "mean_auc_ci_high", "exact_match", "exact_match_ci_low", "exact_match_ci_high"} {
		ix := s.FieldIndices(name)
		if len(ix) == 0 {
			return grid{}, false
		}
		idx[name] = ix[0]
	}
	val := func(name string, i int) string { return cellText(rec.Column(idx[name]), i) }
	withCI := func(name string, i int) string {
		v, lo, hi := val(name, i), val(name+"_ci_low", i), val(name+"_ci_high", i)
		if lo == "–" || hi == "–" {
			return v
		}
		return fmt.Sprintf("%s [%s, %s]", v, lo, hi)
	}
	g := grid{header: []string{"Model", "mAUC [CI]", "Accuracy [CI]"}}
	for i := range int(rec.NumRows()) {
		name := val("model", i)
		if val("role", i) == "baseline" {
			name += " (baseline)"
		}
		g.rows = append(g.rows, []string{name, withCI("mean_auc", i), withCI("exact_match", i)})
	}
	return g, true
}

// rules returns the distinct medflow.eval.* rules of the tables, sorted by
// key.
func (r *Report) rules() [][2]string {
	seen := map[string]string{}
	for _, t := range r.Tables {
		md := t.Record.Schema().Metadata()
		for i, k := range md.Keys() {
			if strings.HasPrefix(k, "medflow.eval.") {
				seen[strings.TrimPrefix(k, "medflow.eval.")] = md.Values()[i]
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([][2]string, len(keys))
	for i, k := range keys {
		out[i] = [2]string{k, seen[k]}
	}
	return out
}
