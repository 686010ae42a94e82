package tokenizer

import (
	"bytes"
	"hash/maphash"
	"math"
	"unicode/utf8"
	"unsafe"
)

// defaultLinearMax is the longest segment (in symbols) merged by rescanning
// all pairs instead of using a heap. Both strategies give identical results;
// tests run both.
const defaultLinearMax = 24

type symbol struct {
	sid      int32 // merge operand id; -1: never merges
	start, n int32 // bytes of the normalized text; n == 0: merged away
	prev     int32
	next     int32
	pid      int32 // linear strategy: piece that merging with next gives, -1 none
	pscore   float32
	frozen   bool // user-defined symbol: never merged
}

// hentry is a candidate merge in the heap: key orders by score, then by
// leftmost position; size is the byte length of the merged piece, which
// (as in bpe_model.cc) identifies whether the candidate is still current.
type hentry struct {
	key  uint64
	size int32
	id   int32
}

type revEntry struct{ id, l, r int32 }

type scratch struct {
	base int // len(dst) when this encode call started
	norm []byte
	syms []symbol
	heap []hentry
	revs []revEntry
	ids  []int32 // Count's output buffer

	cache wordCache
}

// Encode returns the ids of text.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.EncodeAppend(nil, text)
}

// EncodeAppend appends the ids of text to dst and returns the extended
// slice. It allocates only when dst must grow.
func (t *Tokenizer) EncodeAppend(dst []int32, text string) []int32 {
	m := t.m
	if t.opts.AddBOS && m.bos >= 0 {
		dst = append(dst, m.bos)
	}
	if len(text) > 0 {
		sc := m.pool.Get().(*scratch)
		dst = m.encode(dst, text, sc, defaultLinearMax, !t.opts.NoWordCache)
		m.putScratch(sc)
	}
	if t.opts.AddEOS && m.eos >= 0 {
		dst = append(dst, m.eos)
	}
	return dst
}

// EncodeAppendBytes is EncodeAppend for text held in a byte slice (for
// example an Arrow string column's data buffer). text is not retained or
// modified.
func (t *Tokenizer) EncodeAppendBytes(dst []int32, text []byte) []int32 {
	if len(text) == 0 {
		return t.EncodeAppend(dst, "")
	}
	return t.EncodeAppend(dst, unsafe.String(&text[0], len(text)))
}

// Count returns the number of ids Encode(text) would return.
func (t *Tokenizer) Count(text string) int {
	m := t.m
	sc := m.pool.Get().(*scratch)
	sc.ids = m.encode(sc.ids[:0], text, sc, defaultLinearMax, !t.opts.NoWordCache)
	n := len(sc.ids)
	m.putScratch(sc)
	if t.opts.AddBOS && m.bos >= 0 {
		n++
	}
	if t.opts.AddEOS && m.eos >= 0 {
		n++
	}
	return n
}

// maxPooledSymbols bounds the scratch memory kept in the pool after a very
// long text (symbols are 32 bytes each).
const maxPooledSymbols = 1 << 20

func (m *model) putScratch(sc *scratch) {
	if cap(sc.syms) > maxPooledSymbols || cap(sc.norm) > 4*maxPooledSymbols || cap(sc.ids) > maxPooledSymbols {
		return
	}
	m.pool.Put(sc)
}

// normalize applies SentencePiece's normalizer for identity rules: invalid
// UTF-8 bytes become U+FFFD (one per byte), spaces become U+2581, the dummy
// prefix is added and, if remove_extra_whitespaces, leading/trailing/repeated
// spaces are removed.
func (m *model) normalize(dst []byte, s string) []byte {
	if m.removeExtra {
		i := 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
		s = s[i:]
	}
	if len(s) == 0 {
		return dst
	}
	if m.addDummyPrefix && !m.wsSuffix {
		dst = append(dst, spaceSymbol...)
	}
	prevSpace := m.removeExtra
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' {
				if prevSpace {
					continue
				}
				dst = append(dst, spaceSymbol...)
				prevSpace = m.removeExtra
				continue
			}
			dst = append(dst, c)
			prevSpace = false
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
		prevSpace = false
	}
	if m.removeExtra {
		for len(dst) >= 3 && string(dst[len(dst)-3:]) == spaceSymbol {
			dst = dst[:len(dst)-3]
		}
	}
	if m.addDummyPrefix && m.wsSuffix {
		dst = append(dst, spaceSymbol...)
	}
	return dst
}

