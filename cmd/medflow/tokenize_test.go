package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medflow/medflow/internal/testenv"
	"github.com/medflow/medflow/tokenizer"
)

func TestTokenizeCommand(t *testing.T) {
	npm := testenv.Llama2NPM(t)
	model := filepath.Join(t.TempDir(), "tokenizer.model")
	if code, out, errs := medflow(t, "models", "llama2-tokenizer", "--npm", npm, "--out", model); code != 0 || !strings.Contains(out, "wrote") {
		t.Fatalf("models: exit %d %s%s", code, out, errs)
	}
	tok, err := tokenizer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"Heart size is normal.", "", "  two  spaces\tand a tab", "Multi\nline"}
	want := func(doc string, opts tokenizer.Options) string {
		var parts []string
		for _, id := range tok.WithOptions(opts).Encode(doc) {
			parts = append(parts, strconv.Itoa(int(id)))
		}
		return strings.Join(parts, " ")
	}
	t.Run("lines", func(t *testing.T) {
		code, out, errs := medflowIn(t, strings.Join(docs[:3], "\n")+"\n", "tokenize", "--model", model, "--bos")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d lines: %q", len(lines), out)
		}
		for i, doc := range docs[:3] {
			if w := want(doc, tokenizer.Options{AddBOS: true}); lines[i] != w {
				t.Errorf("doc %q: got %q want %q", doc, lines[i], w)
			}
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		code, out, errs := medflowIn(t, `"Multi\nline"`+"\n"+`"x"`, "tokenize", "--model", model, "--jsonl", "--eos")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if w := want("Multi\nline", tokenizer.Options{AddEOS: true}) + "\n" + want("x", tokenizer.Options{AddEOS: true}) + "\n"; out != w {
			t.Errorf("got %q want %q", out, w)
		}
	})
	t.Run("bad jsonl", func(t *testing.T) {
		code, _, errs := medflowIn(t, "\"ok\"\nnot json\n", "tokenize", "--model", model, "--jsonl")
		if code != 1 || !strings.Contains(errs, "stdin line 2: not a JSON string") {
			t.Errorf("exit %d: %s", code, errs)
		}
	})
	t.Run("missing model", func(t *testing.T) {
		code, _, errs := medflow(t, "tokenize", "--model", "/nope/tokenizer.model")
		if code != 1 || !strings.Contains(errs, "/nope/tokenizer.model") {
			t.Errorf("exit %d: %s", code, errs)
		}
	})
}

// TestReplacedModelRecomputes (issue 17, item 12): a file a stage reads by
// path joins its fingerprint by content, so writing other content to the
// same path recomputes the stage, and plan says which input changed.
func TestReplacedModelRecomputes(t *testing.T) {
	npm := testenv.Llama2NPM(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "tokenizer.model")
	if code, out, errs := medflow(t, "models", "llama2-tokenizer", "--npm", npm, "--out", model); code != 0 {
		t.Fatalf("models: exit %d %s%s", code, out, errs)
	}
	writeFiles(t, dir, map[string]string{"in/reports.csv": "study_id,text\n1,Heart size is normal.\n2,No effusion.\n"})
	cfg := writeConfig(t, dir, `
settings:
  work: DIR/work
  log: {level: warn}
variants:
  tok:
    stages:
      - {name: read, kind: files.read, params: {uri: DIR/in, columns: ["study_id:int64", "text:utf8"]}}
      - {name: tok, kind: text.tokenize, inputs: [read], materialize: true, params: {model: DIR/tokenizer.model}}
      - {name: out, kind: discard, inputs: [tok]}
`)
	if code, _, errs := medflow(t, "run", "tok", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	row := func() string {
		_, out, _ := medflow(t, "plan", "tok", "--config", cfg, "--format", "text")
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "tok ") {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		t.Fatalf("no tok row in plan:\n%s", out)
		return ""
	}
	if r := row(); !strings.Contains(r, "reuse*") {
		t.Fatalf("unchanged model: plan row %q, want reuse*", r)
	}
	// Same path, same size, other content (one byte flipped, mtime kept).
	st, err := os.Stat(model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(model, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(model, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if r := row(); !strings.Contains(r, "compute*") || !strings.Contains(r, "file params.model") {
		t.Fatalf("replaced model: plan row %q, want compute* with CHANGED file params.model", r)
	}
}
