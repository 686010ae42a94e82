package synth

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"image/jpeg"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"

	"github.com/sourcegraph/conc/pool"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/mimic"
)

// Options sizes a phantom dataset. Zero fields take the defaults noted.
type Options struct {
	Studies         int
	Seed            uint64
	Width, Height   int        // image size; default 2544x3056 (portrait, like MIMIC-CXR-JPG)
	Prevalence      Prevalence // default CheXpertPrevalence
	Splits          [3]float64 // train, validate, test fractions by subject; default 0.8/0.1/0.1
	CorruptFraction float64    // fraction of studies given a realistic fault
	Quality         int        // JPEG quality; default 95
	Workers         int        // default GOMAXPROCS
	PlainCSV        bool       // write .csv instead of .csv.gz
	// PermuteLabels writes the label tables with the studies' label
	// vectors permuted across studies (seeded by Seed): images and reports
	// keep their signs, the labels no longer match them. A control: a
	// model trained and evaluated on such labels can only score chance.
	PermuteLabels bool
	// Progress, if set, is called after each study with the number done,
	// one call at a time.
	Progress func(done int)
}

// Fault is a bad input Write planted on purpose.
type Fault struct {
	Key  string // the object key (or "<table>.csv.gz:line")
	Kind string // truncated-jpeg, corrupt-jpeg, empty-image, missing-report, bad-label-row
}

// Summary says what Write wrote.
type Summary struct {
	Subjects, Studies, Images int
	Faults                    []Fault
}

var faultKinds = []string{"truncated-jpeg", "corrupt-jpeg", "empty-image", "missing-report", "bad-label-row"}

// study is everything one study contributes to the tables.
type study struct {
	subject, id int64
	split       string
	labels      [NumLabels]mimic.Label
	images      []imageRow
	fault       *Fault
}

type imageRow struct {
	dicom, view string
}

