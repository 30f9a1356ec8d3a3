//go:build !unix

package ntlm

// acctOpenFlags: no FIFO can block an open here; LoadAccountFile still refuses anything
// but a regular file.
const acctOpenFlags = 0
