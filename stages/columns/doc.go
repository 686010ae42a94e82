// Package columns holds cheap column-wise transforms:
//
//   - col.scale: value*factor+offset of a numeric column, as float64, into
//     the same or a new column;
//   - filter.range: keeps rows whose numeric column lies in [min, max]
//     (nulls are dropped).
//
// Other columns pass through zero-copy. The kernels (Scale, RangeMask) are
// plain functions so benchmarks can call them without the engine.
//
// Not implemented: expressions over several columns, casts, renames.
package columns
