package dcerpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Security is a security provider bound to a connection (MS-RPCE 3.3.1.5.2): its token
// rides on the bind, and once bound it protects the stub data of every request and
// checks that of every response.
type Security interface {
	// AuthType and AuthLevel go into every sec_trailer (RPC_C_AUTHN_*, RPC_C_AUTHN_LEVEL_*).
	AuthType() uint8
	AuthLevel() uint8
	// BindToken is the auth value of the bind; AcceptBindAck takes the bind_ack's.
	BindToken() ([]byte, error)
	AcceptBindAck(token []byte) error
	// SignatureSize is the length of the auth value on a request.
	SignatureSize() int
	// Protect signs or seals data (the stub and its auth padding) in place and returns
	// the auth value. Unprotect checks token over data and unseals data in place.
	Protect(data []byte) ([]byte, error)
	Unprotect(data, token []byte) error
}

// Conn is one DCE/RPC association over TCP with one presentation context. A Conn runs one
// call at a time (a second caller waits): Netlogon's secure channel wants its calls in
// order, and the Netlogon signatures carry a sequence number per PDU.
type Conn struct {
	nc      net.Conn
	mu      sync.Mutex
	maxXmit int
	callID  uint32
	sec     Security
	broken  error
	buf     []byte
}

// authContextID names our one security context in sec_trailers.
const authContextID = 1

// Dial connects to addr ("host:port") over TCP.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dcerpc: %w", err)
	}
	return &Conn{nc: nc, maxXmit: MaxFragment}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// withDeadline applies ctx's deadline (and cancellation) to the socket for one exchange.
func (c *Conn) withDeadline(ctx context.Context) func() {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	c.nc.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// Bind binds the connection to iface over NDR20, with sec (nil for none) as its
// security provider.
func (c *Conn) Bind(ctx context.Context, iface SyntaxID, sec Security) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	body := bindBody(MaxFragment, uint16(min(max(RecvFragment, 1432), MaxFragment)), 0, iface)
	var authLen int
	if sec != nil {
		tok, err := sec.BindToken()
		if err != nil {
			return err
		}
		t := authTrailer{authType: sec.AuthType(), authLevel: sec.AuthLevel(), contextID: authContextID, value: tok}
		body = t.append(body)
		authLen = len(tok)
	}
	c.callID++
	if err := c.writePDU(header{ptype: ptypeBind, flags: pfcFirstFrag | pfcLastFrag, authLength: uint16(authLen), callID: c.callID}, body); err != nil {
		return err
	}
	h, body, err := c.readPDU()
	if err != nil {
		return err
	}
	switch {
	case h.ptype == ptypeBindNak:
		return bindNakError(body)
	case h.ptype != ptypeBindAck:
		return fmt.Errorf("dcerpc: answer to bind is PDU type %d", h.ptype)
	case h.callID != c.callID:
		return fmt.Errorf("dcerpc: bind_ack for call %d, sent %d", h.callID, c.callID)
	}
	data, trailer, err := splitAuth(body, int(h.authLength))
	if err != nil {
		return err
	}
	ack, err := parseBindAck(data)
	if err != nil {
		return err
	}
	if ack.result != 0 {
		return fmt.Errorf("dcerpc: the server refused the presentation context (result %d, reason %d)", ack.result, ack.reason)
	}
	if ack.transfer != NDR20 {
		return errors.New("dcerpc: the server chose a transfer syntax other than NDR20")
	}
	if sec != nil {
		if trailer == nil || trailer.authType != sec.AuthType() {
			return errors.New("dcerpc: bind_ack without the security provider's answer")
		}
		if err := sec.AcceptBindAck(trailer.value); err != nil {
			return err
		}
	}
	c.maxXmit = min(int(ack.maxRecv), MaxFragment)
	if c.maxXmit < 1024 {
		return fmt.Errorf("dcerpc: the server receives fragments of only %d bytes", ack.maxRecv)
	}
	c.sec = sec
	return nil
}

// Call runs operation opnum with the NDR stub data and returns the response's stub data.
// A failure that leaves the connection's state unknown (a time-out, a bad signature)
// breaks it: later calls fail at once and the caller should dial again.
func (c *Conn) Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, c.broken
	}
	defer c.withDeadline(ctx)()
	out, err := c.call(opnum, stub)
	var f Fault
	if err != nil && !errors.As(err, &f) {
		c.broken = fmt.Errorf("dcerpc: connection unusable after an earlier failure: %w", err)
		c.nc.Close()
	}
	return out, err
}

