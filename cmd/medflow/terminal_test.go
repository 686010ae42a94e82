package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/internal/progress"
)

// terminalConfig logs while the live frame is up: each files.write commits
// a dataset ("dataset committed"), and gen.rows is slow enough for several
// frames.
const terminalConfig = `
settings: {work: DIR/work, log: {level: info}}
variants:
  job:
    stages:
      - {name: gen, kind: gen.rows, params: {rows: 600000, batch_rows: 2000, groups: 5}}
      - {name: scale, kind: col.scale, inputs: [gen], params: {column: value, factor: 3, output: v3}}
      - {name: out, kind: files.write, inputs: [scale], params: {uri: DIR/out, rows_per_part: 100000}}
      - {name: stats, kind: agg.group_stats, inputs: [scale], params: {key: group, value: v3}}
      - {name: stats-out, kind: files.write, inputs: [stats], params: {uri: DIR/stats, format: arrow}}
`

// TestRunInTerminalKeepsLogLines runs the CLI in a real pseudo-terminal
// (util-linux script) with the live progress display, replays what the
// terminal shows, and checks that every log line survives: none is
// overwritten by a progress frame.
func TestRunInTerminalKeepsLogLines(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatal("script (util-linux) is needed to run the CLI in a pseudo-terminal")
	}
	dir := t.TempDir()
	cfg := writeConfig(t, dir, terminalConfig)
	cmd := exec.Command(scriptBin, "-q", "-e", "-c",
		shellQuote(os.Args[0])+" run job --config "+shellQuote(cfg), "/dev/null")
	cmd.Env = append(os.Environ(), "MEDFLOW_AS_CLI=1", "COLUMNS=120", "LINES=40")
	start := time.Now()
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("run in a terminal: %v\n%s", err, raw)
	}
	screen := progress.Screen(string(raw))
	if !strings.Contains(string(raw), "\x1b[") {
		t.Fatalf("no live frame was drawn (not a terminal?):\n%s", screen)
	}
	for _, want := range []string{"run started", `msg="dataset committed" stage=out`, `msg="dataset committed" stage=stats-out`, "run finished"} {
		if n := strings.Count(screen, want); n != 1 {
			t.Errorf("screen shows %q %d times, want once (after %v):\n%s", want, n, time.Since(start), screen)
		}
	}
	// The last frame stays, below the log lines and above the summary.
	frame := strings.Index(screen, "gen ")
	if frame < 0 || frame < strings.Index(screen, "dataset committed") || frame > strings.Index(screen, "STAGE") {
		t.Errorf("last frame missing or misplaced:\n%s", screen)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestJSONLogsOnlyJSON: with --log-format json every line on stderr is a
// JSON record, the summary and the final error included, and durations
// are numbers of seconds.
func TestJSONLogsOnlyJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, terminalConfig)
	check := func(args ...string) []map[string]any {
		t.Helper()
		_, _, errs := medflow(t, append(args, "--config", cfg, "--log-format", "json")...)
		var recs []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("stderr line is not JSON: %q\n%s", l, errs)
			}
			recs = append(recs, r)
		}
		return recs
	}
	var summaries int
	for _, r := range check("run", "job") {
		if r["msg"] == "stage summary" {
			summaries++
			if _, ok := r["elapsed"].(float64); !ok {
				t.Errorf("elapsed is %T %v, want seconds as a number", r["elapsed"], r["elapsed"])
			}
		}
	}
	if summaries != 5 {
		t.Errorf("%d stage summary records, want 5", summaries)
	}
	recs := check("run", "nosuch")
	last := recs[len(recs)-1]
	if last["level"] != "ERROR" || !strings.Contains(last["err"].(string), "unknown variant") {
		t.Errorf("final error record = %v", last)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "_manifest.json")); err != nil {
		t.Errorf("the JSON run did not commit its output: %v", err)
	}
}
