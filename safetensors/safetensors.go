package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
)

// Errors for malformed files and unsupported requests.
var (
	ErrTruncated      = errors.New("safetensors: file truncated")
	ErrHeaderTooLarge = errors.New("safetensors: header too large")
	ErrHeader         = errors.New("safetensors: bad header")
	ErrOffsets        = errors.New("safetensors: bad data offsets")
	ErrDType          = errors.New("safetensors: unsupported dtype")
	ErrNotFound       = errors.New("safetensors: no such tensor or range")
	ErrWrite          = errors.New("safetensors: write")
)

// MaxHeaderSize is the largest header the reader accepts (100 MB, as the
// reference implementation).
const MaxHeaderSize = 100 << 20

// DType names as they appear in the header.
const (
	F32  = "F32"
	F16  = "F16"
	BF16 = "BF16"
)

var dtypeSize = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}

// Info describes one tensor in a file.
type Info struct {
	Name  string
	DType string
	Shape []int
	// Begin and End are byte offsets relative to the start of the data section.
	Begin, End int64
}

// Numel is the number of elements.
func (i Info) Numel() int {
	n := 1
	for _, d := range i.Shape {
		n *= d
	}
	return n
}

type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Reader reads tensors one at a time from a safetensors file.
type Reader struct {
	r        io.ReaderAt
	name     string
	dataOff  int64
	tensors  []Info
	byName   map[string]int
	metadata map[string]string
	closer   io.Closer
}

// Open opens and validates the header of the file at path.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	r, err := NewReader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader parses the header of a safetensors file of size bytes read
// through r; name is used in errors.
func NewReader(r io.ReaderAt, size int64, name string) (*Reader, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%w: %s: %d bytes, need at least 8 for the header length", ErrTruncated, name, size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%w: %s: header length: %w", ErrTruncated, name, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("%w: %s: header of %d bytes (limit %d)", ErrHeaderTooLarge, name, n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("%w: %s: header of %d bytes but only %d follow", ErrTruncated, name, n, size-8)
	}
	hb := make([]byte, n)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %w", ErrTruncated, name, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrHeader, name, err)
	}
	rd := &Reader{r: r, name: name, dataOff: 8 + int64(n), byName: map[string]int{}}
	dataLen := size - rd.dataOff
	for key, msg := range raw {
		if key == "__metadata__" {
			if err := json.Unmarshal(msg, &rd.metadata); err != nil {
				return nil, fmt.Errorf("%w: %s: __metadata__: %w", ErrHeader, name, err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%w: %s: tensor %q: %w", ErrHeader, name, key, err)
		}
		es, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("%w: %s: tensor %q: unknown dtype %q", ErrHeader, name, key, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("%w: %s: tensor %q: data_offsets %v must have 2 entries", ErrOffsets, name, key, e.DataOffsets)
		}
		info := Info{Name: key, DType: e.DType, Shape: e.Shape, Begin: e.DataOffsets[0], End: e.DataOffsets[1]}
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%w: %s: tensor %q: negative dimension in %v", ErrHeader, name, key, e.Shape)
			}
		}
		switch {
		case info.Begin < 0 || info.End < info.Begin:
			return nil, fmt.Errorf("%w: %s: tensor %q: offsets [%d, %d]", ErrOffsets, name, key, info.Begin, info.End)
		case info.End > dataLen:
			return nil, fmt.Errorf("%w: %s: tensor %q: offsets [%d, %d] beyond the %d data bytes (file truncated?)", ErrOffsets, name, key, info.Begin, info.End, dataLen)
		case info.End-info.Begin != int64(info.Numel())*int64(es):
			return nil, fmt.Errorf("%w: %s: tensor %q: %d bytes for shape %v of %s (want %d)", ErrOffsets, name, key, info.End-info.Begin, e.Shape, e.DType, int64(info.Numel())*int64(es))
		}
		rd.tensors = append(rd.tensors, info)
	}
	sort.Slice(rd.tensors, func(i, j int) bool { return rd.tensors[i].Begin < rd.tensors[j].Begin })
	for i, t := range rd.tensors {
		if i > 0 && t.Begin < rd.tensors[i-1].End {
			return nil, fmt.Errorf("%w: %s: tensors %q and %q overlap", ErrOffsets, name, rd.tensors[i-1].Name, t.Name)
		}
		rd.byName[t.Name] = i
	}
	return rd, nil
}

