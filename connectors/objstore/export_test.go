package objstore

import "hash/maphash"

// SetKeyHash replaces the snapshot's key hash until restore is called.
func SetKeyHash(f func(maphash.Seed, string) uint64) (restore func()) {
	old := keyHash
	keyHash = f
	return func() { keyHash = old }
}
