package main

import (
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
