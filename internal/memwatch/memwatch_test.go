package memwatch

import (
	"testing"

	"github.com/medflow/medflow/pipeline"
)

// touch allocates and writes n bytes so they count in the RSS.
func touch(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 1
	}
	return b
}

func TestSample(t *testing.T) {
	if RSS() <= 0 {
		t.Fatal("RSS() = 0: /proc/self/statm unreadable")
	}
	var w Watcher
	// a ran and ended before the first sample: charged once, now.
	w.Sample([]pipeline.StageStats{{Stage: "a", State: pipeline.Done}, {Stage: "b", State: pipeline.Running},
		{Stage: "p", State: pipeline.Pending}, {Stage: "r", State: pipeline.Reused}})
	ballast := touch(64 << 20)
	w.Sample([]pipeline.StageStats{{Stage: "a", State: pipeline.Done}, {Stage: "b", State: pipeline.Running},
		{Stage: "p", State: pipeline.Pending}, {Stage: "r", State: pipeline.Reused}, {Stage: "c", State: pipeline.Failed}})
	p := w.Peaks()
	for _, absent := range []string{"p", "r"} {
		if _, ok := p[absent]; ok {
			t.Errorf("%s has a peak: it never ran", absent)
		}
	}
	if len(p) != 3 {
		t.Fatalf("peaks %v: want a, b and c", p)
	}
	if p["b"] < p["a"]+32<<20 {
		t.Errorf("b's peak %d should include the 64 MiB touched after a ended (a: %d)", p["b"], p["a"])
	}
	if p["c"] != p["b"] {
		t.Errorf("c, which ended between the samples, got %d, want the second sample %d", p["c"], p["b"])
	}
	// The kernel updates its high-water mark lazily, so allow a little lag.
	if PeakRSS() < p["b"]*9/10 {
		t.Errorf("PeakRSS %d well below a sampled RSS %d", PeakRSS(), p["b"])
	}
	_ = ballast[len(ballast)-1]
}
