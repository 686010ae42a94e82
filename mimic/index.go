package mimic

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// DefaultViews are the frontal views kept by default.
var DefaultViews = []string{"PA", "AP"}

// Options configure Build.
type Options struct {
	// Views keeps images whose ViewPosition is listed (exact match; ""
	// matches images without a view). nil means DefaultViews; a list
	// holding "all" or "*" keeps every view.
	Views []string
	// Splits keeps images of the listed splits; nil or empty keeps all.
	Splits []string
	// Policy maps raw labels to targets and masks.
	Policy Policy
}

// Input is one table: a name for errors and row keys (the file name) and
// its bytes, plain or gzip.
type Input struct {
	Name string
	R    io.Reader
}

// Tables are the inputs of Build.
type Tables struct {
	Metadata, Split, Labels Input
}

// Problem is a record that Build set aside: a malformed CSV row (Key
// "file:line", Study 0), an image with no split or no labels (Key the
// image key), or a labelled study with no image (Key the report key).
type Problem struct {
	Key, Reason string
	// Study is the study the problem belongs to, 0 when unknown (bad CSV
	// rows). Shards use it to report each problem once.
	Study int64
}

// Stats count what Build saw.
type Stats struct {
	MetadataRows, SplitRows, LabelRows int // well-formed rows read
	Images, Studies                    int // entries (images) and distinct studies kept
	DroppedView, DroppedSplit          int // images filtered out by Views and Splits
	Problems                           int
}

// Entry is one image of the index with its study's labels.
type Entry struct {
	SubjectID, StudyID int64
	DicomID            string
	Split              string
	View               string
	Rows, Columns      int32
	// Raw are the labeler's values; Labels and Mask are Raw under the
	// Policy (Mask 1 = use the label, 0 = ignore it).
	Raw    [NumLabels]Label
	Labels [NumLabels]float32
	Mask   [NumLabels]uint8
}

// ImageKey is the entry's image key (see the package ImageKey).
func (e *Entry) ImageKey() string { return ImageKey(e.SubjectID, e.StudyID, e.DicomID) }

// ReportKey is the entry's report key.
func (e *Entry) ReportKey() string { return ReportKey(e.SubjectID, e.StudyID) }

// image is the compact per-image record (40 bytes + the dicom string).
type image struct {
	dicom          string
	subject, study uint32
	rows, cols     int32
	label          int32 // index into Index.labels, -1 none
	view           uint16
	split          int8 // index into Splits, -1 none
}

// Index is the joined, filtered and sorted MIMIC-CXR image table. It holds
// compact records only: about 100 bytes per image (a 40-byte record and
// the dicom id) plus 14 bytes per labelled study (BenchmarkBuildFull).
type Index struct {
	opts     Options
	imgs     []image // kept, sorted by subject, study, dicom
	labels   [][NumLabels]Label
	views    []string
	problems []Problem
	stats    Stats
}

// Build reads the three tables and joins them: images (metadata) with
// their split (by dicom_id) and their study's labels (by study_id). It
// returns an error only when a table cannot be read at all (missing
// header column, I/O error, corrupt gzip); malformed rows, duplicate ids
// and join misses become Problems.
//
// Problems and their keys:
//   - malformed row (field count, quoting, ids, label values, split name),
//     duplicate dicom_id in metadata or split, duplicate study_id in the
//     labels, split row whose ids disagree with the metadata, split row for
//     an unknown dicom_id, label row whose subject disagrees with the
//     metadata: "file:line";
//   - kept-view image with no split, kept image whose study has no
//     labels: the image key;
//   - labelled study without any image in the metadata: the report key.
func Build(t Tables, opts Options) (*Index, error) {
	if opts.Views == nil {
		opts.Views = DefaultViews
	}
	b := &builder{ix: &Index{opts: opts}, t: t,
		byDicom: make(map[string]int32, 1<<16), studySubject: make(map[uint32]uint32, 1<<16)}
	if err := b.readMetadata(); err != nil {
		return nil, err
	}
	if err := b.readSplit(); err != nil {
		return nil, err
	}
	b.byDicom = nil
	if err := b.readLabels(); err != nil {
		return nil, err
	}
	b.join()
	slices.SortStableFunc(b.ix.problems, func(p, q Problem) int { return strings.Compare(p.Key, q.Key) })
	b.ix.stats.Problems = len(b.ix.problems)
	return b.ix, nil
}

// builder is Build's state between its steps.
type builder struct {
	ix           *Index
	t            Tables
	imgs         []image
	byDicom      map[string]int32  // metadata row of a dicom_id (until the split is read)
	studySubject map[uint32]uint32 // subject of a study, per the metadata
	byStudy      map[uint32]int32  // ix.labels row of a study
	labelSubject []uint32          // subject of each ix.labels row
}

func (b *builder) problem(p Problem) { b.ix.problems = append(b.ix.problems, p) }

