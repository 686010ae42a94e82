package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	out := fs.String("o", "", "write the BENCHMARKS.md table to this file (default: print per-benchmark medians and ratios)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res := NewResults()
	if fs.NArg() == 0 {
		if err := res.Read(stdin, "stdin"); err != nil {
			return err
		}
	}
	for _, p := range fs.Args() {
		if err := readFile(res, p); err != nil {
			return err
		}
	}
	if *out == "" {
		report(stdout, res)
		return nil
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	lines := Evaluate(Rows, res)
	if err := Render(f, ThisMachine(time.Now()), lines, res); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	measured := 0
	for _, l := range lines {
		if l.Medflow.OK {
			measured++
		}
	}
	fmt.Fprintf(stdout, "benchreport: wrote %s: %d of %d rows measured\n", *out, measured, len(Rows))
	return nil
}

func readFile(res *Results, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read bench output: %w", err)
	}
	defer f.Close()
	return res.Read(f, path)
}

// ThisMachine describes the machine the generator runs on (the one
// `make bench` ran on): runtime.NumCPU, /proc/cpuinfo's model name,
// /proc/meminfo's MemTotal.
func ThisMachine(now time.Time) Machine {
	m := Machine{Cores: runtime.NumCPU(), CPU: "unknown CPU", GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Date: now.UTC().Format("2006-01-02 15:04 UTC")}
	if v, err := procField("/proc/cpuinfo", "model name"); err == nil {
		m.CPU = v
	}
	if v, err := procField("/proc/meminfo", "MemTotal"); err == nil {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.MemGiB = kb / (1 << 20)
		}
	}
	return m
}

var errNoField = errors.New("field not found")

// procField returns the value of the first "key : value" line of a /proc file.
func procField(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return "", fmt.Errorf("%s: %q: %w", path, key, errNoField)
}