// encode appends the ids of text. linearMax selects the merge strategy
// for short segments; useCache enables the per-scratch word cache. All
// combinations give the same ids.
func (m *model) encode(dst []int32, text string, sc *scratch, linearMax int, useCache bool) []int32 {
	sc.base = len(dst)
	norm := m.normalize(sc.norm[:0], text)
	sc.norm = norm
	if len(norm) == 0 {
		return dst
	}
	if useCache && m.cacheable {
		return m.encodeWords(dst, sc, linearMax)
	}
	return m.encodeSpan(dst, sc, 0, len(norm), linearMax)
}

// maxCachedWord is the longest word (in normalized bytes) kept in the cache.
const maxCachedWord = 96

var spaceBytes = []byte(spaceSymbol)

// encodeWords splits the normalized text into words "▁*[^▁]*" — for a
// model where no mergeable piece contains a non-space followed by U+2581
// (m.cacheable), each word is merged independently — and looks each word up
// in the scratch's cache before merging it.
func (m *model) encodeWords(dst []int32, sc *scratch, linearMax int) []int32 {
	norm := sc.norm
	c := &sc.cache
	for i := 0; i < len(norm); {
		j := i
		for j+3 <= len(norm) && norm[j] == 0xE2 && norm[j+1] == 0x96 && norm[j+2] == 0x81 {
			j += 3
		}
		end := len(norm)
		if k := bytes.Index(norm[j:], spaceBytes); k >= 0 {
			end = j + k
		}
		word := norm[i:end]
		if len(word) > maxCachedWord {
			dst = m.encodeSpan(dst, sc, i, end, linearMax)
		} else {
			h := maphash.Bytes(m.seed, word)
			if ids, ok := c.get(h, word); ok {
				dst = append(dst, ids...)
			} else {
				before := len(dst)
				dst = m.encodeSpan(dst, sc, i, end, linearMax)
				c.put(h, word, dst[before:])
			}
		}
		i = end
	}
	return dst
}

// encodeSpan merges sc.norm[from:to], which must start and end at hard
// boundaries (see encode), and appends its ids.
func (m *model) encodeSpan(dst []int32, sc *scratch, from, to int, linearMax int) []int32 {
	norm := sc.norm[:to]

	// Split into initial symbols: user-defined symbols (frozen) or single
	// characters.
	syms := sc.syms[:0]
	spaceSID := m.charSID(m.spaceRune)
	for i := from; i < len(norm); {
		var sid int32
		size := 1
		frozen := false
		if m.user != nil {
			if l := m.user.match(norm[i:]); l > 0 {
				size, frozen = l, true
				sid = m.pieceIDs[string(norm[i:i+l])]
			}
		}
		if !frozen {
			c := norm[i]
			switch {
			case c < utf8.RuneSelf:
				sid = m.asciiSID[c]
			case c == 0xE2 && i+2 < len(norm) && norm[i+1] == 0x96 && norm[i+2] == 0x81:
				sid, size = spaceSID, 3
			default:
				var r rune
				r, size = utf8.DecodeRune(norm[i:])
				sid = m.charSID(r)
			}
		}
		syms = append(syms, symbol{sid: sid, start: int32(i), n: int32(size), frozen: frozen})
		i += size
	}
	sc.syms = syms

	if m.hasUnused {
		// Resegmentation of unused pieces depends on the global order in
		// which candidate pairs are created, so merge the whole text at once
		// exactly as bpe_model.cc does.
		sc.revs = sc.revs[:0]
		return m.mergeHeap(dst, sc, 0, int32(len(syms)))
	}

	isSpace := func(s *symbol) bool { return s.sid == spaceSID && !s.frozen }
	start := 0
	for i := 1; i <= len(syms); i++ {
		if i < len(syms) {
			a, b := &syms[i-1], &syms[i]
			hard := a.sid < 0 || b.sid < 0 || a.frozen || b.frozen ||
				(m.splitBeforeSpace && isSpace(b) && !isSpace(a)) ||
				(m.splitAfterSpace && isSpace(a) && !isSpace(b))
			if !hard {
				continue
			}
		}
		switch n := i - start; {
		case n == 1:
			dst = m.emit(dst, sc, &syms[start])
		case n <= linearMax:
			dst = m.mergeLinear(dst, sc, int32(start), int32(i))
		default:
			dst = m.mergeHeap(dst, sc, int32(start), int32(i))
		}
		start = i
	}
	return dst
}

