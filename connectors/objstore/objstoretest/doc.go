// Package objstoretest holds the conformance suite every objstore.Store
// implementation must pass. Run it from a _test.go file:
//
//	objstoretest.Run(t, func(t *testing.T) objstore.Store { return newEmptyStore(t) })
//
// Each sub-test receives a fresh, empty store from the factory.
package objstoretest
