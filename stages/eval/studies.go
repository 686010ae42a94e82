package eval

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/metrics"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas/cxrschema"
)

// studies is the predictions table folded per study, in study_id order.
type studies struct {
	ids    []int64
	table  metrics.Table
	images int64 // images that went into the table
}

// fold accumulates images per study in flat arrays: study k's values are
// at [k*L, (k+1)*L).
type fold struct {
	index  map[int64]int32 // study id -> k
	ids    []int64
	sum    []float64
	truth  []uint8
	mask   []uint8
	images []int64
	bad    []bool // images disagree: quarantined
}

// readStudies folds the predictions per study (see RuleStudy).
func readStudies(ctx context.Context, ds pipeline.Dataset, q pipeline.Quarantine) (*studies, error) {
	s := ds.Schema()
	col := func(name string) int { return s.FieldIndices(name)[0] }
	cStudy, cDicom, cProbs, cLabels, cMask := col("study_id"), -1, col(cxrschema.ProbsColumn), col(cxrschema.LabelsColumn), col(cxrschema.LabelMaskColumn)
	if idx := s.FieldIndices("dicom_id"); len(idx) > 0 && s.Field(idx[0]).Type.ID() == arrow.STRING {
		cDicom = idx[0]
	}
	L := len(cxrschema.LabelNames)
	// at most one study per row: size for that
	rows := int(ds.NumRows())
	f := fold{index: make(map[int64]int32, rows), ids: make([]int64, 0, rows), sum: make([]float64, 0, rows*L),
		truth: make([]uint8, 0, rows*L), mask: make([]uint8, 0, rows*L), images: make([]int64, 0, rows), bad: make([]bool, 0, rows)}
	truth := make([]uint8, L)
	var row int64
	for b, err := range ds.Batches(ctx) {
		if err != nil {
			return nil, err
		}
		ids := b.Column(cStudy).(*array.Int64)
		probs := b.Column(cProbs).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
		labels := b.Column(cLabels).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
		masks := b.Column(cMask).(*array.FixedSizeList).ListValues().(*array.Uint8).Uint8Values()
		off := func(c int) int { return b.Column(c).(*array.FixedSizeList).Offset() * L }
		pOff, lOff, mOff := off(cProbs), off(cLabels), off(cMask)
		for i := range int(b.NumRows()) {
			key := func() string {
				if cDicom >= 0 {
					return fmt.Sprintf("study %d image %s", ids.Value(i), b.Column(cDicom).(*array.String).Value(i))
				}
				return fmt.Sprintf("study %d row %d", ids.Value(i), row+int64(i))
			}
			if ids.IsNull(i) {
				return nil, fmt.Errorf("%w: row %d: study_id is null", ErrInput, row+int64(i))
			}
			p := probs[pOff+i*L : pOff+(i+1)*L]
			if slices.ContainsFunc(p, func(v float32) bool { return math.IsNaN(float64(v)) }) {
				if err := q.Add(ctx, key(), "NaN probability"); err != nil {
					return nil, err
				}
				continue
			}
			mask := masks[mOff+i*L : mOff+(i+1)*L]
			for l, v := range labels[lOff+i*L : lOff+(i+1)*L] {
				truth[l] = 0
				switch {
				case mask[l] == 0:
				case v == 1:
					truth[l] = 1
				case v != 0:
					return nil, fmt.Errorf("%w: %s: label %q is %v, want 0 or 1 where label_mask is 1", ErrInput, key(), cxrschema.LabelNames[l], v)
				}
			}
			id := ids.Value(i)
			k, seen := f.index[id]
			if !seen {
				k = int32(len(f.ids))
				f.index[id] = k
				f.ids = append(f.ids, id)
				f.sum = f.sum[:len(f.sum)+L] // zeroed by make
				f.truth = append(f.truth, truth...)
				f.mask = append(f.mask, mask...)
				f.images = append(f.images, 0)
				f.bad = append(f.bad, false)
			}
			at := int(k) * L
			if seen && !f.bad[k] && (!slices.Equal(f.truth[at:at+L], truth) || !slices.Equal(f.mask[at:at+L], mask)) {
				f.bad[k] = true
				if err := q.Add(ctx, fmt.Sprintf("study %d", id), "its images disagree on labels or label_mask"); err != nil {
					return nil, err
				}
			}
			for l, v := range p {
				f.sum[at+l] += float64(v)
			}
			f.images[k]++
		}
		row += b.NumRows()
	}
	order := make([]int32, 0, len(f.ids))
	for k := range f.ids {
		if !f.bad[k] {
			order = append(order, int32(k))
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(f.ids[a], f.ids[b]) })
	n := len(order)
	out := &studies{ids: make([]int64, n), table: metrics.Table{Labels: cxrschema.LabelNames,
		Probs: make([]float64, n*L), Truth: make([]uint8, n*L), Mask: make([]uint8, n*L)}}
	for j, k := range order {
		at, to := int(k)*L, j*L
		out.ids[j] = f.ids[k]
		for l := range L {
			out.table.Probs[to+l] = f.sum[at+l] / float64(f.images[k])
		}
		copy(out.table.Truth[to:to+L], f.truth[at:at+L])
		copy(out.table.Mask[to:to+L], f.mask[at:at+L])
		out.images += f.images[k]
	}
	return out, nil
}
