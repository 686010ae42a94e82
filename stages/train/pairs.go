package train

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/train"
)

// Column names of the pairs table read by every kind here.
const (
	ImageColumn = "image"
	SplitColumn = "split"
)

// pairsCols are the validated column indices of a pairs schema; -1 when
// not needed.
type pairsCols struct {
	image, split, emb, labels, mask, study, dicom int
	feat, src                                     int // features table (predict.features) instead of images
	side, embDim, numLabels                       int
	u8                                            bool // image is fixed_size_list<uint8>, else float32
}

// need says which columns a kind reads besides the split and the image
// (features: predict.features' columns instead of the image).
type need struct{ embedding, labels, ids, features bool }

func fslFloat32(s *arrow.Schema, name string, elem arrow.DataType) (int, int, error) {
	i, err := schemas.Column(s, name, arrow.FIXED_SIZE_LIST)
	if err != nil {
		return -1, 0, err
	}
	t := s.Field(i).Type.(*arrow.FixedSizeListType)
	if !arrow.TypeEqual(t.Elem(), elem) {
		return -1, 0, fmt.Errorf("%w: column %q is %s, want fixed_size_list<%s>", schemas.ErrMismatch, name, t, elem)
	}
	return i, int(t.Len()), nil
}

// checkPairs validates the pairs schema at build time.
func checkPairs(s *arrow.Schema, n need) (pairsCols, error) {
	c := pairsCols{image: -1, emb: -1, labels: -1, mask: -1, study: -1, dicom: -1, feat: -1, src: -1}
	wrap := func(err error) error { return fmt.Errorf("pairs input: %w", err) }
	var px int
	var err error
	if n.features {
		wrap = func(err error) error { return fmt.Errorf("features input: %w", err) }
		if c.feat, err = schemas.Column(s, FeaturesColumn, arrow.LIST); err != nil {
			return c, wrap(err)
		}
		if t := s.Field(c.feat).Type.(*arrow.ListType); !arrow.TypeEqual(t.Elem(), arrow.PrimitiveTypes.Float32) {
			return c, wrap(fmt.Errorf("%w: column %q is %s, want list<float32>", schemas.ErrMismatch, FeaturesColumn, t))
		}
		if c.src, err = schemas.Column(s, FeatureSourceColumn, arrow.STRING); err != nil {
			return c, wrap(err)
		}
	} else {
		if c.image, err = schemas.Column(s, ImageColumn, arrow.FIXED_SIZE_LIST); err != nil {
			return c, wrap(err)
		}
		t := s.Field(c.image).Type.(*arrow.FixedSizeListType)
		px, c.u8 = int(t.Len()), arrow.TypeEqual(t.Elem(), arrow.PrimitiveTypes.Uint8)
		if !c.u8 && !arrow.TypeEqual(t.Elem(), arrow.PrimitiveTypes.Float32) {
			return c, wrap(fmt.Errorf("%w: column %q is %s, want fixed_size_list<uint8> or fixed_size_list<float32>", schemas.ErrMismatch, ImageColumn, t))
		}
		c.side = int(math.Sqrt(float64(px)) + 0.5)
		if c.side*c.side != px {
			return c, wrap(fmt.Errorf("%w: column %q has %d values per row, not a square image", schemas.ErrMismatch, ImageColumn, px))
		}
	}
	if c.split, err = schemas.Column(s, SplitColumn, arrow.STRING); err != nil {
		return c, wrap(err)
	}
	if n.embedding {
		if c.emb, c.embDim, err = fslFloat32(s, schemas.EmbeddingColumn, arrow.PrimitiveTypes.Float32); err != nil {
			return c, wrap(err)
		}
	}
	if n.labels {
		if c.labels, c.numLabels, err = fslFloat32(s, cxrschema.LabelsColumn, arrow.PrimitiveTypes.Float32); err != nil {
			return c, wrap(err)
		}
		var ml int
		if c.mask, ml, err = fslFloat32(s, cxrschema.LabelMaskColumn, arrow.PrimitiveTypes.Uint8); err != nil {
			return c, wrap(err)
		}
		if ml != c.numLabels {
			return c, wrap(fmt.Errorf("%w: %q has %d entries but %q %d", schemas.ErrMismatch, cxrschema.LabelsColumn, c.numLabels, cxrschema.LabelMaskColumn, ml))
		}
	}
	if n.ids {
		if c.study, err = schemas.Column(s, "study_id", arrow.INT64); err != nil {
			return c, wrap(err)
		}
		if c.dicom, err = schemas.Column(s, "dicom_id", arrow.STRING); err != nil {
			return c, wrap(err)
		}
	}
	return c, nil
}

