package mimictest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medflow/medflow/mimic"
)

// Table file names (plain; Gzip adds ".gz").
const (
	MetadataFile = "mimic-cxr-2.0.0-metadata.csv"
	SplitFile    = "mimic-cxr-2.0.0-split.csv"
	ChexpertFile = "mimic-cxr-2.0.0-chexpert.csv"
	NegbioFile   = "mimic-cxr-2.0.0-negbio.csv"
)

// FullStudies and FullImages are the sizes of MIMIC-CXR v2.0.0.
const (
	FullStudies = 227835
	FullImages  = 377110
)

// Config says what Generate writes.
type Config struct {
	// Studies is the number of studies; Images the number of images: the
	// first Triples studies get three images (all frontal when the second
	// is: View), the next Images-Studies-2*Triples a second one
	// (Studies+2*Triples <= Images <= 2*Studies+Triples).
	Studies, Images, Triples int
	// Seed varies the labels, splits and row order.
	Seed uint64
	// Gzip writes the CSVs gzip-compressed, named *.csv.gz.
	Gzip bool
	// Reports writes a report per study (five templates, see Report);
	// ImageFiles writes a 4-byte placeholder per image.
	Reports, ImageFiles bool
	// Faults appends the faulty records listed in the package doc of
	// FaultKeys (9 problems for mimic.Build with default options).
	Faults bool
}

// Tree is a generated tree: key (slash-separated, relative to the root)
// to content.
type Tree map[string][]byte

// WriteDir writes the tree under dir.
func (t Tree) WriteDir(dir string) error {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, t[k], 0o644); err != nil {
			return err
		}
	}
	return nil
}

type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Subject and Study give the ids of study number i (0-based).
func Subject(i int) int64 { return 10000032 + int64(i/3)*7 }

// Study gives the study id of study number i.
func Study(i int) int64 { return 50000011 + int64(i)*37 }

// Dicom gives the dicom_id of image j (0 or 1) of study i.
func Dicom(seed uint64, i, j int) string {
	x := uint64(j)
	if j >= 2 {
		x <<= 48 // j < 2 keeps its old ids; i<<1 ^ 2 would collide with study i^1
	}
	r := rng{s: seed ^ uint64(i)<<1 ^ x}
	a, b := r.next(), r.next()
	c := r.next()
	return fmt.Sprintf("%08x-%08x-%08x-%08x-%08x", uint32(a), uint32(a>>32), uint32(b), uint32(b>>32), uint32(c))
}

// View gives the ViewPosition of image j of study i: the first image is
// PA, or AP for every third study; second images cycle PA, LATERAL, LL,
// LATERAL; third images are AP.
func View(i, j int) string {
	if j >= 2 {
		return "AP"
	}
	if j == 0 {
		if i%3 == 2 {
			return "AP"
		}
		return "PA"
	}
	return [...]string{"PA", "LATERAL", "LL", "LATERAL"}[i%4]
}

// SplitOf gives the split of a subject (about 90/5/5 %).
func SplitOf(seed uint64, subject int64) string {
	r := rng{s: seed*31 + uint64(subject)}
	switch v := r.next() % 100; {
	case v < 5:
		return mimic.Validate
	case v < 10:
		return mimic.Test
	}
	return mimic.Train
}

// Labels gives the CheXpert cells of study i ("", "0.0", "1.0", "-1.0").
func Labels(seed uint64, i int) [mimic.NumLabels]string {
	r := rng{s: seed*7919 + uint64(i)}
	var out [mimic.NumLabels]string
	for k := range out {
		switch v := r.next() % 20; {
		case v < 12:
		case v < 15:
			out[k] = "0.0"
		case v < 18:
			out[k] = "1.0"
		default:
			out[k] = "-1.0"
		}
	}
	return out
}

// Images returns the number of images of study i.
func (c Config) imagesOf(i int) int {
	switch {
	case i < c.Triples:
		return 3
	case i < c.Images-c.Studies-c.Triples:
		return 2
	}
	return 1
}

