package httpauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/schannel"
)

// winrmCredSSPPair runs a CredSSP handshake (NTLM inside) between our own client and
// server, as WinRM's CredSSP scheme does.
func winrmCredSSPPair(t *testing.T) (client, server *sspi.Context) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "winrm.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	if err != nil {
		t.Fatal(err)
	}
	scred, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredInbound, nil, &credssp.Config{
		TLS:       &schannel.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		Negotiate: &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: &ntlm.ServerConfig{Accounts: accounts, DNSComputer: "winrm.example.com"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ccred, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredOutbound, nil, &credssp.Config{
		Negotiate:          &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"},
		DelegateToNTLMOnly: []string{"WSMAN/*"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "WSMAN/winrm.example.com",
		Req: sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqStream | sspi.ISCReqExtendedError})
	s := sspi.NewServerContext(scred, sspi.ServerOptions{Req: sspi.ASCReqConnection | sspi.ASCReqStream})
	tok, err := c.Step(nil)
	for err == nil && len(tok) > 0 {
		if tok, err = s.Step(tok); err != nil || len(tok) == 0 {
			break
		}
		tok, err = c.Step(tok)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !c.Established() || !s.Established() {
		t.Fatal("CredSSP handshake did not finish")
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
		sspi.FreeCredentialsHandle(ccred)
		sspi.FreeCredentialsHandle(scred)
	})
	return c.Handle(), s.Handle()
}

// TestWinRMCredSSP seals bodies in TLS records (MS-WSMV 2.2.9.1.3): one part up to
// 16 KiB, multipart/x-multi-encrypted 16 KiB pieces beyond; the length field is the TLS
// trailer's.
func TestWinRMCredSSP(t *testing.T) {
	client, server := winrmCredSSPPair(t)
	var ss sspi.StreamSizes
	if err := sspi.QueryContextAttributes(client, sspi.AttrStreamSizes, &ss); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		size, parts int
		media       string
	}{
		{len(soapCreate), 1, "multipart/encrypted"},
		{winRMChunk, 1, "multipart/encrypted"},
		{winRMChunk + 1, 2, "multipart/x-multi-encrypted"},
		{40000, 3, "multipart/x-multi-encrypted"},
	} {
		body := bytes.Repeat([]byte(soapCreate), tt.size/len(soapCreate)+1)[:tt.size]
		enc, ct, err := EncryptWinRMBody(client, body, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := tt.media + `;protocol="application/HTTP-CredSSP-session-encrypted";boundary="Encrypted Boundary"`; ct != want {
			t.Fatalf("%d bytes: Content-Type %q, want %q", tt.size, ct, want)
		}
		parts, err := ParseWinRMBody(enc, ct)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != tt.parts {
			t.Fatalf("%d bytes: %d parts, want %d", tt.size, len(parts), tt.parts)
		}
		for i, p := range parts {
			n := min(winRMChunk, tt.size-i*winRMChunk)
			if p.Length != n {
				t.Fatalf("part %d announces %d bytes, want %d", i, p.Length, n)
			}
			// One TLS application-data record: header, data, then the trailer whose
			// length the field carries.
			if p.Sealed[0] != 23 || p.Sealed[1] != 3 {
				t.Fatalf("part %d does not start with a TLS application-data record: % x", i, p.Sealed[:5])
			}
			if got := len(p.Sealed) - ss.Header - n; p.SigLength != got || got <= 0 || got > ss.Trailer {
				t.Fatalf("part %d: length field %d, the record's trailer is %d bytes (max %d)", i, p.SigLength, got, ss.Trailer)
			}
		}
		got, _, err := DecryptWinRMBody(server, enc, ct)
		if err != nil {
			t.Fatalf("%d bytes: %v", tt.size, err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: round trip differs", tt.size)
		}
		// And back.
		enc, ct, err = EncryptWinRMBody(server, body, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err = DecryptWinRMBody(client, enc, ct); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes back: %v", tt.size, err)
		}
	}

	// A tampered record is refused with the package's status.
	enc, ct, _ := EncryptWinRMBody(client, []byte(soapCreate), "")
	enc[len(enc)-len("--Encrypted Boundary--\r\n")-3] ^= 1
	if _, _, err := DecryptWinRMBody(server, enc, ct); err == nil || sspi.StatusOf(err) == sspi.ErrInternalError {
		t.Fatalf("tampered record: %v", err)
	}
}
