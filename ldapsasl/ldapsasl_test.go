package ldapsasl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestLayerOffer(t *testing.T) {
	for _, tt := range []struct {
		in      []byte
		layers  Layer
		maxSize int
		err     bool
	}{
		{in: []byte{0x07, 0x00, 0x10, 0x00}, layers: LayerNone | LayerIntegrity | LayerConfidentiality, maxSize: 4096},
		{in: []byte{0x06, 0xff, 0xff, 0xff}, layers: LayerIntegrity | LayerConfidentiality, maxSize: 1<<24 - 1},
		{in: []byte{0x01, 0, 0, 0}, layers: LayerNone},
		{in: []byte{0x07, 0, 0}, err: true},
		{in: []byte{0x07, 0, 0, 0, 'x'}, err: true},
		{in: nil, err: true},
	} {
		o, err := parseLayerOffer(tt.in)
		if (err != nil) != tt.err || (err == nil && (o.layers != tt.layers || o.maxSize != tt.maxSize)) {
			t.Errorf("parseLayerOffer(%x) = %+v, %v", tt.in, o, err)
		}
	}
	got := layerOffer{layers: LayerConfidentiality, maxSize: 1 << 20}.marshal("u:alice")
	if want := append([]byte{0x04, 0x10, 0x00, 0x00}, "u:alice"...); !bytes.Equal(got, want) {
		t.Errorf("marshal = %x, want %x", got, want)
	}
}

func TestLayerChoice(t *testing.T) {
	for _, tt := range []struct {
		offered, accepted, want Layer
	}{
		{LayerNone | LayerIntegrity | LayerConfidentiality, LayerIntegrity | LayerConfidentiality, LayerConfidentiality},
		{LayerNone | LayerIntegrity, LayerIntegrity | LayerConfidentiality, LayerIntegrity},
		{LayerNone, LayerIntegrity | LayerConfidentiality, 0}, // refused: no protection offered
		{LayerNone | LayerIntegrity | LayerConfidentiality, LayerNone, LayerNone},
	} {
		if got := (tt.offered & tt.accepted).strongest(); got != tt.want {
			t.Errorf("offer %v, accept %v: chose %v, want %v", tt.offered, tt.accepted, got, tt.want)
		}
	}
	if s := (LayerIntegrity | LayerConfidentiality | 0x10).String(); s != "integrity|confidentiality|0x10" {
		t.Errorf("String = %q", s)
	}
}

