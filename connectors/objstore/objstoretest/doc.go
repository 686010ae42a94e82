// Package objstoretest holds the conformance suite every objstore.Store
// implementation must pass. Run it from a _test.go file:
//
//	objstoretest.Run(t, func(t *testing.T) objstore.Store { return newEmptyStore(t) })
//
// Each sub-test receives a fresh, empty store from the factory.
//
// Counting wraps a store and counts the bytes read from each key, for
// tests of what a piece of code reads.
package objstoretest
