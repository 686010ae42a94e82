package tokenizer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/tokenizer/internal/corpus"
)

// testDocs is the differential corpus: realistic reports plus adversarial
// documents (whitespace runs of up to 40 spaces, tabs, emoji, CJK, control
// characters, invalid UTF-8), and a few hand-written edge cases.
func testDocs(n int) []string {
	docs := []string{
		"", " ", "  ", strings.Repeat(" ", 17), strings.Repeat(" ", 40) + "x" + strings.Repeat(" ", 33),
		"\t", "a", "▁", "▁▁ ▁", "\xff", "\xff\xfe", "\xe2\x96\x81\xe2\x96", "\ufffd", "<s>", "<unk></s>", "<0x0A>",
		"grabbed", " grabbed", "           grabbed", "\ttabs\t\t\t\tout here", "ax ####", "镇", "🦙Ꙋ", "Ꙋ🦙",
		strings.Repeat("ab", 300), strings.Repeat("镇", 100), strings.Repeat("🦙", 50), strings.Repeat("\xff", 40),
		strings.Repeat(" ", 1000) + "end", strings.Repeat("a ", 500),
	}
	docs = append(docs, corpus.Docs(1, n/2, corpus.Reports)...)
	docs = append(docs, corpus.Docs(2, n-n/2, corpus.Mixed)...)
	return docs
}

// compareAll checks tok against spm_encode on docs with both merge
// strategies (heap only, linear for short segments, linear always).
func compareAll(t *testing.T, tok *Tokenizer, model string, docs []string) {
	t.Helper()
	want := spmEncode(t, model, docs)
	mismatches := 0
	for i, d := range docs {
		for _, lm := range []int{0, defaultLinearMax, 1 << 30} {
			got := encodeWith(tok, d, lm)
			if !slices.Equal(got, want[i]) {
				mismatches++
				if mismatches <= 5 {
					t.Errorf("doc %d (linearMax %d) %q:\n got %v\nwant %v", i, lm, trunc(d), got, want[i])
				}
			}
		}
		if got := tok.EncodeAppend(nil, d); !slices.Equal(got, want[i]) {
			mismatches++
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d mismatches against spm_encode", mismatches)
	}
	total := 0
	for _, w := range want {
		total += len(w)
	}
	t.Logf("%d documents, %d tokens: identical to spm_encode", len(docs), total)
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func TestDiffLlama2(t *testing.T) {
	_, model, _ := llama(t)
	tok := llamaTokenizer(t)
	compareAll(t, tok, model, testDocs(6000))
}

func trainingCorpus() []string {
	return append(corpus.Docs(11, 3000, corpus.Reports), corpus.Docs(12, 1000, corpus.Mixed)...)
}

var trainedConfigs = []struct {
	name  string
	flags []string
}{
	{"bpe-llama-like", []string{"--model_type=bpe", "--vocab_size=2000", "--byte_fallback=true",
		"--normalization_rule_name=identity", "--add_dummy_prefix=true", "--remove_extra_whitespaces=false",
		"--allow_whitespace_only_pieces=true", "--split_digits=true", "--character_coverage=0.995",
		"--user_defined_symbols=CT,MRI,<sep>"}},
	{"bpe-no-split-ws", []string{"--model_type=bpe", "--vocab_size=1200", "--byte_fallback=true",
		"--normalization_rule_name=identity", "--add_dummy_prefix=false", "--remove_extra_whitespaces=true",
		"--split_by_whitespace=false", "--character_coverage=0.98"}},
	{"bpe-suffix-unk", []string{"--model_type=bpe", "--vocab_size=800", "--byte_fallback=false",
		"--normalization_rule_name=identity", "--treat_whitespace_as_suffix=true", "--remove_extra_whitespaces=false",
		"--character_coverage=0.99"}},
}

func TestDiffTrained(t *testing.T) {
	docs := testDocs(3000)
	for _, c := range trainedConfigs {
		t.Run(c.name, func(t *testing.T) {
			model := trainedModel(t, c.name, trainingCorpus(), c.flags...)
			tok, err := LoadModel(model)
			if err != nil {
				t.Fatal(err)
			}
			compareAll(t, tok, model, docs)
		})
	}
}

// TestDiffUnused marks some pieces of a trained model UNUSED, which makes
// SentencePiece resegment them (bpe_model.cc's rev_merge).
func TestDiffUnused(t *testing.T) {
	src := trainedModel(t, trainedConfigs[0].name, trainingCorpus(), trainedConfigs[0].flags...)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := ParseModelProto(b)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	for i := range mp.Pieces {
		p := &mp.Pieces[i]
		if p.Type == Normal && len([]rune(p.Piece)) > 1 && r.IntN(5) == 0 {
			p.Type = Unused
			n++
		}
	}
	model := filepath.Join(t.TempDir(), "unused.model")
	if err := os.WriteFile(model, mp.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pieces marked UNUSED", n)
	compareAll(t, tok, model, testDocs(1500))
}

func TestDiffDecode(t *testing.T) {
	_, llamaModel, _ := llama(t)
	models := []string{llamaModel}
	for _, c := range trainedConfigs {
		models = append(models, trainedModel(t, c.name, trainingCorpus(), c.flags...))
	}
	for _, model := range models {
		tok, err := LoadModel(model)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(model), func(t *testing.T) {
			// Random id sequences (bytes, controls, unk, whitespace pieces),
			// avoiding anything that decodes to '\n' (spm_decode is line based).
			r := rand.New(rand.NewPCG(5, 6))
			var seqs [][]int32
			for len(seqs) < 3000 {
				n := r.IntN(12)
				var s []int32
				for len(s) < n {
					var id int32
					switch r.IntN(4) {
					case 0:
						id = int32(r.IntN(min(tok.VocabSize(), 300)))
					default:
						id = int32(r.IntN(tok.VocabSize()))
					}
					if strings.Contains(tok.IDToPiece(id), "\n") || tok.IDToPiece(id) == "<0x0A>" || tok.IDToPiece(id) == "<0x0D>" {
						continue
					}
					s = append(s, id)
				}
				seqs = append(seqs, s)
			}
			// And the encodings of the test corpus.
			for _, d := range testDocs(600) {
				if !strings.ContainsAny(d, "\r") {
					seqs = append(seqs, tok.Encode(d))
				}
			}
			want := spmDecode(t, model, seqs)
			bad := 0
			for i, s := range seqs {
				got, err := tok.Decode(s)
				if err != nil {
					t.Fatal(err)
				}
				if got != want[i] {
					bad++
					if bad <= 5 {
						t.Errorf("Decode(%v) = %q, spm_decode %q", s, got, want[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d decodes differ from spm_decode", bad, len(seqs))
			}
		})
	}
}
