package mimic

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

const labelHeader = "subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,Enlarged Cardiomediastinum,Fracture,Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,Pneumothorax,Support Devices\n"

// readAll reads a table with the reader for kind and returns the number of
// good rows and the row errors as "key column".
func readAll(kind, name, body string) (good int, rowErrs []string, err error) {
	var next func() error
	switch kind {
	case "metadata":
		r, err := NewMetadataReader(name, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer r.Close()
		next = func() error { _, err := r.Next(); return err }
	case "split":
		r, err := NewSplitReader(name, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer r.Close()
		next = func() error { _, err := r.Next(); return err }
	case "labels":
		r, err := NewLabelReader(name, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer r.Close()
		next = func() error { _, err := r.Next(); return err }
	}
	for {
		err := next()
		if err == io.EOF {
			return good, rowErrs, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			rowErrs = append(rowErrs, strings.TrimSpace(re.Key()+" "+re.Column))
			continue
		}
		if err != nil {
			return good, rowErrs, err
		}
		good++
	}
}

func TestTables(t *testing.T) {
	const meta = "dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\n"
	const split = "dicom_id,study_id,subject_id,split\n"
	blank := strings.Repeat(",", 13)
	for _, tc := range []struct {
		name, kind, file, body string
		good                   int
		rowErrs                []string
		fatal                  string
	}{
		{name: "metadata ok", kind: "metadata", file: "m.csv",
			body: meta + "aa,10000032,50414267,PA,3056,2544\nbb,10000032,50414267,LATERAL,3056,2544\ncc,10000032,50414268,,2544,3056.0\n", good: 3},
		{name: "columns in any order, extra columns", kind: "metadata", file: "m.csv",
			body: "Columns,Rows,Extra,ViewPosition,study_id,subject_id,dicom_id\n2544,3056,x,PA,50414267,10000032,aa\n", good: 1},
		{name: "BOM and CRLF", kind: "metadata", file: "m.csv",
			body: "\ufeff" + strings.ReplaceAll(meta+"aa,10000032,50414267,PA,3056,2544\n", "\n", "\r\n"), good: 1},
		{name: "gzip sniffed, not named", kind: "metadata", file: "m.csv",
			body: gz("\ufeff" + meta + "aa,10000032,50414267,PA,3056,2544\n"), good: 1},
		{name: "plain named .gz", kind: "split", file: "s.csv.gz", body: split + "aa,50414267,10000032,train\n", good: 1},
		{name: "metadata row errors", kind: "metadata", file: "m.csv",
			body: meta + "aa,10000032,50414267,PA,3056\n" + // too few fields
				"aa,10000032,50414267,PA,3056,2544,9\n" + // too many
				"AA,10000032,50414267,PA,3056,2544\n" + // bad dicom
				"aa,20000032,50414267,PA,3056,2544\n" + // bad subject
				"aa,10000032,40414267,PA,3056,2544\n" + // bad study
				"aa,10000032,50414267,PA,x,2544\n" + // bad rows
				"aa,10000032,50414267,PA,3056,-1\n" + // bad columns
				"aa,\"10000032,50414267,PA,3056,2544\n" + // bad quote, runs to EOF
				"",
			rowErrs: []string{"m.csv:2", "m.csv:3", "m.csv:4 dicom_id", "m.csv:5 subject_id", "m.csv:6 study_id",
				"m.csv:7 Rows", "m.csv:8 Columns", "m.csv:9"}},
		{name: "bad quote then good row", kind: "split", file: "s.csv",
			body: split + "a\"a,50414267,10000032,train\nbb,50414267,10000032,test\n", good: 1, rowErrs: []string{"s.csv:2"}},
		{name: "quoted fields", kind: "split", file: "s.csv",
			body: split + "\"aa\",\"50414267\",10000032,\"validate\"\n", good: 1},
		{name: "unknown split", kind: "split", file: "s.csv",
			body: split + "aa,50414267,10000032,dev\naa,50414267,10000032,\n", rowErrs: []string{"s.csv:2 split", "s.csv:3 split"}},
		{name: "labels ok", kind: "labels", file: "l.csv.gz",
			body: gz(labelHeader + "10000032,50414267,1.0,0.0,-1.0" + blank[2:] + "\n10000032,50414268" + blank + ",\n"), good: 2},
		{name: "label values", kind: "labels", file: "l.csv",
			body: labelHeader + "10000032,50414267,2.0" + blank + "\n" + "10000032,50414267,,yes" + blank[1:] + "\n" +
				"10000032,50414267" + blank + ",nan\n" + "10000032,50414267,1,0,-1,1.00" + blank[3:] + "\n",
			good: 1, rowErrs: []string{"l.csv:2 Atelectasis", "l.csv:3 Cardiomegaly", "l.csv:4 Support Devices"}},
		{name: "blank lines skipped, line numbers kept", kind: "labels", file: "l.csv",
			body: labelHeader + "\n\n10000032,5041426x" + blank + ",\n", rowErrs: []string{"l.csv:4 study_id"}},
		{name: "missing column", kind: "labels", file: "l.csv", body: "subject_id,study_id,Atelectasis\n", fatal: `missing column(s) "Cardiomegaly"`},
		{name: "duplicate column", kind: "split", file: "s.csv", body: "dicom_id,dicom_id,study_id,subject_id,split\n", fatal: "appears twice"},
		{name: "empty file", kind: "split", file: "s.csv", body: "", fatal: "empty file"},
		{name: "corrupt gzip", kind: "split", file: "s.csv.gz", body: gz(split + "aa,50414267,10000032,train\n")[:30], fatal: "s.csv.gz"},
		{name: "gzip without its trailer names the last line read", kind: "split", file: "s.csv.gz",
			body: func() string {
				b := gz(split + "aa,50414267,10000032,train\nbb,50414267,10000032,test\n")
				return b[:len(b)-8]
			}(), fatal: "s.csv.gz: after line 3: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good, rowErrs, err := readAll(tc.kind, tc.file, tc.body)
			if tc.fatal != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fatal) {
					t.Fatalf("err = %v, want one containing %q", err, tc.fatal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if good != tc.good || strings.Join(rowErrs, "|") != strings.Join(tc.rowErrs, "|") {
				t.Errorf("good %d, row errors %q; want %d, %q", good, rowErrs, tc.good, tc.rowErrs)
			}
		})
	}
}

func TestRowErrorMessage(t *testing.T) {
	r, err := NewLabelReader("mimic-cxr-2.0.0-chexpert.csv", strings.NewReader(labelHeader+"10000032,50414267,,,,,,,,,,,,,,yes\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	want := `mimic-cxr-2.0.0-chexpert.csv:2: column "Support Devices": unknown label value "yes" (want 1.0, 0.0, -1.0 or empty)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestParseLabel(t *testing.T) {
	for in, want := range map[string]Label{"": Blank, "1.0": Positive, "1": Positive, "1.00": Positive,
		"0.0": Negative, "0": Negative, "-0.0": Negative, "-1.0": Uncertain, "-1": Uncertain} {
		if got, err := ParseLabel(in); err != nil || got != want {
			t.Errorf("ParseLabel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2.0", "yes", "nan", "1.5", "-1.01", "1.", "+1.0", " 1.0"} {
		if _, err := ParseLabel(in); err == nil {
			t.Errorf("ParseLabel(%q) succeeded", in)
		}
	}
}

func TestPolicy(t *testing.T) {
	raw := [NumLabels]Label{Positive, Negative, Uncertain, Blank, Uncertain}
	for _, tc := range []struct {
		name      string
		uncertain any
		blank     string
		vals      [5]float32
		mask      [5]uint8
		err       string
	}{
		{name: "default", vals: [5]float32{1, 0, 0, 0, 0}, mask: [5]uint8{1, 1, 1, 1, 1}},
		{name: "ones", uncertain: "ones", vals: [5]float32{1, 0, 1, 0, 1}, mask: [5]uint8{1, 1, 1, 1, 1}},
		{name: "zeros", uncertain: "zeros", blank: "zeros", vals: [5]float32{1, 0, 0, 0, 0}, mask: [5]uint8{1, 1, 1, 1, 1}},
		{name: "ignore both", uncertain: "ignore", blank: "ignore", vals: [5]float32{1, 0, 0, 0, 0}, mask: [5]uint8{1, 1, 0, 0, 0}},
		{name: "per label", uncertain: map[string]any{"default": "ignore", "Consolidation": "ones"},
			vals: [5]float32{1, 0, 1, 0, 0}, mask: [5]uint8{1, 1, 1, 1, 0}},
		{name: "per label no default", uncertain: map[string]any{"Edema": "ignore"},
			vals: [5]float32{1, 0, 0, 0, 0}, mask: [5]uint8{1, 1, 1, 1, 1}},
		{name: "bad treatment", uncertain: "maybe", err: "unknown label treatment"},
		{name: "bad label", uncertain: map[string]any{"Edemas": "ones"}, err: `unknown label "Edemas"`},
		{name: "bad map value", uncertain: map[string]any{"Edema": 1}, err: "uncertain.Edema"},
		{name: "blank ones", blank: "ones", err: "not allowed"},
		{name: "bad type", uncertain: 3, err: "want a string or a map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(tc.uncertain, tc.blank)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vals, mask := p.Apply(&raw)
			if [5]float32(vals[:5]) != tc.vals || [5]uint8(mask[:5]) != tc.mask {
				t.Errorf("got %v %v, want %v %v", vals[:5], mask[:5], tc.vals, tc.mask)
			}
			// Labels 5.. are blank.
			for i := 5; i < NumLabels; i++ {
				if vals[i] != 0 || mask[i] != mask[3] {
					t.Errorf("label %d: %v %v, want like label 3", i, vals[i], mask[i])
				}
			}
		})
	}
}
