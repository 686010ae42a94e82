//go:build unix

package offheap

import (
	"sync"
	"syscall"
)

// mapAnon maps size bytes of anonymous private memory.
func mapAnon(size int) ([]byte, func(), bool) {
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil, false
	}
	var once sync.Once
	return mem, func() { once.Do(func() { _ = syscall.Munmap(mem) }) }, true
}
