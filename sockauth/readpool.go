package sockauth

import (
	"bufio"
	"io"
	"sync"
)

// Every connection reads through a readBufSize buffer. A session of the SDK sample's
// protocol is over in a few milliseconds, and a new buffer for each one was more than a
// tenth of the bytes a Kerberos session allocates; the buffers of ended connections are
// pooled instead.

var readers sync.Pool // of *bufio.Reader with a readBufSize buffer

// newReader returns a reader of r with a readBufSize buffer, pooled or new.
func newReader(r io.Reader) *bufio.Reader {
	if br, ok := readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, readBufSize)
}

// recycleReader clears br's buffer, which held the connection's bytes (messages in the
// clear, when the session only signs them), and pools it.
func recycleReader(br *bufio.Reader) {
	// A Peek of the whole buffer from a reader of zeros overwrites every byte of it.
	br.Reset(zeros{})
	_, _ = br.Peek(br.Size())
	br.Reset(nil)
	if br.Size() == readBufSize {
		readers.Put(br)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// releaseReader gives the connection's read buffer back once the connection is closed.
// Every read of br after the handshake happens under rmu, and starts by checking that br
// is still there (readable); a read that has the lock is ended by the close. If the lock
// is taken (a read still returning, or one that panicked), the buffer is left to the
// garbage collector instead.
func (c *Conn) releaseReader() {
	if !c.rmu.TryLock() {
		return
	}
	br := c.br
	c.br = nil
	c.rmu.Unlock()
	if br != nil {
		recycleReader(br)
	}
}

// readable reports whether the read buffer is still there; the caller holds rmu.
func (c *Conn) readable() bool { return c.br != nil }
