//go:build linux

package testpeers

import "syscall"

// dieWithParent makes the kernel kill the child when the test binary dies, so a KDC outlives
// neither a panic nor a `go test -timeout` (both exit without running Cleanup or TestMain's
// code after m.Run).
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
