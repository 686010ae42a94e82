//go:build !linux

package s3test

import "syscall"

// sysProcAttr: parent-death signals exist only on Linux; elsewhere the
// server is stopped by Kill/Close.
func sysProcAttr() *syscall.SysProcAttr { return nil }