func (c *Conn) call(opnum uint16, stub []byte) ([]byte, error) {
	c.callID++
	if err := c.sendRequest(opnum, stub); err != nil {
		return nil, err
	}
	var out []byte
	for first := true; ; first = false {
		h, body, err := c.readPDU()
		if err != nil {
			return nil, err
		}
		if h.callID != c.callID {
			return nil, fmt.Errorf("dcerpc: response for call %d, waiting for %d", h.callID, c.callID)
		}
		if h.ptype == ptypeFault {
			if len(body) < 12 {
				return nil, errors.New("dcerpc: malformed fault")
			}
			return nil, Fault(binary.LittleEndian.Uint32(body[8:]))
		}
		if h.ptype != ptypeResponse || first != (h.flags&pfcFirstFrag != 0) {
			return nil, fmt.Errorf("dcerpc: unexpected PDU type %d (flags %#x) in a response", h.ptype, h.flags)
		}
		data, err := c.responseData(h, body)
		if err != nil {
			return nil, err
		}
		if len(out)+len(data) > MaxResponse {
			return nil, fmt.Errorf("dcerpc: response exceeds %d bytes", MaxResponse)
		}
		out = append(out, data...)
		if h.flags&pfcLastFrag != 0 {
			return out, nil
		}
	}
}

// responseData checks and unseals one response fragment's stub data.
func (c *Conn) responseData(h header, body []byte) ([]byte, error) {
	if len(body) < 8 {
		return nil, errors.New("dcerpc: short response PDU")
	}
	data, t, err := splitAuth(body[8:], int(h.authLength))
	if err != nil {
		return nil, err
	}
	if c.sec == nil {
		if t != nil {
			return nil, errors.New("dcerpc: an auth trailer on an unauthenticated connection")
		}
		return data, nil
	}
	if t == nil || t.authType != c.sec.AuthType() || t.authLevel != c.sec.AuthLevel() || t.contextID != authContextID {
		return nil, errors.New("dcerpc: response without the expected auth trailer (protection was stripped)")
	}
	if int(t.padLength) > len(data) || t.padLength >= authPadAlign {
		return nil, fmt.Errorf("dcerpc: auth pad length %d out of range", t.padLength)
	}
	if err := c.sec.Unprotect(data, t.value); err != nil {
		return nil, err
	}
	return data[:len(data)-int(t.padLength)], nil
}

// sendRequest writes stub as one or more request fragments (C706 12.6.4.9).
func (c *Conn) sendRequest(opnum uint16, stub []byte) error {
	room := c.maxXmit - headerLen - 8
	if c.sec != nil {
		room -= trailerLen + c.sec.SignatureSize() + authPadAlign
		room -= room % authPadAlign
	}
	total := len(stub)
	for first := true; first || len(stub) > 0; first = false {
		n := min(len(stub), room)
		chunk := stub[:n]
		stub = stub[n:]
		flags := uint8(0)
		if first {
			flags |= pfcFirstFrag
		}
		if len(stub) == 0 {
			flags |= pfcLastFrag
		}
		body := binary.LittleEndian.AppendUint32(c.buf[:0], uint32(total))
		body = binary.LittleEndian.AppendUint16(body, 0) // presentation context 0
		body = binary.LittleEndian.AppendUint16(body, opnum)
		body = append(body, chunk...)
		authLen := 0
		if c.sec != nil {
			pad := (authPadAlign - len(chunk)%authPadAlign) % authPadAlign
			body = append(body, make([]byte, pad)...)
			sig, err := c.sec.Protect(body[8:])
			if err != nil {
				return err
			}
			t := authTrailer{authType: c.sec.AuthType(), authLevel: c.sec.AuthLevel(), padLength: uint8(pad), contextID: authContextID, value: sig}
			body = t.append(body)
			authLen = len(sig)
		}
		c.buf = body[:0]
		if err := c.writePDU(header{ptype: ptypeRequest, flags: flags, authLength: uint16(authLen), callID: c.callID}, body); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) writePDU(h header, body []byte) error {
	h.fragLength = uint16(headerLen + len(body))
	if headerLen+len(body) > c.maxXmit && h.ptype != ptypeBind {
		return fmt.Errorf("dcerpc: a %d-byte fragment exceeds the server's %d", headerLen+len(body), c.maxXmit)
	}
	pdu := h.append(make([]byte, 0, int(h.fragLength)))
	pdu = append(pdu, body...)
	if _, err := c.nc.Write(pdu); err != nil {
		return fmt.Errorf("dcerpc: %w", err)
	}
	return nil
}

// readPDU reads one whole fragment, bounded by MaxFragment.
func (c *Conn) readPDU() (header, []byte, error) {
	var hb [headerLen]byte
	if _, err := io.ReadFull(c.nc, hb[:]); err != nil {
		return header{}, nil, fmt.Errorf("dcerpc: reading a PDU: %w", err)
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return header{}, nil, err
	}
	body := make([]byte, int(h.fragLength)-headerLen)
	if _, err := io.ReadFull(c.nc, body); err != nil {
		return header{}, nil, fmt.Errorf("dcerpc: reading a PDU: %w", err)
	}
	return h, body, nil
}
