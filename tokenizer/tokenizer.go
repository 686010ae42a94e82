package tokenizer

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// spaceSymbol is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's escaped space.
const spaceSymbol = "\u2581"

// Options are the per-call encoding switches. The zero value adds neither
// BOS nor EOS (spm_encode's default).
type Options struct {
	AddBOS bool // prepend the model's BOS id (<s> = 1 for Llama-2)
	AddEOS bool // append the model's EOS id (</s> = 2 for Llama-2)
	// NoWordCache disables the per-goroutine word cache (see "Speed" in the
	// package documentation): ids are identical, encoding of repetitive text
	// is slower, and ~450 KB per concurrently encoding goroutine is saved.
	NoWordCache bool
}

// Tokenizer encodes text to ids and decodes ids to text. A Tokenizer is
// immutable after loading and safe for concurrent use by many goroutines.
type Tokenizer struct {
	m    *model
	opts Options
}

// WithOptions returns a Tokenizer sharing t's vocabulary that encodes with
// opts. It is cheap (no copying of the vocabulary).
func (t *Tokenizer) WithOptions(opts Options) *Tokenizer {
	return &Tokenizer{m: t.m, opts: opts}
}

// Options reports the encoding options of t.
func (t *Tokenizer) Options() Options { return t.opts }

// model is the immutable, shared part of a Tokenizer.
type model struct {
	pieces []string
	scores []float32
	types  []PieceType

	pieceIDs map[string]int32 // NORMAL, USER_DEFINED, UNUSED (spm's pieces_)
	reserved map[string]int32 // UNKNOWN, CONTROL, BYTE (spm's reserved_id_map_)
	nPieces  int32

	unk, bos, eos, pad int32
	byteFallback       bool
	byteIDs            [256]int32

	addDummyPrefix, removeExtra, escapeWS, wsSuffix bool
	unkSurface                                      string

	// Symbol ids ("sid") of single characters, used as merge operands.
	// sid < nPieces is a piece id; sid >= nPieces is a character that is
	// not a piece but occurs as a merge operand (extraRunes); -1 is a
	// character that can never merge.
	asciiSID   [128]int32
	bmpSID     []int32 // indexed by rune < 0x10000
	otherSID   map[rune]int32
	extraRunes []rune

	pairs pairTable

	hasUnused bool
	user      *prefixMatcher

	// cacheable: words "▁*[^▁]*" can be merged and cached independently
	// (see encodeWords).
	cacheable bool
	seed      maphash.Seed

	spaceRune        rune
	splitBeforeSpace bool // no mergeable piece contains <non-space><space>
	splitAfterSpace  bool // no mergeable piece contains <space><non-space>

	pool sync.Pool
}

