package mimic

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrInvalidID is wrapped by every id validation failure.
var ErrInvalidID = errors.New("invalid id")

// ParseSubjectID parses a MIMIC-CXR subject id: 8 decimal digits, the first
// being 1 (10000032).
func ParseSubjectID(s string) (int64, error) { return parseID("subject_id", s, '1') }

// ParseStudyID parses a MIMIC-CXR study id: 8 decimal digits, the first
// being 5 (50414267).
func ParseStudyID(s string) (int64, error) { return parseID("study_id", s, '5') }

func parseID(what, s string, first byte) (int64, error) {
	if len(s) != 8 || s[0] != first {
		return 0, fmt.Errorf("%w: %s %q: want 8 digits starting with %c", ErrInvalidID, what, s, first)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %s %q: want 8 digits starting with %c", ErrInvalidID, what, s, first)
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, nil
}

// ValidSubjectID reports whether id is a well-formed subject id.
func ValidSubjectID(id int64) bool { return id >= 10000000 && id <= 19999999 }

// ValidStudyID reports whether id is a well-formed study id.
func ValidStudyID(id int64) bool { return id >= 50000000 && id <= 59999999 }

// ValidDicomID checks a dicom_id. MIMIC-CXR's are five groups of eight
// lower-case hex digits joined by '-'; this accepts 1 to 64 characters of
// lower-case hex digits and single '-' separators (no leading, trailing or
// doubled '-'), which is what makes the id safe as a file name.
func ValidDicomID(s string) error {
	bad := func(why string) error { return fmt.Errorf("%w: dicom_id %q: %s", ErrInvalidID, s, why) }
	if s == "" {
		return bad("empty")
	}
	if len(s) > 64 {
		return bad("longer than 64 characters")
	}
	prev := byte('-')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !dicomByte[c] {
			return bad("want lower-case hex digits and '-'")
		}
		if c == '-' && prev == '-' {
			return bad("misplaced '-'")
		}
		prev = c
	}
	if prev == '-' {
		return bad("misplaced '-'")
	}
	return nil
}

var dicomByte = func() (t [256]bool) {
	for _, c := range "0123456789abcdef-" {
		t[c] = true
	}
	return t
}()

// SubjectDir is the folder of a subject relative to the MIMIC-CXR root:
// files/p10/p10000032 (the group folder is the first three characters of
// the subject folder).
func SubjectDir(subject int64) string {
	p := "p" + strconv.FormatInt(subject, 10)
	return "files/" + p[:3] + "/" + p
}

// StudyDir is the folder holding a study's images:
// files/p10/p10000032/s50414267.
func StudyDir(subject, study int64) string {
	return SubjectDir(subject) + "/s" + strconv.FormatInt(study, 10)
}

// ImageKey is the key of an image relative to the MIMIC-CXR-JPG root:
// files/p10/p10000032/s50414267/<dicom>.jpg.
func ImageKey(subject, study int64, dicom string) string {
	return StudyDir(subject, study) + "/" + dicom + ".jpg"
}

// ReportKey is the key of a study's free-text report relative to the root:
// files/p10/p10000032/s50414267.txt.
func ReportKey(subject, study int64) string {
	return StudyDir(subject, study) + ".txt"
}

// The MIMIC-CXR tables under the dataset root, as PhysioNet ships them
// (usually gzipped: name+".gz").
const (
	MetadataTable = "mimic-cxr-2.0.0-metadata.csv"
	SplitTable    = "mimic-cxr-2.0.0-split.csv"
	ChexpertTable = "mimic-cxr-2.0.0-chexpert.csv"
	NegbioTable   = "mimic-cxr-2.0.0-negbio.csv"
)
