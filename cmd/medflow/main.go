// Command medflow runs YAML-defined pipelines of concurrent Arrow stages.
//
//	medflow list                        variants in pipelines.yaml
//	medflow validate                    check every variant; exit 1 listing all errors
//	medflow plan VARIANT                the DAG as a table and as Mermaid
//	medflow run VARIANT [--set s.p=v]   run it, with live per-stage progress
//	medflow merge VARIANT --shards N    commit the outputs of N sharded runs
//	medflow kinds                       registered stage kinds and their params
//	medflow runs                        recorded runs
//	medflow show RUN                    one recorded run: stages, reuse, rows, timings
//	medflow report RUN [--out DIR]      rebuild a run's report.md and report.html
//	medflow gc [--dry-run]              delete cached outputs no run record references
//	medflow inspect PATH                schema, metadata and first rows of a dataset or file
//	medflow synth --out DIR             a phantom MIMIC-CXR dataset in the published layout
//	medflow models llama-onnx ...       build the model files pipelines use
//	medflow tokenize --model FILE       token ids of each stdin line
//	medflow version
//
// plus cobra's help and completion. Exit status: 0 success, 1 failure,
// 2 a command-line mistake.
package main

import (
	"errors"
	"io"
	"os"
	"strings"
)

// version is set with -ldflags "-X main.version=..." by the Makefile.
var version = "dev"

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errSilent is returned by commands that already printed their failure.
var errSilent = errors.New("failed")

func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root, a := newRoot(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	if !errors.Is(err, errSilent) {
		a.fail(err)
	}
	var usage usageError
	if errors.As(err, &usage) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}