// Generate builds the tree for cfg.
func Generate(cfg Config) (Tree, error) {
	if cfg.Triples < 0 || cfg.Triples > cfg.Studies || cfg.Images < cfg.Studies+2*cfg.Triples || cfg.Images > 2*cfg.Studies+cfg.Triples {
		return nil, fmt.Errorf("mimictest: %d images for %d studies, %d with three: want Studies+2*Triples <= Images <= 2*Studies+Triples",
			cfg.Images, cfg.Studies, cfg.Triples)
	}
	t := Tree{}
	meta := &bytes.Buffer{}
	split := &bytes.Buffer{}
	chex := &bytes.Buffer{}
	negb := &bytes.Buffer{}
	meta.Grow(cfg.Images * 190)
	split.Grow(cfg.Images * 70)
	chex.Grow(cfg.Studies * 50)
	negb.Grow(cfg.Studies * 50)
	meta.WriteString("dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning\n")
	// The split table lists its columns in another order than the
	// metadata, as the real one does.
	split.WriteString("dicom_id,study_id,subject_id,split\n")
	labelHeader := "subject_id,study_id," + strings.Join(mimic.LabelNames[:], ",") + "\n"
	chex.WriteString(labelHeader)
	negb.WriteString(labelHeader)

	// Rows go out in a shuffled study order so that readers must sort.
	order := make([]int, cfg.Studies)
	for i := range order {
		order[i] = i
	}
	r := rng{s: cfg.Seed}
	for i := len(order) - 1; i > 0; i-- {
		j := int(r.next() % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	for _, i := range order {
		subj, study := Subject(i), Study(i)
		sp := SplitOf(cfg.Seed, subj)
		for j := range cfg.imagesOf(i) {
			d := Dicom(cfg.Seed, i, j)
			view := View(i, j)
			rows, cols := 3056, 2544
			if view == "AP" {
				rows, cols = 2539, 3050
			}
			viewCode := map[string]string{"PA": "postero-anterior", "AP": "antero-posterior", "LATERAL": "lateral", "LL": "left lateral"}[view]
			fmt.Fprintf(meta, "%s,%d,%d,CHEST (PA AND LAT),%s,%d,%d,21800506,213014.531,Chest 2 Views,%s,Erect\n",
				d, subj, study, view, rows, cols, viewCode)
			fmt.Fprintf(split, "%s,%d,%d,%s\n", d, study, subj, sp)
			if cfg.ImageFiles {
				t[mimic.ImageKey(subj, study, d)] = []byte("jpg\n")
			}
		}
		labels := Labels(cfg.Seed, i)
		fmt.Fprintf(chex, "%d,%d,%s\n", subj, study, strings.Join(labels[:], ","))
		for k, v := range labels {
			if v == "-1.0" {
				labels[k] = "0.0" // NegBio differs: no uncertain labels here
			}
		}
		fmt.Fprintf(negb, "%d,%d,%s\n", subj, study, strings.Join(labels[:], ","))
		if cfg.Reports {
			t[mimic.ReportKey(subj, study)] = Report(i)
		}
	}
	if cfg.Faults {
		writeFaults(cfg, meta, split, chex, negb)
	}
	for name, buf := range map[string]*bytes.Buffer{MetadataFile: meta, SplitFile: split, ChexpertFile: chex, NegbioFile: negb} {
		if !cfg.Gzip {
			t[name] = buf.Bytes()
			continue
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(buf.Bytes())
		if err := zw.Close(); err != nil {
			return nil, err
		}
		t[name+".gz"] = z.Bytes()
	}
	return t, nil
}

// Fault ids, used by writeFaults. They are outside the range of the
// generated studies.
const (
	faultSubject      = 19999990
	faultStudyNoLabel = 59999901 // frontal image, no labels
	faultStudyNoImage = 59999902 // labels, no image
	faultStudyNoSplit = 59999903 // frontal image, labels, no split
)

// FaultKeys lists the problems the faults cause, as mimic.Build reports
// them with default options on a tree with Faults (plain CSV names; gzip
// trees have ".gz" after ".csv"). The metadata faults are on lines
// Images+2.., the split faults on Images+2.., the label faults on
// Studies+2.., in this order:
//
//   - metadata: a row with too few fields; a row with subject_id
//     "2000001"; a duplicate of the first generated dicom_id; an image of a
//     study without labels; an image without a split row;
//   - split: (after a good row for the no-label image) a row with split
//     "dev";
//   - chexpert and negbio: a row with "2.0"; a row with "yes"; a study with
//     labels and no image; labels for the no-split study.
func FaultKeys(cfg Config) []string {
	m, s, l := MetadataFile, SplitFile, ChexpertFile
	if cfg.Gzip {
		m, s, l = m+".gz", s+".gz", l+".gz"
	}
	n, st := cfg.Images, cfg.Studies
	return []string{
		fmt.Sprintf("%s:%d", m, n+2), fmt.Sprintf("%s:%d", m, n+3), fmt.Sprintf("%s:%d", m, n+4),
		fmt.Sprintf("%s:%d", s, n+3),
		fmt.Sprintf("%s:%d", l, st+2), fmt.Sprintf("%s:%d", l, st+3),
		mimic.ImageKey(faultSubject, faultStudyNoLabel, faultDicom(1)),
		mimic.ReportKey(faultSubject, faultStudyNoImage),
		mimic.ImageKey(faultSubject, faultStudyNoSplit, faultDicom(3)),
	}
}

func faultDicom(k int) string { return fmt.Sprintf("ffffffff-0000000%d-00000000-00000000-00000000", k) }

func writeFaults(cfg Config, meta, split, chex, negb *bytes.Buffer) {
	first := Dicom(cfg.Seed, 0, 0)
	fmt.Fprintf(meta, "%s,%d,%d\n", faultDicom(0), faultSubject, faultStudyNoLabel)
	fmt.Fprintf(meta, "%s,2000001,%d,CHEST,PA,3056,2544,21800506,1,x,y,z\n", faultDicom(0), faultStudyNoLabel)
	fmt.Fprintf(meta, "%s,%d,%d,CHEST,PA,3056,2544,21800506,1,x,y,z\n", first, Subject(0), Study(0))
	fmt.Fprintf(meta, "%s,%d,%d,CHEST,PA,3056,2544,21800506,1,x,y,z\n", faultDicom(1), faultSubject, faultStudyNoLabel)
	fmt.Fprintf(meta, "%s,%d,%d,CHEST,PA,3056,2544,21800506,1,x,y,z\n", faultDicom(3), faultSubject, faultStudyNoSplit)
	fmt.Fprintf(split, "%s,%d,%d,train\n", faultDicom(1), faultStudyNoLabel, faultSubject)
	fmt.Fprintf(split, "%s,%d,%d,dev\n", faultDicom(0), faultStudyNoLabel, faultSubject)
	blank := strings.Repeat(",", mimic.NumLabels-1)
	for _, buf := range []*bytes.Buffer{chex, negb} {
		fmt.Fprintf(buf, "%d,%d,2.0%s\n", faultSubject, 59999904, blank)
		fmt.Fprintf(buf, "%d,%d,,yes%s\n", faultSubject, 59999905, blank[1:])
		fmt.Fprintf(buf, "%d,%d,1.0%s\n", faultSubject, faultStudyNoImage, blank)
		fmt.Fprintf(buf, "%d,%d,1.0%s\n", faultSubject, faultStudyNoSplit, blank)
	}
}

// Report returns the report of study i, one of five templates by i%5:
//
//	0: FINAL REPORT with EXAMINATION, INDICATION (with ___), TECHNIQUE,
//	   COMPARISON, FINDINGS and IMPRESSION;
//	1: IMPRESSION only (no FINDINGS);
//	2: FINDINGS only, then an addendum after a line of underscores;
//	3: neither FINDINGS nor IMPRESSION (EXAMINATION, then NOTIFICATION);
//	4: FINDINGS and IMPRESSION with an invalid UTF-8 byte in FINDINGS.
func Report(i int) []byte {
	switch i % 5 {
	case 0:
		return []byte(`                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)
 
 INDICATION:  ___ year old woman with cough  // eval for pneumonia
 
 TECHNIQUE:  Chest PA and lateral
 
 COMPARISON:  ___
 
 FINDINGS: 
 
 The lungs are clear.  There is no pleural effusion or pneumothorax.  Heart
 size is normal.
 
 IMPRESSION: 
 
 No acute cardiopulmonary process.
`)
	case 1:
		return []byte(`                                 FINAL REPORT
 INDICATION:  Line placement.
 
 IMPRESSION:  Right IJ catheter tip in the mid SVC.  No pneumothorax.
`)
	case 2:
		return []byte(`                                 FINAL REPORT
 EXAMINATION:  CHEST (PORTABLE AP)
 
 FINDINGS:  Mild pulmonary vascular congestion.  Small left effusion.
 ______________________________________________________________________________
                                 FINAL REPORT
 ADDENDUM:  Findings discussed with Dr. ___ at 10:15 on ___.
`)
	case 3:
		return []byte(`                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)
 
 NOTIFICATION:  Findings telephoned to Dr. ___.
`)
	}
	return []byte("                                 FINAL REPORT\n FINDINGS:  Heart size normal. Caf\xe9 au lait.\n\n IMPRESSION:  No acute process.\n")
}
