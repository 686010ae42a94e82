package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// LoadHFJSON reads a Hugging Face tokenizer.json describing a
// SentencePiece-style BPE model with byte fallback (the Llama-2 layout).
func LoadHFJSON(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ParseHFJSON(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

type hfAddedToken struct {
	ID      int32  `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type hfComponent struct {
	Type          string            `json:"type"`
	Normalizers   []json.RawMessage `json:"normalizers"`
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	Prepend       string            `json:"prepend"`
	Pattern       hfPattern         `json:"pattern"`
	Content       string            `json:"content"`
	Replacement   string            `json:"replacement"`
	AddPrefix     *bool             `json:"add_prefix_space"`
	PrependScheme string            `json:"prepend_scheme"`
	Split         *bool             `json:"split"`
}

type hfFile struct {
	AddedTokens  []hfAddedToken  `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        struct {
		Type                    string           `json:"type"`
		UnkToken                *string          `json:"unk_token"`
		ByteFallback            bool             `json:"byte_fallback"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		Vocab                   map[string]int32 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

func isNull(r json.RawMessage) bool {
	s := strings.TrimSpace(string(r))
	return s == "" || s == "null"
}

// hfSpec collects what the normalizer / pre-tokenizer say.
type hfSpec struct {
	prefix, escape bool
}

func (s *hfSpec) add(raw json.RawMessage, where string) error {
	if isNull(raw) {
		return nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	switch c.Type {
	case "Sequence":
		for _, sub := range append(c.Normalizers, c.PreTokenizers...) {
			if err := s.add(sub, where); err != nil {
				return err
			}
		}
	case "Prepend":
		if c.Prepend != spaceSymbol {
			return fmt.Errorf("%s: Prepend %q is not supported (only %q)", where, c.Prepend, spaceSymbol)
		}
		s.prefix = true
	case "Replace":
		if c.Pattern.String == nil || *c.Pattern.String != " " || c.Content != spaceSymbol {
			return fmt.Errorf("%s: only Replace(\" \" -> %q) is supported", where, spaceSymbol)
		}
		s.escape = true
	case "Metaspace":
		if c.Replacement != spaceSymbol {
			return fmt.Errorf("%s: Metaspace replacement %q is not supported", where, c.Replacement)
		}
		if c.Split != nil && *c.Split {
			return fmt.Errorf("%s: Metaspace with split=true is not supported", where)
		}
		s.escape = true
		switch c.PrependScheme {
		case "", "first", "always":
			s.prefix = c.AddPrefix == nil || *c.AddPrefix
			if c.PrependScheme != "" {
				s.prefix = true
			}
		case "never":
		default:
			return fmt.Errorf("%s: Metaspace prepend_scheme %q is not supported", where, c.PrependScheme)
		}
	default:
		return fmt.Errorf("%s type %q is not supported (a Llama-style identity normalizer is required)", where, c.Type)
	}
	return nil
}

// ParseHFJSON builds a Tokenizer from the bytes of a Hugging Face
// tokenizer.json with model type BPE (Llama-2 layout: byte_fallback, a
// Prepend("▁") + Replace(" ", "▁") normalizer or a Metaspace pre-tokenizer).
// Merge priority is the merges order, as in Hugging Face tokenizers.
func ParseHFJSON(data []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a valid tokenizer.json: %w", err)
	}
	if f.Model.Type != "BPE" {
		if f.Model.Type == "" {
			return nil, errors.New("not a valid tokenizer.json: no model.type")
		}
		return nil, fmt.Errorf("model type %q is not supported (only BPE)", f.Model.Type)
	}
	if p := f.Model.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, errors.New("continuing_subword_prefix is not supported")
	}
	if p := f.Model.EndOfWordSuffix; p != nil && *p != "" {
		return nil, errors.New("end_of_word_suffix is not supported")
	}
	var spec hfSpec
	if err := spec.add(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if err := spec.add(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if !spec.escape {
		return nil, errors.New("spaces are not mapped to \u2581 (need a Replace normalizer or a Metaspace pre-tokenizer)")
	}
	n := len(f.Model.Vocab)
	if n == 0 {
		return nil, errors.New("model.vocab is empty")
	}
	pieces := make([]modelPiece, n)
	for s, id := range f.Model.Vocab {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("vocab id %d of %q out of range (ids must be 0..%d)", id, s, n-1)
		}
		if pieces[id].s != "" {
			return nil, fmt.Errorf("vocab id %d used twice", id)
		}
		pieces[id] = modelPiece{s: s, typ: Normal}
	}
	for i := range pieces {
		if f.Model.ByteFallback && pieceToByte(pieces[i].s) >= 0 {
			pieces[i].typ = Byte
		}
	}
	for _, at := range f.AddedTokens {
		if at.ID < 0 || int(at.ID) >= n || pieces[at.ID].s != at.Content {
			return nil, fmt.Errorf("added token %q (id %d) is not in the vocabulary", at.Content, at.ID)
		}
		if !at.Special {
			return nil, fmt.Errorf("non-special added token %q is not supported", at.Content)
		}
		pieces[at.ID].typ = Control
	}
	if f.Model.UnkToken == nil {
		return nil, errors.New("model.unk_token is required")
	}
	unk, ok := f.Model.Vocab[*f.Model.UnkToken]
	if !ok {
		return nil, fmt.Errorf("unk_token %q is not in the vocabulary", *f.Model.UnkToken)
	}
	pieces[unk].typ = Unknown

	pairs, err := parseHFMerges(f.Model.Merges)
	if err != nil {
		return nil, err
	}
	var rules []mergeRule
	for i, p := range pairs {
		l, okl := f.Model.Vocab[p[0]]
		r, okr := f.Model.Vocab[p[1]]
		res, okres := f.Model.Vocab[p[0]+p[1]]
		if !okl || !okr || !okres {
			return nil, fmt.Errorf("merge %d (%q %q): piece not in the vocabulary", i, p[0], p[1])
		}
		if pieces[l].typ != Normal || pieces[r].typ != Normal || pieces[res].typ != Normal {
			continue // merges of special or byte pieces never apply
		}
		if pieces[res].score == 0 {
			pieces[res].score = -float32(len(rules)) - 1
		}
		rules = append(rules, mergeRule{l, r, res})
	}
	if rules == nil {
		rules = []mergeRule{}
	}
	id := func(s string) int32 {
		if v, ok := f.Model.Vocab[s]; ok {
			return v
		}
		return -1
	}
	cfg := buildConfig{
		unkSurface:     DefaultUnkSurface,
		byteFallback:   f.Model.ByteFallback,
		addDummyPrefix: spec.prefix,
		bosID:          id("<s>"),
		eosID:          id("</s>"),
		padID:          -1,
	}
	m, err := buildModel(pieces, cfg, rules)
	if err != nil {
		return nil, err
	}
	return &Tokenizer{m: m}, nil
}

func parseHFMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, errors.New("model.merges is missing")
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d %q is not \"left right\"", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 || p[0] == "" || p[1] == "" {
			return nil, fmt.Errorf("merge %d is not a pair", i)
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}