// Close closes the file opened by Open (no-op for NewReader).
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Name is the file name used in errors.
func (r *Reader) Name() string { return r.name }

// Tensors lists the tensors in data order.
func (r *Reader) Tensors() []Info { return slices.Clone(r.tensors) }

// Metadata is the header's __metadata__ map (nil if absent).
func (r *Reader) Metadata() map[string]string { return r.metadata }

// Info returns the description of tensor name.
func (r *Reader) Info(name string) (Info, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Info{}, false
	}
	return r.tensors[i], true
}

// ReadRaw reads the bytes of tensor name.
func (r *Reader) ReadRaw(name string) (Info, []byte, error) {
	info, ok := r.Info(name)
	if !ok {
		return Info{}, nil, fmt.Errorf("%w: %s: %q", ErrNotFound, r.name, name)
	}
	buf := make([]byte, info.End-info.Begin)
	if _, err := r.r.ReadAt(buf, r.dataOff+info.Begin); err != nil {
		return info, nil, fmt.Errorf("%w: %s: tensor %q: %w", ErrTruncated, r.name, name, err)
	}
	return info, buf, nil
}

// ReadFloat32 reads tensor name converted to float32 (F32, F16, BF16).
func (r *Reader) ReadFloat32(name string) (Info, []float32, error) {
	return r.ReadFloat32Into(name, nil)
}

// readChunk is how many bytes ReadFloat32Into reads and converts at a time.
const readChunk = 1 << 20

// ReadFloat32Into is ReadFloat32 that decodes into dst when it has the
// capacity (returning dst[:n]); see ReadFloat32At.
func (r *Reader) ReadFloat32Into(name string, dst []float32) (Info, []float32, error) {
	info, ok := r.Info(name)
	if !ok {
		return Info{}, nil, fmt.Errorf("%w: %s: %q", ErrNotFound, r.name, name)
	}
	n := info.Numel()
	if cap(dst) >= n {
		dst = dst[:n]
	} else {
		dst = make([]float32, n)
	}
	if err := r.ReadFloat32At(name, 0, dst); err != nil {
		return info, nil, err
	}
	return info, dst, nil
}

// ReadFloat32At decodes elements [start, start+len(dst)) of tensor name
// (in row-major order) into dst, reading the file in 1 MiB chunks, so that
// a large tensor can be converted piece by piece.
func (r *Reader) ReadFloat32At(name string, start int, dst []float32) error {
	info, ok := r.Info(name)
	if !ok {
		return fmt.Errorf("%w: %s: %q", ErrNotFound, r.name, name)
	}
	if info.DType != F32 && info.DType != F16 && info.DType != BF16 {
		return fmt.Errorf("%w: %s: tensor %q is %s (want F32, F16 or BF16)", ErrDType, r.name, name, info.DType)
	}
	if start < 0 || start+len(dst) > info.Numel() {
		return fmt.Errorf("%w: %s: tensor %q: elements [%d, %d) outside its %d", ErrNotFound, r.name, name, start, start+len(dst), info.Numel())
	}
	es := int64(dtypeSize[info.DType])
	total := int64(len(dst)) * es
	base := r.dataOff + info.Begin + int64(start)*es
	buf := make([]byte, min(total, readChunk))
	for done := int64(0); done < total; {
		chunk := buf[:min(int64(len(buf)), total-done)]
		if _, err := r.r.ReadAt(chunk, base+done); err != nil {
			return fmt.Errorf("%w: %s: tensor %q at element %d: %w", ErrTruncated, r.name, name, int64(start)+done/es, err)
		}
		out := dst[done/es:]
		switch info.DType {
		case F32:
			for i := range len(chunk) / 4 {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:]))
			}
		case F16:
			for i := range len(chunk) / 2 {
				out[i] = F16ToF32(binary.LittleEndian.Uint16(chunk[2*i:]))
			}
		case BF16:
			for i := range len(chunk) / 2 {
				out[i] = BF16ToF32(binary.LittleEndian.Uint16(chunk[2*i:]))
			}
		}
		done += int64(len(chunk))
	}
	return nil
}

