// Package s3test starts a real S3 server (versitygw, posix backend) on
// 127.0.0.1 for tests, with kill/restart hooks for fault injection.
//
// The versitygw binary is looked up in $MEDFLOW_VERSITYGW, then PATH, then
// $(go env GOPATH)/bin. When it is absent, Start fails the test with a
// message saying to run `make deps` (which runs
// `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`). Set
// MEDFLOW_SKIP_S3=1 to skip S3 tests explicitly instead (loudly).
//
// Not implemented: TLS, IAM users other than the root account, versioning.
package s3test
