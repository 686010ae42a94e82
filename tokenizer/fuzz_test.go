package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// spmValid replaces every byte that is not part of a valid UTF-8 sequence
// by U+FFFD, one replacement per byte, as SentencePiece's normalizer does.
func spmValid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// FuzzRoundTrip checks, for the Llama-2 model, that Decode(Encode(x))
// gives x back (with invalid UTF-8 bytes as U+FFFD and U+2581 as a space;
// the dummy prefix is removed by Decode), that both merge strategies agree, and that every id
// is in range.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", " ", "grabbed", "  two  spaces ", "\t\n", "🦙Ꙋ", "\xff\xfe", "▁", strings.Repeat(" ", 20) + "x"} {
		f.Add(s)
	}
	tok := llamaTokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
		}
		if h := encodeWith(tok, s, 0); !slices.Equal(h, ids) {
			t.Fatalf("heap %v != default %v", h, ids)
		}
		if l := encodeWith(tok, s, 1<<30); !slices.Equal(l, ids) {
			t.Fatalf("linear %v != default %v", l, ids)
		}
		got, err := tok.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		// U+2581 in the input is SentencePiece's space symbol: it decodes as ' '.
		if want := strings.ReplaceAll(spmValid(s), "\u2581", " "); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q (ids %v)", s, got, want, ids)
		}
	})
}