// ldapMessage builds an LDAPMessage with messageID 7 around op, with long-form lengths
// when long is set.
func ldapMessage(op []byte, long bool) []byte {
	body := append([]byte{0x02, 0x01, 0x07}, op...)
	if long {
		return append([]byte{0x30, 0x82, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	return append([]byte{0x30, byte(len(body))}, body...)
}

func bindResponse(code byte) []byte {
	return []byte{0x61, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00}
}

func TestParseBindResult(t *testing.T) {
	ok := ldapMessage(bindResponse(0), false)
	for _, tt := range []struct {
		name   string
		in     []byte
		want   bindResult
		err    error // errShort, or nil for any other error when bad is set
		bad    bool
		isBind bool
	}{
		{name: "success", in: ok, want: bindResult{size: len(ok), isBind: true}},
		{name: "success, long form, more after it", in: append(ldapMessage(bindResponse(0), true), 0, 0, 0, 9), want: bindResult{size: len(ldapMessage(bindResponse(0), true)), isBind: true}},
		{name: "invalidCredentials", in: ldapMessage(bindResponse(49), false), want: bindResult{size: len(ok), isBind: true, code: 49}},
		{name: "notice of disconnection", in: ldapMessage([]byte{0x78, 0x03, 0x0a, 0x01, 0x34}, false), want: bindResult{size: 10}},
		{name: "short", in: ok[:5], err: errShort},
		{name: "short header", in: ok[:1], err: errShort},
		{name: "not a sequence", in: append([]byte{0x31}, ok[1:]...), bad: true},
		{name: "indefinite length", in: []byte{0x30, 0x80, 0, 0}, bad: true},
		{name: "huge length", in: []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, bad: true},
		{name: "inner longer than outer", in: []byte{0x30, 0x05, 0x02, 0x01, 0x07, 0x61, 0x09}, bad: true},
		{name: "empty resultCode", in: ldapMessage([]byte{0x61, 0x02, 0x0a, 0x00}, false), bad: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBindResult(tt.in)
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
			case tt.bad:
				if err == nil || errors.Is(err, errShort) {
					t.Fatalf("err %v, want a malformed-message error", err)
				}
			case err != nil || got != tt.want:
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// layerConn is a Conn whose layer is in force, over one end of a pipe; nothing is ever
// unwrapped, as each case fails before that.
func layerConn(t *testing.T, maxBuf int) (*Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := NewConn(a, Config{MaxBufferSize: maxBuf})
	c.state, c.layer = stateLayer, LayerConfidentiality
	return c, b
}

// TestHostileBuffers: a SASL buffer longer than the client accepts, or of length zero, ends
// the connection with an error instead of an allocation the server chose; a server that
// closes inside a buffer gives io.ErrUnexpectedEOF.
func TestHostileBuffers(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{name: "too long", in: binary.BigEndian.AppendUint32(nil, 1<<16+1), want: "SASL buffer of 65537 octets"},
		{name: "4 GiB", in: []byte{0xff, 0xff, 0xff, 0xff}, want: "SASL buffer of 4294967295 octets"},
		{name: "zero", in: []byte{0, 0, 0, 0}, want: "SASL buffer of 0 octets"},
		{name: "cut short", in: []byte{0, 0, 0, 40, 1, 2, 3}, want: "unexpected EOF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := layerConn(t, 1<<16)
			go func() { peer.Write(tt.in); peer.Close() }()
			_, err := c.Read(make([]byte, 100))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read: %v, want %q", err, tt.want)
			}
			if _, again := c.Read(make([]byte, 1)); again == nil {
				t.Fatal("a second Read after the error succeeded")
			}
		})
	}
}

// TestPassThrough: before any bind the Conn changes nothing in either direction.
func TestPassThrough(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewConn(a, Config{})
	defer c.Close()
	msg := ldapMessage(bindResponse(0), false)
	go func() { b.Write(msg); buf := make([]byte, 3); n, _ := b.Read(buf); b.Write(buf[:n]) }()
	got := make([]byte, len(msg))
	if _, err := c.Read(got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Read %x, %v", got, err)
	}
	if _, err := c.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, 3)
	if _, err := c.Read(echo); err != nil || string(echo) != "abc" || c.Layer() != LayerNone {
		t.Fatalf("echo %q, %v, layer %v", echo, err, c.Layer())
	}
}

// TestBindResultEndsWait: in the wait for the bind's result, a failed bind leaves the
// connection without a layer; a success starts it, and bytes after the result are SASL
// buffers.
func TestBindResultEndsWait(t *testing.T) {
	for _, code := range []byte{0, 49} {
		a, b := net.Pipe()
		c := NewConn(a, Config{MaxBufferSize: 16})
		c.state, c.layer = stateAwaitBind, LayerIntegrity
		msg := ldapMessage(bindResponse(code), false)
		go func() { b.Write(append(msg[:4:4], msg[4:]...)) }()
		got := make([]byte, len(msg))
		n, err := c.Read(got)
		if err != nil || n != len(msg) {
			t.Fatalf("code %d: Read %d, %v", code, n, err)
		}
		want := LayerNone
		if code == 0 {
			want = LayerIntegrity
		}
		if c.Layer() != want {
			t.Fatalf("code %d: layer %v, want %v", code, c.Layer(), want)
		}
		a.Close()
		b.Close()
	}
}

// FuzzParseBindResult: the bind-result reader never panics and never claims more than it
// was given.
func FuzzParseBindResult(f *testing.F) {
	f.Add(ldapMessage(bindResponse(0), false))
	f.Add(ldapMessage(bindResponse(14), true))
	f.Add([]byte{0x30, 0x84, 0, 0, 0, 3, 2, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseBindResult(b)
		if err == nil && (r.size > len(b) || r.size < 2) {
			t.Fatalf("size %d of %d octets", r.size, len(b))
		}
	})
}
