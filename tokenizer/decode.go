package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Decode returns the text of ids, as SentencePiece's DecodeIds does:
// control ids (<s>, </s>) decode to nothing, <unk> to " ⁇ ", U+2581 to a
// space, runs of byte pieces to their bytes with each byte that is not part
// of a valid UTF-8 sequence replaced by U+FFFD, and the leading space of the
// first piece (the dummy prefix) is dropped, with exactly the rules of
// SentencePiece 0.1.97. An out-of-range id is an error.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	b, err := t.DecodeAppend(nil, ids)
	return string(b), err
}

// DecodeAppend appends the decoded text of ids to dst. See Decode.
func (t *Tokenizer) DecodeAppend(dst []byte, ids []int32) ([]byte, error) {
	m := t.m
	start := len(dst)
	// As in SentencePieceProcessor::Decode: only the first non-byte piece,
	// while nothing has been output, may lose its leading U+2581; once a
	// U+2581 was consumed that way (bosSeen) no later piece loses one.
	isBOS, bosSeen := true, false
	stripBOS := m.addDummyPrefix || m.removeExtra
	var pendBuf [64]byte
	pend := pendBuf[:0]
	flush := func() {
		for off := 0; off < len(pend); {
			r, size := utf8.DecodeRune(pend[off:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, pend[off:off+size]...)
			}
			off += size
		}
		pend = pend[:0]
	}
	for _, id := range ids {
		if id < 0 || int(id) >= len(m.pieces) {
			return dst, fmt.Errorf("tokenizer: id %d out of range [0, %d)", id, len(m.pieces))
		}
		typ := m.types[id]
		if typ == Byte {
			pend = append(pend, byte(pieceToByte(m.pieces[id])))
			continue
		}
		flush()
		if bosSeen || len(dst) != start {
			isBOS = false
		}
		bosSeen = false
		switch typ {
		case Control:
			continue
		case Unknown:
			dst = append(dst, m.unkSurface...)
			continue
		}
		piece := m.pieces[id]
		if isBOS && stripBOS {
			var ok bool
			piece, ok = strings.CutPrefix(piece, spaceSymbol)
			bosSeen = ok && !m.removeExtra
		}
		for {
			i := strings.Index(piece, spaceSymbol)
			if i < 0 {
				break
			}
			dst = append(dst, piece[:i]...)
			dst = append(dst, ' ')
			piece = piece[i+len(spaceSymbol):]
		}
		dst = append(dst, piece...)
	}
	flush()
	return dst, nil
}
