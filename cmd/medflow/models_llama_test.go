package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medflow/medflow/llama"
)

// runLlamaONNX runs the llama-onnx command directly (it is registered under
// `medflow models` by models.go).
func runLlamaONNX(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := llamaONNXCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestLlamaONNXCmd(t *testing.T) {
	dir := t.TempDir()
	hf := filepath.Join(dir, "hf")
	small := llama.Config{Vocab: 100, Dim: 32, Layers: 1, Heads: 4, KVHeads: 2, Hidden: 64, MaxSeq: 32, RopeTheta: 10000, NormEps: 1e-5}
	if err := llama.WriteHF(hf, small, llama.RandomWeights(small, 3)); err != nil {
		t.Fatal(err)
	}
	tiny := llama.TinyConfig()
	custom := tiny
	custom.Dim, custom.Layers, custom.Hidden = 128, 3, llama.HiddenFor(128)
	tests := []struct {
		name     string
		args     []string
		want     llama.Config
		external bool
		errText  string
	}{
		{"tiny", []string{"--tiny", "--seed", "5"}, tiny, false, ""},
		{"tiny shaped", []string{"--tiny", "--dim", "128", "--layers", "3", "--external-data", "--float16"}, custom, true, ""},
		{"from hf", []string{"--from", hf, "--float16"}, small, true, ""},
		{"both", []string{"--tiny", "--from", hf}, llama.Config{}, false, "exactly one"},
		{"neither", nil, llama.Config{}, false, "exactly one"},
		{"bad shape", []string{"--tiny", "--heads", "5"}, llama.Config{}, false, "divisible"},
		{"missing hf", []string{"--from", filepath.Join(dir, "nope")}, llama.Config{}, false, "config.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".onnx")
			args := append([]string{"--out", out}, tc.args...)
			stdout, err := runLlamaONNX(t, args...)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("got %v, want error mentioning %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout, "wrote "+out) {
				t.Errorf("stdout %q", stdout)
			}
			got, err := llama.ConfigFromModel(out)
			if err != nil || got != tc.want {
				t.Errorf("model config %+v (%v), want %+v", got, err, tc.want)
			}
			if _, err := os.Stat(out + ".data"); (err == nil) != tc.external {
				t.Errorf("external data file exists=%v, want %v", err == nil, tc.external)
			}
		})
	}
	if _, err := runLlamaONNX(t, "--tiny"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: %v", err)
	}
}
