package mimic

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzCSV feeds arbitrary bytes to the three table readers and to Build.
// Readers must never panic, must report malformed rows as *RowError with a
// real line number and go on, and must end with io.EOF or a fatal error.
func FuzzCSV(f *testing.F) {
	blank := strings.Repeat(",", 13)
	f.Add(uint8(0), []byte("dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\naa,10000032,50414267,PA,3056,2544\nbb,1,2\n"))
	f.Add(uint8(1), []byte("dicom_id,study_id,subject_id,split\naa,50414267,10000032,train\n\"a,\"b\n"))
	f.Add(uint8(2), []byte(labelHeader+"10000032,50414267,1.0,-1.0"+blank[1:]+"\n10000032,50414267,yes"+blank+"\n"))
	f.Add(uint8(2), []byte(gz("\ufeff"+labelHeader+"10000032,50414267"+blank+",\n")))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var next func() error
		var err error
		name := "t.csv"
		switch kind % 3 {
		case 0:
			var r *MetadataReader
			if r, err = NewMetadataReader(name, bytes.NewReader(body)); err == nil {
				defer r.Close()
				next = func() error {
					row, err := r.Next()
					if err == nil && (ValidDicomID(row.DicomID) != nil || !ValidSubjectID(row.SubjectID) || !ValidStudyID(row.StudyID) || row.Rows <= 0) {
						t.Fatalf("bad row accepted: %+v", row)
					}
					return err
				}
			}
		case 1:
			var r *SplitReader
			if r, err = NewSplitReader(name, bytes.NewReader(body)); err == nil {
				defer r.Close()
				next = func() error {
					row, err := r.Next()
					if err == nil && row.Split != Train && row.Split != Validate && row.Split != Test {
						t.Fatalf("bad split accepted: %+v", row)
					}
					return err
				}
			}
		default:
			var r *LabelReader
			if r, err = NewLabelReader(name, bytes.NewReader(body)); err == nil {
				defer r.Close()
				next = func() error {
					row, err := r.Next()
					for _, l := range row.Labels {
						if err == nil && (l < Blank || l > Uncertain) {
							t.Fatalf("bad label accepted: %+v", row)
						}
					}
					return err
				}
			}
		}
		if err != nil {
			return // header-level failure is allowed
		}
		for n := 0; ; n++ {
			if n > len(body)+1 {
				t.Fatalf("more records (%d) than bytes (%d)", n, len(body))
			}
			err := next()
			if err == io.EOF {
				break
			}
			var re *RowError
			if errors.As(err, &re) {
				if re.File != name || re.Line < 2 || !strings.HasPrefix(re.Error(), re.Key()+": ") {
					t.Fatalf("bad row error %#v: %v", re, re)
				}
				continue
			}
			if err != nil {
				break // fatal
			}
		}
		// The same bytes as every table of a Build.
		_, _ = Build(Tables{Metadata: Input{"m", bytes.NewReader(body)}, Split: Input{"s", bytes.NewReader(body)},
			Labels: Input{"l", bytes.NewReader(body)}}, Options{Views: []string{"all"}})
	})
}
