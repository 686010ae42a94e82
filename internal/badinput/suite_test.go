package badinput_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medflow/medflow/internal/badinput"
	cxr "github.com/medflow/medflow/mimic"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
)

// qwant is an expected quarantine entry: the stage, a substring of the
// key (the file or record) and of the reason.
type qwant struct{ stage, key, reason string }

// outcome is what a case expects. Lost* are image keys: rows missing from
// the whole index, from the decoded images, or from the tokenized
// reports. With err set the run (or plan) must fail with an error holding
// every substring, and nothing else is checked.
type outcome struct {
	lostIndex, lostImage, lostReport []string
	quarantine                       []qwant
	err                              []string
	// rows, when set, are the exact rows per sink (cases with their own
	// specs); otherwise they follow from the clean dataset and lost*.
	rows map[string]int
}

func (o *outcome) q(stage, key, reason string) {
	o.quarantine = append(o.quarantine, qwant{stage, key, reason})
}

// lostMetadata adds what follows when the metadata row of m (the only
// image of its study) is rejected: its split row points at no image and
// its study's labels at no image.
func (o *outcome) lostMetadata(e *env, m img) {
	var r int
	e.editCSV(split, func(rows [][]string) [][]string { r = rowOf(rows, m.Dicom); return rows })
	o.lostIndex = append(o.lostIndex, m.Key)
	o.q("index", line(split, r), "not in "+meta)
	o.q("index", m.Report, "has labels but no image")
}

// dataCase is one bad input: a mutation of a copy of the clean dataset
// that also states the expected outcome, and optional param overrides.
type dataCase struct {
	kind   string
	mutate func(e *env, o *outcome)
	over   map[string]map[string]any
	// specs replaces the front end (cases that feed image.decode or
	// report.sections directly).
	specs func(e *env) []pipeline.StageSpec
	sub   string // dataset folder name (default "mimic")
	// extra, if set, checks the good rows further.
	extra func(t *testing.T, e *env, res *pt.Result)
}

// Table names as synth writes them (plain CSV).
const (
	meta  = cxr.MetadataTable
	split = cxr.SplitTable
	chex  = cxr.ChexpertTable
)

func line(table string, row int) string { return fmt.Sprintf("%s:%d", table, row+1) }

