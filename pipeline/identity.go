package pipeline

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zeebo/xxh3"

	"github.com/medflow/medflow/onnx/onnxwire"
)

// identityFullHashBytes is the largest file whose whole content is hashed
// for its identity; larger files (LLM weights) hash their size, mtime and
// sampled blocks so that planning stays fast.
const identityFullHashBytes = 256 << 20

// identitySample is the size of each block hashed from a large file.
const identitySample = 4 << 20

// FileIdentity identifies a local file's content for fingerprints: size,
// modification time and an xxh3 hash of the content (the whole file up to
// 256 MiB; above that its first, middle and last 4 MiB). A missing or
// unreadable file has an identity too ("missing: ..."), so that the stage,
// not planning, reports it when it runs. The identity of an ONNX model
// (a .onnx file) includes those of the external data files its
// initializers name (model.onnx.data), so that new weights beside an
// unchanged graph change it.
func FileIdentity(path string) string {
	id := fileIdentity(path)
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		for _, d := range onnxwire.ExternalData(path) {
			id += "; data " + filepath.Base(d) + ": " + fileIdentity(d)
		}
	}
	return id
}

// fileIdentity is FileIdentity of one file.
func fileIdentity(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "missing"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return "not a regular file"
	}
	h := xxh3.New()
	size := st.Size()
	if size <= identityFullHashBytes {
		if _, err := io.Copy(h, f); err != nil {
			return "unreadable"
		}
		return fmt.Sprintf("size=%d xxh3=%016x", size, h.Sum64())
	}
	for _, off := range []int64{0, size/2 - identitySample/2, size - identitySample} {
		if _, err := io.Copy(h, io.NewSectionReader(f, off, identitySample)); err != nil {
			return "unreadable"
		}
	}
	return fmt.Sprintf("size=%d mtime=%d sampled-xxh3=%016x", size, st.ModTime().UnixNano(), h.Sum64())
}

// FingerprintParts are what a node's fingerprint hashes, by name:
// "kind", "params", "code", "shard", "listing" (the objects a source
// reads), "file params.<name>" (the identity of a file a path param names)
// and "input <i>" (the fingerprint of the i-th input). Comparing two runs' parts says why a stage is
// recomputed.
func (n *Node) FingerprintParts() map[string]string { return n.parts }

// fileIdentities returns the identity of every file named by a param
// declared with FormatPath (each item of a list).
func fileIdentities(n *Node) map[string]string {
	out := map[string]string{}
	for _, d := range n.Def.Params {
		if d.Format != FormatPath || !n.Params.Has(d.Name) {
			continue
		}
		var paths []string
		switch v := n.Params.Any(d.Name).(type) {
		case string:
			paths = []string{v}
		case []any:
			for _, it := range v {
				if s, ok := it.(string); ok {
					paths = append(paths, s)
				}
			}
		}
		var ids []string
		for _, p := range paths {
			if p != "" {
				ids = append(ids, FileIdentity(p))
			}
		}
		if len(ids) > 0 {
			out["file params."+d.Name] = strings.Join(ids, "; ")
		}
	}
	return out
}

// Changes lists, sorted, the fingerprint parts that differ between prev
// (an earlier run's parts of the same stage) and now.
func Changes(prev, now map[string]string) []string {
	var out []string
	for k, v := range now {
		if pv, ok := prev[k]; !ok || pv != v {
			out = append(out, k)
		}
	}
	for k := range prev {
		if _, ok := now[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
