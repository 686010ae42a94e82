//go:build race

package main

// raceEnabled: the race detector slows training ~10x; tests that only
// check numbers (not concurrency) run in the plain `go test` pass.
const raceEnabled = true