var dataCases = []dataCase{
	// ---- images -----------------------------------------------------------
	{kind: "truncated JPEG", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 0)
		b := e.read(m.Key)
		e.write(m.Key, b[:len(b)/2])
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "truncated image")
	}},
	{kind: "JPEG cut after the header", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 1)
		b := e.read(m.Key)
		sos := bytes.Index(b, []byte{0xFF, 0xDA})
		e.write(m.Key, b[:sos])
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "truncated image")
	}},
	{kind: "JPEG that is only SOI", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 2)
		e.write(m.Key, []byte{0xFF, 0xD8})
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "truncated image")
	}},
	{kind: "corrupt JPEG (bad marker in the scan)", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 3)
		b := e.read(m.Key)
		sos := bytes.Index(b, []byte{0xFF, 0xDA})
		for i := sos + 20; i < sos+60 && i < len(b)-2; i += 2 {
			b[i], b[i+1] = 0xFF, 0xC4 // DHT markers in the entropy-coded data
		}
		e.write(m.Key, b)
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "corrupt image")
	}},
	{kind: "corrupt JPEG header (bad Huffman table)", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 4)
		b := e.read(m.Key)
		dht := bytes.Index(b, []byte{0xFF, 0xC4})
		for i := dht + 5; i < dht+21; i++ {
			b[i] = 0xFF // code counts that overflow the table
		}
		e.write(m.Key, b)
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "corrupt image")
	}},
	{kind: "JPEG header claims 60000x60000", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 5)
		b, err := badinput.SetJPEGSize(e.read(m.Key), 60000, 60000)
		if err != nil {
			e.t.Fatal(err)
		}
		e.write(m.Key, b)
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "image too large")
	}},
	{kind: "JPEG header claims 0x0", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 6)
		b, err := badinput.SetJPEGSize(e.read(m.Key), 0, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		e.write(m.Key, b)
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "corrupt image")
	}},
	{kind: "PNG renamed .jpg (decoded by magic bytes)", mutate: func(e *env, o *outcome) {
		e.write(frontal(e.imgs, 0).Key, encodePNG(e.t, side, side))
	}},
	{kind: "truncated PNG renamed .jpg", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 1)
		b := encodePNG(e.t, side, side)
		e.write(m.Key, b[:len(b)*2/3])
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "truncated image")
	}},
	{kind: "zero-byte image", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 2)
		e.write(m.Key, nil)
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "empty file")
	}},
	{kind: "text file named .jpg", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 3)
		e.write(m.Key, []byte("this is not an image\n"))
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "unknown image format")
	}},
	{kind: "image smaller than its metadata says", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 4)
		e.write(m.Key, encodeJPEG(e.t, side, side-16))
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "dimension mismatch")
	}},
	{kind: "metadata Rows/Columns disagree with the image", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 5)
		e.editCSV(meta, func(rows [][]string) [][]string {
			c := colIndex(rows[0])
			rows[rowOf(rows, m.Dicom)][c["Columns"]] = "2544"
			return rows
		})
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "dimension mismatch")
	}},
	{kind: "image file missing (study with a hole)", mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 6)
		e.remove(m.Key)
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "missing file")
	}},
	{kind: "image larger than max_bytes", over: map[string]map[string]any{"decode": {"max_bytes": 64 << 10}}, mutate: func(e *env, o *outcome) {
		m := frontal(e.imgs, 7)
		e.write(m.Key, append(e.read(m.Key), make([]byte, 80<<10)...))
		o.lostImage = []string{m.Key}
		o.q("decode", m.Key, "file too large")
	}},
	{kind: "image file with no study (orphan .jpg)", mutate: func(e *env, o *outcome) {
		e.write("files/p19/p19999999/s59999999/0badbeef-00000000-00000000-00000000-00000000.jpg", encodeJPEG(e.t, side, side))
	}},
	// ---- CSV tables --------------------------------------------------------
	{kind: "metadata CSV missing a required column", mutate: func(e *env, o *outcome) {
		e.editCSV(meta, func(rows [][]string) [][]string {
			c := colIndex(rows[0])["ViewPosition"]
			for i := range rows {
				rows[i] = slices.Delete(rows[i], c, c+1)
			}
			return rows
		})
		o.err = []string{meta, "ViewPosition"}
	}},
	{kind: "metadata CSV with extra columns", mutate: func(e *env, o *outcome) {
		e.editCSV(meta, func(rows [][]string) [][]string {
			for i := range rows {
				rows[i] = append([]string{fmt.Sprint("extra", i)}, append(rows[i], "x")...)
			}
			return rows
		})
	}},
	{kind: "metadata row with a missing field", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 0)
		var r int
		e.editCSV(meta, func(rows [][]string) [][]string { r = rowOf(rows, m.Dicom); return rows })
		e.editText(meta, func(s string) string {
			lines := strings.Split(s, "\n")
			lines[r] = lines[r][:strings.LastIndexByte(lines[r], ',')]
			return strings.Join(lines, "\n")
		})
		o.lostMetadata(e, m)
		o.q("index", line(meta, r), "")
	}},
	{kind: "metadata row with an extra field", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 1)
		var r int
		e.editCSV(meta, func(rows [][]string) [][]string { r = rowOf(rows, m.Dicom); return rows })
		e.editText(meta, func(s string) string {
			lines := strings.Split(s, "\n")
			lines[r] += ",surplus"
			return strings.Join(lines, "\n")
		})
		o.lostMetadata(e, m)
		o.q("index", line(meta, r), "")
	}},
	{kind: "quoted newline inside a metadata field", mutate: func(e *env, o *outcome) {
		e.editCSV(meta, func(rows [][]string) [][]string {
			c := colIndex(rows[0])["PerformedProcedureStepDescription"]
			for i := 1; i < len(rows); i++ {
				rows[i][c] = "CHEST\n(PA, \"AND\" LAT)"
			}
			return rows
		})
	}},
	{kind: "UTF-8 BOM on every table", mutate: func(e *env, o *outcome) {
		for _, tb := range []string{meta, split, chex} {
			e.editText(tb, func(s string) string { return "\ufeff" + s })
		}
	}},
	{kind: "CRLF line endings", mutate: func(e *env, o *outcome) {
		for _, tb := range []string{meta, split, chex} {
			e.editText(tb, func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") })
		}
	}},
	{kind: "split CSV with the wrong delimiter (;)", mutate: func(e *env, o *outcome) {
		e.editText(split, func(s string) string { return strings.ReplaceAll(s, ",", ";") })
		o.err = []string{split, "dicom_id"}
	}},
	{kind: "zero-byte labels CSV", mutate: func(e *env, o *outcome) {
		e.write(chex, nil)
		o.err = []string{chex}
	}},
	{kind: "split CSV missing", mutate: func(e *env, o *outcome) {
		e.remove(split)
		o.err = []string{split}
	}},
	{kind: "gzip labels CSV truncated", mutate: func(e *env, o *outcome) {
		gz := gzipBytes(e.t, e.read(chex))
		e.remove(chex)
		e.write(chex+".gz", gz[:len(gz)/2])
		o.err = []string{chex + ".gz", "after line"}
	}},
	{kind: "unknown label value (2.0)", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 2)
		var r int
		e.editCSV(chex, func(rows [][]string) [][]string {
			r = studyRow(rows, m.Study)
			rows[r][5] = "2.0"
			return rows
		})
		o.lostIndex = []string{m.Key}
		o.q("index", line(chex, r), "2.0")
		o.q("index", m.Key, "label")
	}},
	{kind: "unknown split value", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 3)
		var r int
		e.editCSV(split, func(rows [][]string) [][]string {
			r = rowOf(rows, m.Dicom)
			rows[r][3] = "holdout"
			return rows
		})
		o.lostIndex = []string{m.Key}
		o.q("index", line(split, r), "holdout")
		o.q("index", m.Key, "split")
	}},
	{kind: "malformed subject id", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 4)
		var r int
		e.editCSV(meta, func(rows [][]string) [][]string {
			r = rowOf(rows, m.Dicom)
			rows[r][colIndex(rows[0])["subject_id"]] = "p1000x"
			return rows
		})
		o.lostMetadata(e, m)
		o.q("index", line(meta, r), "subject_id")
	}},
	{kind: "duplicate dicom id in metadata", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 5)
		var r int
		e.editCSV(meta, func(rows [][]string) [][]string {
			r = len(rows)
			return append(rows, slices.Clone(rows[rowOf(rows, m.Dicom)]))
		})
		o.q("index", line(meta, r), "duplicate")
	}},
	{kind: "dicom id with .. (key escaping the root)", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 6)
		var rm, rs int
		e.editCSV(meta, func(rows [][]string) [][]string {
			rm = rowOf(rows, m.Dicom)
			rows[rm][0] = "../../../../etc/passwd"
			return rows
		})
		e.editCSV(split, func(rows [][]string) [][]string {
			rs = rowOf(rows, m.Dicom)
			rows[rs][0] = "../../../../etc/passwd"
			return rows
		})
		o.lostIndex = []string{m.Key}
		o.q("index", line(meta, rm), "dicom_id")
		o.q("index", line(split, rs), "dicom_id")
		o.q("index", m.Report, "no image")
	}},
	{kind: "study with no images", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 7)
		for _, tb := range []string{meta, split} {
			e.editCSV(tb, func(rows [][]string) [][]string {
				return slices.Delete(rows, rowOf(rows, m.Dicom), rowOf(rows, m.Dicom)+1)
			})
		}
		o.lostIndex = []string{m.Key}
		o.q("index", m.Report, "no image")
	}},
	{kind: "image with no study labels", mutate: func(e *env, o *outcome) {
		ms := withLateral(e.imgs, 0)
		e.editCSV(chex, func(rows [][]string) [][]string {
			r := studyRow(rows, ms[0].Study)
			return slices.Delete(rows, r, r+1)
		})
		for _, m := range ms {
			o.lostIndex = append(o.lostIndex, m.Key)
			o.q("index", m.Key, "label")
		}
	}},
	{kind: "image with no split row", mutate: func(e *env, o *outcome) {
		m := withLateral(e.imgs, 1)[1]
		e.editCSV(split, func(rows [][]string) [][]string {
			return slices.Delete(rows, rowOf(rows, m.Dicom), rowOf(rows, m.Dicom)+1)
		})
		o.lostIndex = []string{m.Key}
		o.q("index", m.Key, "split")
	}},
	// ---- reports -----------------------------------------------------------
	{kind: "report missing", mutate: func(e *env, o *outcome) {
		ms := withLateral(e.imgs, 0)
		e.remove(ms[0].Report)
		o.lostReport = ofStudy(e.imgs, ms[0].Study)
		o.q("sections", ms[0].Report, "report not found")
	}},
	{kind: "report with no sections", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 0)
		e.write(m.Report, []byte("                                 FINAL REPORT\n"))
		o.lostReport = []string{m.Key}
		o.q("sections", m.Report, "no usable section")
	}},
	{kind: "report that is only an addendum", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 1)
		e.write(m.Report, []byte("______________________________________________________________________________\n"+
			" ADDENDUM:\n The findings were discussed with the referring physician.\n"))
		o.lostReport = []string{m.Key}
		o.q("sections", m.Report, "no usable section")
	}},
	{kind: "report without headers (free text only)", mutate: func(e *env, o *outcome) {
		// Only a preamble: no section for the default select
		// [findings+impression, last] (select: [text] would keep it).
		m := single(e.imgs, 2)
		e.write(m.Report, []byte("Lungs are clear. No pleural effusion or pneumothorax.\n"))
		o.lostReport = []string{m.Key}
		o.q("sections", m.Report, "no usable section")
	}},
	{kind: "zero-byte report", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 3)
		e.write(m.Report, nil)
		o.lostReport = []string{m.Key}
		o.q("sections", m.Report, "no usable section")
	}},
	{kind: "report with invalid UTF-8 (repaired)", mutate: func(e *env, o *outcome) {
		e.editText(single(e.imgs, 4).Report, func(s string) string {
			return strings.Replace(s, "FINDINGS:", "FINDINGS: \xff\xfe\xc3(", 1)
		})
	}, extra: func(t *testing.T, e *env, res *pt.Result) {
		text := reportText(t, res, single(e.imgs, 4).Key)
		if !strings.Contains(text, "\ufffd\ufffd\ufffd(") || !utf8.ValidString(text) {
			t.Errorf("invalid bytes not replaced by U+FFFD: %q", text)
		}
	}},
	{kind: "1 MB report", mutate: func(e *env, o *outcome) {
		e.editText(single(e.imgs, 5).Report, func(s string) string {
			return strings.Replace(s, "IMPRESSION:", "IMPRESSION: "+strings.Repeat("the heart size is normal. ", 1<<20/26), 1)
		})
	}, extra: func(t *testing.T, e *env, res *pt.Result) {
		if n := len(reportText(t, res, single(e.imgs, 5).Key)); n < 1<<20-64 {
			t.Errorf("the 1 MB report's text is %d bytes", n)
		}
	}},
	{kind: "binary junk as a report", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 6)
		e.write(m.Report, e.read(m.Key))
		o.lostReport = []string{m.Key}
		o.q("sections", m.Report, "no usable section")
	}},
	{kind: "report path is a folder", mutate: func(e *env, o *outcome) {
		m := single(e.imgs, 7)
		e.remove(m.Report)
		if err := os.MkdirAll(e.path(m.Report), 0o755); err != nil {
			e.t.Fatal(err)
		}
		o.lostReport = []string{m.Key}
		o.q("sections", m.Report, "report not found")
	}},
	// ---- keys --------------------------------------------------------------
	{kind: "dataset root with unicode and spaces", sub: "MIMIC ünïcødé – 数据 set", mutate: func(e *env, o *outcome) {}},
	{kind: "image keys with .., absolute, unicode and spaces", specs: keySpecs, mutate: func(e *env, o *outcome) {
		e.write("ok dir/ünï cødé.jpg", encodeJPEG(e.t, side, side))
		if err := os.WriteFile(filepath.Join(filepath.Dir(e.root), "outside.jpg"), encodeJPEG(e.t, side, side), 0o644); err != nil {
			e.t.Fatal(err)
		}
		o.q("decode", "../outside.jpg", "invalid key")
		o.q("decode", "/etc/passwd", "invalid key")
		o.q("decode", "a/../../outside.jpg", "invalid key")
		o.q("decode", "missing ü.jpg", "missing file")
		o.rows = map[string]int{imgSink: 1}
	}},
	{kind: "report keys with .. and absolute paths", specs: reportKeySpecs, mutate: func(e *env, o *outcome) {
		if err := os.WriteFile(filepath.Join(filepath.Dir(e.root), "outside.txt"), []byte("FINDINGS: secret.\n"), 0o644); err != nil {
			e.t.Fatal(err)
		}
		o.q("sections", "../outside.txt", "invalid key")
		o.q("sections", "/etc/hostname", "invalid key")
		o.rows = map[string]int{tokSink: 1}
	}},
	// ---- models ------------------------------------------------------------
	{kind: "tokenizer model that is not a protobuf", mutate: func(e *env, o *outcome) {
		junk := filepath.Join(e.root, "junk.model")
		if err := os.WriteFile(junk, []byte("\xff\xff\xff\xffthis is not a sentencepiece model"), 0o644); err != nil {
			e.t.Fatal(err)
		}
		e.model = junk
		o.err = []string{`stage "tokenize"`, "params.model", junk}
	}},
	{kind: "tokenizer model missing", mutate: func(e *env, o *outcome) {
		e.model = filepath.Join(e.root, "no-such.model")
		o.err = []string{`stage "tokenize"`, "params.model", e.model}
	}},
	{kind: "tokenizer.json that is not JSON", mutate: func(e *env, o *outcome) {
		junk := filepath.Join(e.root, "tokenizer.json")
		if err := os.WriteFile(junk, []byte(`{"model": {"type": "BPE", "vocab": [1, 2`), 0o644); err != nil {
			e.t.Fatal(err)
		}
		e.model = junk
		o.err = []string{`stage "tokenize"`, "params.model", junk}
	}},
}

