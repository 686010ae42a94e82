package tokenizer

// pairTable is an open-addressing hash table from a pair of symbol ids to
// the id and score of the piece they merge into. It is read-only after
// construction.
type pairTable struct {
	slots []pairSlot
	mask  uint64
	shift uint
}

type pairSlot struct {
	key   uint64 // emptyKey when unused
	id    int32
	score float32
}

const emptyKey = ^uint64(0)

func pairKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

func (t *pairTable) init(n int) {
	size := 16
	bits := uint(4)
	for size < 2*n+1 {
		size <<= 1
		bits++
	}
	t.slots = make([]pairSlot, size)
	for i := range t.slots {
		t.slots[i].key = emptyKey
	}
	t.mask = uint64(size - 1)
	t.shift = 64 - bits
}

func (t *pairTable) hash(k uint64) uint64 {
	return (k * 0x9E3779B97F4A7C15) >> t.shift
}

func (t *pairTable) insert(k uint64, id int32, score float32) {
	for i := t.hash(k); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.key == emptyKey || s.key == k {
			*s = pairSlot{k, id, score}
			return
		}
	}
}

// lookup returns the merged piece id (or -1) and its score.
func (t *pairTable) lookup(l, r int32) (int32, float32) {
	k := pairKey(l, r)
	for i := t.hash(k); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.key == k {
			return s.id, s.score
		}
		if s.key == emptyKey {
			return -1, 0
		}
	}
}
