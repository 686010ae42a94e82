package tokenizer_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/medflow/medflow/tokenizer"
)

// A tiny hand-made BPE model: the same code path as Llama-2's
// tokenizer.model, which is loaded with tokenizer.Load("tokenizer.model").
func Example() {
	mp := tokenizer.NewModelProto()
	mp.ModelType = tokenizer.ModelTypeBPE
	mp.ByteFallback = true
	mp.NormalizerName = "identity"
	mp.RemoveExtraWhitespaces = false
	mp.Pieces = []tokenizer.ProtoPiece{
		{Piece: "<unk>", Type: tokenizer.Unknown},
		{Piece: "<s>", Type: tokenizer.Control},
		{Piece: "</s>", Type: tokenizer.Control},
	}
	for b := 0; b < 256; b++ {
		mp.Pieces = append(mp.Pieces, tokenizer.ProtoPiece{Piece: fmt.Sprintf("<0x%02X>", b), Type: tokenizer.Byte})
	}
	for i, p := range []string{"▁", "l", "o", "w", "e", "r", "▁l", "▁lo", "▁low", "er", "▁lower"} {
		mp.Pieces = append(mp.Pieces, tokenizer.ProtoPiece{Piece: p, Score: -float32(i)})
	}
	path := filepath.Join(os.TempDir(), "example-tokenizer.model")
	if err := os.WriteFile(path, mp.Marshal(), 0o644); err != nil {
		panic(err)
	}
	defer os.Remove(path)

	tok, err := tokenizer.Load(path)
	if err != nil {
		panic(err)
	}
	tok = tok.WithOptions(tokenizer.Options{AddBOS: true})
	ids := tok.EncodeAppend(nil, "lower low!")
	for i, id := range ids {
		if i > 0 {
			fmt.Print(" ")
		}
		fmt.Printf("%d:%s", id, tok.IDToPiece(id))
	}
	fmt.Println()
	text, _ := tok.Decode(ids)
	fmt.Printf("%q\n", text)
	// Output:
	// 1:<s> 269:▁lower 267:▁low 36:<0x21>
	// "lower low!"
}
