package tokenizer

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// PieceType is the type of a vocabulary entry (sentencepiece.ModelProto.SentencePiece.Type).
type PieceType int32

// Piece types, numbered as in sentencepiece_model.proto.
const (
	Normal      PieceType = 1 // ordinary piece, produced by merges
	Unknown     PieceType = 2 // <unk>
	Control     PieceType = 3 // <s>, </s>, ...: never produced by Encode, decode to ""
	UserDefined PieceType = 4 // always segmented as one token
	Unused      PieceType = 5 // may be merged through, then re-split
	Byte        PieceType = 6 // <0xNN> byte-fallback piece
)

func (t PieceType) String() string {
	switch t {
	case Normal:
		return "NORMAL"
	case Unknown:
		return "UNKNOWN"
	case Control:
		return "CONTROL"
	case UserDefined:
		return "USER_DEFINED"
	case Unused:
		return "UNUSED"
	case Byte:
		return "BYTE"
	}
	return fmt.Sprintf("PieceType(%d)", int32(t))
}

// Model types (TrainerSpec.ModelType).
const (
	ModelTypeUnigram int32 = 1
	ModelTypeBPE     int32 = 2
	ModelTypeWord    int32 = 3
	ModelTypeChar    int32 = 4
)

// ProtoPiece is one entry of ModelProto.pieces.
type ProtoPiece struct {
	Piece string
	Score float32
	Type  PieceType
}

// ModelProto is the subset of sentencepiece.ModelProto that this package
// reads and writes. Fields not listed here are skipped when parsing and not
// written. Defaults follow sentencepiece_model.proto (see NewModelProto).
type ModelProto struct {
	Pieces []ProtoPiece

	// TrainerSpec
	ModelType               int32 // field 3, default UNIGRAM (1)
	VocabSize               int32 // field 4
	TreatWhitespaceAsSuffix bool  // field 24
	SplitDigits             bool  // field 25
	AllowWhitespaceOnly     bool  // field 26 (allow_whitespace_only_pieces)
	ByteFallback            bool  // field 35
	UnkID                   int32 // field 40, default 0
	BosID                   int32 // field 41, default 1
	EosID                   int32 // field 42, default 2
	PadID                   int32 // field 43, default -1
	UnkSurface              string

	// NormalizerSpec
	NormalizerName         string // field 1
	PrecompiledCharsmap    []byte // field 2
	AddDummyPrefix         bool   // field 3, default true
	RemoveExtraWhitespaces bool   // field 4, default true
	EscapeWhitespaces      bool   // field 5, default true
}

// DefaultUnkSurface is TrainerSpec.unk_surface's default: " ⁇ ".
const DefaultUnkSurface = " \u2047 "

// NewModelProto returns a ModelProto holding the proto2 defaults.
func NewModelProto() *ModelProto {
	return &ModelProto{
		ModelType:              ModelTypeUnigram,
		UnkID:                  0,
		BosID:                  1,
		EosID:                  2,
		PadID:                  -1,
		UnkSurface:             DefaultUnkSurface,
		AddDummyPrefix:         true,
		RemoveExtraWhitespaces: true,
		EscapeWhitespaces:      true,
	}
}

var errTruncated = errors.New("truncated or malformed protobuf")

// field is one decoded protobuf field: v holds varint and fixed-width
// values, data length-delimited ones.
type field struct {
	num  protowire.Number
	typ  protowire.Type
	v    uint64
	data []byte
}

// eachField calls f for every field of the message b, in order.
func eachField(b []byte, f func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		fl := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			fl.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			fl.v = uint64(v)
		case protowire.Fixed64Type:
			fl.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			fl.data, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		if err := f(fl); err != nil {
			return err
		}
	}
	return nil
}

