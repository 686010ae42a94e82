package memwatch

import (
	"testing"

	"github.com/medflow/medflow/pipeline"
)

func TestSampleAttributesToRunningStages(t *testing.T) {
	if RSS() <= 0 {
		t.Fatal("RSS() = 0: /proc/self/statm unreadable")
	}
	var w Watcher
	w.Sample([]pipeline.StageStats{{Stage: "a", State: pipeline.Running}, {Stage: "b", State: pipeline.Pending}})
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	w.Sample([]pipeline.StageStats{{Stage: "a", State: pipeline.Done}, {Stage: "b", State: pipeline.Running}})
	p := w.Peaks()
	if _, ok := p["c"]; ok || len(p) != 2 {
		t.Fatalf("peaks %v: want exactly a and b", p)
	}
	if p["b"] < p["a"]+32<<20 {
		t.Errorf("b's peak %d should include the 64 MiB touched after a finished (a: %d)", p["b"], p["a"])
	}
	// The kernel updates its high-water mark lazily, so allow a little lag.
	if PeakRSS() < p["b"]*9/10 {
		t.Errorf("PeakRSS %d well below a sampled RSS %d", PeakRSS(), p["b"])
	}
	_ = ballast[len(ballast)-1]
}