// rowProblem records a malformed row as a Problem; other errors (the
// table cannot be read) are returned.
func (b *builder) rowProblem(err error, study int64) error {
	var re *RowError
	if errors.As(err, &re) {
		b.problem(Problem{Key: re.Key(), Reason: re.Reason(), Study: study})
		return nil
	}
	return err
}

// readMetadata reads the images of the metadata table.
func (b *builder) readMetadata() error {
	ix := b.ix
	mr, err := NewMetadataReader(b.t.Metadata.Name, b.t.Metadata.R)
	if err != nil {
		return err
	}
	defer mr.Close()
	viewIdx := map[string]uint16{}
	for {
		row, err := mr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if err = b.rowProblem(err, 0); err != nil {
				return err
			}
			continue
		}
		if _, dup := b.byDicom[row.DicomID]; dup {
			b.problem(Problem{Key: mr.Name() + ":" + strconv.Itoa(row.Line), Reason: fmt.Sprintf("duplicate dicom_id %s", row.DicomID), Study: row.StudyID})
			continue
		}
		if s, ok := b.studySubject[uint32(row.StudyID)]; ok && s != uint32(row.SubjectID) {
			b.problem(Problem{Key: mr.Name() + ":" + strconv.Itoa(row.Line),
				Reason: fmt.Sprintf("study %d belongs to subject %d on an earlier row, not %d", row.StudyID, s, row.SubjectID), Study: row.StudyID})
			continue
		}
		b.studySubject[uint32(row.StudyID)] = uint32(row.SubjectID)
		v, ok := viewIdx[row.ViewPosition]
		if !ok {
			v = uint16(len(ix.views))
			ix.views = append(ix.views, strings.Clone(row.ViewPosition))
			viewIdx[row.ViewPosition] = v
		}
		d := strings.Clone(row.DicomID)
		b.byDicom[d] = int32(len(b.imgs))
		b.imgs = append(b.imgs, image{dicom: d, subject: uint32(row.SubjectID), study: uint32(row.StudyID),
			rows: row.Rows, cols: row.Columns, view: v, split: -1, label: -1})
		ix.stats.MetadataRows++
	}
}

// readSplit sets each image's split.
func (b *builder) readSplit() error {
	imgs := b.imgs
	sr, err := NewSplitReader(b.t.Split.Name, b.t.Split.R)
	if err != nil {
		return err
	}
	defer sr.Close()
	for {
		row, err := sr.Next()
		if err == io.EOF {
			return nil
		}
		key := sr.Name() + ":" + strconv.Itoa(row.Line)
		if err != nil {
			if err = b.rowProblem(err, 0); err != nil {
				return err
			}
			continue
		}
		i, ok := b.byDicom[row.DicomID]
		switch {
		case !ok:
			b.problem(Problem{Key: key, Reason: fmt.Sprintf("dicom_id %s is not in %s", row.DicomID, b.t.Metadata.Name), Study: row.StudyID})
			continue
		case imgs[i].split >= 0:
			b.problem(Problem{Key: key, Reason: fmt.Sprintf("duplicate dicom_id %s", row.DicomID), Study: row.StudyID})
			continue
		case int64(imgs[i].study) != row.StudyID || int64(imgs[i].subject) != row.SubjectID:
			b.problem(Problem{Key: key, Reason: fmt.Sprintf("dicom_id %s is subject %d study %d here but subject %d study %d in %s",
				row.DicomID, row.SubjectID, row.StudyID, imgs[i].subject, imgs[i].study, b.t.Metadata.Name), Study: row.StudyID})
			continue
		}
		imgs[i].split = int8(slices.Index(Splits, row.Split))
		b.ix.stats.SplitRows++
	}
}

// readLabels reads the label rows, one per study.
func (b *builder) readLabels() error {
	ix := b.ix
	lr, err := NewLabelReader(b.t.Labels.Name, b.t.Labels.R)
	if err != nil {
		return err
	}
	defer lr.Close()
	b.byStudy = make(map[uint32]int32, 1<<16)
	b.labelSubject = []uint32{}
	for {
		row, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		key := lr.Name() + ":" + strconv.Itoa(row.Line)
		if err != nil {
			if err = b.rowProblem(err, 0); err != nil {
				return err
			}
			continue
		}
		if _, dup := b.byStudy[uint32(row.StudyID)]; dup {
			b.problem(Problem{Key: key, Reason: fmt.Sprintf("duplicate study_id %d", row.StudyID), Study: row.StudyID})
			continue
		}
		if s, ok := b.studySubject[uint32(row.StudyID)]; ok && s != uint32(row.SubjectID) {
			b.problem(Problem{Key: key, Reason: fmt.Sprintf("study %d is subject %d here but subject %d in %s",
				row.StudyID, row.SubjectID, s, b.t.Metadata.Name), Study: row.StudyID})
			continue
		}
		b.byStudy[uint32(row.StudyID)] = int32(len(ix.labels))
		ix.labels = append(ix.labels, row.Labels)
		b.labelSubject = append(b.labelSubject, uint32(row.SubjectID))
		ix.stats.LabelRows++
	}
}

