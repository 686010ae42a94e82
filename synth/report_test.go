package synth

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/medflow/medflow/mimic"
)

var headerRE = regexp.MustCompile(`\n ([A-Z ()/,-]+):\s`)

func TestReportLayoutAndConsistency(t *testing.T) {
	s := NewSampler(CheXpertPrevalence)
	rng := rand.New(rand.NewPCG(5, 5))
	sawMissing := map[string]bool{}
	for n := range 2000 {
		labels := s.Sample(rng)
		r := Report(rng, labels, "PA")
		if !strings.HasPrefix(r, "                                 FINAL REPORT\n") {
			t.Fatalf("report %d lacks the header:\n%s", n, r)
		}
		for i, line := range strings.Split(r, "\n") {
			if len(line) > 79 {
				t.Fatalf("report %d line %d has %d chars: %q", n, i, len(line), line)
			}
		}
		names := map[string]bool{}
		for _, m := range headerRE.FindAllStringSubmatch(r, -1) {
			names[m[1]] = true
		}
		for _, want := range []string{"EXAMINATION", "INDICATION", "TECHNIQUE", "COMPARISON"} {
			if !names[want] {
				t.Fatalf("report %d lacks %s:\n%s", n, want, r)
			}
		}
		for _, sec := range []string{"FINDINGS", "IMPRESSION"} {
			if !names[sec] {
				sawMissing[sec] = true
			}
		}
		flat := strings.Join(strings.Fields(r), " ")
		for i, v := range labels {
			if i == NoFinding {
				continue
			}
			mentioned := false
			for _, p := range phrases[i][0] {
				mentioned = mentioned || strings.Contains(flat, p)
			}
			if v == Positive && !mentioned {
				t.Fatalf("report %d does not state positive %s:\n%s", n, mimic.LabelNames[i], r)
			}
			if v != Positive && mentioned {
				t.Fatalf("report %d states %s, which is %v:\n%s", n, mimic.LabelNames[i], v, r)
			}
		}
	}
	if !sawMissing["FINDINGS"] || !sawMissing["IMPRESSION"] {
		t.Errorf("no report lacked a section: %v", sawMissing)
	}
}
