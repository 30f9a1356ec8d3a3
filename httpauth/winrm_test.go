package httpauth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

const (
	winrmUser     = "alice"
	winrmDomain   = "EXAMPLE"
	winrmPassword = "Passw0rd!"
)

// winrmNTLMServerCred is inbound NTLM credentials that know alice.
func winrmNTLMServerCred(t testing.TB) *sspi.Credentials {
	t.Helper()
	var accounts ntlm.FileAccountStore
	if err := accounts.Add(ntlm.AccountFromPassword(winrmDomain, winrmUser, winrmPassword)); err != nil {
		t.Fatal(err)
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredInbound, nil,
		&ntlm.ServerConfig{Accounts: &accounts, NetBIOSDomain: winrmDomain, NetBIOSComputer: "SERVER", DNSDomain: "example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// winrmNTLMPair runs an NTLM handshake between our own client and server.
func winrmNTLMPair(t testing.TB) (client, server *sspi.Context) {
	t.Helper()
	ccred, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: winrmDomain + `\` + winrmUser, Password: winrmPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "HTTP/server.example.com"})
	s := sspi.NewServerContext(winrmNTLMServerCred(t), sspi.ServerOptions{})
	var toServer, toClient []byte
	for !c.Established() || !s.Established() {
		if toServer, err = c.Step(toClient); err != nil {
			t.Fatal(err)
		}
		if len(toServer) == 0 {
			break
		}
		if toClient, err = s.Step(toServer); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.Handle(), s.Handle()
}

const soapCreate = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><a:Action xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action></s:Header><s:Body/></s:Envelope>`

func TestWinRMNTLMRoundTrip(t *testing.T) {
	client, server := winrmNTLMPair(t)
	for i, body := range [][]byte{[]byte(soapCreate), {}, bytes.Repeat([]byte("x"), 100000), []byte(soapCreate)} {
		// Both directions, several times: each side's sequence numbers advance.
		enc, ct, err := EncryptWinRMBody(client, body, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`; ct != want {
			t.Fatalf("Content-Type %q, want %q", ct, want)
		}
		if len(body) > 0 && bytes.Contains(enc, body) {
			t.Fatalf("message %d: the plaintext is in the encrypted body", i)
		}
		got, typ, err := DecryptWinRMBody(server, enc, ct)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, body) || typ != DefaultWinRMContentType {
			t.Fatalf("message %d: got %d bytes of %q", i, len(got), typ)
		}
		enc, ct, err = EncryptWinRMBody(server, body, "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		got, typ, err = DecryptWinRMBody(client, enc, ct)
		if err != nil || !bytes.Equal(got, body) || typ != "text/plain" {
			t.Fatalf("reply %d: %v, %q", i, err, typ)
		}
	}
}

// TestWinRMNTLMLayout checks the bytes against MS-WSMV 2.2.9.1.1: the part headers, the
// 4-byte little-endian length 16, the NTLM signature (version 1), and data of the
// plaintext's length.
func TestWinRMNTLMLayout(t *testing.T) {
	client, server := winrmNTLMPair(t)
	body := []byte(soapCreate)
	enc, ct, err := EncryptWinRMBody(client, body, "")
	if err != nil {
		t.Fatal(err)
	}
	head := "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n" +
		"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + itoa(len(body)) + "\r\n" +
		"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
	if !bytes.HasPrefix(enc, []byte(head)) {
		t.Fatalf("head:\n%q", enc[:min(len(enc), len(head)+8)])
	}
	tail := "--Encrypted Boundary--\r\n"
	if !bytes.HasSuffix(enc, []byte(tail)) {
		t.Fatalf("tail: %q", enc[len(enc)-30:])
	}
	stream := enc[len(head) : len(enc)-len(tail)]
	if len(stream) != 4+16+len(body) {
		t.Fatalf("stream is %d bytes, want 4+16+%d", len(stream), len(body))
	}
	if n := binary.LittleEndian.Uint32(stream); n != 16 {
		t.Fatalf("length field %d, want 16", n)
	}
	if v := binary.LittleEndian.Uint32(stream[4:]); v != 1 {
		t.Fatalf("NTLM signature version %d, want 1", v)
	}
	// The signature and sealed data are what the server's own DecryptMessage takes.
	sig, data := append([]byte(nil), stream[4:20]...), append([]byte(nil), stream[20:]...)
	if _, _, err := sspi.DecryptMessage(server, []sspi.Buffer{{Type: sspi.BufferToken, Data: sig}, {Type: sspi.BufferData, Data: data}}, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, body) {
		t.Fatal("DecryptMessage of the split parts did not give the body")
	}
	if !strings.HasPrefix(ct, "multipart/encrypted;") {
		t.Fatalf("Content-Type %q", ct)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestWinRMHostile feeds the parser and the decryptor broken bodies: each fails with its
// status, none panics.
func TestWinRMHostile(t *testing.T) {
	const end = "--Encrypted Boundary--\r\n"
	ct := `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`
	// Each mutation gets the good body and the offset of its length field.
	setLen := func(n uint32) func([]byte, int) []byte {
		return func(b []byte, at int) []byte { binary.LittleEndian.PutUint32(b[at:], n); return b }
	}
	cut := func(n int) func([]byte, int) []byte {
		return func(b []byte, at int) []byte { return append(b[:at+n:at+n], end...) }
	}
	replace := func(old, new string) func([]byte, int) []byte {
		return func(b []byte, _ int) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	same := func(b []byte, _ int) []byte { return b }
	tests := []struct {
		name   string
		mutate func([]byte, int) []byte
		ct     string
		want   sspi.Status
	}{
		{"control: unchanged", same, ct, sspi.OK},
		{"wrong boundary", same, strings.Replace(ct, "Encrypted Boundary", "Other Boundary", 1), sspi.ErrInvalidToken},
		{"no boundary", same, `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"`, sspi.ErrInvalidToken},
		{"wrong media type", same, `text/xml;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`, sspi.ErrInvalidToken},
		{"unknown protocol", same, `multipart/encrypted;protocol="application/x-evil";boundary="Encrypted Boundary"`, sspi.ErrInvalidToken},
		{"CredSSP protocol with an NTLM context", func(b []byte, _ int) []byte { return bytes.ReplaceAll(b, []byte("SPNEGO"), []byte("CredSSP")) }, strings.Replace(ct, "SPNEGO", "CredSSP", 1), sspi.ErrInvalidParameter},
		{"garbled header", same, "multipart/encrypted;;;=", sspi.ErrInvalidToken},
		{"empty body", func([]byte, int) []byte { return nil }, ct, sspi.ErrInvalidToken},
		{"no closing boundary", func(b []byte, _ int) []byte { return b[:len(b)-len(end)] }, ct, sspi.ErrIncompleteMessage},
		{"truncated in the length field", cut(2), ct, sspi.ErrIncompleteMessage},
		{"truncated in the signature", cut(10), ct, sspi.ErrIncompleteMessage},
		{"truncated in the data", cut(30), ct, sspi.ErrMessageAltered},
		{"length field past the end", setLen(1000), ct, sspi.ErrIncompleteMessage},
		{"huge length field", setLen(0xffffffff), ct, sspi.ErrInvalidToken},
		{"short signature", setLen(8), ct, sspi.ErrInvalidToken},
		{"flipped data byte", func(b []byte, at int) []byte { b[at+30] ^= 1; return b }, ct, sspi.ErrMessageAltered},
		{"flipped signature byte", func(b []byte, at int) []byte { b[at+14] ^= 1; return b }, ct, sspi.ErrMessageAltered},
		{"announced length differs", replace(";Length="+itoa(len(soapCreate)), ";Length=7"), ct, sspi.ErrMessageAltered},
		{"three parts", replace(end, "--Encrypted Boundary\r\n\tContent-Type: x\r\n"+end), ct, sspi.ErrInvalidToken},
		{"no OriginalContent", replace("OriginalContent", "OriginalKontent"), ct, sspi.ErrInvalidToken},
		{"bad Length", replace(";Length=", ";Length=-"), ct, sspi.ErrInvalidToken},
		{"data part not octet-stream", replace("application/octet-stream", "application/soap+xml____"), ct, sspi.ErrInvalidToken},
		{"part protocol differs from the header's", replace("Content-Type: application/HTTP-SPNEGO", "Content-Type: application/HTTP-Kerberos"), ct, sspi.ErrInvalidToken},
		{"bytes after the end", func(b []byte, _ int) []byte { return append(b, "junk"...) }, ct, sspi.ErrInvalidToken},
		{"multi with one description", func([]byte, int) []byte {
			return []byte("--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n" + end)
		}, strings.Replace(ct, "multipart/encrypted", "multipart/x-multi-encrypted", 1), sspi.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := winrmNTLMPair(t)
			good, _, err := EncryptWinRMBody(client, []byte(soapCreate), "")
			if err != nil {
				t.Fatal(err)
			}
			at := bytes.Index(good, []byte("octet-stream\r\n")) + len("octet-stream\r\n")
			_, _, err = DecryptWinRMBody(server, tt.mutate(good, at), tt.ct)
			if got := sspi.StatusOf(err); got != tt.want {
				t.Fatalf("status %v (%v), want %v", got, err, tt.want)
			}
			if err == nil {
				return
			}
			if !strings.HasPrefix(err.Error(), tt.want.String()+": ") {
				t.Fatalf("error %q does not start with its status", err)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error text unbounded: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestWinRMNoContext(t *testing.T) {
	if _, _, err := EncryptWinRMBody(nil, []byte("x"), ""); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("nil context: %v", err)
	}
	if _, _, err := DecryptWinRMBody(nil, nil, ""); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("nil context: %v", err)
	}
	client, _ := winrmNTLMPair(t)
	if _, _, err := EncryptWinRMBody(client, []byte("x"), "a\r\nb"); !errors.Is(err, sspi.ErrInvalidParameter) {
		t.Fatalf("two-line content type: %v", err)
	}
	if _, _, err := EncryptWinRMBodyAs(client, WinRMProtocolCredSSP, []byte("x"), ""); !errors.Is(err, sspi.ErrInvalidParameter) {
		t.Fatalf("CredSSP protocol with NTLM: %v", err)
	}
}