// join joins the images with their study's labels, keeps those of the
// chosen views and splits, and sorts them by subject, study and dicom_id.
func (b *builder) join() {
	ix, opts := b.ix, b.ix.opts
	allViews := slices.Contains(opts.Views, "all") || slices.Contains(opts.Views, "*")
	keepView := make([]bool, len(ix.views))
	for i, v := range ix.views {
		keepView[i] = allViews || slices.Contains(opts.Views, v)
	}
	var keepSplit [3]bool
	for i, s := range Splits {
		keepSplit[i] = len(opts.Splits) == 0 || slices.Contains(opts.Splits, s)
	}
	used := make([]bool, len(ix.labels))
	kept := b.imgs[:0]
	for _, im := range b.imgs {
		if li, ok := b.byStudy[im.study]; ok {
			used[li] = true // the study has an image, whatever the filters
			im.label = li
		}
		if !keepView[im.view] {
			ix.stats.DroppedView++
			continue
		}
		key := func() string { return ImageKey(int64(im.subject), int64(im.study), im.dicom) }
		if im.split < 0 {
			b.problem(Problem{Key: key(), Reason: fmt.Sprintf("dicom_id %s has no split in %s", im.dicom, b.t.Split.Name), Study: int64(im.study)})
			continue
		}
		if !keepSplit[im.split] {
			ix.stats.DroppedSplit++
			continue
		}
		if im.label < 0 {
			b.problem(Problem{Key: key(), Reason: fmt.Sprintf("study %d has no labels in %s", im.study, b.t.Labels.Name), Study: int64(im.study)})
			continue
		}
		kept = append(kept, im)
	}
	for study, li := range b.byStudy {
		if !used[li] {
			b.problem(Problem{Key: ReportKey(int64(b.labelSubject[li]), int64(study)),
				Reason: fmt.Sprintf("study %d has labels but no image in %s", study, b.t.Metadata.Name), Study: int64(study)})
		}
	}
	slices.SortFunc(kept, func(x, y image) int {
		if c := cmp.Compare(x.subject, y.subject); c != 0 {
			return c
		}
		if c := cmp.Compare(x.study, y.study); c != 0 {
			return c
		}
		return strings.Compare(x.dicom, y.dicom)
	})
	ix.imgs = slices.Clip(kept)
	for i := range ix.imgs {
		if i == 0 || ix.imgs[i].study != ix.imgs[i-1].study {
			ix.stats.Studies++
		}
	}
	ix.stats.Images = len(ix.imgs)
}

// Len is the number of entries.
func (ix *Index) Len() int { return len(ix.imgs) }

// Stats returns the counts.
func (ix *Index) Stats() Stats { return ix.stats }

// Problems returns the records set aside, sorted by key.
func (ix *Index) Problems() []Problem { return ix.problems }

// Entry returns entry i (0 <= i < Len), in (subject, study, dicom) order.
func (ix *Index) Entry(i int) Entry {
	im := &ix.imgs[i]
	e := Entry{SubjectID: int64(im.subject), StudyID: int64(im.study), DicomID: im.dicom,
		Split: Splits[im.split], View: ix.views[im.view], Rows: im.rows, Columns: im.cols, Raw: ix.labels[im.label]}
	e.Labels, e.Mask = ix.opts.Policy.Apply(&e.Raw)
	return e
}

// Shard returns the entries of shard i of n in order: those whose study
// has StudyShard(study, n) == i. n <= 1 gives every entry. All images of
// a study are in the same shard.
func (ix *Index) Shard(i, n int) iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		for k := range ix.imgs {
			if n > 1 && StudyShard(int64(ix.imgs[k].study), n) != i {
				continue
			}
			if !yield(ix.Entry(k)) {
				return
			}
		}
	}
}

// Studies returns, for shard i of n, one entry per study in order: its
// first kept image's entry (the study's labels, split and report key) and
// the number of its kept images. Reports belong to studies, so text is
// read, tokenized and embedded once per study.
func (ix *Index) Studies(i, n int) iter.Seq2[Entry, int] {
	return func(yield func(Entry, int) bool) {
		for k := 0; k < len(ix.imgs); {
			end := k + 1
			for end < len(ix.imgs) && ix.imgs[end].study == ix.imgs[k].study && ix.imgs[end].subject == ix.imgs[k].subject {
				end++
			}
			if n <= 1 || StudyShard(int64(ix.imgs[k].study), n) == i {
				if !yield(ix.Entry(k), end-k) {
					return
				}
			}
			k = end
		}
	}
}

// StudyShard is the shard (0..n-1) of a study: a hash of the study id
// (splitmix64) modulo n. Hashing rather than numbering the studies keeps a
// study in its shard when other studies are added, removed or filtered out.
func StudyShard(study int64, n int) int {
	if n <= 1 {
		return 0
	}
	z := uint64(study) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int(z % uint64(n))
}