// link sets prev/next pointers of syms[a:b] as an isolated list.
func link(syms []symbol, a, b int32) {
	for i := a; i < b; i++ {
		syms[i].prev = i - 1
		syms[i].next = i + 1
	}
	syms[a].prev = -1
	syms[b-1].next = -1
}

func (m *model) pair(l, r *symbol) (int32, float32) {
	if l.frozen || r.frozen || l.sid < 0 || r.sid < 0 {
		return -1, 0
	}
	return m.pairs.lookup(l.sid, r.sid)
}

// mergeLinear merges syms[a:b] by repeatedly scanning for the best pair:
// highest score, leftmost on ties.
func (m *model) mergeLinear(dst []int32, sc *scratch, a, b int32) []int32 {
	syms := sc.syms
	link(syms, a, b)
	for i := a; i < b-1; i++ {
		syms[i].pid, syms[i].pscore = m.pair(&syms[i], &syms[i+1])
	}
	syms[b-1].pid = -1
	for {
		best := int32(-1)
		var bestScore float32
		for i := a; i >= 0; i = syms[i].next {
			if s := &syms[i]; s.pid >= 0 && (best < 0 || s.pscore > bestScore) {
				best, bestScore = i, s.pscore
			}
		}
		if best < 0 {
			break
		}
		l := &syms[best]
		r := &syms[l.next]
		l.sid = l.pid
		l.n += r.n
		r.n = 0
		l.next = r.next
		if l.next >= 0 {
			syms[l.next].prev = best
			l.pid, l.pscore = m.pair(l, &syms[l.next])
		} else {
			l.pid = -1
		}
		if l.prev >= 0 {
			p := &syms[l.prev]
			p.pid, p.pscore = m.pair(p, l)
		}
	}
	for i := a; i >= 0; i = syms[i].next {
		dst = m.emit(dst, sc, &syms[i])
	}
	return dst
}

func scoreKey(score float32, left int32) uint64 {
	if score == 0 {
		score = 0 // -0 == +0 as in C++ float comparison
	}
	bits := math.Float32bits(score)
	if bits&0x80000000 != 0 {
		bits = ^bits
	} else {
		bits |= 0x80000000
	}
	return uint64(bits)<<32 | uint64(^uint32(left))
}

// mergeHeap merges syms[a:b] with a priority queue of candidate pairs,
// following bpe_model.cc step by step.
func (m *model) mergeHeap(dst []int32, sc *scratch, a, b int32) []int32 {
	syms := sc.syms
	link(syms, a, b)
	h := sc.heap[:0]
	push := func(left int32) {
		if left < 0 {
			return
		}
		l := &syms[left]
		if l.next < 0 {
			return
		}
		r := &syms[l.next]
		id, score := m.pair(l, r)
		if id < 0 {
			return
		}
		h = append(h, hentry{key: scoreKey(score, left), size: l.n + r.n, id: id})
		// sift up
		j := len(h) - 1
		e := h[j]
		for j > 0 {
			p := (j - 1) / 2
			if h[p].key >= e.key {
				break
			}
			h[j] = h[p]
			j = p
		}
		h[j] = e
		if m.hasUnused && m.types[id] == Unused {
			sc.revs = append(sc.revs, revEntry{id, l.sid, r.sid})
		}
	}
	for i := a; i < b-1; i++ {
		push(i)
	}
	for len(h) > 0 {
		top := h[0]
		last := len(h) - 1
		e := h[last]
		h = h[:last]
		if last > 0 {
			// sift down
			j := 0
			for {
				c := 2*j + 1
				if c >= last {
					break
				}
				if c+1 < last && h[c+1].key > h[c].key {
					c++
				}
				if h[c].key <= e.key {
					break
				}
				h[j] = h[c]
				j = c
			}
			h[j] = e
		}
		left := int32(uint32(^top.key))
		l := &syms[left]
		if l.n == 0 || l.next < 0 {
			continue
		}
		r := &syms[l.next]
		if l.n+r.n != top.size {
			continue
		}
		l.sid = top.id
		l.n += r.n
		r.n = 0
		l.next = r.next
		if l.next >= 0 {
			syms[l.next].prev = left
		}
		push(l.prev)
		push(left)
	}
	sc.heap = h
	for i := a; i >= 0; i = syms[i].next {
		dst = m.emit(dst, sc, &syms[i])
	}
	return dst
}

