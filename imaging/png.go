package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
)

func pngError(err error) error {
	// image/png reports a short IDAT stream as "not enough pixel data".
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "not enough pixel data") {
		return fmt.Errorf("%w: png: %v", ErrTruncated, err)
	}
	return fmt.Errorf("%w: png: %v", ErrCorrupt, err)
}

func pngHeader(src []byte) (Info, error) {
	c, err := png.DecodeConfig(bytes.NewReader(src))
	if err != nil {
		return Info{}, pngError(err)
	}
	return Info{Format: PNG, Width: c.Width, Height: c.Height}, nil
}

// pngDecode decodes src (header already checked against max pixels) to
// gray. 16-bit samples are rounded to 8 bits; color is converted with the
// JPEG/Rec.601 luma weights (0.299, 0.587, 0.114), the same as libjpeg's
// RGB→gray, over black where there is alpha.
func pngDecode(src []byte, info *Info, buf []byte) (gray, error) {
	img, err := png.Decode(bytes.NewReader(src))
	if err != nil {
		return gray{}, pngError(err)
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	if w != info.Width || h != info.Height {
		return gray{}, fmt.Errorf("%w: png: decoded %dx%d, header says %dx%d", ErrCorrupt, w, h, info.Width, info.Height)
	}
	if g, ok := img.(*image.Gray); ok && g.Stride == w {
		return gray{g.Pix, w, h}, nil
	}
	if cap(buf) < w*h {
		buf = make([]byte, w*h)
	}
	pix := buf[:w*h]
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			copy(pix[y*w:(y+1)*w], m.Pix[y*m.Stride:])
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride:]
			for x := range w {
				v := uint32(row[2*x])<<8 | uint32(row[2*x+1])
				pix[y*w+x] = uint8((v*255 + 32767) / 65535)
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride:]
			for x := range w {
				pix[y*w+x] = luma8(row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	default:
		for y := range h {
			for x := range w {
				pix[y*w+x] = color.GrayModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.Gray).Y
			}
		}
	}
	return gray{pix, w, h}, nil
}

// luma8 is color.GrayModel's conversion for 8-bit premultiplied samples.
func luma8(r, g, b uint8) uint8 {
	r16, g16, b16 := uint32(r)*0x101, uint32(g)*0x101, uint32(b)*0x101
	return uint8((19595*r16 + 38470*g16 + 7471*b16 + 1<<15) >> 24)
}
