package layering

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/medflow/medflow/"

// Forbidden import-path prefixes, by what they stand for.
var (
	cxr     = []string{module + "mimic", module + "schemas/cxrschema", module + "synth", module + "imaging"}
	storage = []string{module + "connectors/"}
	stages  = []string{module + "stages"}
	engine  = []string{module + "pipeline"}
	arrow   = []string{"github.com/apache/arrow-go/"}
	schemas = []string{module + "schemas"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// matches reports whether dep is the package bad or below it; a bad
// ending in "/" matches only below it.
func matches(dep, bad string) bool {
	if strings.HasSuffix(bad, "/") {
		return strings.HasPrefix(dep, bad)
	}
	return dep == bad || strings.HasPrefix(dep, bad+"/")
}

// testHelper reports whether pkg is one of medflow's test-helper packages
// (pipeline/pipelinetest, stages/eval/evaltest, internal/testenv, ...).
func testHelper(pkg string) bool {
	if !strings.HasPrefix(pkg, module) {
		return false
	}
	last := pkg[strings.LastIndex(pkg, "/")+1:]
	return strings.HasSuffix(last, "test") || strings.HasPrefix(last, "test")
}

// goCmd is the go command of the toolchain running the test.
func goCmd(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// goList runs `go list -deps -f format pkg` from the module root.
func goList(t *testing.T, format, pkg string) []string {
	t.Helper()
	cmd := exec.Command(goCmd(t), "list", "-deps", "-f", format, pkg)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, msg)
	}
	return strings.Fields(string(out))
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		dep, bad string
		want     bool
	}{
		{module + "mimic", module + "mimic", true},
		{module + "mimicx", module + "mimic", false},
		{module + "schemas/cxrschema", module + "schemas", true},
		{module + "connectors/formats", module + "connectors/", true},
		{module + "connectors", module + "connectors/", false},
		{"github.com/apache/arrow-go/v18/arrow", "github.com/apache/arrow-go/", true},
		{module + "pipeline/pipelinetest", module + "pipeline", true},
	} {
		if got := matches(tc.dep, tc.bad); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.dep, tc.bad, got, tc.want)
		}
	}
	for pkg, want := range map[string]bool{
		module + "pipeline/pipelinetest": true, module + "internal/testenv": true, module + "internal/s3test": true,
		module + "pipeline": false, module + "stages/text": false, "testing/fstest": false,
	} {
		if got := testHelper(pkg); got != want {
			t.Errorf("testHelper(%q) = %v, want %v", pkg, got, want)
		}
	}
}

func TestForbiddenDeps(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"./pipeline", join(cxr, storage, stages, []string{module + "train", module + "nn"})},
		{"./train", join(cxr, storage, stages, engine, arrow, schemas)},
		{"./nn", join(cxr, storage, stages, engine, arrow, schemas, []string{module + "train"})},
		{"./metrics", join(cxr, storage, stages, engine, arrow, schemas)},
		{"./tokenizer", join(cxr, storage, stages, engine, arrow, schemas)},
		{"./plots", join(cxr, storage, stages, engine, arrow, schemas)},
		{"./stages/embed/batching", join(cxr, storage, engine, arrow, schemas)},
		{"./mimic", join(storage, stages, engine, arrow, schemas)},
		{"./imaging", join(storage, stages, engine, arrow, schemas)},
		{"./schemas", join(cxr, storage, stages, engine)},
		{"./report", stages},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			deps := goList(t, "{{.ImportPath}}", tc.pkg)
			for _, bad := range tc.forbidden {
				for _, dep := range deps {
					if matches(dep, bad) { // one error per rule
						t.Errorf("%s depends on %s (forbidden: %s)", tc.pkg, dep, bad)
						break
					}
				}
			}
		})
	}
}

// TestBinariesDoNotImportTesting: no medflow package linked into a
// production binary imports "testing" (test helpers such as
// pipeline/pipelinetest stay out of it). Third-party packages are not
// ours to fix: Arrow's Parquet pulls in Apache Thrift, whose logger.go
// imports testing.
func TestBinariesDoNotImportTesting(t *testing.T) {
	for _, pkg := range []string{"./cmd/medflow"} {
		t.Run(pkg, func(t *testing.T) {
			lines := goList(t, `{{.ImportPath}}{{range .Imports}},{{.}}{{end}}`, pkg)
			for _, line := range lines {
				imports := strings.Split(line, ",")
				if !strings.HasPrefix(imports[0], module) {
					continue
				}
				for _, imp := range imports[1:] {
					if imp == "testing" || testHelper(imp) {
						t.Errorf("%s (linked into %s) imports %s", imports[0], pkg, imp)
					}
				}
			}
		})
	}
}
