package badinput

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoFrameHeader is returned by SetJPEGSize for data without a SOF
// marker.
var ErrNoFrameHeader = errors.New("badinput: no JPEG frame header (SOF) found")

// CopyTree copies the regular files and folders under src to dst (which
// may exist).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("badinput: copy %s: not a regular file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("badinput: copy: %w", err)
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return fmt.Errorf("badinput: copy: %w", err)
		}
		return nil
	})
}

// EditCSV rewrites the plain CSV file at path with edit applied to its
// records (header included).
func EditCSV(path string, edit func(rows [][]string) [][]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("badinput: edit csv: %w", err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return fmt.Errorf("badinput: edit csv %s: %w", path, err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(edit(rows)) // flushes
	if err := w.Error(); err != nil {
		return fmt.Errorf("badinput: edit csv %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("badinput: edit csv: %w", err)
	}
	return nil
}

// SetJPEGSize returns a copy of a baseline or progressive JPEG whose frame
// header (SOF0..SOF15, except DHT/JPG/DAC) claims width x height; the scan
// data is left as is.
func SetJPEGSize(data []byte, width, height int) ([]byte, error) {
	if width < 0 || height < 0 || width > 0xFFFF || height > 0xFFFF {
		return nil, fmt.Errorf("badinput: JPEG size %dx%d out of range", width, height)
	}
	out := bytes.Clone(data)
	for i := 2; i+9 < len(out); {
		if out[i] != 0xFF {
			return nil, ErrNoFrameHeader
		}
		m := out[i+1]
		seg := int(out[i+2])<<8 | int(out[i+3])
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			// FF Cx len(2) precision(1) height(2) width(2)
			out[i+5], out[i+6] = byte(height>>8), byte(height)
			out[i+7], out[i+8] = byte(width>>8), byte(width)
			return out, nil
		}
		if m == 0xDA { // start of scan before any frame header
			break
		}
		i += 2 + seg
	}
	return nil, ErrNoFrameHeader
}
