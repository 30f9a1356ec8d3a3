package schannel

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/gosspi/sspi"
)

// TestRecordLengths sends the server a first record of every announced length from 0 to
// past the limit with a body cut short, long enough, and complete: never a panic; a
// short record asks for exactly what is missing; an oversized header is refused at once.
func TestRecordLengths(t *testing.T) {
	for n := 0; n <= maxRecordBody+1; n += 97 {
		for _, have := range []int{0, n / 2, n} {
			_, srv := pair(t, 0, nil, nil)
			rec := append([]byte{recordHandshake, 3, 1, byte(n >> 8), byte(n)}, bytes.Repeat([]byte{0x42}, have)...)
			srv.buf = rec
			_, err := srv.step()
			switch {
			case n > maxRecordBody:
				if !errors.Is(err, sspi.ErrIllegalMessage) {
					t.Fatalf("length %d: %v, want SEC_E_ILLEGAL_MESSAGE", n, err)
				}
			case have < n:
				if err != nil || srv.incomplete != 1 || srv.lastMissing != n-have {
					t.Fatalf("length %d, %d present: missing %d (%v)", n, have, srv.lastMissing, err)
				}
			default:
				if err == nil {
					t.Fatalf("length %d of garbage accepted", n)
				}
			}
			sspi.DeleteSecurityContext(srv.ctx)
		}
	}
}

// TestHostileRecords covers the rest of the wrong input: bad headers, a ClientHello split
// into one-byte records, a flood of empty records after the handshake, and a
// renegotiation attempt against the server.
func TestHostileRecords(t *testing.T) {
	t.Run("bad headers", func(t *testing.T) {
		for _, hdr := range [][]byte{{0, 3, 3, 0, 1, 0}, {24, 3, 3, 0, 1, 0}, {22, 2, 0, 0, 1, 0}, {0x80, 0x2e, 1, 0, 2}} {
			_, srv := pair(t, 0, nil, nil)
			srv.buf = hdr
			if _, err := srv.step(); !errors.Is(err, sspi.ErrIllegalMessage) {
				t.Errorf("% x: %v", hdr, err)
			}
		}
	})
	t.Run("one-byte records", func(t *testing.T) {
		cli, srv := pair(t, tls.VersionTLS12, nil, nil)
		hello, err := cli.step()
		if err != nil {
			t.Fatal(err)
		}
		// Re-frame the ClientHello's handshake bytes as one record per byte.
		body := hello[recordHeaderLen:]
		var split []byte
		for _, b := range body {
			split = append(split, recordHandshake, 3, 1, 0, 1, b)
		}
		srv.buf = split
		out, err := srv.step()
		if err != nil || len(out) == 0 {
			t.Fatalf("server on a ClientHello in one-byte records: %v", err)
		}
		cli.buf = out
		runHandshakeFrom(t, cli, srv)
		exchange(t, cli, srv)
	})
	for _, v := range versions {
		t.Run(v.name+"/empty record flood", func(t *testing.T) {
			cli, srv := pair(t, v.v, nil, nil)
			runHandshake(t, cli, srv, whole)
			// Zero-length application records in the clear: the first one fails, so a
			// flood costs one record's work. (crypto/tls itself stops a flood of
			// encrypted empty records after 16.)
			flood := bytes.Repeat([]byte{recordApplicationData, 3, 3, 0, 0}, 10000)
			msg := []sspi.Buffer{{Type: sspi.BufferData, Data: flood}, {}, {}, {}}
			if _, _, err := sspi.DecryptMessage(srv.ctx, msg, 0); !errors.Is(err, sspi.ErrDecryptFailure) && !errors.Is(err, sspi.ErrIllegalMessage) {
				t.Fatalf("empty cleartext record: %v", err)
			}
			if _, _, err := sspi.DecryptMessage(srv.ctx, []sspi.Buffer{{Type: sspi.BufferData, Data: seal(t, cli.ctx, []byte("x"))}, {}, {}, {}}, 0); err == nil {
				t.Fatal("the connection went on after a forged record")
			}
		})
	}
	t.Run("renegotiation refused", func(t *testing.T) {
		cli, srv := pair(t, tls.VersionTLS12, nil, nil)
		runHandshake(t, cli, srv, whole)
		// A second ClientHello on the established connection.
		other, _ := pair(t, tls.VersionTLS12, nil, nil)
		hello, err := other.step()
		if err != nil {
			t.Fatal(err)
		}
		msg := []sspi.Buffer{{Type: sspi.BufferData, Data: hello}, {}, {}, {}}
		_, st, err := sspi.DecryptMessage(srv.ctx, msg, 0)
		if err != nil || st != sspi.Renegotiate || msg[3].Type != sspi.BufferExtra {
			t.Fatalf("DecryptMessage of a ClientHello: %v %v", st, err)
		}
		srv.buf = msg[3].Data
		if _, err := srv.step(); err == nil {
			t.Fatal("server accepted a renegotiation")
		}
		if _, _, err := sspi.DecryptMessage(srv.ctx, []sspi.Buffer{{Type: sspi.BufferData, Data: seal(t, cli.ctx, []byte("x"))}, {}, {}, {}}, 0); err == nil {
			t.Fatal("server went on after refusing a renegotiation")
		}
	})
}

// runHandshakeFrom finishes a handshake whose client has input waiting.
func runHandshakeFrom(t *testing.T, cli, srv *endpoint) {
	t.Helper()
	for i := 0; i < 10 && !(cli.done && srv.done); i++ {
		out, err := cli.step()
		if err != nil {
			t.Fatal(err)
		}
		if srv.done {
			break
		}
		srv.buf = out
		out, err = srv.step()
		if err != nil {
			t.Fatal(err)
		}
		cli.buf = append(cli.buf, out...)
		if cli.done {
			break
		}
	}
	if !srv.done || !cli.done {
		t.Fatalf("not finished: %v %v", cli.status, srv.status)
	}
}
