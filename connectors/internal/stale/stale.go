// Package stale finds the staging files that writers killed mid-write
// left behind, and only those: a live writer holds an exclusive advisory
// lock (flock) on its staging file from creation to rename or removal,
// and the kernel drops the lock when the process dies, kill -9 included.
// A file is stale when nobody holds its lock and it is older than MinAge
// (which covers the instant between a file's creation and its locking).
package stale

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MinAge is how old an unlocked staging file must be to be removed.
const MinAge = time.Minute

// Create creates a new file in dir named by os.CreateTemp's pattern and
// locks it; the lock lasts until the file is closed.
func Create(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := lock(f, true); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// Lock locks f, an already created staging file.
func Lock(f *os.File) error { return lock(f, true) }

// Remove deletes the stale files under dir (in subfolders too when
// recursive) whose base name satisfies match, and returns their paths. A
// folder that does not exist holds nothing.
func Remove(dir string, recursive bool, match func(name string) bool) ([]string, error) {
	var removed []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && p == dir && errors.Is(err, fs.ErrNotExist):
			return fs.SkipAll
		case err != nil:
			return nil // vanished or unreadable: not ours to judge
		case d.IsDir():
			if p != dir && !recursive {
				return fs.SkipDir
			}
			return nil
		case !d.Type().IsRegular() || !match(d.Name()):
			return nil
		}
		if isStale(p) && os.Remove(p) == nil {
			removed = append(removed, p)
		}
		return nil
	})
	return removed, err
}

// isStale reports whether nobody holds p's lock and p is older than
// MinAge.
func isStale(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || time.Since(fi.ModTime()) < MinAge {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	return lock(f, false) == nil // closing f releases it
}
