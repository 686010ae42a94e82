package train

import (
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
)

// TestBlockFilesUnlinked watches this process's open files while the
// chain trains: every trainer's block file must be open only as an
// unlinked file ("(deleted)"), so that a kill -9, which runs no cleanup,
// leaves nothing in the spill dir (the kernel frees unlinked files when
// their last descriptor closes). A file is created, then unlinked at
// once, before anything is written: the poller may see it linked in that
// instant (on a loaded machine), so a file fails the check when it is
// still linked 100 ms after it was first seen.
func TestBlockFilesUnlinked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	done := make(chan error, 1)
	go func() {
		_, err := pipelinetest.Run(t, newRegistry(t, true), pipeline.PlanOptions{Logger: slog.New(slog.DiscardHandler)}, chain("margin")...)
		done <- err
	}()
	seen := map[string]bool{}
	linked := map[string]time.Time{} // first seen linked
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) == 0 {
				t.Fatal("no block file was ever seen open: the check watched nothing")
			}
			t.Logf("%d block files seen open, all unlinked", len(seen))
			return
		default:
		}
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, err := os.Readlink("/proc/self/fd/" + e.Name())
			if err != nil || !strings.Contains(l, "medflow-train-") {
				continue
			}
			if !strings.HasSuffix(l, " (deleted)") {
				if first, ok := linked[l]; !ok {
					linked[l] = time.Now()
				} else if time.Since(first) > 100*time.Millisecond {
					t.Fatalf("block file %s is linked while in use: a kill -9 would leave it behind", l)
				}
			}
			seen[strings.TrimSuffix(l, " (deleted)")] = true
		}
		time.Sleep(time.Millisecond)
	}
}
