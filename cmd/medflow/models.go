package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medflow/medflow/tokenizer"
)

func modelsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "models", Short: "Build the model files pipelines use"}
	var npm, out, hf string
	tok := &cobra.Command{
		Use:   "llama2-tokenizer --npm TGZ --out tokenizer.model [--hf tokenizer.json]",
		Short: "Rebuild the Llama-2 tokenizer.model from the llama-tokenizer-js npm tarball",
		Long: "Rebuilds Meta's Llama-2 SentencePiece model (pieces, scores, types) from the vocabulary in\n" +
			"llama-tokenizer-js@1.2.2 (fetched by `make deps` into .cache/npm/). The vocabulary is under\n" +
			"the Llama 2 Community License and is not part of this repository.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if npm == "" || out == "" {
				return errors.New("models llama2-tokenizer: --npm and --out are required")
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := tokenizer.BuildLlama2Files(npm, out, hf); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "wrote", out)
			return nil
		},
	}
	tok.Flags().StringVar(&npm, "npm", ".cache/npm/llama-tokenizer-js-1.2.2.tgz", "npm pack tarball of llama-tokenizer-js@1.2.2")
	tok.Flags().StringVar(&out, "out", "", "tokenizer.model to write")
	tok.Flags().StringVar(&hf, "hf", "", "also write a Hugging Face tokenizer.json here")
	cmd.AddCommand(tok, llamaONNXCmd())
	return cmd
}