// Load reads a tokenizer from path: a SentencePiece model (tokenizer.model)
// or, when the file starts with '{', a Hugging Face tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	trim := strings.TrimLeft(string(b[:min(len(b), 64)]), " \t\r\n\ufeff")
	if strings.HasPrefix(trim, "{") {
		t, err := ParseHFJSON(b)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
		}
		return t, nil
	}
	t, err := ParseModel(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// LoadModel reads a SentencePiece tokenizer.model file.
func LoadModel(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := ParseModel(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// ParseModel builds a Tokenizer from the bytes of a SentencePiece
// tokenizer.model (a serialized ModelProto).
func ParseModel(data []byte) (*Tokenizer, error) {
	mp, err := ParseModelProto(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid SentencePiece model: %w", err)
	}
	return FromModelProto(mp)
}

// FromModelProto builds a Tokenizer from a decoded ModelProto. Only BPE
// models with identity normalization (no precompiled_charsmap) are accepted.
func FromModelProto(mp *ModelProto) (*Tokenizer, error) {
	switch mp.ModelType {
	case ModelTypeBPE:
	case ModelTypeUnigram:
		return nil, errors.New("model type UNIGRAM is not supported (only BPE)")
	case ModelTypeWord, ModelTypeChar:
		return nil, fmt.Errorf("model type %d (WORD/CHAR) is not supported (only BPE)", mp.ModelType)
	default:
		return nil, fmt.Errorf("unknown model type %d (only BPE is supported)", mp.ModelType)
	}
	if len(mp.PrecompiledCharsmap) > 0 {
		name := mp.NormalizerName
		if name == "" {
			name = "custom"
		}
		return nil, fmt.Errorf("normalization rule %q (precompiled_charsmap) is not supported; only identity normalization", name)
	}
	if !mp.EscapeWhitespaces {
		return nil, errors.New("escape_whitespaces=false is not supported")
	}
	if len(mp.Pieces) == 0 {
		return nil, errors.New("model has no pieces")
	}
	if len(mp.Pieces) >= math.MaxInt32/2 {
		return nil, errors.New("too many pieces")
	}
	in := make([]modelPiece, len(mp.Pieces))
	for i, p := range mp.Pieces {
		in[i] = modelPiece{p.Piece, p.Score, p.Type}
	}
	cfg := buildConfig{
		unkSurface:     mp.UnkSurface,
		byteFallback:   mp.ByteFallback,
		addDummyPrefix: mp.AddDummyPrefix,
		removeExtra:    mp.RemoveExtraWhitespaces,
		wsSuffix:       mp.TreatWhitespaceAsSuffix,
		bosID:          mp.BosID,
		eosID:          mp.EosID,
		padID:          mp.PadID,
	}
	m, err := buildModel(in, cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Tokenizer{m: m}, nil
}

type modelPiece struct {
	s     string
	score float32
	typ   PieceType
}

type buildConfig struct {
	unkSurface                            string
	byteFallback                          bool
	addDummyPrefix, removeExtra, wsSuffix bool
	bosID, eosID, padID                   int32
}

// mergeRule is an explicit merge (HF tokenizer.json); rank 0 is the best.
type mergeRule struct {
	left, right, result int32
}

// buildModel validates pieces and precomputes lookup tables. When merges is
// nil, every split of every mergeable piece into two symbols is a merge rule
// scored with the piece's score (SentencePiece semantics); otherwise only the
// given merges apply, scored by their rank (Hugging Face BPE semantics).
func buildModel(in []modelPiece, cfg buildConfig, merges []mergeRule) (*model, error) {
	m := newModel(len(in), cfg)
	userDefined, err := m.addPieces(in, cfg)
	if err != nil {
		return nil, err
	}
	if err := m.setSpecials(cfg); err != nil {
		return nil, err
	}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = m.pieceToID(byteToPiece(byte(b)))
	}
	if len(userDefined) > 0 {
		m.user = newPrefixMatcher(userDefined)
	}
	m.initSymbols()
	m.buildPairs(merges)
	m.findSegmentation(merges)
	m.cacheable = m.byteFallback && m.user == nil && !m.hasUnused && m.splitBeforeSpace && !m.wsSuffix
	m.seed = maphash.MakeSeed()
	m.pool.New = func() any { return new(scratch) }
	return m, nil
}

// newModel returns an empty model of n pieces configured by cfg.
func newModel(n int, cfg buildConfig) *model {
	m := &model{
		pieces:         make([]string, n),
		scores:         make([]float32, n),
		types:          make([]PieceType, n),
		pieceIDs:       make(map[string]int32, n),
		reserved:       make(map[string]int32),
		nPieces:        int32(n),
		unk:            -1,
		bos:            -1,
		eos:            -1,
		pad:            -1,
		byteFallback:   cfg.byteFallback,
		addDummyPrefix: cfg.addDummyPrefix,
		removeExtra:    cfg.removeExtra,
		wsSuffix:       cfg.wsSuffix,
		escapeWS:       true,
		unkSurface:     cfg.unkSurface,
		spaceRune:      '\u2581',
	}
	if m.unkSurface == "" {
		m.unkSurface = DefaultUnkSurface
	}
	return m
}

// addPieces checks and stores the pieces, their scores and types, and
// returns the USER_DEFINED ones.
func (m *model) addPieces(in []modelPiece, cfg buildConfig) (userDefined []string, err error) {
	hasByte := false
	for i, p := range in {
		if p.s == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		if !utf8.ValidString(p.s) {
			return nil, fmt.Errorf("piece %d is not valid UTF-8", i)
		}
		typ := p.typ
		if typ == 0 {
			typ = Normal
		}
		m.pieces[i] = p.s
		m.scores[i] = p.score
		m.types[i] = typ
		var dst map[string]int32
		switch typ {
		case Normal, UserDefined, Unused:
			dst = m.pieceIDs
		case Unknown, Control, Byte:
			dst = m.reserved
		default:
			return nil, fmt.Errorf("piece %d (%q) has unknown type %d", i, p.s, typ)
		}
		if _, dup := m.pieceIDs[p.s]; dup {
			return nil, fmt.Errorf("piece %q is defined twice", p.s)
		}
		if _, dup := m.reserved[p.s]; dup {
			return nil, fmt.Errorf("piece %q is defined twice", p.s)
		}
		dst[p.s] = int32(i)
		switch typ {
		case UserDefined:
			userDefined = append(userDefined, p.s)
		case Unused:
			m.hasUnused = true
		case Unknown:
			if m.unk >= 0 {
				return nil, errors.New("more than one UNKNOWN piece")
			}
			m.unk = int32(i)
		case Byte:
			if !cfg.byteFallback {
				return nil, fmt.Errorf("piece %q has type BYTE but byte_fallback is false", p.s)
			}
			if pieceToByte(p.s) < 0 {
				return nil, fmt.Errorf("BYTE piece %q is not of the form <0xNN>", p.s)
			}
			hasByte = true
		}
	}
	if m.unk < 0 {
		return nil, errors.New("model has no UNKNOWN (<unk>) piece")
	}
	if cfg.byteFallback && !hasByte {
		return nil, errors.New("byte_fallback is true but the model has no <0xNN> byte pieces")
	}
	return userDefined, nil
}

// setSpecials sets bos, eos and pad. They are used only when they name
// CONTROL pieces, as SentencePieceProcessor::bos_id() and friends require.
func (m *model) setSpecials(cfg buildConfig) error {
	special := func(name string, id int32) (int32, error) {
		if id < 0 {
			return -1, nil
		}
		if int(id) >= len(m.pieces) {
			return -1, fmt.Errorf("%s id %d out of range (vocabulary size %d)", name, id, len(m.pieces))
		}
		if m.types[id] != Control {
			return -1, nil
		}
		return id, nil
	}
	var err error
	if m.bos, err = special("bos", cfg.bosID); err != nil {
		return err
	}
	if m.eos, err = special("eos", cfg.eosID); err != nil {
		return err
	}
	m.pad, err = special("pad", cfg.padID)
	return err
}

// initSymbols gives every single-character piece its symbol id.
func (m *model) initSymbols() {
	for i := range m.asciiSID {
		m.asciiSID[i] = -1
	}
	m.bmpSID = make([]int32, 0x10000)
	for i := range m.bmpSID {
		m.bmpSID[i] = -1
	}
	m.otherSID = make(map[rune]int32)
	for s, id := range m.pieceIDs {
		if r, size := utf8.DecodeRuneInString(s); size == len(s) {
			m.setSID(r, id)
		}
	}
}

// setSID records sid as the symbol id of the character r.
func (m *model) setSID(r rune, sid int32) {
	switch {
	case r < 0x80:
		m.asciiSID[r] = sid
		m.bmpSID[r] = sid
	case r < 0x10000:
		m.bmpSID[r] = sid
	default:
		m.otherSID[r] = sid
	}
}

// sidOf returns the symbol id of a merge operand, allocating ids for
// single characters that are not pieces; -1 when s can never be a symbol
// (a multi-character string that is not a piece).
func (m *model) sidOf(s string) int32 {
	if id, ok := m.pieceIDs[s]; ok {
		return id
	}
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) {
		return -1
	}
	if sid := m.charSID(r); sid >= 0 {
		return sid
	}
	sid := m.nPieces + int32(len(m.extraRunes))
	m.extraRunes = append(m.extraRunes, r)
	m.setSID(r, sid)
	return sid
}

// buildPairs fills the merge table: from the merge rules when there are
// some (the best-ranked rule of a pair wins), else from every split of
// every mergeable piece (scored by the piece).
func (m *model) buildPairs(merges []mergeRule) {
	type pairVal struct {
		id    int32
		score float32
	}
	pairs := make(map[uint64]pairVal)
	if merges == nil {
		for id := int32(0); id < m.nPieces; id++ {
			switch m.types[id] {
			case Normal, UserDefined, Unused:
			default:
				continue
			}
			s := m.pieces[id]
			for k := 1; k < len(s); k++ {
				if !utf8.RuneStart(s[k]) {
					continue
				}
				l, r := m.sidOf(s[:k]), m.sidOf(s[k:])
				if l < 0 || r < 0 {
					continue
				}
				pairs[pairKey(l, r)] = pairVal{id, m.scores[id]}
			}
		}
	} else {
		for rank, mr := range merges {
			k := pairKey(mr.left, mr.right)
			if _, ok := pairs[k]; ok {
				continue // first (best-ranked) rule wins
			}
			pairs[k] = pairVal{mr.result, -float32(rank)}
		}
	}
	m.pairs.init(len(pairs))
	for k, v := range pairs {
		m.pairs.insert(k, v.id, v.score)
	}
}

// findSegmentation finds which neighbouring symbols can never end up in
// the same piece, so that each side can be merged independently.
func (m *model) findSegmentation(merges []mergeRule) {
	m.splitBeforeSpace, m.splitAfterSpace = true, true
	check := func(s string) {
		prevSpace, first := false, true
		for _, r := range s {
			isSpace := r == m.spaceRune
			if !first {
				if isSpace && !prevSpace {
					m.splitBeforeSpace = false
				}
				if !isSpace && prevSpace {
					m.splitAfterSpace = false
				}
			}
			prevSpace, first = isSpace, false
		}
	}
	if merges == nil {
		for s := range m.pieceIDs {
			check(s)
		}
	} else {
		for _, mr := range merges {
			check(m.pieces[mr.result])
		}
	}
}

func (m *model) charSID(r rune) int32 {
	if r < 0x10000 {
		return m.bmpSID[r]
	}
	if sid, ok := m.otherSID[r]; ok {
		return sid
	}
	return -1
}

// pieceToID mirrors ModelInterface::PieceToId: reserved pieces first, then
// ordinary pieces, else unk.
func (m *model) pieceToID(s string) int32 {
	if id, ok := m.reserved[s]; ok {
		return id
	}
	if id, ok := m.pieceIDs[s]; ok {
		return id
	}
	return m.unk
}

const hexDigits = "0123456789ABCDEF"

func byteToPiece(b byte) string {
	return string([]byte{'<', '0', 'x', hexDigits[b>>4], hexDigits[b&15], '>'})
}

// pieceToByte parses "<0xNN>" (upper-case hex as SentencePiece writes it);
// -1 if s is not a byte piece.
func pieceToByte(s string) int {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return -1
	}
	v := 0
	for _, c := range []byte(s[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return v
}

// VocabSize is the number of pieces (ids are 0..VocabSize()-1).
func (t *Tokenizer) VocabSize() int { return len(t.m.pieces) }

// UnkID, BOSID, EOSID and PadID return the special ids (-1 if undefined).
func (t *Tokenizer) UnkID() int32 { return t.m.unk }

// BOSID returns the beginning-of-sentence id (1 for Llama-2), -1 if none.
func (t *Tokenizer) BOSID() int32 { return t.m.bos }

// EOSID returns the end-of-sentence id (2 for Llama-2), -1 if none.
func (t *Tokenizer) EOSID() int32 { return t.m.eos }

// PadID returns the padding id, -1 if none (Llama-2 has none).
func (t *Tokenizer) PadID() int32 { return t.m.pad }

// IDToPiece returns the piece string of id ("" if out of range).
func (t *Tokenizer) IDToPiece(id int32) string {
	if id < 0 || int(id) >= len(t.m.pieces) {
		return ""
	}
	return t.m.pieces[id]
}

// PieceType returns the type of id (0 if out of range).
func (t *Tokenizer) PieceType(id int32) PieceType {
	if id < 0 || int(id) >= len(t.m.types) {
		return 0
	}
	return t.m.types[id]
}

// Score returns the score of id (0 if out of range).
func (t *Tokenizer) Score(id int32) float32 {
	if id < 0 || int(id) >= len(t.m.scores) {
		return 0
	}
	return t.m.scores[id]
}

// PieceToID returns the id of piece s the way SentencePiece does: the unk
// id when s is not in the vocabulary (ok is then false).
func (t *Tokenizer) PieceToID(s string) (id int32, ok bool) {
	if id, ok := t.m.reserved[s]; ok {
		return id, true
	}
	if id, ok := t.m.pieceIDs[s]; ok {
		return id, true
	}
	return t.m.unk, false
}

// prefixMatcher finds the longest user-defined symbol at a position.
type prefixMatcher struct {
	set    map[string]struct{}
	first  [256]bool
	maxLen int
}

func newPrefixMatcher(syms []string) *prefixMatcher {
	pm := &prefixMatcher{set: make(map[string]struct{}, len(syms))}
	for _, s := range syms {
		pm.set[s] = struct{}{}
		pm.first[s[0]] = true
		pm.maxLen = max(pm.maxLen, len(s))
	}
	return pm
}

// match returns the length of the longest symbol that prefixes s, or 0.
func (pm *prefixMatcher) match(s []byte) int {
	if len(s) == 0 || !pm.first[s[0]] {
		return 0
	}
	for l := min(len(s), pm.maxLen); l > 0; l-- {
		if _, ok := pm.set[string(s[:l])]; ok {
			return l
		}
	}
	return 0
}
