package httpauth

import (
	"bytes"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// TestWinRMKerberos seals bodies with a Kerberos context from the package's KDC
// (MS-WSMV 2.2.9.1.2): the length field is the EncryptMessage token's, which is an
// RFC 4121 Wrap token header with its rotated confounder and checksum (Windows' layout,
// RRC = EC + 16 + checksum), and the sealed data is exactly as long as the plaintext.
func TestWinRMKerberos(t *testing.T) {
	k := ownKDC(t)
	ccred, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: k.Krb5Conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scred, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredInbound, nil,
		&kerberos.ServerConfig{Keytab: k.Keytab, ServicePrincipal: "HTTP/localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "HTTP/localhost",
		Req: sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect})
	s := sspi.NewServerContext(scred, sspi.ServerOptions{})
	var tok []byte
	for !c.Established() || !s.Established() {
		if tok, err = c.Step(tok); err != nil {
			t.Fatal(err)
		}
		if len(tok) == 0 {
			break
		}
		if tok, err = s.Step(tok); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	client, server := c.Handle(), s.Handle()
	var sz sspi.Sizes
	if err := sspi.QueryContextAttributes(client, sspi.AttrSizes, &sz); err != nil {
		t.Fatal(err)
	}

	for _, body := range [][]byte{[]byte(soapCreate), bytes.Repeat([]byte("y"), 70000)} {
		enc, ct, err := EncryptWinRMBody(client, body, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := `multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"`; ct != want {
			t.Fatalf("Content-Type %q", ct)
		}
		parts, err := ParseWinRMBody(enc, ct)
		if err != nil || len(parts) != 1 {
			t.Fatalf("%d parts, %v", len(parts), err)
		}
		p := parts[0]
		if p.SigLength != sz.SecurityTrailer || len(p.Sealed) != len(body) {
			t.Fatalf("signature %d bytes (trailer %d), sealed %d bytes for %d", p.SigLength, sz.SecurityTrailer, len(p.Sealed), len(body))
		}
		// RFC 4121 4.2.6.2: TOK_ID 05 04, flags with Sealed (2), filler FF.
		if h := p.Signature; h[0] != 5 || h[1] != 4 || h[2]&2 == 0 || h[3] != 0xff {
			t.Fatalf("not a sealed Wrap token header: % x", h[:16])
		}
		got, _, err := DecryptWinRMBody(server, enc, ct)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("round trip: %v", err)
		}
		// The Negotiate scheme's name for the same framing, and back.
		enc, ct, err = EncryptWinRMBodyAs(server, WinRMProtocolSPNEGO, body, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err = DecryptWinRMBody(client, enc, ct); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("back: %v", err)
		}
	}
	// A replayed body is refused: each body uses the next sequence number.
	enc, ct, _ := EncryptWinRMBody(client, []byte(soapCreate), "")
	if _, _, err := DecryptWinRMBody(server, enc, ct); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecryptWinRMBody(server, enc, ct); err == nil {
		t.Fatal("a replayed body was accepted")
	} else {
		t.Logf("replay: %v", err)
	}
}
