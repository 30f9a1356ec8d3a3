//go:build !linux

package testpeers

import "syscall"

// dieWithParent does nothing where the kernel has no parent-death signal; Stop (from Cleanup
// or StopSharedKDC) and the KDC's Lifetime end it there.
func dieWithParent(*syscall.SysProcAttr) {}
