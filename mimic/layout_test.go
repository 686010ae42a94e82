package mimic

import (
	"errors"
	"testing"
)

func TestIDs(t *testing.T) {
	for _, tc := range []struct {
		in      string
		subject bool // parse as subject (else study)
		want    int64
		ok      bool
	}{
		{"10000032", true, 10000032, true},
		{"19999999", true, 19999999, true},
		{"20000032", true, 0, false},
		{"1000003", true, 0, false},
		{"100000320", true, 0, false},
		{"1000003x", true, 0, false},
		{" 10000032", true, 0, false},
		{"", true, 0, false},
		{"50414267", false, 50414267, true},
		{"40414267", false, 0, false},
		{"5041426.", false, 0, false},
		{"-5041426", false, 0, false},
	} {
		parse := ParseStudyID
		if tc.subject {
			parse = ParseSubjectID
		}
		got, err := parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parse(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidID) {
			t.Errorf("parse(%q): error %v does not wrap ErrInvalidID", tc.in, err)
		}
	}
	if !ValidSubjectID(10000032) || ValidSubjectID(50414267) || !ValidStudyID(50414267) || ValidStudyID(10000032) {
		t.Error("Valid*ID wrong")
	}
}

func TestDicomID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", true},
		{"deadbeef", true},
		{"", false},
		{"02AA804E-bde0afdd", false},
		{"-02aa804e", false},
		{"02aa804e-", false},
		{"02aa--804e", false},
		{"../etc/passwd", false},
		{"02aa804e.jpg", false},
		{string(make([]byte, 65)), false},
	} {
		if err := ValidDicomID(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidDicomID(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		subject, study int64
		dicom          string
		image, report  string
	}{
		{10000032, 50414267, "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014",
			"files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg",
			"files/p10/p10000032/s50414267.txt"},
		{19999999, 59999999, "ab", "files/p19/p19999999/s59999999/ab.jpg", "files/p19/p19999999/s59999999.txt"},
	} {
		if got := ImageKey(tc.subject, tc.study, tc.dicom); got != tc.image {
			t.Errorf("ImageKey = %s, want %s", got, tc.image)
		}
		if got := ReportKey(tc.subject, tc.study); got != tc.report {
			t.Errorf("ReportKey = %s, want %s", got, tc.report)
		}
	}
}

func TestStudyShard(t *testing.T) {
	counts := make([]int, 7)
	for s := int64(50000000); s < 50070000; s++ {
		k := StudyShard(s, 7)
		if k != StudyShard(s, 7) || k < 0 || k >= 7 {
			t.Fatalf("StudyShard(%d, 7) = %d", s, k)
		}
		counts[k]++
	}
	for i, c := range counts {
		if c < 9000 || c > 11000 {
			t.Errorf("shard %d has %d of 70000 studies: unbalanced", i, c)
		}
	}
	if StudyShard(50000000, 1) != 0 || StudyShard(50000000, 0) != 0 {
		t.Error("n <= 1 must give shard 0")
	}
}
