package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
)

// ManifestName is the base name of the manifest object.
const ManifestName = "_manifest.json"

// ManifestVersion is the manifest layout written by this package: 2
// records a content checksum per part. Version 1 manifests (sizes only)
// are still read, checking sizes only; the cache recomputes them.
const ManifestVersion = 2

// Errors; test with errors.Is.
var (
	// ErrNotCommitted: the prefix has no manifest (never committed, still
	// being written, or a writer crashed).
	ErrNotCommitted = errors.New("dataset not committed")
	// ErrExists: the prefix already holds a committed dataset.
	ErrExists = errors.New("dataset already committed")
	// ErrCorrupt: a part's content differs from its committed checksum
	// (the same error as objstore.ErrCorrupt).
	ErrCorrupt = objstore.ErrCorrupt
)

// Manifest describes a committed dataset.
type Manifest struct {
	Version           int            `json:"version"`
	Format            formats.Format `json:"format"`
	SchemaFingerprint string         `json:"schema_fingerprint"`
	Schema            []byte         `json:"schema"` // Arrow IPC schema message (base64 in JSON)
	Parts             []Part         `json:"parts"`
	Rows              int64          `json:"rows"`
	Created           time.Time      `json:"created"`
	// Producer identifies what wrote the dataset (medflow puts the stage
	// fingerprint here), so an unchanged rerun can leave it alone.
	Producer string `json:"producer,omitempty"`
	// Checksum covers every other field (see sum), so that a damaged
	// manifest that still parses is caught too; empty in version 1.
	Checksum string `json:"checksum,omitempty"`
}

// sum is the checksum of every field but Checksum, in a fixed layout.
func (m *Manifest) sum() string {
	h := objstore.NewHash()
	fmt.Fprintf(h, "%d\n%s\n%s\n%d:", m.Version, m.Format, m.SchemaFingerprint, len(m.Schema))
	h.Write(m.Schema)
	for _, p := range m.Parts {
		fmt.Fprintf(h, "\n%q %d %d %s", p.Key, p.Rows, p.Size, p.Checksum)
	}
	fmt.Fprintf(h, "\n%d\n%s\n%q\n", m.Rows, m.Created.UTC().Format(time.RFC3339Nano), m.Producer)
	return objstore.Checksum(h)
}

// Part is one part object.
type Part struct {
	Key  string `json:"key"` // relative to the dataset prefix
	Rows int64  `json:"rows"`
	Size int64  `json:"size"`
	// Checksum is the content checksum (objstore.Checksum), verified
	// before the part is decoded; empty only in version 1 manifests.
	Checksum string `json:"checksum,omitempty"`
}

// PartName returns the base name of part i.
func PartName(i int, f formats.Format) string { return fmt.Sprintf("part-%05d%s", i, f.Ext()) }

// join puts name under prefix ("" means the store root).
func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return path.Join(prefix, name)
}

// EncodeSchema serializes schema as an Arrow IPC stream holding only the
// schema message.
func EncodeSchema(schema *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeSchema is the inverse of EncodeSchema.
func DecodeSchema(b []byte) (*arrow.Schema, error) {
	r, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	return r.Schema(), nil
}

// Fingerprint returns "sha256:<hex>" of the IPC-serialized schema (field
// names, types, nullability and metadata).
func Fingerprint(schema *arrow.Schema) (string, error) {
	b, err := EncodeSchema(schema)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
