package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medflow/medflow/safetensors"
)

// encode writes a file with the given declarations and data.
func encode(t *testing.T, decl []safetensors.Decl, data [][]float32) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := safetensors.NewWriter(&buf, decl, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range decl {
		if err := w.WriteFloat32(d.Name, data[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	vals := []float32{0, 1, -2.5, 0.1, 3.14159, -65504, 1e-3, 7}
	for _, tc := range []struct {
		dtype string
		round func(float32) float32
	}{
		{safetensors.F32, func(f float32) float32 { return f }},
		{safetensors.F16, func(f float32) float32 { return safetensors.F16ToF32(safetensors.F32ToF16(f)) }},
		{safetensors.BF16, func(f float32) float32 { return safetensors.BF16ToF32(safetensors.F32ToBF16(f)) }},
	} {
		t.Run(tc.dtype, func(t *testing.T) {
			decl := []safetensors.Decl{
				{Name: "a.weight", DType: tc.dtype, Shape: []int{2, 4}},
				{Name: "scalar", DType: tc.dtype, Shape: nil},
				{Name: "b", DType: tc.dtype, Shape: []int{3}},
			}
			data := [][]float32{vals, {42}, {1, 2, 3}}
			b := encode(t, decl, data)
			if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
				t.Errorf("data section not 8-byte aligned: header %d", n)
			}
			p := filepath.Join(t.TempDir(), "m.safetensors")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := safetensors.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Metadata()["format"] != "pt" {
				t.Errorf("metadata %v", r.Metadata())
			}
			infos := r.Tensors()
			if len(infos) != 3 || infos[0].Name != "a.weight" || infos[1].Name != "scalar" || infos[2].Name != "b" {
				t.Fatalf("tensors %v", infos)
			}
			for i, d := range decl {
				info, got, err := r.ReadFloat32(d.Name)
				if err != nil {
					t.Fatal(err)
				}
				if info.DType != tc.dtype || info.Numel() != len(data[i]) {
					t.Errorf("%s: info %+v", d.Name, info)
				}
				for j, v := range data[i] {
					if want := tc.round(v); got[j] != want {
						t.Errorf("%s[%d] = %g, want %g", d.Name, j, got[j], want)
					}
				}
			}
			if _, _, err := r.ReadFloat32("missing"); !errors.Is(err, safetensors.ErrNotFound) {
				t.Errorf("missing tensor: %v", err)
			}
		})
	}
}

// raw builds a file from a header value and data bytes.
func raw(t *testing.T, header any, data []byte) []byte {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
	return append(append(out, hb...), data...)
}

func TestCorrupt(t *testing.T) {
	good := encode(t, []safetensors.Decl{{Name: "w", DType: safetensors.F32, Shape: []int{4}}}, [][]float32{{1, 2, 3, 4}})
	tooLarge := binary.LittleEndian.AppendUint64(nil, safetensors.MaxHeaderSize+1)
	entry := func(dtype string, shape []int, off ...int64) map[string]any {
		return map[string]any{"dtype": dtype, "shape": shape, "data_offsets": off}
	}
	tests := []struct {
		name    string
		file    []byte
		wantErr error
		mention string
	}{
		{"empty", nil, safetensors.ErrTruncated, "f.safetensors"},
		{"short length", []byte{1, 2, 3}, safetensors.ErrTruncated, "f.safetensors"},
		{"header too large", append(tooLarge, make([]byte, 16)...), safetensors.ErrHeaderTooLarge, "header"},
		{"header past end", good[:20], safetensors.ErrTruncated, "header"},
		{"data truncated", good[:len(good)-3], safetensors.ErrOffsets, `"w"`},
		{"bad json", append(binary.LittleEndian.AppendUint64(nil, 3), '{', 'x', '}'), safetensors.ErrHeader, "f.safetensors"},
		{"unknown dtype", raw(t, map[string]any{"w": entry("Q7", []int{1}, 0, 1)}, make([]byte, 1)), safetensors.ErrHeader, "Q7"},
		{"size mismatch", raw(t, map[string]any{"w": entry("F32", []int{3}, 0, 8)}, make([]byte, 8)), safetensors.ErrOffsets, `"w"`},
		{"reversed offsets", raw(t, map[string]any{"w": entry("F32", []int{0}, 8, 4)}, make([]byte, 8)), safetensors.ErrOffsets, `"w"`},
		{"one offset", raw(t, map[string]any{"w": entry("F32", []int{1}, 4)}, make([]byte, 8)), safetensors.ErrOffsets, `"w"`},
		{"overlap", raw(t, map[string]any{"a": entry("F32", []int{2}, 0, 8), "b": entry("F32", []int{1}, 4, 8)}, make([]byte, 8)), safetensors.ErrOffsets, "overlap"},
		{"negative dim", raw(t, map[string]any{"w": entry("F32", []int{-1}, 0, 0)}, nil), safetensors.ErrHeader, `"w"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := safetensors.NewReader(bytes.NewReader(tc.file), int64(len(tc.file)), "f.safetensors")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), "f.safetensors") {
				t.Errorf("error %q does not name the file and %s", err, tc.mention)
			}
		})
	}
	// A dtype that parses but cannot be converted.
	f := raw(t, map[string]any{"i": entry("I32", []int{2}, 0, 8)}, make([]byte, 8))
	r, err := safetensors.NewReader(bytes.NewReader(f), int64(len(f)), "f.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ReadFloat32("i"); !errors.Is(err, safetensors.ErrDType) {
		t.Errorf("I32 to float32: %v", err)
	}
	if _, b, err := r.ReadRaw("i"); err != nil || len(b) != 8 {
		t.Errorf("ReadRaw I32: %v %d", err, len(b))
	}
}

func TestWriterMisuse(t *testing.T) {
	decl := []safetensors.Decl{{Name: "a", DType: safetensors.F32, Shape: []int{2}}, {Name: "b", DType: safetensors.F32, Shape: []int{1}}}
	tests := []struct {
		name string
		do   func(w *safetensors.Writer) error
	}{
		{"out of order", func(w *safetensors.Writer) error { return w.WriteFloat32("b", []float32{1}) }},
		{"wrong length", func(w *safetensors.Writer) error { return w.WriteFloat32("a", []float32{1}) }},
		{"not all written", func(w *safetensors.Writer) error {
			if err := w.WriteFloat32("a", []float32{1, 2}); err != nil {
				return nil
			}
			return w.Close()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := safetensors.NewWriter(&bytes.Buffer{}, decl, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.do(w); !errors.Is(err, safetensors.ErrWrite) {
				t.Errorf("got %v, want ErrWrite", err)
			}
		})
	}
	if _, err := safetensors.NewWriter(&bytes.Buffer{}, []safetensors.Decl{{Name: "x", DType: "I8"}}, nil); !errors.Is(err, safetensors.ErrDType) {
		t.Errorf("I8 writer: %v", err)
	}
	if _, err := safetensors.NewWriter(&bytes.Buffer{}, append(decl, decl[0]), nil); !errors.Is(err, safetensors.ErrWrite) {
		t.Errorf("duplicate: %v", err)
	}
}

// TestHalf checks the conversions against each other and against float64
// arithmetic: every finite F16 value round-trips and equals its definition
// (-1)^s · 2^(e-15) · (1 + m/1024) (subnormals 2^-14 · m/1024); BF16 values
// are the top 16 bits of float32.
func TestHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		f := safetensors.F16ToF32(uint16(h))
		if e == 0x1f {
			if m == 0 != math.IsInf(float64(f), 0) {
				t.Fatalf("%#04x -> %g", h, f)
			}
			continue
		}
		want := math.Ldexp(1+float64(m)/1024, e-15)
		if e == 0 {
			want = math.Ldexp(float64(m)/1024, -14)
		}
		if s == 1 {
			want = -want
		}
		if float64(f) != want {
			t.Fatalf("F16 %#04x = %g, want %g", h, f, want)
		}
		if back := safetensors.F32ToF16(f); back != uint16(h) {
			t.Fatalf("F16 %#04x -> %g -> %#04x", h, f, back)
		}
		if bf := safetensors.BF16ToF32(uint16(h)); !math.IsNaN(float64(bf)) && safetensors.F32ToBF16(bf) != uint16(h) {
			t.Fatalf("BF16 %#04x round trip", h)
		}
	}
	// Ties to even for bfloat16: 1 + 2^-8 is halfway between 1 and 1+2^-7.
	if got := safetensors.F32ToBF16(float32(1 + math.Ldexp(1, -8))); got != safetensors.F32ToBF16(1) {
		t.Errorf("bf16 tie -> %#04x", got)
	}
}

// Tensors larger than the 1 MiB read chunk decode correctly into a reused buffer.
func TestReadFloat32IntoChunks(t *testing.T) {
	n := 700_001 // F32: 2.67 chunks; F16: 1.34 chunks
	big := make([]float32, n)
	for i := range big {
		big[i] = float32(i%2048) - 1024.5
	}
	for _, dtype := range []string{safetensors.F32, safetensors.F16, safetensors.BF16} {
		t.Run(dtype, func(t *testing.T) {
			b := encode(t, []safetensors.Decl{{Name: "big", DType: dtype, Shape: []int{n}}, {Name: "s", DType: dtype, Shape: []int{3}}},
				[][]float32{big, {1, 2, 3}})
			r, err := safetensors.NewReader(bytes.NewReader(b), int64(len(b)), "big.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := r.ReadFloat32("big")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]float32, n+10)
			_, got, err := r.ReadFloat32Into("big", buf)
			if err != nil {
				t.Fatal(err)
			}
			if &got[0] != &buf[0] || len(got) != n {
				t.Error("dst not reused")
			}
			for i := range want {
				round := want[i]
				if dtype == safetensors.BF16 {
					round = safetensors.BF16ToF32(safetensors.F32ToBF16(big[i]))
				} else if dtype == safetensors.F16 {
					round = safetensors.F16ToF32(safetensors.F32ToF16(big[i]))
				} else {
					round = big[i]
				}
				if got[i] != round || want[i] != round {
					t.Fatalf("[%d] got %g / %g, want %g", i, got[i], want[i], round)
				}
			}
			_, small, err := r.ReadFloat32Into("s", got)
			if err != nil || len(small) != 3 || small[2] != 3 {
				t.Errorf("small into big buffer: %v %v", small, err)
			}
		})
	}
}

func TestReadFloat32At(t *testing.T) {
	data := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	b := encode(t, []safetensors.Decl{{Name: "x", DType: safetensors.BF16, Shape: []int{2, 5}}}, [][]float32{data})
	r, err := safetensors.NewReader(bytes.NewReader(b), int64(len(b)), "at.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		start, n int
		ok       bool
	}{{0, 10, true}, {3, 4, true}, {9, 1, true}, {10, 0, true}, {8, 3, false}, {-1, 2, false}}
	for _, tc := range tests {
		dst := make([]float32, tc.n)
		err := r.ReadFloat32At("x", tc.start, dst)
		if (err == nil) != tc.ok {
			t.Errorf("start %d n %d: %v", tc.start, tc.n, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, safetensors.ErrNotFound) || !strings.Contains(err.Error(), `"x"`) {
				t.Errorf("error %v", err)
			}
			continue
		}
		for i, v := range dst {
			if v != data[tc.start+i] {
				t.Errorf("start %d: [%d] = %g", tc.start, i, v)
			}
		}
	}
}
