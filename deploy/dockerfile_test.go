// Package deploy holds medflow's container image (Dockerfile), the offline
// proof of its runtime layer (rootfs/build.sh, `make rootfs-test`) and the
// Kubernetes manifests (k8s/). No Docker engine runs where the tests run,
// so this test checks what can be checked without one: the Dockerfile's
// pins, and that the Dockerfile, the rootfs script, the Makefile fragments
// and the manifests agree on versions, paths, user and environment, so
// that what rootfs-test proves is what the image contains, and that the
// image's medflow is built as `make build` builds it (the GoMLX workspace,
// -tags medflowblas) with OpenBLAS in the runtime.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

type instr struct {
	cmd, args string
	line      int
}

type stage struct {
	name, from string
	instrs     []instr
}

type dockerfile struct {
	args   map[string]string // global ARG defaults
	stages []*stage
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseDockerfile(t *testing.T, name string) *dockerfile {
	t.Helper()
	d := &dockerfile{args: map[string]string{}}
	var cur *stage
	lines := strings.Split(readFile(t, name), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + strings.TrimSpace(lines[i])
		}
		cmd, args, _ := strings.Cut(l, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.TrimSpace(args)
		switch {
		case cmd == "FROM":
			f := strings.Fields(args)
			cur = &stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				cur.name = f[2]
			}
			d.stages = append(d.stages, cur)
		case cmd == "ARG" && cur == nil:
			k, v, _ := strings.Cut(args, "=")
			d.args[k] = v
		case cur == nil:
			t.Fatalf("%s:%d: %s before the first FROM", name, start, cmd)
		default:
			cur.instrs = append(cur.instrs, instr{cmd, args, start})
		}
	}
	return d
}

func (d *dockerfile) stage(t *testing.T, name string) *stage {
	t.Helper()
	for _, s := range d.stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile has no stage %q", name)
	return nil
}

// env is the stage's ENV, including what it inherits from FROM stages.
func (d *dockerfile) env(t *testing.T, s *stage) map[string]string {
	env := map[string]string{}
	for _, p := range d.stages {
		if p.name == s.from {
			env = d.env(t, p)
		}
	}
	for _, in := range s.instrs {
		if in.cmd == "ENV" {
			for _, kv := range strings.Fields(in.args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile:%d: ENV %q: want KEY=VALUE", in.line, in.args)
				}
				env[k] = v
			}
		}
	}
	return env
}

// copies maps COPY destinations to "from:source" in the stage.
func copies(s *stage) map[string]string {
	m := map[string]string{}
	for _, in := range s.instrs {
		if in.cmd != "COPY" {
			continue
		}
		f := strings.Fields(in.args)
		from := ""
		if strings.HasPrefix(f[0], "--from=") {
			from, f = strings.TrimPrefix(f[0], "--from="), f[1:]
		}
		m[f[len(f)-1]] = from + ":" + f[0]
	}
	return m
}

func one(t *testing.T, s *stage, cmd string) string {
	t.Helper()
	var got []string
	for _, in := range s.instrs {
		if in.cmd == cmd {
			got = append(got, in.args)
		}
	}
	if len(got) != 1 {
		t.Fatalf("stage %s: %d %s instructions, want 1", s.name, len(got), cmd)
	}
	return got[0]
}

// shellVars reads NAME=value lines of deploy/rootfs/build.sh.
func shellVars(t *testing.T) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(readFile(t, "rootfs/build.sh"), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(k) {
			m[k] = v
		}
	}
	return m
}