// reportText returns the report_text that reached the tokens sink for an
// image key.
func reportText(t *testing.T, res *pt.Result, key string) string {
	t.Helper()
	for i, k := range res.Column(tokSink, "image_key") {
		if k == key {
			return fmt.Sprint(res.Column(tokSink, "report_text")[i])
		}
	}
	t.Fatalf("%s not in the tokens sink", key)
	return ""
}

// keySpecs feeds image.decode keys that must not resolve: a JSON source
// with image_key values, one of them good.
func keySpecs(e *env) []pipeline.StageSpec {
	return []pipeline.StageSpec{
		pt.Stage("keys", "test.keys", nil, nil),
		pt.Stage("decode", "image.decode", []string{"keys"}, map[string]any{"path_column": "image_key", "root": e.root, "size": 16}),
		pt.Stage(imgSink, "test.collect", []string{"decode"}, nil),
	}
}

// reportKeySpecs feeds report.sections keys that must not resolve.
func reportKeySpecs(e *env) []pipeline.StageSpec {
	return []pipeline.StageSpec{
		pt.Stage("keys", "test.reportkeys", nil, nil),
		pt.Stage("sections", "report.sections", []string{"keys"}, map[string]any{"root": e.root}),
		pt.Stage(tokSink, "test.collect", []string{"sections"}, nil),
	}
}
