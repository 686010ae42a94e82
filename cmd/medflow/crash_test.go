package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/local"
)

// TestMain lets the crash test run this test binary as the medflow CLI.
func TestMain(m *testing.M) {
	if os.Getenv("MEDFLOW_AS_CLI") == "1" {
		os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const crashConfig = `
settings: {work: DIR/work, log: {level: warn}}
variants:
  job:
    stages:
      - {name: gen, kind: gen.rows, params: {rows: 400000, batch_rows: 4000, groups: 7}}
      - {name: scale, kind: col.scale, inputs: [gen], materialize: true, params: {column: value, factor: 3, output: v3}}
      - {name: keep, kind: filter.range, inputs: [scale], materialize: true, params: {column: v3, min: 30, max: 240}}
      - {name: out, kind: files.write, inputs: [keep], params: {uri: DIR/out, rows_per_part: 50000}}
      - {name: stats, kind: agg.group_stats, inputs: [keep], params: {key: group, value: v3}}
      - {name: stats-out, kind: files.write, inputs: [stats], params: {uri: DIR/stats, format: arrow}}
`

// startCLI starts this test binary as the CLI with args in a process of
// its own; done gets its exit, out its stdout and stderr.
func startCLI(t testing.TB, args ...string) (cmd *exec.Cmd, out *strings.Builder, done chan error) {
	t.Helper()
	cmd = exec.Command(os.Args[0], testArgs(args)...)
	cmd.Env = append(os.Environ(), "MEDFLOW_AS_CLI=1")
	out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, out, done
}

// runProcess runs the CLI with args (startCLI); with kill > 0 it SIGKILLs
// the process after that long unless it finished first, and reports
// whether it did. A run that fails fails t.
func runProcess(t *testing.T, args []string, kill time.Duration) (killed bool) {
	t.Helper()
	cmd, out, done := startCLI(t, args...)
	if kill > 0 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run failed before the kill: %v\n%s", err, out.String())
			}
			return false
		case <-time.After(kill):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return true
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	return false
}

// TestKillAndRerun SIGKILLs the CLI at random points of a run with
// materialized stages (which resume per input batch), ten times, then lets
// a rerun finish: the outputs must equal those of an uninterrupted run, row
// for row, with no extra visible part.
func TestKillAndRerun(t *testing.T) {
	run := func(dir string, kill time.Duration) (killed bool) {
		t.Helper()
		return runProcess(t, []string{"run", "job", "--config", filepath.Join(dir, "pipelines.yaml"), "--no-progress"}, kill)
	}
	clean := t.TempDir()
	writeConfig(t, clean, crashConfig)
	start := time.Now()
	run(clean, 0)
	full := time.Since(start)

	same := func(dir string) {
		t.Helper()
		for _, prefix := range []string{"out", "stats"} {
			a, err := local.New(clean)
			if err != nil {
				t.Fatal(err)
			}
			b, err := local.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			if da, db := datasetDigest(t, a, prefix), datasetDigest(t, b, prefix); da != db {
				t.Errorf("%s differs after kills and a rerun", prefix)
			}
			if ra, rb := countRows(t, a, prefix), countRows(t, b, prefix); ra != rb || ra == 0 {
				t.Errorf("%s: %d rows after kills, %d clean", prefix, rb, ra)
			}
		}
	}
	// Kills land in the first fifth of a clean run's time; each rerun
	// resumes from what the killed runs committed, so a run may finish
	// before its kill: its output is checked and a fresh scenario starts,
	// until ten runs have been killed.
	rng := rand.New(rand.NewPCG(1, 2))
	kills, scenarios := 0, 1
	crashed := t.TempDir()
	writeConfig(t, crashed, crashConfig)
	for attempt := 0; kills < 10 && attempt < 60; attempt++ {
		if run(crashed, time.Duration(rng.Int64N(int64(full/5)))+10*time.Millisecond) {
			kills++
			continue
		}
		same(crashed)
		crashed = t.TempDir()
		writeConfig(t, crashed, crashConfig)
		scenarios++
	}
	if kills < 10 {
		t.Fatalf("only %d runs were killed (a clean run takes %v)", kills, full)
	}
	run(crashed, 0)
	same(crashed)
	t.Logf("%d kills over %d scenarios; a clean run takes %v", kills, scenarios, full)
}
