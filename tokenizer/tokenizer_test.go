package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// jsCase is one testCase(input, expectedIds) of llama-tokenizer-js; the
// expected ids include BOS (the package encodes with add_bos_token=true).
type jsCase struct {
	input string
	ids   []int32
}

// parseJSCases extracts the testCase(...) calls from llama-tokenizer.js.
func parseJSCases(t *testing.T, src string) []jsCase {
	t.Helper()
	var cases []jsCase
	for rest := src; ; {
		i := strings.Index(rest, "testCase(")
		if i < 0 {
			break
		}
		rest = rest[i+len("testCase("):]
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			continue // the function definition
		}
		q := rest[0]
		var sb strings.Builder
		j := 1
		for ; j < len(rest) && rest[j] != q; j++ {
			if rest[j] == '\\' {
				j++
				switch rest[j] {
				case 'n':
					sb.WriteByte('\n')
				case 't':
					sb.WriteByte('\t')
				default:
					sb.WriteByte(rest[j])
				}
				continue
			}
			sb.WriteByte(rest[j])
		}
		rest = rest[j+1:]
		open, close := strings.IndexByte(rest, '['), strings.IndexByte(rest, ']')
		if open < 0 || close < open {
			t.Fatalf("malformed testCase near %q", trunc(rest))
		}
		var ids []int32
		for _, f := range strings.FieldsFunc(rest[open+1:close], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("testCase ids: %v", err)
			}
			ids = append(ids, int32(v))
		}
		cases = append(cases, jsCase{sb.String(), ids})
		rest = rest[close:]
	}
	return cases
}

// TestLlamaJSCases runs the 12 runTests() cases of llama-tokenizer-js,
// read from the package source in the cache.
func TestLlamaJSCases(t *testing.T) {
	v, _, _ := llama(t)
	cases := parseJSCases(t, v.Source)
	if len(cases) != 12 {
		t.Fatalf("found %d testCase calls in llama-tokenizer.js, want 12", len(cases))
	}
	tok := llamaTokenizer(t).WithOptions(Options{AddBOS: true})
	for i, c := range cases {
		got := tok.Encode(c.input)
		if !slices.Equal(got, c.ids) {
			t.Errorf("case %d Encode(%q) =\n %v\nwant\n %v", i, trunc(c.input), got, c.ids)
		}
		if s, err := tok.Decode(got); err != nil || s != c.input {
			t.Errorf("case %d Decode = %q, %v; want %q", i, trunc(s), err, trunc(c.input))
		}
	}
}

