package krbclient

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// maxUDPReply is the largest datagram read; a longer reply is truncated and refused.
const maxUDPReply = 65535

// attempt is one KDC asked over one transport.
type attempt struct {
	addr string
	tcp  bool
}

// order lists the attempts as MIT's sendto_kdc orders them: every KDC over the preferred
// transport, then every KDC over the other one. UDP is preferred unless the message is
// longer than udp_preference_limit.
func order(kdcs []kdcAddr, preferTCP bool) []attempt {
	var out []attempt
	for pass := 0; pass < 2; pass++ {
		tcp := preferTCP == (pass == 0)
		for _, k := range kdcs {
			if (tcp && k.tcp) || (!tcp && k.udp) {
				out = append(out, attempt{addr: k.addr, tcp: tcp})
			}
		}
	}
	return out
}

// send delivers req to a KDC of realm and returns the first reply that is a KRB-ERROR or a
// message of type want. KDCs that cannot be reached, time out, or answer with something
// else are skipped; a KRB_ERR_RESPONSE_TOO_BIG over UDP moves that KDC to TCP at once.
func (c *Client) send(ctx context.Context, realm string, req []byte, want int) ([]byte, error) {
	kdcs, err := c.locate(ctx, realm)
	if err != nil {
		return nil, err
	}
	plan := order(kdcs, len(req) > c.conf.LibDefaults.UDPPreferenceLimit)
	var errs []string
	for i := 0; i < len(plan); i++ {
		if err := ctx.Err(); err != nil {
			return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "krbclient: asking the KDCs of %s: %w", bound(realm), err)
		}
		a := plan[i]
		reply, err := c.roundTrip(ctx, a, req)
		if err == nil {
			err = checkReply(reply, want)
		}
		if err == errTooBig && !a.tcp {
			// RFC 4120 7.2.1: retry this KDC over TCP now rather than after the others.
			plan = append(plan[:i+1], append([]attempt{{addr: a.addr, tcp: true}}, plan[i+1:]...)...)
			continue
		}
		if err == nil {
			if c.onAttempt != nil {
				c.onAttempt(a.addr, a.tcp)
			}
			return reply, nil
		}
		if len(errs) < 4 {
			errs = append(errs, fmt.Sprintf("%s/%s: %s", proto(a.tcp), a.addr, bound(err.Error())))
		}
	}
	return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority,
		"krbclient: no KDC of realm %s answered (%d attempts: %s); check [realms] kdc in krb5.conf and that the KDC runs",
		bound(realm), len(plan), strings.Join(errs, "; "))
}

func proto(tcp bool) string {
	if tcp {
		return "tcp"
	}
	return "udp"
}

var errTooBig = errors.New("KRB_ERR_RESPONSE_TOO_BIG")

// checkReply accepts a KRB-ERROR or a message of type want; a KRB-ERROR that says
// RESPONSE_TOO_BIG or that the service is unavailable is a reason to ask elsewhere.
func checkReply(b []byte, want int) error {
	// A truncated or padded datagram is no answer: the outer element must fill b exactly.
	s := cryptobyte.String(b)
	var elem cryptobyte.String
	var tag asn1.Tag
	if !s.ReadAnyASN1Element(&elem, &tag) || !s.Empty() {
		return errors.New("the reply is not one whole DER message (truncated?)")
	}
	switch wire.MessageType(b) {
	case want:
		return nil
	case wire.MsgKRBError:
		var k wire.KRBError
		if err := k.Unmarshal(b); err != nil {
			return err
		}
		switch k.Code {
		case wire.KRBErrResponseTooBig:
			return errTooBig
		case errServiceUnavail:
			return errors.New("KDC_ERR_SVC_UNAVAILABLE")
		}
		return nil
	}
	return errors.New("the reply is not a Kerberos reply of the expected type")
}

// roundTrip sends req to one KDC over one transport within the per-attempt time-out.
func (c *Client) roundTrip(ctx context.Context, a attempt, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout())
	defer cancel()
	conn, err := c.dial(ctx, proto(a.tcp), a.addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	// Cancellation closes the connection, which ends a blocked read at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if a.tcp {
		return tcpExchange(conn, req)
	}
	return udpExchange(conn, req)
}

func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.opts.Dial != nil {
		return c.opts.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// udpExchange sends one datagram and reads one. The socket is connected, so the kernel
// drops datagrams from any other address than the KDC's.
func udpExchange(conn net.Conn, req []byte) ([]byte, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	bp := udpBufs.Get().(*[]byte)
	defer udpBufs.Put(bp)
	buf := *bp
	n, err := conn.Read(buf)
	if err != nil {
		return nil, err
	}
	if n > maxUDPReply {
		return nil, errors.New("datagram too long")
	}
	return append([]byte(nil), buf[:n]...), nil
}

// udpBufs holds datagram-sized read buffers, so a reply costs its own size only.
var udpBufs = sync.Pool{New: func() any { b := make([]byte, maxUDPReply+1); return &b }}

// tcpExchange sends the message with RFC 4120 7.2.2's 4-byte length prefix and reads the
// reply the same way, refusing a length with the reserved high bit or above
// wire.MaxMessageSize before allocating anything.
func tcpExchange(conn net.Conn, req []byte) ([]byte, error) {
	msg := make([]byte, 4+len(req))
	binary.BigEndian.PutUint32(msg, uint32(len(req)))
	copy(msg[4:], req)
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n&0x80000000 != 0 || n > wire.MaxMessageSize {
		return nil, fmt.Errorf("reply length %d exceeds %d bytes", n, wire.MaxMessageSize)
	}
	reply := make([]byte, n)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return nil, err
	}
	return reply, nil
}
