package kdctest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/gosspi/sspi/internal/krb5/wire"
)

const (
	// maxConns bounds the TCP connections served at once; more are closed on arrival.
	maxConns = 64
	// connTimeout bounds the wait for each request on a TCP connection and for writing
	// its reply, so an idle or slow client cannot hold a connection.
	connTimeout = 30 * time.Second
	// errFieldTooLong is KRB_ERR_FIELD_TOOLONG (RFC 4120 7.2.2): a TCP length with the
	// reserved high bit set, or longer than the KDC accepts.
	errFieldTooLong = 54
)

func (k *KDC) serveTCP() {
	defer k.wg.Done()
	for {
		c, err := k.tcp.Accept()
		if err != nil {
			if k.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: try again
			continue
		}
		k.mu.Lock()
		// Close sets closed before it closes the connections it holds, under the lock:
		// a connection accepted meanwhile is closed here instead of outliving Close.
		full := len(k.conns) >= maxConns || k.closed.Load()
		if !full {
			k.conns[c] = struct{}{}
			k.wg.Add(1)
		}
		k.mu.Unlock()
		if full {
			c.Close()
			continue
		}
		go k.serveConn(c)
	}
}

// serveConn answers requests on one TCP connection (RFC 4120 7.2.2): each a 4-byte
// big-endian length and the message, each reply likewise, until the client closes.
func (k *KDC) serveConn(c net.Conn) {
	defer k.wg.Done()
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.mu.Unlock()
		c.Close()
	}()
	var hdr [4]byte
	for {
		c.SetDeadline(time.Now().Add(connTimeout))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n&0x80000000 != 0 || n > MaxRequestSize {
			// RFC 4120 7.2.2: a KDC that does not know the extension the high bit announces,
			// or will not read that much, answers KRB_ERR_FIELD_TOOLONG and closes.
			k.count(func(c *Counts) { c.TCP++ })
			k.writeTCP(c, k.errorReply(nil, &kdcError{code: errFieldTooLong, text: "request too long"}))
			return
		}
		req := make([]byte, n)
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		k.count(func(c *Counts) { c.TCP++ })
		if !k.writeTCP(c, k.handle(req)) {
			return
		}
	}
}

func (k *KDC) writeTCP(c net.Conn, reply []byte) bool {
	if reply == nil {
		return false
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(reply)), uint32(len(reply)))
	_, err := c.Write(append(out, reply...))
	return err == nil
}

// serveUDP answers one datagram at a time (RFC 4120 7.2.1). A reply longer than
// maxUDP becomes KRB_ERR_RESPONSE_TOO_BIG, after which clients ask again over TCP.
func (k *KDC) serveUDP() {
	defer k.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := k.udp.ReadFrom(buf)
		if err != nil {
			if k.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		k.count(func(c *Counts) { c.UDP++ })
		req := append([]byte(nil), buf[:n]...)
		reply := k.handle(req)
		if reply == nil {
			continue
		}
		if k.maxUDP > 0 && len(reply) > k.maxUDP {
			k.count(func(c *Counts) { c.TooBig++ })
			reply = k.errorReply(k.requestOf(req), &kdcError{code: wire.KRBErrResponseTooBig, text: "response too big for UDP, retry with TCP"})
		}
		k.udp.WriteTo(reply, from)
	}
}

// requestOf decodes req again, for the names an error reply echoes; nil when it does not
// decode.
func (k *KDC) requestOf(b []byte) *wire.KDCReq {
	var r wire.KDCReq
	if r.Unmarshal(b) != nil {
		return nil
	}
	return &r
}