// eachRow calls fn, in one pass over ds, with every row whose split is
// in groups[g], for each such g (a row joins every group naming its
// split); fn's error is wrapped with the row's number.
func eachRow(ctx context.Context, ds pipeline.Dataset, splitCol int, groups [][]string, fn func(g int, b arrow.RecordBatch, i int) error) error {
	row := 0
	for b, err := range ds.Batches(ctx) {
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
		split := b.Column(splitCol).(*array.String)
		for i := range int(b.NumRows()) {
			row++
			if split.IsNull(i) {
				continue
			}
			for g, splits := range groups {
				if !slices.Contains(splits, split.Value(i)) {
					continue
				}
				if err := fn(g, b, i); err != nil {
					return fmt.Errorf("row %d: %w", row, err)
				}
			}
		}
	}
	return nil
}

// proto is an empty Data of the pairs' dims.
func (c pairsCols) proto() *train.Data {
	return &train.Data{Side: c.side, EmbedDim: c.embDim, NumLabels: c.numLabels}
}

// appendPair appends row i of b to d (the columns of c that are >= 0).
func appendPair(d *train.Data, b arrow.RecordBatch, i int, c pairsCols) error {
	px := c.side * c.side
	if c.image >= 0 {
		img := b.Column(c.image).(*array.FixedSizeList)
		if img.IsNull(i) {
			return fmt.Errorf("%w: null %q", train.ErrData, ImageColumn)
		}
		off := (img.Offset() + i) * px
		if c.u8 {
			d.Pixels = append(d.Pixels, img.ListValues().(*array.Uint8).Uint8Values()[off:off+px]...)
		} else {
			d.Images = append(d.Images, img.ListValues().(*array.Float32).Float32Values()[off:off+px]...)
		}
	}
	if c.emb >= 0 {
		e := b.Column(c.emb).(*array.FixedSizeList)
		if e.IsNull(i) {
			return fmt.Errorf("%w: null %q", train.ErrData, schemas.EmbeddingColumn)
		}
		ev := e.ListValues().(*array.Float32).Float32Values()
		o := (e.Offset() + i) * c.embDim
		d.Embeddings = append(d.Embeddings, ev[o:o+c.embDim]...)
	}
	if c.labels >= 0 {
		d.Labels, d.Mask = appendLabels(d.Labels, d.Mask, b, i, c)
	}
	if c.study >= 0 {
		d.StudyID = append(d.StudyID, b.Column(c.study).(*array.Int64).Value(i))
		// Data outlives the batch, whose buffers may be reused.
		d.DicomID = append(d.DicomID, strings.Clone(b.Column(c.dicom).(*array.String).Value(i)))
	}
	return nil
}

// appendLabels appends row i's labels and mask (0 and 0 where the label
// does not count) to labels and mask.
func appendLabels(labels, mask []float32, b arrow.RecordBatch, i int, c pairsCols) ([]float32, []float32) {
	l := b.Column(c.labels).(*array.FixedSizeList)
	m := b.Column(c.mask).(*array.FixedSizeList)
	lv := l.ListValues().(*array.Float32).Float32Values()
	mv := m.ListValues().(*array.Uint8).Uint8Values()
	lo, mo := (l.Offset()+i)*c.numLabels, (m.Offset()+i)*c.numLabels
	for k := range c.numLabels {
		y, mk := float32(0), float32(0)
		if !l.IsNull(i) && !m.IsNull(i) && mv[mo+k] != 0 {
			y, mk = lv[lo+k], 1
		}
		labels = append(labels, y)
		mask = append(mask, mk)
	}
	return labels, mask
}

// readModel reads a model table input.
func readModel(ctx context.Context, ds pipeline.Dataset) (*nn.Model, error) {
	r := NewModelReader()
	for b, err := range ds.Batches(ctx) {
		if err != nil {
			return nil, fmt.Errorf("read checkpoint: %w", err)
		}
		if err := r.Add(b); err != nil {
			return nil, fmt.Errorf("checkpoint input: %w", err)
		}
	}
	m, err := r.Model()
	if err != nil {
		return nil, fmt.Errorf("checkpoint input: %w", err)
	}
	return m, nil
}
