package metrics

import (
	"math"
	"slices"
)

// radixMin is the length below which sortFloats uses a comparison sort.
const radixMin = 4096

// sortFloats sorts v ascending (v holds no NaN). Long slices use an LSD
// radix sort on the order-preserving bit pattern of each float (sign bit
// flipped for positives, all bits flipped for negatives): six passes of 11
// bits, each skipped when all keys share that digit. -0 sorts just before
// +0, which compare equal, so equal values stay adjacent.
func sortFloats(v []float64) {
	if len(v) < radixMin {
		slices.Sort(v)
		return
	}
	keys, tmp := make([]uint64, len(v)), make([]uint64, len(v))
	for i, f := range v {
		b := math.Float64bits(f)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	const bits, buckets = 11, 1 << 11
	var count [buckets]int
	for shift := uint(0); shift < 64; shift += bits {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&(buckets-1)]++
		}
		if count[(keys[0]>>shift)&(buckets-1)] == len(keys) {
			continue // every key has this digit
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, k := range keys {
			d := (k >> shift) & (buckets - 1)
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, b := range keys {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		v[i] = math.Float64frombits(b)
	}
}
