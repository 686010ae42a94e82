package tokenizer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Llama2NPMPackage is the npm package that carries the Llama-2 vocabulary
// (MIT code; vocabulary under the Llama 2 Community License).
const Llama2NPMPackage = "llama-tokenizer-js@1.2.2"

// Llama2Vocab is the Llama-2 vocabulary as shipped by llama-tokenizer-js:
// 32,000 pieces (index = id) and the BPE merges in priority order.
type Llama2Vocab struct {
	Pieces []string
	Merges [][2]int32 // piece ids, best first
	Source string     // llama-tokenizer.js contents (holds its test cases)
}

var (
	reVocab  = regexp.MustCompile(`const llama_vocab_base64 = "([A-Za-z0-9+/=]*)"`)
	reMerges = regexp.MustCompile(`const llama_merges_binary = "([A-Za-z0-9+/=]*)"`)
)

// ReadLlama2NPM reads the vocabulary from the npm tarball produced by
// `npm pack llama-tokenizer-js@1.2.2` (or from an extracted
// llama-tokenizer.js).
func ReadLlama2NPM(path string) (*Llama2Vocab, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("llama2 vocab: %w", err)
	}
	src := raw
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		src, err = extractJS(raw)
		if err != nil {
			return nil, fmt.Errorf("llama2 vocab: %s: %w", path, err)
		}
	}
	v, err := parseLlamaJS(string(src))
	if err != nil {
		return nil, fmt.Errorf("llama2 vocab: %s: %w", path, err)
	}
	return v, nil
}

func extractJS(tgz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("package/llama-tokenizer.js not found in tarball")
		}
		if err != nil {
			return nil, err
		}
		if h.Name == "package/llama-tokenizer.js" {
			return io.ReadAll(io.LimitReader(tr, 64<<20))
		}
	}
}

func parseLlamaJS(src string) (*Llama2Vocab, error) {
	mv := reVocab.FindStringSubmatch(src)
	mm := reMerges.FindStringSubmatch(src)
	if mv == nil || mm == nil {
		return nil, errors.New("vocabulary or merges not found in llama-tokenizer.js")
	}
	vb, err := base64.StdEncoding.DecodeString(mv[1])
	if err != nil {
		return nil, fmt.Errorf("vocabulary: %w", err)
	}
	mb, err := base64.StdEncoding.DecodeString(mm[1])
	if err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	pieces := strings.Split(string(vb), "\n")
	if len(pieces) != 32000 {
		return nil, fmt.Errorf("vocabulary has %d pieces, want 32000", len(pieces))
	}
	if len(mb)%4 != 0 {
		return nil, errors.New("merges length is not a multiple of 4")
	}
	merges := make([][2]int32, len(mb)/4)
	for i := range merges {
		a := int32(binary.LittleEndian.Uint16(mb[4*i:]))
		b := int32(binary.LittleEndian.Uint16(mb[4*i+2:]))
		if int(a) >= len(pieces) || int(b) >= len(pieces) {
			return nil, fmt.Errorf("merge %d refers to id out of range", i)
		}
		merges[i] = [2]int32{a, b}
	}
	return &Llama2Vocab{Pieces: pieces, Merges: merges, Source: src}, nil
}

func isWhitespacePiece(s string) bool {
	return s != "" && strings.Trim(s, spaceSymbol) == ""
}

// ModelProto rebuilds Meta's Llama-2 tokenizer.model: ids 0 <unk>, 1-2
// control, 3-258 byte pieces (score 0), whitespace-only pieces score -1e9,
// every other piece scores -(id-259).
func (v *Llama2Vocab) ModelProto() *ModelProto {
	mp := NewModelProto()
	mp.ModelType = ModelTypeBPE
	mp.VocabSize = int32(len(v.Pieces))
	mp.ByteFallback = true
	mp.SplitDigits = true
	mp.AllowWhitespaceOnly = true
	mp.NormalizerName = "identity"
	mp.AddDummyPrefix = true
	mp.RemoveExtraWhitespaces = false
	mp.Pieces = make([]ProtoPiece, len(v.Pieces))
	for id, s := range v.Pieces {
		p := ProtoPiece{Piece: s, Type: Normal}
		switch {
		case id == 0:
			p.Type = Unknown
		case id <= 2:
			p.Type = Control
		case id <= 258:
			p.Type = Byte
		case isWhitespacePiece(s):
			p.Score = -1e9
		default:
			p.Score = -float32(id - 259)
		}
		mp.Pieces[id] = p
	}
	return mp
}

// HFJSON renders the vocabulary as a Hugging Face tokenizer.json in the
// layout of Meta's Llama-2 release (BPE, byte_fallback, Prepend+Replace
// normalizer, no pre-tokenizer).
func (v *Llama2Vocab) HFJSON() []byte {
	q := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return strings.TrimSuffix(b.String(), "\n")
	}
	var b strings.Builder
	b.WriteString(`{"version":"1.0","truncation":null,"padding":null,"added_tokens":[`)
	for i := 0; i < 3; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"content":%s,"single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}`, i, q(v.Pieces[i]))
	}
	b.WriteString(`],"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},`)
	b.WriteString(`"pre_tokenizer":null,`)
	b.WriteString(`"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"<s>","type_id":1}},{"Sequence":{"id":"B","type_id":1}}],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},`)
	b.WriteString(`"decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},`)
	b.WriteString(`"model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":true,"byte_fallback":true,"vocab":{`)
	for id, s := range v.Pieces {
		if id > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", q(s), id)
	}
	b.WriteString(`},"merges":[`)
	for i, m := range v.Merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q(v.Pieces[m[0]] + " " + v.Pieces[m[1]]))
	}
	b.WriteString("]}}\n")
	return []byte(b.String())
}

// BuildLlama2Files reads the npm tarball at npmPath and writes the rebuilt
// tokenizer.model to modelOut and, if hfOut is not empty, a tokenizer.json.
// It is what `go run ./tokenizer/cmd/llama2model` (and a future
// `medflow models llama2-tokenizer`) runs.
func BuildLlama2Files(npmPath, modelOut, hfOut string) error {
	v, err := ReadLlama2NPM(npmPath)
	if err != nil {
		return err
	}
	mp := v.ModelProto()
	if _, err := FromModelProto(mp); err != nil {
		return fmt.Errorf("llama2 vocab: rebuilt model does not load: %w", err)
	}
	if modelOut != "" {
		if err := os.WriteFile(modelOut, mp.Marshal(), 0o644); err != nil {
			return err
		}
	}
	if hfOut != "" {
		if err := os.WriteFile(hfOut, v.HFJSON(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
