// Command medflow runs YAML-defined pipelines of concurrent Arrow stages.
//
//	medflow list                       variants in pipelines.yaml
//	medflow validate                   check every variant; exit 1 listing all errors
//	medflow plan VARIANT               the DAG as a table and as Mermaid
//	medflow run VARIANT [--set s.p=v]  run it, with live per-stage progress
//	medflow kinds                      registered stage kinds and their params
//	medflow version
//
// and more: `medflow help` lists every command. Exit status: 0 success, 1
// failure, 2 a command-line mistake.
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