// Writer streams a safetensors file: the header for all declared tensors is
// written by NewWriter, then WriteFloat32 must be called once per tensor in
// the declared order.
type Writer struct {
	w    *bufio.Writer
	decl []Info
	next int
}

// Decl declares one tensor for NewWriter.
type Decl struct {
	Name  string
	DType string // F32, F16 or BF16
	Shape []int
}

// NewWriter writes the header for tensors (in this data order) and metadata
// (may be nil) to w.
func NewWriter(w io.Writer, tensors []Decl, metadata map[string]string) (*Writer, error) {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	wr := &Writer{w: bufio.NewWriterSize(w, 1<<20)}
	for _, t := range tensors {
		if t.DType != F32 && t.DType != F16 && t.DType != BF16 {
			return nil, fmt.Errorf("%w: tensor %q: %s (writer supports F32, F16, BF16)", ErrDType, t.Name, t.DType)
		}
		if _, dup := header[t.Name]; dup {
			return nil, fmt.Errorf("%w: tensor %q declared twice", ErrWrite, t.Name)
		}
		info := Info{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape), Begin: off}
		if info.Shape == nil {
			info.Shape = []int{}
		}
		info.End = off + int64(info.Numel()*dtypeSize[t.DType])
		off = info.End
		header[t.Name] = headerEntry{DType: t.DType, Shape: info.Shape, DataOffsets: []int64{info.Begin, info.End}}
		wr.decl = append(wr.decl, info)
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrWrite, err)
	}
	for len(hb)%8 != 0 { // keep the data section 8-byte aligned, as the reference writer does
		hb = append(hb, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	if _, err := wr.w.Write(lenBuf[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrWrite, err)
	}
	if _, err := wr.w.Write(hb); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrWrite, err)
	}
	return wr, nil
}

// WriteFloat32 encodes the next declared tensor, which must be called name.
func (w *Writer) WriteFloat32(name string, data []float32) error {
	if w.next >= len(w.decl) {
		return fmt.Errorf("%w: tensor %q not declared (all %d written)", ErrWrite, name, len(w.decl))
	}
	d := w.decl[w.next]
	if d.Name != name {
		return fmt.Errorf("%w: got tensor %q, next declared is %q", ErrWrite, name, d.Name)
	}
	if len(data) != d.Numel() {
		return fmt.Errorf("%w: tensor %q: %d values for shape %v", ErrWrite, name, len(data), d.Shape)
	}
	var buf [4]byte
	for _, v := range data {
		var b []byte
		switch d.DType {
		case F32:
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			b = buf[:4]
		case F16:
			binary.LittleEndian.PutUint16(buf[:], F32ToF16(v))
			b = buf[:2]
		default:
			binary.LittleEndian.PutUint16(buf[:], F32ToBF16(v))
			b = buf[:2]
		}
		if _, err := w.w.Write(b); err != nil {
			return fmt.Errorf("%w: tensor %q: %w", ErrWrite, name, err)
		}
	}
	w.next++
	return nil
}

// Close flushes buffered data and checks every declared tensor was written.
// It does not close the underlying writer.
func (w *Writer) Close() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if w.next != len(w.decl) {
		return fmt.Errorf("%w: %d of %d tensors written (next %q)", ErrWrite, w.next, len(w.decl), w.decl[w.next].Name)
	}
	return nil
}
