package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
)

// Format is an encoded image format, recognised by its magic bytes (never
// by a file name).
type Format int

const (
	// Unknown is anything that is neither JPEG nor PNG.
	Unknown Format = iota
	// JPEG starts with FF D8.
	JPEG
	// PNG starts with the 8-byte PNG signature.
	PNG
)

func (f Format) String() string {
	switch f {
	case JPEG:
		return "jpeg"
	case PNG:
		return "png"
	}
	return "unknown"
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Sniff returns the format of src from its first bytes.
func Sniff(src []byte) Format {
	switch {
	case len(src) >= 2 && src[0] == 0xFF && src[1] == 0xD8:
		return JPEG
	case bytes.HasPrefix(src, pngMagic):
		return PNG
	}
	return Unknown
}

// Errors. Every error returned by this package wraps exactly one of them;
// test with errors.Is. Their texts are short, stable reason prefixes.
var (
	// ErrEmpty: zero bytes.
	ErrEmpty = errors.New("empty file")
	// ErrUnknownFormat: neither JPEG nor PNG magic bytes.
	ErrUnknownFormat = errors.New("unknown image format")
	// ErrTooLarge: the header claims more pixels than MaxPixels (a
	// decompression bomb); nothing image-sized was allocated.
	ErrTooLarge = errors.New("image too large")
	// ErrTruncated: the data ends before the image does (libjpeg's
	// "Premature end of JPEG file", or a short PNG).
	ErrTruncated = errors.New("truncated image")
	// ErrCorrupt: invalid data, including libjpeg's "Corrupt JPEG data"
	// warnings, which this package treats as errors.
	ErrCorrupt = errors.New("corrupt image")
	// ErrUnsupported: a valid file this package cannot decode (CMYK JPEG,
	// 12-bit JPEG).
	ErrUnsupported = errors.New("unsupported image")
)

// DefaultMaxPixels is the MaxPixels used when Options.MaxPixels is 0.
const DefaultMaxPixels = 100_000_000

// Info describes an encoded image.
type Info struct {
	Format Format
	// Width and Height are the stored image's size, from its header.
	Width, Height int
	// Components is the number of JPEG components (1 gray, 3 color); 0 for PNG.
	Components  int
	Progressive bool
	// Scale is the DCT-domain reduction used for the decode: the image was
	// decoded at Scale/8 of its size (8: full size; always 8 for PNG).
	Scale int
	// DecodedWidth and DecodedHeight are the size after DCT scaling, before
	// resampling.
	DecodedWidth, DecodedHeight int
}

// Config reads only the header of src: format and dimensions. It allocates
// nothing that depends on the image size.
func Config(src []byte) (Info, error) {
	switch Sniff(src) {
	case JPEG:
		return jpegHeader(src)
	case PNG:
		return pngHeader(src)
	}
	if len(src) == 0 {
		return Info{}, ErrEmpty
	}
	return Info{}, fmt.Errorf("%w: starts with % x", ErrUnknownFormat, src[:min(len(src), 8)])
}

func checkPixels(info Info, maxPixels int64) error {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if info.Width <= 0 || info.Height <= 0 {
		return fmt.Errorf("%w: %s: %dx%d", ErrCorrupt, info.Format, info.Width, info.Height)
	}
	if int64(info.Width)*int64(info.Height) > maxPixels {
		return fmt.Errorf("%w: %s header claims %dx%d = %d pixels > max_pixels %d", ErrTooLarge, info.Format,
			info.Width, info.Height, int64(info.Width)*int64(info.Height), maxPixels)
	}
	return nil
}

// DecodeGray decodes src to 8-bit grayscale. JPEGs are reduced in the DCT
// domain by scale/8 (scale in 1..8; 8 decodes at full size), exactly as
// `djpeg -grayscale -scale scale/8` does with the same library; PNGs are
// always decoded at full size. Images with more than maxPixels pixels
// (0: DefaultMaxPixels) are rejected from the header.
func DecodeGray(src []byte, scale int, maxPixels int64) (*image.Gray, Info, error) {
	if scale < 1 || scale > 8 {
		return nil, Info{}, fmt.Errorf("imaging: scale %d not in 1..8", scale)
	}
	info, err := Config(src)
	if err != nil {
		return nil, info, err
	}
	if err := checkPixels(info, maxPixels); err != nil {
		return nil, info, err
	}
	g, err := decodeInto(src, &info, scale, maxPixels, nil)
	if err != nil {
		return nil, info, err
	}
	return &image.Gray{Pix: g.pix, Stride: g.w, Rect: image.Rect(0, 0, g.w, g.h)}, info, nil
}

// gray is a packed 8-bit image (stride = w).
type gray struct {
	pix  []byte
	w, h int
}

// decodeInto decodes src (whose header is info) into buf (grown when too
// small) at scale/8 for JPEG.
func decodeInto(src []byte, info *Info, scale int, maxPixels int64, buf []byte) (gray, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	switch info.Format {
	case JPEG:
		w, h := scaledSize(info.Width, scale), scaledSize(info.Height, scale)
		if cap(buf) < w*h {
			buf = make([]byte, w*h)
		}
		buf = buf[:w*h]
		gw, gh, err := jpegDecode(src, scale, maxPixels, buf)
		if err != nil {
			return gray{}, err
		}
		if gw != w || gh != h {
			return gray{}, fmt.Errorf("imaging: libjpeg decoded %dx%d at %d/8, want %dx%d", gw, gh, scale, w, h)
		}
		info.Scale, info.DecodedWidth, info.DecodedHeight = scale, w, h
		return gray{buf, w, h}, nil
	case PNG:
		g, err := pngDecode(src, info, buf)
		if err != nil {
			return gray{}, err
		}
		info.Scale, info.DecodedWidth, info.DecodedHeight = 8, g.w, g.h
		return g, nil
	}
	return gray{}, ErrUnknownFormat
}

// scaledSize is libjpeg's output size for a side of n pixels at scale/8:
// ceil(n*scale/8).
func scaledSize(n, scale int) int { return (n*scale + 7) / 8 }

// Fit says how a non-square image becomes Size×Size.
type Fit int

const (
	// Cover scales the shorter side to Size and center-crops the longer.
	Cover Fit = iota
	// Contain scales the longer side to Size and pads the shorter one
	// (centered) with Options.Pad.
	Contain
)

func (f Fit) String() string {
	if f == Contain {
		return "contain"
	}
	return "cover"
}

// ParseFit parses "cover" or "contain".
func ParseFit(s string) (Fit, error) {
	switch s {
	case "cover":
		return Cover, nil
	case "contain":
		return Contain, nil
	}
	return 0, fmt.Errorf("imaging: fit %q: want cover or contain", s)
}

// DCTScale returns the DCT-domain reduction M (decode at M/8) for an image
// of w×h pixels that is to become size×size with fit: the smallest M in
// 1..8 for which the fitted side (the shorter one for Cover, the longer one
// for Contain) still has at least size pixels once decoded,
// ceil(side*M/8) >= size. The decoded image is then at least as large as
// the resized image in both directions, so the resampler only ever
// reduces (or copies) and never invents detail the DCT discarded. Images
// already smaller than size are decoded at full size (M = 8).
func DCTScale(w, h, size int, fit Fit) int {
	side := min(w, h)
	if fit == Contain {
		side = max(w, h)
	}
	for m := 1; m < 8; m++ {
		if scaledSize(side, m) >= size {
			return m
		}
	}
	return 8
}

// Options configure a Decoder.
type Options struct {
	// Size is the output side N (default 224).
	Size int
	Fit  Fit
	// MaxPixels rejects images whose header claims more pixels (default
	// DefaultMaxPixels).
	MaxPixels int64
	// Pad is the gray level of the padding with Contain (default 0).
	Pad uint8
	// Mean and Std normalize Float32 output: (x/255 - Mean) / Std. Std 0
	// means 1.
	Mean, Std float32
}

// Decoder turns encoded JPEG/PNG bytes into Size×Size grayscale tensors.
// It is safe for concurrent use: each call has its own libjpeg decompress
// struct; scratch buffers come from a pool.
type Decoder struct {
	opts Options
	lut  [256]float32
	pool sync.Pool // *scratch

	plans  sync.Map // [2]int{w, h} -> *plan
	nplans atomic.Int64
}

// maxPooled bounds the decode buffer a pooled scratch keeps.
const maxPooled = 16 << 20

type scratch struct {
	dec []byte   // DCT-scaled decode
	tmp []uint16 // resampler intermediate
	out []byte   // uint8 result for Float32
}

// NewDecoder checks opts and fills defaults.
func NewDecoder(opts Options) (*Decoder, error) {
	if opts.Size == 0 {
		opts.Size = 224
	}
	if opts.MaxPixels == 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	if opts.Std == 0 {
		opts.Std = 1
	}
	switch {
	case opts.Size < 1 || opts.Size > 8192:
		return nil, fmt.Errorf("imaging: size %d not in 1..8192", opts.Size)
	case opts.MaxPixels < 0:
		return nil, fmt.Errorf("imaging: max_pixels %d < 0", opts.MaxPixels)
	case opts.Fit != Cover && opts.Fit != Contain:
		return nil, fmt.Errorf("imaging: invalid fit %d", opts.Fit)
	}
	d := &Decoder{opts: opts, lut: *PixelLUT(opts.Mean, opts.Std)}
	d.pool.New = func() any { return new(scratch) }
	return d, nil
}

// PixelLUT is the table of (x/255 - mean) / std for every 8-bit pixel x
// (std 0 means 1): Float32's normalisation, and the trainers' for uint8
// images.
func PixelLUT(mean, std float32) *[256]float32 {
	if std == 0 {
		std = 1
	}
	var l [256]float32
	for i := range l {
		l[i] = (float32(i)/255 - mean) / std
	}
	return &l
}

// Options returns the decoder's options with defaults filled in.
func (d *Decoder) Options() Options { return d.opts }

// Uint8 decodes src into dst (len Size*Size, row-major) and returns the
// source's Info (original Width and Height from the header). On error dst
// may hold partial output.
func (d *Decoder) Uint8(src []byte, dst []uint8) (Info, error) {
	n := d.opts.Size
	if len(dst) != n*n {
		return Info{}, fmt.Errorf("imaging: dst has %d bytes, want %d", len(dst), n*n)
	}
	s := d.pool.Get().(*scratch)
	defer d.pool.Put(s)
	return d.decode(src, dst, s)
}

// Float32 is Uint8 followed by (x/255 - Mean) / Std.
func (d *Decoder) Float32(src []byte, dst []float32) (Info, error) {
	n := d.opts.Size
	if len(dst) != n*n {
		return Info{}, fmt.Errorf("imaging: dst has %d values, want %d", len(dst), n*n)
	}
	s := d.pool.Get().(*scratch)
	defer d.pool.Put(s)
	if cap(s.out) < n*n {
		s.out = make([]byte, n*n)
	}
	out := s.out[:n*n]
	info, err := d.decode(src, out, s)
	if err != nil {
		return info, err
	}
	lut := &d.lut
	for i, v := range out {
		dst[i] = lut[v]
	}
	return info, nil
}

func (d *Decoder) decode(src, dst []byte, s *scratch) (Info, error) {
	info, err := Config(src)
	if err != nil {
		return info, err
	}
	if err := checkPixels(info, d.opts.MaxPixels); err != nil {
		return info, err
	}
	scale := DCTScale(info.Width, info.Height, d.opts.Size, d.opts.Fit)
	g, err := decodeInto(src, &info, scale, d.opts.MaxPixels, s.dec)
	if err != nil {
		return info, err
	}
	if info.Format == JPEG && cap(g.pix) <= maxPooled {
		s.dec = g.pix[:0]
	}
	s.tmp = d.plan(g.w, g.h).resize(g, dst, d.opts.Size, d.opts.Pad, s.tmp)
	return info, nil
}

// maxPlans bounds the cache of resampling plans (one per decoded size).
const maxPlans = 4096

// plan returns the cached resampling plan for a decoded w×h image.
func (d *Decoder) plan(w, h int) *plan {
	k := [2]int{w, h}
	if p, ok := d.plans.Load(k); ok {
		return p.(*plan)
	}
	p := newPlan(w, h, d.opts.Size, d.opts.Fit)
	if d.nplans.Add(1) <= maxPlans {
		d.plans.Store(k, p)
	}
	return p
}
