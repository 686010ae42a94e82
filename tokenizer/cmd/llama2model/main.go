// Command llama2model rebuilds the Llama-2 tokenizer.model (and optionally a
// Hugging Face tokenizer.json) from the llama-tokenizer-js npm package.
//
//	make tokenizer-deps   # fetches .cache/npm/llama-tokenizer-js-1.2.2.tgz
//	go run ./tokenizer/cmd/llama2model -out tokenizer.model [-hf tokenizer.json]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/medflow/medflow/tokenizer"
)

func main() {
	def := os.Getenv("MEDFLOW_LLAMA_NPM")
	if def == "" {
		def = ".cache/npm/llama-tokenizer-js-1.2.2.tgz"
	}
	npm := flag.String("npm", def, "path to the npm pack tarball of "+tokenizer.Llama2NPMPackage+" (env MEDFLOW_LLAMA_NPM)")
	out := flag.String("out", "tokenizer.model", "where to write the SentencePiece model")
	hf := flag.String("hf", "", "also write a Hugging Face tokenizer.json here")
	flag.Parse()
	if err := tokenizer.BuildLlama2Files(*npm, *out, *hf); err != nil {
		fmt.Fprintln(os.Stderr, "llama2model:", err)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "llama2model: run `make tokenizer-deps` (or make deps) first")
		}
		os.Exit(1)
	}
}
