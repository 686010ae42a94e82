package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// synthModel builds a small BPE model: <unk> <s> </s>, optionally the 256
// byte pieces, then pieces given as "piece" or "piece:score" or
// "piece:score:TYPE".
func synthModel(t *testing.T, byteFallback bool, mutate func(*ModelProto), pieces ...string) *ModelProto {
	t.Helper()
	mp := NewModelProto()
	mp.ModelType = ModelTypeBPE
	mp.NormalizerName = "identity"
	mp.RemoveExtraWhitespaces = false
	mp.ByteFallback = byteFallback
	mp.Pieces = []ProtoPiece{{"<unk>", 0, Unknown}, {"<s>", 0, Control}, {"</s>", 0, Control}}
	if byteFallback {
		for b := 0; b < 256; b++ {
			mp.Pieces = append(mp.Pieces, ProtoPiece{Piece: fmt.Sprintf("<0x%02X>", b), Type: Byte})
		}
	}
	for i, p := range pieces {
		parts := strings.Split(p, ":")
		pp := ProtoPiece{Piece: parts[0], Score: -float32(i), Type: Normal}
		if len(parts) > 1 {
			var f float32
			fmt.Sscan(parts[1], &f)
			pp.Score = f
		}
		if len(parts) > 2 {
			switch parts[2] {
			case "USER":
				pp.Type = UserDefined
			case "UNUSED":
				pp.Type = Unused
			case "CONTROL":
				pp.Type = Control
			}
		}
		mp.Pieces = append(mp.Pieces, pp)
	}
	if mutate != nil {
		mutate(mp)
	}
	return mp
}

// TestSyntheticModels covers vocabulary corner cases that trained models
// rarely have, each checked against spm_encode.
func TestSyntheticModels(t *testing.T) {
	texts := []string{
		"", " ", "xy", "x y", "xyxy xy", "yx", "a b", "a  b", "ab ab", "aaaa", "aaaaa", "abcabc abc", "▁", "a▁b",
		"zzz", "z z", "xyz", "q", "qq", "\xff", "ü", "üü ü", "X", "XX", "a b c d e f g", "   ", "b a", "bcd",
		strings.Repeat("a", 60), strings.Repeat("ab ", 30), strings.Repeat("xy", 40),
	}
	texts = append(texts, testDocs(200)...)
	tests := []struct {
		name   string
		bytes  bool
		mutate func(*ModelProto)
		pieces []string
	}{
		// "xy" is a piece but "x" is not: x is still a merge operand.
		{"operand not a piece", true, nil, []string{"▁", "y", "z", "xy", "▁xy", "xyz"}},
		// All scores equal: leftmost pair first.
		{"ties", true, nil, []string{"▁:0", "a:0", "b:0", "c:0", "aa:0", "ab:0", "bc:0", "▁a:0", "aaa:0", "abc:0", "▁b:0"}},
		// User-defined symbols containing the space symbol, and overlapping.
		{"user defined", true, nil, []string{"a", "b", "▁", "a▁b::USER", "ab::USER", "▁a", "b▁", "abc::USER"}},
		// UNUSED intermediate pieces are split back.
		{"unused", true, nil, []string{"▁", "a", "b", "c", "ab:5:UNUSED", "abc:4", "bc:3:UNUSED", "▁ab:2", "▁abc:1:UNUSED", "aa:0:UNUSED", "aaa:-1"}},
		// No byte fallback: unknown runs become one <unk>.
		{"unk runs", false, nil, []string{"▁", "a", "b", "ab", "▁a"}},
		// Pieces with spaces inside (split_by_whitespace=false style).
		{"space inside", true, nil, []string{"▁", "a", "b", "a▁", "▁b", "a▁b", "▁a▁b", "b▁a"}},
		// remove_extra_whitespaces and no dummy prefix.
		{"remove extra", true, func(m *ModelProto) { m.RemoveExtraWhitespaces = true; m.AddDummyPrefix = false }, []string{"▁", "a", "b", "▁a", "▁▁", "ab"}},
		// Whitespace suffix.
		{"suffix", true, func(m *ModelProto) { m.TreatWhitespaceAsSuffix = true }, []string{"▁", "a", "b", "a▁", "b▁", "ab▁", "▁▁"}},
		// (A one-character CONTROL piece makes spm_encode fail with "all
		// normalized characters are not consumed"; not compared.)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp := synthModel(t, tc.bytes, tc.mutate, tc.pieces...)
			path := filepath.Join(t.TempDir(), "m.model")
			if err := os.WriteFile(path, mp.Marshal(), 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := LoadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			want := spmEncode(t, path, texts)
			for i, s := range texts {
				for _, lm := range []int{0, defaultLinearMax, 1 << 30} {
					if got := encodeWith(tok, s, lm); !slices.Equal(got, want[i]) {
						t.Fatalf("linearMax %d: Encode(%q) = %v, spm_encode %v", lm, trunc(s), got, want[i])
					}
				}
			}
			var seqs [][]int32
			for _, w := range want {
				if len(w) > 0 {
					seqs = append(seqs, w)
				}
			}
			dec := spmDecode(t, path, seqs)
			for i, s := range seqs {
				if got, _ := tok.Decode(s); got != dec[i] {
					t.Errorf("Decode(%v) = %q, spm_decode %q", s, got, dec[i])
				}
			}
		})
	}
}
