package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/medflow/medflow/tokenizer"
)

func tokenizeCmd() *cobra.Command {
	var (
		model    string
		bos, eos bool
		jsonl    bool
	)
	cmd := &cobra.Command{
		Use:   "tokenize --model PATH [--bos] [--eos] [--jsonl]",
		Short: "Print the token ids of each stdin line (or JSON string with --jsonl)",
		Long: "Reads documents from stdin, one per line (with --jsonl each line is a JSON string, so\n" +
			"documents may contain newlines), and prints each document's ids as one line of\n" +
			"space-separated integers. The model is a SentencePiece tokenizer.model or a Hugging\n" +
			"Face tokenizer.json.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return errors.New("tokenize: --model is required")
			}
			tok, err := tokenizer.Load(model)
			if err != nil {
				return err
			}
			return tokenizeStream(tok.WithOptions(tokenizer.Options{AddBOS: bos, AddEOS: eos}), cmd.InOrStdin(), cmd.OutOrStdout(), jsonl)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "tokenizer.model or tokenizer.json")
	cmd.Flags().BoolVar(&bos, "bos", false, "prepend <s>")
	cmd.Flags().BoolVar(&eos, "eos", false, "append </s>")
	cmd.Flags().BoolVar(&jsonl, "jsonl", false, "each line is a JSON string")
	return cmd
}

func tokenizeStream(tok *tokenizer.Tokenizer, r io.Reader, w io.Writer, jsonl bool) error {
	in := bufio.NewReaderSize(r, 1<<20)
	out := bufio.NewWriterSize(w, 1<<16)
	var ids []int32
	var line []byte
	for n := 1; ; n++ {
		s, err := in.ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("tokenize: stdin line %d: %w", n, err)
		}
		if err == io.EOF && s == "" {
			break
		}
		doc := strings.TrimSuffix(s, "\n")
		if jsonl {
			var js string
			if uerr := json.Unmarshal([]byte(doc), &js); uerr != nil {
				return fmt.Errorf("tokenize: stdin line %d: not a JSON string: %v", n, uerr)
			}
			doc = js
		}
		ids = tok.EncodeAppend(ids[:0], doc)
		line = line[:0]
		for i, id := range ids {
			if i > 0 {
				line = append(line, ' ')
			}
			line = strconv.AppendInt(line, int64(id), 10)
		}
		line = append(line, '\n')
		if _, werr := out.Write(line); werr != nil {
			return werr
		}
		if err == io.EOF {
			break
		}
	}
	return out.Flush()
}