// TestLlamaTranscribed holds the short llama-tokenizer-js cases transcribed,
// so they do not depend on parsing the JavaScript.
func TestLlamaTranscribed(t *testing.T) {
	tok := llamaTokenizer(t).WithOptions(Options{AddBOS: true})
	tests := []struct {
		in   string
		want []int32
	}{
		{"grabbed", []int32{1, 2646, 1327, 287}},
		{" grabbed", []int32{1, 29871, 2646, 1327, 287}},
		{"           grabbed", []int32{1, 9651, 2646, 1327, 287}},
		{"\n", []int32{1, 29871, 13}},
		{" \n", []int32{1, 259, 13}},
		{"\ttabs\t\t\t\tout here", []int32{1, 29871, 12, 21175, 12, 12, 12, 12, 449, 1244}},
		{"ax\n####\nboo", []int32{1, 4853, 13, 4136, 13, 833, 29877}},
		{"镇", []int32{1, 29871, 30411}},
		{"🦙", []int32{1, 29871, 243, 162, 169, 156}},
		{"🦙Ꙋ", []int32{1, 29871, 243, 162, 169, 156, 237, 156, 141}},
		{"Ꙋ🦙", []int32{1, 29871, 237, 156, 141, 243, 162, 169, 156}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLlamaSpecials(t *testing.T) {
	tok := llamaTokenizer(t)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"vocab", tok.VocabSize(), 32000},
		{"unk", tok.UnkID(), int32(0)},
		{"bos", tok.BOSID(), int32(1)},
		{"eos", tok.EOSID(), int32(2)},
		{"pad", tok.PadID(), int32(-1)},
		{"piece 29871", tok.IDToPiece(29871), "▁"},
		{"type 0", tok.PieceType(0), Unknown},
		{"type 1", tok.PieceType(1), Control},
		{"type 13", tok.PieceType(13), Byte},
		{"type 29871", tok.PieceType(29871), Normal},
		{"score 29871", tok.Score(29871), float32(-1e9)},
		{"score 300", tok.Score(300), float32(-41)},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if id, ok := tok.PieceToID("▁the"); !ok || tok.IDToPiece(id) != "▁the" {
		t.Errorf("PieceToID(▁the) = %d, %v", id, ok)
	}
	if id, ok := tok.PieceToID("no-such-piece"); ok || id != 0 {
		t.Errorf("PieceToID(missing) = %d, %v; want 0, false", id, ok)
	}
}

// TestBOSEOS compares the options with spm_encode --extra_options.
func TestBOSEOS(t *testing.T) {
	_, model, _ := llama(t)
	tok := llamaTokenizer(t)
	docs := []string{"", "hello world", " x ", "\xff"}
	tests := []struct {
		extra string
		opts  Options
	}{
		{"bos", Options{AddBOS: true}},
		{"eos", Options{AddEOS: true}},
		{"bos:eos", Options{AddBOS: true, AddEOS: true}},
	}
	for _, tc := range tests {
		want := spmEncode(t, model, docs, "--extra_options="+tc.extra)
		tk := tok.WithOptions(tc.opts)
		for i, d := range docs {
			if got := tk.Encode(d); !slices.Equal(got, want[i]) {
				t.Errorf("%s: Encode(%q) = %v, spm_encode %v", tc.extra, d, got, want[i])
			}
			if n := tk.Count(d); n != len(want[i]) {
				t.Errorf("%s: Count(%q) = %d, want %d", tc.extra, d, n, len(want[i]))
			}
		}
	}
}

// TestHFMatchesModel checks that tokenizer.json (written from the npm vocab
// in Hugging Face's format, merges in the package's order) encodes exactly
// like the rebuilt tokenizer.model.
func TestHFMatchesModel(t *testing.T) {
	_, model, hf := llama(t)
	a, err := LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadHFJSON(hf)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := Load(hf); err != nil || c.VocabSize() != 32000 {
		t.Fatalf("Load(tokenizer.json) = %v", err)
	}
	if a.BOSID() != b.BOSID() || a.EOSID() != b.EOSID() || a.UnkID() != b.UnkID() {
		t.Fatalf("special ids differ: model %d/%d/%d, json %d/%d/%d", a.BOSID(), a.EOSID(), a.UnkID(), b.BOSID(), b.EOSID(), b.UnkID())
	}
	bad := 0
	for _, d := range testDocs(4000) {
		if !utf8.ValidString(d) {
			continue // HF tokenizers take Rust strings: always valid UTF-8
		}
		x, y := a.Encode(d), b.Encode(d)
		if !slices.Equal(x, y) {
			bad++
			if bad < 5 {
				t.Errorf("%q: model %v, json %v", trunc(d), x, y)
			}
		}
		for i := 0; i < a.VocabSize(); i += 997 {
			if a.IDToPiece(int32(i)) != b.IDToPiece(int32(i)) || a.PieceType(int32(i)) != b.PieceType(int32(i)) {
				t.Fatalf("piece %d differs: %q %v vs %q %v", i, a.IDToPiece(int32(i)), a.PieceType(int32(i)), b.IDToPiece(int32(i)), b.PieceType(int32(i)))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d documents differ", bad)
	}
}

// TestLlamaRebuild checks the recovered scores/types against the facts
// about Meta's model.
func TestLlamaRebuild(t *testing.T) {
	v, model, _ := llama(t)
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := ParseModelProto(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(mp.Pieces) != 32000 || len(v.Merges) != 61249 {
		t.Fatalf("pieces %d merges %d", len(mp.Pieces), len(v.Merges))
	}
	ws := 0
	for _, p := range mp.Pieces {
		if p.Score == -1e9 {
			ws++
		}
	}
	if ws != 16 {
		t.Errorf("%d whitespace-only pieces, want 16", ws)
	}
	if mp.ModelType != ModelTypeBPE || !mp.ByteFallback || !mp.AddDummyPrefix || mp.RemoveExtraWhitespaces || mp.NormalizerName != "identity" {
		t.Errorf("unexpected spec %+v", *mp)
	}
	// Round trip through Marshal.
	mp2, err := ParseModelProto(mp.Marshal())
	if err != nil || !slices.Equal(mp2.Pieces, mp.Pieces) || mp2.UnkSurface != mp.UnkSurface {
		t.Errorf("Marshal/Parse round trip differs: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	_, model, _ := llama(t)
	good, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	mp, _ := ParseModelProto(good)
	mutate := func(f func(*ModelProto)) []byte {
		c := *mp
		c.Pieces = slices.Clone(mp.Pieces)
		f(&c)
		return c.Marshal()
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		data    []byte
		wantErr string
	}{
		{"text file", "notes.model", []byte("hello, this is not a model\n"), "not a valid SentencePiece model"},
		{"truncated", "trunc.model", good[:len(good)/2], "not a valid SentencePiece model"},
		{"empty", "empty.model", nil, "not a valid SentencePiece model"},
		{"unigram", "unigram.model", mutate(func(m *ModelProto) { m.ModelType = ModelTypeUnigram }), "UNIGRAM"},
		{"word", "word.model", mutate(func(m *ModelProto) { m.ModelType = ModelTypeWord }), "not supported"},
		{"no pieces", "nopieces.model", mutate(func(m *ModelProto) { m.Pieces = nil }), "no pieces"},
		{"no unk", "nounk.model", mutate(func(m *ModelProto) { m.Pieces[0].Type = Control }), "UNKNOWN"},
		{"duplicate", "dup.model", mutate(func(m *ModelProto) { m.Pieces[500].Piece = m.Pieces[501].Piece }), "defined twice"},
		{"byte without fallback", "nofb.model", mutate(func(m *ModelProto) { m.ByteFallback = false }), "byte_fallback"},
		{"nfkc", "nfkc.model", mutate(func(m *ModelProto) { m.NormalizerName = "nmt_nfkc"; m.PrecompiledCharsmap = []byte{1, 2, 3} }), "nmt_nfkc"},
		{"json wordpiece", "tokenizer.json", []byte(`{"model":{"type":"WordPiece","vocab":{"a":0}}}`), "WordPiece"},
		{"json broken", "broken.json", []byte(`{"model":`), "not a valid tokenizer.json"},
		{"json nfkc", "nfkc.json", []byte(`{"normalizer":{"type":"NFKC"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`), "NFKC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatalf("Load(%s) succeeded", tc.file)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q should mention %q and the file name", err, tc.wantErr)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.model")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tok := llamaTokenizer(t)
	for _, ids := range [][]int32{{-1}, {32000}, {1, 2, 1 << 30}} {
		if _, err := tok.Decode(ids); err == nil {
			t.Errorf("Decode(%v) succeeded", ids)
		}
	}
}

// TestAllocs: steady-state EncodeAppend into a reused buffer allocates
// nothing, whatever the document length.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items)")
	}
	tok := llamaTokenizer(t).WithOptions(Options{AddBOS: true, AddEOS: true})
	docs := testDocs(200)
	dst := make([]int32, 0, 1<<16)
	for _, d := range docs {
		dst = tok.EncodeAppend(dst[:0], d)
	}
	for _, d := range []string{docs[40], docs[41], docs[100], strings.Join(docs[50:80], " ")} {
		n := testing.AllocsPerRun(100, func() {
			dst = tok.EncodeAppend(dst[:0], d)
		})
		if n != 0 {
			t.Errorf("EncodeAppend allocates %.1f times per call (%d tokens)", n, len(dst))
		}
	}
	out := make([]byte, 0, 1<<16)
	ids := tok.Encode(docs[60])
	if n := testing.AllocsPerRun(100, func() { out, _ = tok.DecodeAppend(out[:0], ids) }); n != 0 {
		t.Errorf("DecodeAppend allocates %.1f times per call", n)
	}
}

// TestConcurrent encodes from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	tok := llamaTokenizer(t)
	docs := testDocs(400)
	want := make([][]int32, len(docs))
	for i, d := range docs {
		want[i] = tok.Encode(d)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []int32
			for k := 0; k < len(docs); k++ {
				i := (k*7 + g*13) % len(docs)
				dst = tok.EncodeAppend(dst[:0], docs[i])
				if !slices.Equal(dst, want[i]) {
					t.Errorf("goroutine %d doc %d differs", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestEncodeAppendBytes(t *testing.T) {
	tok := llamaTokenizer(t)
	nc := tok.WithOptions(Options{NoWordCache: true})
	for _, d := range testDocs(300) {
		a := tok.Encode(d)
		if b := tok.EncodeAppendBytes(nil, []byte(d)); !slices.Equal(a, b) {
			t.Fatalf("%q: %v vs %v", d, a, b)
		}
		if c := nc.Encode(d); !slices.Equal(a, c) {
			t.Fatalf("NoWordCache %q: %v vs %v", d, a, c)
		}
	}
	prefix := []int32{7, 8}
	if got := tok.EncodeAppend(prefix, "hi"); !slices.Equal(got[:2], []int32{7, 8}) || len(got) <= 2 {
		t.Errorf("EncodeAppend does not append: %v", got)
	}
}

// TestHFVariants: the newer tokenizer.json layouts (merges as pairs,
// Metaspace pre-tokenizer instead of the Prepend/Replace normalizer).
func TestHFVariants(t *testing.T) {
	_, model, hf := llama(t)
	ref, err := LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(hf)
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"grabbed", "           grabbed", "\ttabs\t\t\t\tout here", "🦙Ꙋ 镇", strings.Repeat(" ", 20) + "IMPRESSION: no acute findings. "}
	tests := []struct {
		name string
		edit func(f map[string]any)
	}{
		{"merge pairs", func(f map[string]any) {
			m := f["model"].(map[string]any)
			var pairs [][]string
			for _, s := range m["merges"].([]any) {
				a, b, _ := strings.Cut(s.(string), " ")
				pairs = append(pairs, []string{a, b})
			}
			m["merges"] = pairs
		}},
		{"metaspace", func(f map[string]any) {
			f["normalizer"] = nil
			f["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
		}},
		{"legacy metaspace", func(f map[string]any) {
			f["normalizer"] = nil
			f["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f map[string]any
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			tc.edit(f)
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ParseHFJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				if x, y := ref.Encode(d), tok.Encode(d); !slices.Equal(x, y) {
					t.Errorf("%q: model %v, json %v", d, x, y)
				}
			}
		})
	}
}