// ParseModelProto decodes a serialized sentencepiece ModelProto.
func ParseModelProto(b []byte) (*ModelProto, error) {
	m := NewModelProto()
	sawTrainer := false
	err := eachField(b, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case 1:
			p, err := parsePiece(f.data)
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case 2:
			if err := parseTrainerSpec(m, f.data); err != nil {
				return fmt.Errorf("trainer_spec: %w", err)
			}
			sawTrainer = true
		case 3:
			if err := parseNormalizerSpec(m, f.data); err != nil {
				return fmt.Errorf("normalizer_spec: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !sawTrainer && len(m.Pieces) == 0 {
		return nil, errors.New("no pieces and no trainer_spec: not a SentencePiece model")
	}
	return m, nil
}

func parsePiece(b []byte) (ProtoPiece, error) {
	p := ProtoPiece{Type: Normal}
	err := eachField(b, func(f field) error {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			p.Piece = string(f.data)
		case f.num == 2 && f.typ == protowire.Fixed32Type:
			p.Score = math.Float32frombits(uint32(f.v))
		case f.num == 3 && f.typ == protowire.VarintType:
			p.Type = PieceType(int32(f.v))
		}
		return nil
	})
	return p, err
}

func parseTrainerSpec(m *ModelProto, b []byte) error {
	return eachField(b, func(f field) error {
		if f.num == 44 && f.typ == protowire.BytesType {
			m.UnkSurface = string(f.data)
		}
		if f.typ != protowire.VarintType {
			return nil
		}
		switch v := f.v; f.num {
		case 3:
			m.ModelType = int32(v)
		case 4:
			m.VocabSize = int32(v)
		case 24:
			m.TreatWhitespaceAsSuffix = v != 0
		case 25:
			m.SplitDigits = v != 0
		case 26:
			m.AllowWhitespaceOnly = v != 0
		case 35:
			m.ByteFallback = v != 0
		case 40:
			m.UnkID = int32(v)
		case 41:
			m.BosID = int32(v)
		case 42:
			m.EosID = int32(v)
		case 43:
			m.PadID = int32(v)
		}
		return nil
	})
}

func parseNormalizerSpec(m *ModelProto, b []byte) error {
	return eachField(b, func(f field) error {
		switch {
		case f.typ == protowire.VarintType && f.num == 3:
			m.AddDummyPrefix = f.v != 0
		case f.typ == protowire.VarintType && f.num == 4:
			m.RemoveExtraWhitespaces = f.v != 0
		case f.typ == protowire.VarintType && f.num == 5:
			m.EscapeWhitespaces = f.v != 0
		case f.typ == protowire.BytesType && f.num == 1:
			m.NormalizerName = string(f.data)
		case f.typ == protowire.BytesType && f.num == 2:
			m.PrecompiledCharsmap = append([]byte(nil), f.data...)
		}
		return nil
	})
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeBool(v))
}

func appendInt32(b []byte, num protowire.Number, v int32) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(int64(v))) // proto int32: negative values sign-extended
}

// Marshal serializes m as a sentencepiece ModelProto that spm_encode and
// libsentencepiece accept.
func (m *ModelProto) Marshal() []byte {
	var out []byte
	var tmp []byte
	for _, p := range m.Pieces {
		tmp = tmp[:0]
		tmp = protowire.AppendTag(tmp, 1, protowire.BytesType)
		tmp = protowire.AppendString(tmp, p.Piece)
		tmp = protowire.AppendTag(tmp, 2, protowire.Fixed32Type)
		tmp = protowire.AppendFixed32(tmp, math.Float32bits(p.Score))
		if p.Type != Normal && p.Type != 0 {
			tmp = appendInt32(tmp, 3, int32(p.Type))
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, tmp)
	}

	tmp = tmp[:0]
	tmp = appendInt32(tmp, 3, m.ModelType)
	tmp = appendInt32(tmp, 4, m.VocabSize)
	tmp = appendBool(tmp, 24, m.TreatWhitespaceAsSuffix)
	tmp = appendBool(tmp, 25, m.SplitDigits)
	tmp = appendBool(tmp, 26, m.AllowWhitespaceOnly)
	tmp = appendBool(tmp, 35, m.ByteFallback)
	tmp = appendInt32(tmp, 40, m.UnkID)
	tmp = appendInt32(tmp, 41, m.BosID)
	tmp = appendInt32(tmp, 42, m.EosID)
	tmp = appendInt32(tmp, 43, m.PadID)
	if m.UnkSurface != "" && m.UnkSurface != DefaultUnkSurface {
		tmp = protowire.AppendTag(tmp, 44, protowire.BytesType)
		tmp = protowire.AppendString(tmp, m.UnkSurface)
	}
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendBytes(out, tmp)

	tmp = tmp[:0]
	if m.NormalizerName != "" {
		tmp = protowire.AppendTag(tmp, 1, protowire.BytesType)
		tmp = protowire.AppendString(tmp, m.NormalizerName)
	}
	if len(m.PrecompiledCharsmap) > 0 {
		tmp = protowire.AppendTag(tmp, 2, protowire.BytesType)
		tmp = protowire.AppendBytes(tmp, m.PrecompiledCharsmap)
	}
	tmp = appendBool(tmp, 3, m.AddDummyPrefix)
	tmp = appendBool(tmp, 4, m.RemoveExtraWhitespaces)
	tmp = appendBool(tmp, 5, m.EscapeWhitespaces)
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	out = protowire.AppendBytes(out, tmp)
	return out
}
