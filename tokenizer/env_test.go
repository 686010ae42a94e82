package tokenizer

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/medflow/medflow/internal/testenv"
)

// Test dependencies (installed by `make deps` / `make tokenizer-deps`):
//
//	MEDFLOW_LLAMA_NPM  npm pack tarball of llama-tokenizer-js@1.2.2
//	                   (default <repo>/.cache/npm/llama-tokenizer-js-1.2.2.tgz)
//	MEDFLOW_SPM_BIN    directory holding spm_encode/spm_decode/spm_train
//	                   (default: looked up in PATH)
func npmPath(t testing.TB) string { return testenv.Llama2NPM(t) }

func spmTool(t testing.TB, name string) string {
	return testenv.Tool(t, "MEDFLOW_SPM_BIN", name, "reference tool (Debian package sentencepiece)")
}

var (
	llamaOnce  sync.Once
	llamaVocab *Llama2Vocab
	llamaErr   error
	llamaDir   string
)

// llama returns the Llama-2 vocabulary and the path of the rebuilt
// tokenizer.model and tokenizer.json (written once per test binary).
func llama(t testing.TB) (*Llama2Vocab, string, string) {
	t.Helper()
	p := npmPath(t)
	llamaOnce.Do(func() {
		llamaVocab, llamaErr = ReadLlama2NPM(p)
		if llamaErr != nil {
			return
		}
		llamaDir, llamaErr = os.MkdirTemp("", "medflow-tokenizer-llama")
		if llamaErr != nil {
			return
		}
		llamaErr = BuildLlama2Files(p, filepath.Join(llamaDir, "tokenizer.model"), filepath.Join(llamaDir, "tokenizer.json"))
	})
	if llamaErr != nil {
		t.Fatal(llamaErr)
	}
	return llamaVocab, filepath.Join(llamaDir, "tokenizer.model"), filepath.Join(llamaDir, "tokenizer.json")
}

func llamaTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	_, mp, _ := llama(t)
	tok, err := LoadModel(mp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMain(m *testing.M) {
	code := m.Run()
	if llamaDir != "" {
		os.RemoveAll(llamaDir)
	}
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// spmEncode runs spm_encode --output_format=id over docs (one per line).
func spmEncode(t testing.TB, model string, docs []string, extra ...string) [][]int32 {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	var buf bytes.Buffer
	for _, d := range docs {
		if strings.ContainsRune(d, '\n') {
			t.Fatalf("document contains a newline: %q", d)
		}
		buf.WriteString(d)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--model=" + model, "--output_format=id", "--input=" + in}, extra...)
	cmd := exec.Command(spmTool(t, "spm_encode"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spm_encode: %v\n%s", err, stderr.String())
	}
	return parseIDLines(t, out, len(docs))
}

func parseIDLines(t testing.TB, out []byte, want int) [][]int32 {
	t.Helper()
	var res [][]int32
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var ids []int32
		for _, f := range strings.Fields(sc.Text()) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("spm_encode output %q: %v", sc.Text(), err)
			}
			ids = append(ids, int32(v))
		}
		res = append(res, ids)
	}
	if len(res) != want {
		t.Fatalf("spm_encode returned %d lines for %d documents", len(res), want)
	}
	return res
}

// spmDecode runs spm_decode --input_format=id over id sequences.
func spmDecode(t testing.TB, model string, seqs [][]int32) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "ids.txt")
	var buf bytes.Buffer
	for _, s := range seqs {
		for i, id := range s {
			if i > 0 {
				buf.WriteByte(' ')
			}
			buf.WriteString(strconv.Itoa(int(id)))
		}
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(spmTool(t, "spm_decode"), "--model="+model, "--input_format=id", "--input="+in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spm_decode: %v\n%s", err, stderr.String())
	}
	lines := strings.SplitAfter(string(out), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != len(seqs) {
		t.Fatalf("spm_decode returned %d lines for %d inputs", len(lines), len(seqs))
	}
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\n")
	}
	return lines
}

// trainedModel trains a small BPE model with spm_train (once per name).
var (
	trainMu    sync.Mutex
	trainCache = map[string]string{}
	tempDirs   []string
)

func trainedModel(t testing.TB, name string, corpusText []string, flags ...string) string {
	t.Helper()
	trainMu.Lock()
	defer trainMu.Unlock()
	if p, ok := trainCache[name]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "medflow-spm-"+name)
	if err != nil {
		t.Fatal(err)
	}
	tempDirs = append(tempDirs, dir) // models live for the whole test binary
	in := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(in, []byte(strings.Join(corpusText, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, name)
	args := append([]string{"--input=" + in, "--model_prefix=" + prefix, "--num_threads=4", "--minloglevel=2"}, flags...)
	cmd := exec.Command(spmTool(t, "spm_train"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("spm_train %s: %v\n%s", name, err, out)
	}
	trainCache[name] = prefix + ".model"
	return prefix + ".model"
}

// encodeWith encodes with a given linear/heap threshold (0: heap only); the
// word cache is used only with the default threshold.
func encodeWith(t *Tokenizer, text string, linearMax int) []int32 {
	sc := t.m.pool.Get().(*scratch)
	defer t.m.pool.Put(sc)
	return t.m.encode(nil, text, sc, linearMax, linearMax == defaultLinearMax)
}
