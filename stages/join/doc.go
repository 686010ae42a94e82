// Package join holds the join stage: an inner hash join of two inputs on
// one key column (int64 or string), as the flagship pipeline joins decoded
// images with their report embeddings into the "pairs" dataset the
// training stages read.
//
// The second (right) input is loaded whole into memory: the chosen right
// columns, concatenated, plus a key index. Put the smaller input there
// (report embeddings: one row of D floats per study). The first (left)
// input streams from the engine's spillable dataset, so it may be larger
// than memory; the output keeps its order.
//
// Faults: a left row whose key has no right row is quarantined ("no match
// in right input") by default (on_missing: quarantine), or dropped
// silently (drop), or fails the run (fail). A duplicate right key keeps
// the first row and quarantines the others; a null key on either side is
// quarantined.
//
// Not implemented: outer joins, multi-column keys, a right input larger
// than memory.
package join
