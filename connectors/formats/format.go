package formats

import (
	"fmt"
	"path"
	"strings"
)

// Format is an on-store file format; its value is the file extension
// without the dot.
type Format string

// Supported formats.
const (
	IPC     Format = "arrow"   // Arrow IPC file format
	Parquet Format = "parquet" // Apache Parquet
	CSV     Format = "csv"     // comma-separated values with a header row
)

// Ext returns the file extension, with the dot.
func (f Format) Ext() string { return "." + string(f) }

// Valid reports whether f is a supported format.
func (f Format) Valid() bool { return f == IPC || f == Parquet || f == CSV }

// FormatOf returns the format implied by key's extension.
func FormatOf(key string) (Format, error) {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(key), "."))
	switch f := Format(ext); {
	case f.Valid():
		return f, nil
	case ext == "ipc" || ext == "feather":
		return IPC, nil
	}
	return "", fmt.Errorf("key %q: unknown format extension %q (want .arrow, .parquet or .csv)", key, path.Ext(key))
}

// Compression names a codec: "" picks the format default (zstd for
// Parquet, none for IPC).
type Compression string

// Codecs.
const (
	Zstd   Compression = "zstd"
	Snappy Compression = "snappy" // Parquet only
	LZ4    Compression = "lz4"    // IPC only
	None   Compression = "none"
)
