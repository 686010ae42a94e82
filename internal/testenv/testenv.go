// Package testenv finds the test dependencies that `make deps` installs
// (the npm Llama-2 vocabulary, versitygw, Debian's sentencepiece tools).
// A missing dependency fails the test with a message saying how to install
// it; nothing is skipped silently.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/medflow/medflow/ort"
)

// DepsHint is appended to every missing-dependency failure.
const DepsHint = "run `make deps` to install it"

// RepoRoot is the folder holding go.mod above the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// File returns the path in env var name, or def relative to the repo root,
// failing t when the file does not exist.
func File(t testing.TB, env, def, what string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		p = filepath.Join(RepoRoot(t), def)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s (%s, set %s to override) missing: %v; %s", what, p, env, err, DepsHint)
	}
	return p
}

// Llama2NPM is the npm pack tarball of llama-tokenizer-js@1.2.2.
func Llama2NPM(t testing.TB) string {
	t.Helper()
	return File(t, "MEDFLOW_LLAMA_NPM", ".cache/npm/llama-tokenizer-js-1.2.2.tgz", "Llama-2 vocabulary")
}

// Tool finds an executable in $dirEnv or PATH, failing t when absent.
func Tool(t testing.TB, dirEnv, name, what string) string {
	t.Helper()
	if dir := os.Getenv(dirEnv); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s %s missing: %v; %s", what, p, err, DepsHint)
		}
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s %s missing: %v; %s", what, name, err, DepsHint)
	}
	return p
}

// ORTLibrary returns the ONNX Runtime shared library `make deps` installs
// (ort.FindLibrary: $MEDFLOW_ORT_LIB, else .cache/onnxruntime above the
// working directory). Without it the test fails when MEDFLOW_REQUIRE_ORT=1
// (as `make test` sets) and is skipped loudly otherwise.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	lib, err := ort.FindLibrary("")
	if err != nil {
		if os.Getenv("MEDFLOW_REQUIRE_ORT") == "1" {
			t.Fatalf("MEDFLOW_REQUIRE_ORT=1 but: %v (%s)", err, DepsHint)
		}
		t.Skipf("SKIPPED, needs ONNX Runtime: %v (%s)", err, DepsHint)
	}
	return lib
}