// emit appends the ids of a final symbol.
func (m *model) emit(dst []int32, sc *scratch, s *symbol) []int32 {
	if s.sid >= 0 && s.sid < m.nPieces {
		if m.types[s.sid] == Unused {
			return m.resegment(dst, sc, s.sid, 0)
		}
		return append(dst, s.sid)
	}
	return m.emitChar(dst, sc, sc.norm[s.start:s.start+s.n])
}

// emitChar appends the ids of a single character that is not a piece:
// a reserved piece with that exact text, or unk / byte fallback. Without
// byte fallback a run of unknown characters becomes one unk, as
// SentencePieceProcessor::PopulateSentencePieceText merges them.
func (m *model) emitChar(dst []int32, sc *scratch, c []byte) []int32 {
	if id, ok := m.reserved[string(c)]; ok && m.types[id] != Unknown {
		return append(dst, id)
	}
	if !m.byteFallback {
		if len(dst) > sc.base && dst[len(dst)-1] == m.unk {
			return dst
		}
		return append(dst, m.unk)
	}
	for _, b := range c {
		dst = append(dst, m.byteIDs[b])
	}
	return dst
}

// resegment splits an UNUSED piece back into the pair it was last seen to
// be made of (bpe_model.cc's rev_merge), recursively.
func (m *model) resegment(dst []int32, sc *scratch, sid int32, depth int) []int32 {
	if sid >= m.nPieces {
		var buf [utf8.UTFMax]byte
		return m.emitChar(dst, sc, utf8.AppendRune(buf[:0], m.extraRunes[sid-m.nPieces]))
	}
	if m.types[sid] != Unused || depth > 64 {
		return append(dst, sid)
	}
	for i := len(sc.revs) - 1; i >= 0; i-- {
		if e := sc.revs[i]; e.id == sid {
			dst = m.resegment(dst, sc, e.l, depth+1)
			return m.resegment(dst, sc, e.r, depth+1)
		}
	}
	return append(dst, sid)
}

// wordCache maps a word (normalized bytes) to its ids. It lives in a
// scratch (one per concurrent encoder, via sync.Pool), uses fixed-size
// arenas and is simply emptied when full, so it never allocates after its
// first use.
type wordCache struct {
	slots []cacheSlot
	keys  []byte
	ids   []int32
	n     int
}

type cacheSlot struct {
	h                      uint64
	koff, klen, ioff, ilen int32 // klen == 0: empty
}

const (
	cacheSlots    = 1 << 13 // power of two
	cacheMaxWords = cacheSlots / 2
	cacheKeyBytes = 1 << 17
	cacheIDs      = 1 << 15
)

func (c *wordCache) get(h uint64, word []byte) ([]int32, bool) {
	if c.slots == nil {
		return nil, false
	}
	for i := h & (cacheSlots - 1); ; i = (i + 1) & (cacheSlots - 1) {
		s := &c.slots[i]
		if s.klen == 0 {
			return nil, false
		}
		if s.h == h && bytes.Equal(c.keys[s.koff:s.koff+s.klen], word) {
			return c.ids[s.ioff : s.ioff+s.ilen], true
		}
	}
}

func (c *wordCache) put(h uint64, word []byte, ids []int32) {
	if c.slots == nil {
		c.slots = make([]cacheSlot, cacheSlots)
		c.keys = make([]byte, 0, cacheKeyBytes)
		c.ids = make([]int32, 0, cacheIDs)
	}
	if len(ids) > cacheIDs/64 {
		return
	}
	if c.n >= cacheMaxWords || len(c.keys)+len(word) > cap(c.keys) || len(c.ids)+len(ids) > cap(c.ids) {
		clear(c.slots)
		c.keys, c.ids, c.n = c.keys[:0], c.ids[:0], 0
	}
	i := h & (cacheSlots - 1)
	for c.slots[i].klen != 0 {
		i = (i + 1) & (cacheSlots - 1)
	}
	c.slots[i] = cacheSlot{h, int32(len(c.keys)), int32(len(word)), int32(len(c.ids)), int32(len(ids))}
	c.keys = append(c.keys, word...)
	c.ids = append(c.ids, ids...)
	c.n++
}