// makeVar reads `NAME ?= value` or `NAME := value` from a Makefile fragment.
func makeVar(t *testing.T, file, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*[?:]?=\s*(\S+)`).FindStringSubmatch(readFile(t, file))
	if m == nil {
		t.Fatalf("%s: no %s", file, name)
	}
	return m[1]
}

// runtimePackages reads deploy/runtime-packages.txt: one package a line,
// # comments.
func runtimePackages(t *testing.T) []string {
	var pkgs []string
	for _, l := range strings.Split(readFile(t, "runtime-packages.txt"), "\n") {
		if l = strings.TrimSpace(strings.SplitN(l, "#", 2)[0]); l != "" {
			pkgs = append(pkgs, l)
		}
	}
	return pkgs
}

// Base images are pinned: a version tag (never latest), the Debian base
// also by digest; the build stage's Go and Debian match go.mod and the
// runtime base (the binary links the runtime's glibc and libjpeg).
func TestBaseImagesPinned(t *testing.T) {
	d := parseDockerfile(t, "Dockerfile")
	goImage, base := d.args["GO_IMAGE"], d.args["BASE_IMAGE"]
	gm := regexp.MustCompile(`^golang:(1\.\d+)\.\d+-(\w+)$`).FindStringSubmatch(goImage)
	if gm == nil {
		t.Fatalf("GO_IMAGE %q: want golang:1.N.P-SUITE", goImage)
	}
	bm := regexp.MustCompile(`^debian:(\w+)-(\d{8})@sha256:[0-9a-f]{64}$`).FindStringSubmatch(base)
	if bm == nil {
		t.Fatalf("BASE_IMAGE %q: want debian:SUITE-YYYYMMDD@sha256:DIGEST", base)
	}
	if gm[2] != bm[1] {
		t.Errorf("build stage on %s, runtime on %s: the binary would link another glibc/libjpeg", gm[2], bm[1])
	}
	goMod := regexp.MustCompile(`(?m)^go (1\.\d+)`).FindStringSubmatch(readFile(t, "../go.mod"))
	if goMod == nil || goMod[1] != gm[1] {
		t.Errorf("GO_IMAGE Go %s, go.mod wants %v", gm[1], goMod)
	}
	known := map[string]bool{"${GO_IMAGE}": true, "${BASE_IMAGE}": true}
	for _, s := range d.stages {
		if !known[s.from] {
			t.Errorf("stage %s: FROM %q is neither a pinned ARG image nor an earlier stage", s.name, s.from)
		}
		known[s.name] = true
		if strings.Contains(s.from, ":latest") {
			t.Errorf("stage %s: FROM %s", s.name, s.from)
		}
	}
	if last := d.stages[len(d.stages)-1].name; last != "cpu" {
		t.Errorf("the default (last) target is %q, want cpu", last)
	}
	mk := readFile(t, "../mk/image.mk")
	for _, target := range []string{"cpu", "gpu"} {
		d.stage(t, target)
		if !strings.Contains(mk, "--target "+target) {
			t.Errorf("mk/image.mk does not build --target %s", target)
		}
	}
}

// The runtime packages are pinned, installed by both the Dockerfile and the
// rootfs script from the same list, and libjpeg matches what the build
// stage and make's imaging-deps compile against.
func TestRuntimePackagesPinned(t *testing.T) {
	pkgs := runtimePackages(t)
	for _, p := range pkgs {
		if !regexp.MustCompile(`^[a-z0-9.+-]+=[0-9][A-Za-z0-9.+~:-]*$`).MatchString(p) {
			t.Errorf("runtime-packages.txt: %q is not name=version", p)
		}
	}
	jpeg := makeVar(t, "../mk/imaging.mk", "IMAGING_JPEG_VERSION")
	if !slices.Contains(pkgs, "libjpeg62-turbo="+jpeg) {
		t.Errorf("runtime-packages.txt lacks libjpeg62-turbo=%s (mk/imaging.mk's version)", jpeg)
	}
	d := parseDockerfile(t, "Dockerfile")
	build := d.stage(t, "build")
	if !slices.ContainsFunc(build.instrs, func(in instr) bool {
		return in.cmd == "RUN" && strings.Contains(in.args, "libjpeg62-turbo-dev="+jpeg)
	}) {
		t.Errorf("build stage does not install libjpeg62-turbo-dev=%s", jpeg)
	}
	rt := d.stage(t, "runtime")
	if copies(rt)["/tmp/runtime-packages.txt"] != ":deploy/runtime-packages.txt" {
		t.Error("runtime stage does not COPY deploy/runtime-packages.txt")
	}
	var installs bool
	for _, in := range rt.instrs {
		if in.cmd == "RUN" && strings.Contains(in.args, "/tmp/runtime-packages.txt") && strings.Contains(in.args, "apt-get install -y --no-install-recommends") {
			installs = true
		}
	}
	if !installs {
		t.Error("runtime stage does not apt-get install --no-install-recommends the list")
	}
	if !strings.Contains(readFile(t, "rootfs/build.sh"), "pkgs_file=$repo/deploy/runtime-packages.txt") {
		t.Error("rootfs/build.sh does not read deploy/runtime-packages.txt")
	}
}

// The image, the rootfs proof and the manifests agree on the user, the
// paths and the environment; the ORT library is the Makefile's.
func TestLayoutAgrees(t *testing.T) {
	d := parseDockerfile(t, "Dockerfile")
	sh := shellVars(t)
	rt, cpu, gpu := d.stage(t, "runtime"), d.stage(t, "cpu"), d.stage(t, "gpu")

	uid := sh["MEDFLOW_UID"]
	if uid == "" || uid == "0" {
		t.Fatalf("rootfs/build.sh MEDFLOW_UID %q", uid)
	}
	if u := one(t, rt, "USER"); u != uid+":"+uid {
		t.Errorf("USER %q, want %s:%s (numeric, non-root, as runAsNonRoot needs)", u, uid, uid)
	}
	useradd := regexp.MustCompile(`groupadd [^&]+&& useradd [^&]+?--shell \S+ medflow`)
	var dockerUseradd string
	for _, in := range rt.instrs {
		if m := useradd.FindString(in.args); m != "" {
			dockerUseradd = m
		}
	}
	shUseradd := strings.ReplaceAll(strings.Trim(sh["USERADD"], `"`), "$MEDFLOW_UID", uid)
	if dockerUseradd == "" || dockerUseradd != shUseradd {
		t.Errorf("user creation differs:\nDockerfile: %s\nrootfs:     %s", dockerUseradd, shUseradd)
	}
	manifests, _ := filepath.Glob("k8s/*job*.yaml")
	for _, f := range manifests {
		if !strings.Contains(readFile(t, f), "runAsUser: "+uid+"\n") {
			t.Errorf("%s: runAsUser is not %s", f, uid)
		}
	}

	env := d.env(t, rt)
	ortPath := sh["ORT_PATH"]
	if env["MEDFLOW_ORT_LIB"] != ortPath {
		t.Errorf("ENV MEDFLOW_ORT_LIB %q, rootfs ORT_PATH %q", env["MEDFLOW_ORT_LIB"], ortPath)
	}
	c := copies(rt)
	if c[ortPath] != "artifacts:libonnxruntime.so.1" {
		t.Errorf("%s is not copied from the staged library: %q", ortPath, c[ortPath])
	}
	tok := sh["TOKENIZER_DIR"] + "/tokenizer.model"
	if c[tok] != "artifacts:tokenizer/tokenizer.model" {
		t.Errorf("%s is not copied from the staged tokenizer: %q", tok, c[tok])
	}
	if !strings.Contains(readFile(t, "k8s/pipelines.yaml"), "model: "+tok+",") {
		t.Errorf("k8s/pipelines.yaml does not tokenize with %s", tok)
	}
	for _, kv := range regexp.MustCompile(`[A-Z_]+=\S+`).FindAllString(sh["IMAGE_ENV"]+" "+strings.Join(strings.Fields(readFile(t, "rootfs/build.sh")), " "), -1) {
		k, v, _ := strings.Cut(kv, "=")
		if k == "HOME" || k == "TMPDIR" {
			if env[k] != v {
				t.Errorf("rootfs runs with %s=%s, the image sets %q", k, v, env[k])
			}
		}
	}
	if !strings.Contains(readFile(t, "rootfs/build.sh"), "MEDFLOW_ORT_LIB=$ORT_PATH") {
		t.Error("rootfs/build.sh does not set MEDFLOW_ORT_LIB=$ORT_PATH")
	}
	mk := readFile(t, "../mk/image.mk")
	for _, cp := range []string{"cp -L $(ORT_LIB) $(IMAGE_CTX)/libonnxruntime.so.1", "cp -L $(TOKENIZER_MODEL) $(IMAGE_CTX)/tokenizer/tokenizer.model", "--build-context artifacts=$(IMAGE_CTX)"} {
		if !strings.Contains(mk, cp) {
			t.Errorf("mk/image.mk does not stage %q", cp)
		}
	}
	ortPkg := makeVar(t, "../mk/onnxruntime.mk", "ORT_NPM_PKG") + "@" + makeVar(t, "../mk/onnxruntime.mk", "ORT_VERSION")
	if !strings.Contains(one(t, rt, "LABEL"), `org.medflow.onnxruntime="`+ortPkg+`"`) {
		t.Errorf("runtime LABEL does not name %s", ortPkg)
	}

	bin := sh["BIN_PATH"]
	if e := one(t, rt, "ENTRYPOINT"); e != `["`+bin+`"]` {
		t.Errorf("ENTRYPOINT %s, want [%q]", e, bin)
	}
	if copies(cpu)[bin] != "build:/out/medflow" {
		t.Errorf("cpu target: %s not from the build stage", bin)
	}
	if copies(gpu)[bin] != "build-xla:/out/medflow" {
		t.Errorf("gpu target: %s not from the build-xla stage", bin)
	}
	if !strings.Contains(one(t, d.stage(t, "build-xla"), "RUN"), "go build -tags xla") {
		t.Error("build-xla does not build with -tags xla")
	}
	genv := d.env(t, gpu)
	if genv["GOMLX_BACKEND"] != "xla:cuda" || genv["GOMLX_NO_AUTO_INSTALL"] != "1" {
		t.Errorf("gpu target: GOMLX_BACKEND %q GOMLX_NO_AUTO_INSTALL %q", genv["GOMLX_BACKEND"], genv["GOMLX_NO_AUTO_INSTALL"])
	}
	var pluginDir string
	for dst, src := range copies(gpu) {
		if strings.HasPrefix(src, "goxla:") {
			pluginDir = dst
		}
	}
	if pluginDir == "" || !strings.HasPrefix(genv["PJRT_PLUGIN_LIBRARY_PATH"], strings.TrimSuffix(pluginDir, "/")) {
		t.Errorf("gpu target: PJRT_PLUGIN_LIBRARY_PATH %q is not under the goxla copy %q", genv["PJRT_PLUGIN_LIBRARY_PATH"], pluginDir)
	}
	if genv["MEDFLOW_ORT_LIB"] != ortPath {
		t.Error("gpu target lost MEDFLOW_ORT_LIB")
	}
}

