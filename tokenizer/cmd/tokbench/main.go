// Command tokbench compares single-threaded encoding throughput of the
// medflow tokenizer with libsentencepiece on the same documents, in the
// same run (`make tokenizer-bench`). Runs of the two alternate, so machine
// load affects both alike; throughput is reported per wall-clock second and
// per second of thread CPU time (robust on a busy machine).
//
//	go run ./tokenizer/cmd/tokbench -model tokenizer.model -spm-bench .cache/tokenizer/spm_bench
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/medflow/medflow/tokenizer"
	"github.com/medflow/medflow/tokenizer/internal/corpus"
)

type result struct {
	tokens    int64
	wall, cpu float64
}

func main() {
	model := flag.String("model", ".cache/tokenizer/llama2/tokenizer.model", "tokenizer.model")
	spmBench := flag.String("spm-bench", ".cache/tokenizer/spm_bench", "the compiled tokenizer/bench/spm_bench.cc ('' to skip)")
	nDocs := flag.Int("docs", 4000, "number of generated documents")
	runs := flag.Int("runs", 7, "timed runs per implementation (median reported)")
	kind := flag.String("kind", "reports", "document mix: reports, sentences (short documents) or mixed")
	flag.Parse()

	var k corpus.Kind
	switch *kind {
	case "reports":
		k = corpus.Reports
	case "sentences":
		k = corpus.Sentences
	case "mixed":
		k = corpus.Mixed
	default:
		check(fmt.Errorf("unknown -kind %q", *kind))
	}
	docs := corpus.Docs(42, *nDocs, k)
	dir, err := os.MkdirTemp("", "tokbench")
	check(err)
	defer os.RemoveAll(dir)
	docsFile := filepath.Join(dir, "docs.txt")
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	check(os.WriteFile(docsFile, []byte(strings.Join(docs, "\n")+"\n"), 0o644))

	tok, err := tokenizer.Load(*model)
	check(err)
	fmt.Printf("documents: %d (%s), %.2f MB, %d CPUs, %s/%s\n", len(docs), *kind, float64(size)/1e6, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	// medflow: one goroutine locked to its thread, a reused id buffer;
	// with and without the word cache.
	runtime.LockOSThread()
	var dst []int32
	run := func(tok *tokenizer.Tokenizer) result {
		var n int64
		c0 := threadCPU()
		t0 := time.Now()
		for _, d := range docs {
			dst = tok.EncodeAppend(dst[:0], d)
			n += int64(len(dst))
		}
		return result{n, time.Since(t0).Seconds(), threadCPU() - c0}
	}
	noCache := tok.WithOptions(tokenizer.Options{NoWordCache: true})
	goRun := func() result { return run(tok) }
	goRunNoCache := func() result { return run(noCache) }

	var spmRun func() result
	if *spmBench != "" {
		cmd := exec.Command(*spmBench, *model, docsFile)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		check(err)
		stdout, err := cmd.StdoutPipe()
		check(err)
		check(cmd.Start())
		defer func() { stdin.Close(); cmd.Wait() }()
		rd := bufio.NewReader(stdout)
		spmRun = func() result {
			_, err := io.WriteString(stdin, "run\n")
			check(err)
			line, err := rd.ReadString('\n')
			check(err)
			var r result
			_, err = fmt.Sscanf(line, "tokens %d wall %f cpu %f", &r.tokens, &r.wall, &r.cpu)
			check(err)
			return r
		}
	}

	var gos, gosNC, spms []result
	goRun() // warm-up
	goRunNoCache()
	if spmRun != nil {
		spmRun()
	}
	for r := 0; r < *runs; r++ {
		gos = append(gos, goRun())
		gosNC = append(gosNC, goRunNoCache())
		if spmRun != nil {
			spms = append(spms, spmRun())
		}
	}
	gw, gc := report("medflow", gos)
	nw, nc := report("medflow nocache", gosNC)
	if spmRun == nil {
		return
	}
	sw, scpu := report("libsentencepiece", spms)
	if gos[0].tokens != spms[0].tokens || gosNC[0].tokens != spms[0].tokens {
		fmt.Printf("WARNING: token counts differ (%d, %d vs %d)\n", gos[0].tokens, gosNC[0].tokens, spms[0].tokens)
	}
	fmt.Printf("ratio medflow/libsentencepiece: %.2fx (wall), %.2fx (cpu); without word cache: %.2fx (wall), %.2fx (cpu)\n",
		gw/sw, gc/scpu, nw/sw, nc/scpu)
}

// report prints and returns the median tokens/s by wall and CPU time.
func report(name string, rs []result) (float64, float64) {
	var w, c []float64
	for _, r := range rs {
		w = append(w, float64(r.tokens)/r.wall)
		c = append(c, float64(r.tokens)/r.cpu)
	}
	mw, mc := median(w), median(c)
	fmt.Printf("%-16s %8d tokens/run  median %6.3f M tokens/s wall, %6.3f M tokens/s cpu  (wall runs: %s)\n",
		name, rs[0].tokens, mw/1e6, mc/1e6, fmtRates(w))
	return mw, mc
}

// threadCPU returns the CPU time consumed by the calling thread (Linux).
func threadCPU() float64 {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)*1e-6
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x/1e6)
	}
	return strings.Join(parts, " ")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokbench:", err)
		os.Exit(1)
	}
}
