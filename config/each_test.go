package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/medflow/medflow/config"
)

func TestParseEach(t *testing.T) {
	src := `
variants:
  good:
    stages:
      - {name: a, kind: k}
  bad:
    stages:
      - {name: a, kind: k, workers: two}
  child:
    extends: bad
  grandchild:
    extends: child
  fine-child:
    extends: good
`
	if _, err := config.Parse(file, []byte(src)); err == nil {
		t.Fatal("strict Parse accepted a broken variant")
	}
	f, err := config.ParseEach(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"good", "fine-child"} {
		if _, err := f.Variant(v, nil); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for v, want := range map[string]string{
		"bad":        `variant "bad": stage "a": key "workers": want an integer`,
		"child":      `variant "child": key "extends": extends variant "bad", which is invalid`,
		"grandchild": `variant "grandchild": key "extends": extends variant "child", which is invalid`,
	} {
		_, err := f.Variant(v, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, config.ErrExtends) && v != "bad" {
			t.Errorf("%s: err %v, want %q", v, err, want)
		}
	}
	all := f.Errors()
	if all == nil || strings.Count(all.Error(), "\n") != 2 {
		t.Errorf("Errors() = %v, want 3 lines", all)
	}
	// Problems outside variants still fail the file.
	if _, err := config.ParseEach(file, []byte("settings:\n  log: {format: yaml}\nvariants: {}\n")); err == nil {
		if f, _ := config.ParseEach(file, []byte("settings:\n  log: {format: yaml}\nvariants: {}\n")); f != nil {
			if _, serr := f.Settings(nil); serr == nil {
				t.Error("bad settings accepted")
			}
		}
	}
	if _, err := config.ParseEach(file, []byte("variants: [\n")); !errors.Is(err, config.ErrSyntax) {
		t.Errorf("syntax error: %v", err)
	}
	if _, err := config.ParseEach(file, []byte("sttings: {}\nvariants: {}\n")); !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("unknown top-level key: %v", err)
	}
}