// The image's binaries get the CPU training kernels `make build` gives
// (nn/blas/doc.go): every go build of the build stages runs in the Go
// workspace mk/gomlx-workspace.sh writes, the one script mk/blas.mk runs
// too, with -tags medflowblas (build-xla: and xla); the runtime installs
// the OpenBLAS make deps installs, and the cpu target fails to build
// unless its binary reports OpenBLAS.
func TestImageTrainingKernels(t *testing.T) {
	const script = "mk/gomlx-workspace.sh"
	if !strings.Contains(readFile(t, "../mk/blas.mk"), script) {
		t.Errorf("mk/blas.mk does not write the workspace with %s", script)
	}
	d := parseDockerfile(t, "Dockerfile")
	build := d.stage(t, "build")
	workdir := one(t, build, "WORKDIR")
	gowork := workdir + strings.TrimPrefix(makeVar(t, "../mk/blas.mk", "GOMLX_WORK"), "$(CURDIR)")
	tagsRe := regexp.MustCompile(`\sgo build .*-tags[= ](\S+)`)
	wsLine := 0
	for _, in := range build.instrs {
		if in.cmd == "RUN" && strings.Contains(in.args, script) && wsLine == 0 {
			wsLine = in.line
		}
	}
	if wsLine == 0 {
		t.Errorf("build stage does not run %s", script)
	}
	for _, tc := range []struct {
		stage string
		tags  []string
	}{{"build", []string{"medflowblas"}}, {"build-xla", []string{"xla", "medflowblas"}}} {
		s := d.stage(t, tc.stage)
		var builds int
		for _, in := range s.instrs {
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			builds++
			if !strings.Contains(in.args, "GOWORK="+gowork+" go build") {
				t.Errorf("Dockerfile:%d: go build without GOWORK=%s (%s's workspace)", in.line, gowork, script)
			}
			if tc.stage == "build" && in.line < wsLine {
				t.Errorf("Dockerfile:%d: go build before %s (line %d)", in.line, script, wsLine)
			}
			var tags []string
			if m := tagsRe.FindStringSubmatch(in.args); m != nil {
				tags = strings.Split(m[1], ",")
			}
			for _, tag := range tc.tags {
				if !slices.Contains(tags, tag) {
					t.Errorf("Dockerfile:%d: go build -tags %v lacks %s", in.line, tags, tag)
				}
			}
		}
		if builds == 0 {
			t.Errorf("stage %s builds nothing", tc.stage)
		}
	}

	blasPkg := makeVar(t, "../mk/blas.mk", "BLAS_APT_PKGS")
	if !slices.Contains(runtimePackages(t), blasPkg) {
		t.Errorf("runtime-packages.txt lacks %s (mk/blas.mk's BLAS_APT_PKGS): the image's medflow would train on pure-Go matmuls", blasPkg)
	}
	// Both targets: the gpu one trains on xla:cuda, but GOMLX_BACKEND=go
	// (or a host without a GPU) falls back to simplego's CPU kernels.
	for _, target := range []string{"cpu", "gpu"} {
		if !slices.ContainsFunc(d.stage(t, target).instrs, func(in instr) bool {
			return in.cmd == "RUN" && strings.Contains(in.args, "medflow version --verbose") && strings.Contains(in.args, "grep -q '^matmul: OpenBLAS '")
		}) {
			t.Errorf("%s target does not check that its binary reports OpenBLAS (medflow version --verbose)", target)
		}
	}
	if !strings.Contains(readFile(t, "rootfs/build.sh"), `matmul="OpenBLAS `) {
		t.Error("rootfs/build.sh's smoke test does not check that training ran its matmuls in OpenBLAS")
	}
}
