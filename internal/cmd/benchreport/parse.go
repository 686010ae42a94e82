package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Results holds every benchmark result of one `make bench` run: per
// benchmark name (GOMAXPROCS suffix removed) and metric unit, the values
// of all its runs (-count), plus the benchmarks and make steps that were
// skipped or failed.
type Results struct {
	Names    []string                        // first-seen order
	Metrics  map[string]map[string][]float64 // name -> unit -> one value per run
	Problems []Problem
	// Hosts names the machine of benchmarks read from a file that has a
	// "machine: ..." line (bench/gpu/results/*.txt: the GPU host), by
	// benchmark name; other benchmarks ran where `make bench` ran.
	Hosts    map[string]string
	hostFile map[string]string // the file a host's benchmark was last read from
}

// Problem is a benchmark that was skipped or failed, or a make step that
// exited non-zero, with the first line of its reason.
type Problem struct {
	Name   string // benchmark name, or "step <name>"
	Status string // SKIP or FAIL
	Reason string
}

// NewResults returns an empty Results.
func NewResults() *Results {
	return &Results{Metrics: map[string]map[string][]float64{}, Hosts: map[string]string{}, hostFile: map[string]string{}}
}

var (
	benchLineRE = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+(.*)$`)
	procsRE     = regexp.MustCompile(`-(\d+)$`)
	statusRE    = regexp.MustCompile(`^\s*--- (SKIP|FAIL): (\S+)`)
	// BENCHSTEP FAIL <name> exit <n>: written by mk/bench.mk when a step fails.
	stepRE = regexp.MustCompile(`^BENCHSTEP (FAIL) (\S+) (.*)$`)
	// machine: <text> names the host of the file's benchmarks.
	hostRE = regexp.MustCompile(`^machine:\s*(.+)$`)
	// tokbench (tokenizer/cmd/tokbench) prints medians, not go test lines.
	tokDocsRE = regexp.MustCompile(`^documents: \d+ \((\w+)\)`)
	tokLineRE = regexp.MustCompile(`^(medflow nocache|medflow|libsentencepiece)\s+\d+ tokens/run\s+median\s+([\d.]+) M tokens/s wall,\s+([\d.]+) M tokens/s cpu`)
)

type rawLine struct {
	name, metrics string
}

// Read adds the results in one file of `go test -bench` (and tokbench)
// output. The -N GOMAXPROCS suffix is removed from a block of lines (one
// `go test` package run, delimited by its "pkg:" header) only when every
// benchmark line of that block ends in the same -N: a benchmark run with
// -cpu 1 has no suffix, and its own names may end in digits.
func (r *Results) Read(src io.Reader, file string) error {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var block []rawLine
	host := ""
	flush := func() {
		strip := ""
		for i, l := range block {
			m := procsRE.FindString(l.name)
			if i == 0 {
				strip = m
			}
			if m == "" || m != strip {
				strip = ""
				break
			}
		}
		for _, l := range block {
			name := strings.TrimSuffix(l.name, strip)
			if host != "" {
				// A host's newer results file supersedes its older ones
				// (files are given oldest first): runs of different code
				// are not pooled into one median.
				if f, seen := r.hostFile[name]; seen && f != file {
					delete(r.Metrics, name)
					r.Names = slices.DeleteFunc(r.Names, func(n string) bool { return n == name })
				}
				r.hostFile[name] = file
				r.Hosts[name] = host
			}
			r.add(name, l.metrics)
		}
		block = block[:0]
	}
	tokKind := ""
	var pending *Problem // a SKIP/FAIL whose reason is the next indented line
	for sc.Scan() {
		line := sc.Text()
		if pending != nil {
			if strings.HasPrefix(line, "    ") && pending.Reason == "" {
				pending.Reason = strings.TrimSpace(line)
				continue
			}
			pending = nil
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "pkg:"):
			flush()
		case hostRE.MatchString(trimmed):
			flush()
			host = hostRE.FindStringSubmatch(trimmed)[1]
		case benchLineRE.MatchString(trimmed):
			m := benchLineRE.FindStringSubmatch(trimmed)
			block = append(block, rawLine{m[1], m[2]})
		case statusRE.MatchString(line):
			m := statusRE.FindStringSubmatch(line)
			r.Problems = append(r.Problems, Problem{Name: procsRE.ReplaceAllString(m[2], ""), Status: m[1]})
			pending = &r.Problems[len(r.Problems)-1]
		case stepRE.MatchString(trimmed):
			m := stepRE.FindStringSubmatch(trimmed)
			r.Problems = append(r.Problems, Problem{Name: "step " + m[2], Status: m[1], Reason: m[3]})
		case tokDocsRE.MatchString(trimmed):
			tokKind = tokDocsRE.FindStringSubmatch(trimmed)[1]
		case tokLineRE.MatchString(trimmed):
			if tokKind == "" {
				return fmt.Errorf("%s: %w: tokbench line before its \"documents:\" header: %q", file, ErrInput, trimmed)
			}
			m := tokLineRE.FindStringSubmatch(trimmed)
			impl := strings.ReplaceAll(m[1], " ", "-")
			wall, err1 := strconv.ParseFloat(m[2], 64)
			cpu, err2 := strconv.ParseFloat(m[3], 64)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("%s: %w: bad tokbench line %q", file, ErrInput, trimmed)
			}
			r.add("Tokbench/kind="+tokKind+"/"+impl, fmt.Sprintf("%g tokens/s %g cpu-tokens/s", wall*1e6, cpu*1e6))
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// add records the "value unit value unit ..." pairs of one result line.
func (r *Results) add(name, metrics string) {
	if r.Metrics[name] == nil {
		r.Metrics[name] = map[string][]float64{}
		r.Names = append(r.Names, name)
	}
	f := strings.Fields(metrics)
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		r.Metrics[name][f[i+1]] = append(r.Metrics[name][f[i+1]], v)
	}
}
