package profiling

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var sink [][]byte

// TestStartStop: a run that grows its heap by 64 MiB leaves cpu.pprof,
// heap-peak.pprof (taken at least at the RSS it reached) and
// heap-end.pprof, each a gzipped profile, and no temporary files.
func TestStartStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "prof")
	p, err := Start(dir, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for range 64 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		sink = append(sink, b)
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	sink = nil
	runtime.GC()
	for _, name := range []string{"cpu.pprof", "heap-peak.pprof", "heap-end.pprof"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s is not a gzipped profile (%d bytes)", name, len(b))
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "heap-peak.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.RSS < 64<<20 || st.HeapAlloc < 32<<20 {
		t.Errorf("heap-peak.json: rss %d, heap_alloc %d; want the peak after 64 MiB were allocated", st.RSS, st.HeapAlloc)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestStartBadDir: a dir that cannot be created is an error naming it.
func TestStartBadDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := Start(filepath.Join(f, "prof"), time.Second); err == nil {
		p.Stop()
		t.Fatal("Start under a file succeeded")
	} else if !bytes.Contains([]byte(err.Error()), []byte(f)) {
		t.Errorf("error %q does not name %s", err, f)
	}
}
