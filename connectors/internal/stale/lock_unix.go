//go:build unix

package stale

import (
	"os"
	"syscall"
)

// lock takes f's exclusive lock, waiting for it when wait.
func lock(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// Alive reports whether process pid exists on this machine.
func Alive(pid int) bool { return syscall.Kill(pid, 0) != syscall.ESRCH }