// Write generates a phantom MIMIC-CXR(-JPG) dataset under store in the
// published layout: files/pXX/pSUBJECT/sSTUDY/DICOM.jpg,
// files/pXX/pSUBJECT/sSTUDY.txt and the metadata, split, chexpert and
// negbio tables. The output depends only on Options (not on Workers).
func Write(ctx context.Context, store objstore.Store, o Options) (Summary, error) {
	if o.Studies <= 0 || o.Studies > 9_000_000 {
		return Summary{}, fmt.Errorf("synth: studies must be in [1, 9e6], got %d", o.Studies)
	}
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = 2544, 3056
	}
	if o.Width < 32 || o.Height < 32 {
		return Summary{}, fmt.Errorf("synth: image size %dx%d is too small (min 32x32)", o.Width, o.Height)
	}
	if o.Prevalence == (Prevalence{}) {
		o.Prevalence = CheXpertPrevalence
	}
	if o.Splits == ([3]float64{}) {
		o.Splits = [3]float64{0.8, 0.1, 0.1}
	}
	if o.Quality == 0 {
		o.Quality = 95
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.CorruptFraction < 0 || o.CorruptFraction > 1 {
		return Summary{}, fmt.Errorf("synth: corrupt fraction %g not in [0, 1]", o.CorruptFraction)
	}
	sampler := NewSampler(o.Prevalence)
	studies := make([]study, o.Studies)
	var (
		mu   sync.Mutex
		done int
	)
	p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(o.Workers)
	for i := range studies {
		p.Go(func(ctx context.Context) error {
			if err := writeStudy(ctx, store, o, sampler, i, &studies[i]); err != nil {
				return err
			}
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return Summary{}, err
	}
	return writeTables(ctx, store, o, studies)
}

// Study and subject ids: 8 digits starting with 5 and 1; one to three
// studies per subject.
func ids(i int) (subject, id int64) {
	return 10000032 + int64(i/2)*7, 50000011 + int64(i)*37
}

func dicomID(rng *rand.Rand) string {
	b := make([]byte, 0, 44)
	for g := range 5 {
		if g > 0 {
			b = append(b, '-')
		}
		b = fmt.Appendf(b, "%08x", rng.Uint32())
	}
	return string(b)
}

func splitOf(seed uint64, subject int64, fr [3]float64) string {
	r := rand.New(rand.NewPCG(seed^0x5b11, uint64(subject))).Float64() * (fr[0] + fr[1] + fr[2])
	switch {
	case r < fr[0]:
		return mimic.Train
	case r < fr[0]+fr[1]:
		return mimic.Validate
	}
	return mimic.Test
}

func writeStudy(ctx context.Context, store objstore.Store, o Options, s *Sampler, i int, st *study) error {
	rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
	st.subject, st.id = ids(i)
	st.split = splitOf(o.Seed, st.subject, o.Splits)
	st.labels = s.Sample(rng)
	view := "PA"
	if rng.Float64() < 0.35 {
		view = "AP"
	}
	st.images = append(st.images, imageRow{dicomID(rng), view})
	if view == "PA" && rng.Float64() < 0.7 {
		st.images = append(st.images, imageRow{dicomID(rng), "LATERAL"})
	}
	if rng.Float64() < o.CorruptFraction {
		st.fault = &Fault{Kind: faultKinds[rng.IntN(len(faultKinds))]}
	}
	report := Report(rng, st.labels, view)
	rkey := mimic.ReportKey(st.subject, st.id)
	if st.fault != nil && st.fault.Kind == "missing-report" {
		st.fault.Key = rkey
	} else if err := objstore.PutBytes(ctx, store, rkey, []byte(report)); err != nil {
		return err
	}
	for k, im := range st.images {
		// Lateral views are drawn as frontal phantoms: medflow's pipelines
		// use frontal views only (see doc.go).
		img := Phantom(rng, o.Width, o.Height, st.labels, RandomPatient(rng, im.view))
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: o.Quality}); err != nil {
			return err
		}
		data := buf.Bytes()
		key := mimic.ImageKey(st.subject, st.id, im.dicom)
		if f := st.fault; f != nil && k == 0 {
			switch f.Kind {
			case "truncated-jpeg":
				data, f.Key = data[:len(data)*(3+rng.IntN(4))/10], key
			case "corrupt-jpeg":
				for j := len(data) / 3; j < len(data)/3+64 && j < len(data); j++ {
					data[j] = byte(rng.Uint32())
				}
				f.Key = key
			case "empty-image":
				data, f.Key = nil, key
			}
		}
		if err := objstore.PutBytes(ctx, store, key, data); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func writeTables(ctx context.Context, store objstore.Store, o Options, studies []study) (Summary, error) {
	ext := ".gz"
	if o.PlainCSV {
		ext = ""
	}
	var sum Summary
	meta := [][]string{{"dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition",
		"Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning", "ViewCodeSequence_CodeMeaning",
		"PatientOrientationCodeSequence_CodeMeaning"}}
	split := [][]string{{"dicom_id", "study_id", "subject_id", "split"}}
	head := append([]string{"subject_id", "study_id"}, mimic.LabelNames[:]...)
	chex, neg := [][]string{head}, [][]string{head}
	labels := make([][NumLabels]mimic.Label, len(studies))
	for i := range studies {
		labels[i] = studies[i].labels
	}
	if o.PermuteLabels {
		rand.New(rand.NewPCG(o.Seed^0x9e7a, 0x7ab1e5)).Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	}
	lastSubject := int64(-1)
	for i, st := range studies {
		if st.subject != lastSubject {
			sum.Subjects++
			lastSubject = st.subject
		}
		sum.Studies++
		rng := rand.New(rand.NewPCG(o.Seed^0x7ab1e, uint64(i)))
		date := strconv.Itoa(2110+rng.IntN(80)) + fmt.Sprintf("%02d%02d", 1+rng.IntN(12), 1+rng.IntN(28))
		subj, sid := strconv.FormatInt(st.subject, 10), strconv.FormatInt(st.id, 10)
		for _, im := range st.images {
			sum.Images++
			desc, orient := "CHEST (PA AND LAT)", "Erect"
			if im.view == "AP" {
				desc, orient = "CHEST (PORTABLE AP)", "Recumbent"
			}
			viewName := map[string]string{"PA": "postero-anterior", "AP": "antero-posterior", "LATERAL": "lateral"}[im.view]
			meta = append(meta, []string{im.dicom, subj, sid, desc, im.view, strconv.Itoa(o.Height), strconv.Itoa(o.Width),
				date, fmt.Sprintf("%02d%02d%02d.%03d", rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000)),
				"CHEST (PA AND LAT)", viewName, orient})
			split = append(split, []string{im.dicom, sid, subj, st.split})
		}
		row := []string{subj, sid}
		nrow := []string{subj, sid}
		for _, l := range labels[i] {
			row = append(row, cell(l))
			nl := l
			if l == Uncertain && rng.Float64() < 0.1 { // the two labelers disagree a little
				nl = Blank
			}
			nrow = append(nrow, cell(nl))
		}
		if st.fault != nil && st.fault.Kind == "bad-label-row" {
			row[2+rng.IntN(NumLabels)] = "2.0"
			st.fault.Key = fmt.Sprintf("%s%s:%d", mimic.ChexpertTable, ext, len(chex)+1)
		}
		chex = append(chex, row)
		neg = append(neg, nrow)
		if st.fault != nil {
			sum.Faults = append(sum.Faults, *st.fault)
		}
	}
	for name, rows := range map[string][][]string{mimic.MetadataTable: meta, mimic.SplitTable: split, mimic.ChexpertTable: chex, mimic.NegbioTable: neg} {
		if err := putCSV(ctx, store, name+ext, rows, !o.PlainCSV); err != nil {
			return Summary{}, err
		}
	}
	return sum, nil
}

func putCSV(ctx context.Context, store objstore.Store, key string, rows [][]string, gz bool) error {
	var buf bytes.Buffer
	var w *csv.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = csv.NewWriter(zw)
	} else {
		w = csv.NewWriter(&buf)
	}
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("synth: %s: %w", key, err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("synth: %s: %w", key, err)
		}
	}
	return objstore.PutBytes(ctx, store, key, buf.Bytes())
}
