package credssp

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
)

// relay is a man in the middle at the TLS layer: it ends the client's TLS with its own
// certificate, opens its own TLS to the real server, and passes the CredSSP messages
// across unchanged. It can read and re-encrypt everything, but not forge the inner
// package's seals: the public-key binding is what must stop it.
type relay struct {
	t      *testing.T
	toward *sspi.Context // Schannel server context facing the client
	away   *sspi.Context // Schannel client context facing the server
	sc, cc *sspi.Credentials
}

func schannelCreds(t *testing.T, use sspi.CredentialUse, cfg *schannel.Config) *sspi.Credentials {
	c, _, err := sspi.AcquireCredentialsHandle("", schannel.PackageName, use, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

func (r *relay) step(server bool, in []byte) []byte {
	r.t.Helper()
	var bufs []sspi.Buffer
	if in != nil {
		bufs = []sspi.Buffer{{Type: sspi.BufferToken, Data: in}, {Type: sspi.BufferEmpty}}
	}
	out := []sspi.Buffer{{Type: sspi.BufferToken}}
	var err error
	if server {
		r.toward, _, err = sspi.AcceptSecurityContext(r.sc, r.toward, sspi.ASCReqStream|sspi.ASCReqAllocateMemory, sspi.NativeDataRep, bufs, out)
	} else {
		r.away, _, err = sspi.InitializeSecurityContext(r.cc, r.away, "rdp.example.com", sspi.ISCReqStream|sspi.ISCReqManualCredValidation|sspi.ISCReqAllocateMemory, sspi.NativeDataRep, bufs, out)
	}
	if err != nil {
		r.t.Fatalf("relay TLS: %v", err)
	}
	if len(bufs) > 1 && bufs[1].Type == sspi.BufferExtra {
		// Records behind the server's Finished (TLS 1.3 tickets): take them in.
		if r.reseal(r.away, nil, bufs[1].Data) != nil {
			r.t.Fatal("relay: application data in the handshake")
		}
	}
	return out[0].Data
}

// reseal decrypts records with one context and encrypts the plaintext with the other.
func (r *relay) reseal(from, to *sspi.Context, records []byte) []byte {
	r.t.Helper()
	var plain []byte
	for len(records) > 0 {
		bufs := []sspi.Buffer{{Type: sspi.BufferData, Data: append([]byte(nil), records...)}, {}, {}, {}}
		_, _, err := sspi.DecryptMessage(from, bufs, 0)
		if err != nil {
			r.t.Fatalf("relay decrypt: %v", err)
		}
		if d := sspi.FindBuffer(bufs, sspi.BufferData); d != nil {
			plain = append(plain, d.Data...)
		}
		records = nil
		if e := sspi.FindBuffer(bufs, sspi.BufferExtra); e != nil {
			records = e.Data
		}
	}
	if len(plain) == 0 || to == nil {
		return plain
	}
	var sz sspi.StreamSizes
	if err := sspi.QueryContextAttributes(to, sspi.AttrStreamSizes, &sz); err != nil {
		r.t.Fatal(err)
	}
	bufs := []sspi.Buffer{{Type: sspi.BufferStreamHeader, Data: make([]byte, sz.Header)}, {Type: sspi.BufferData, Data: plain},
		{Type: sspi.BufferStreamTrailer, Data: make([]byte, sz.Trailer)}, {}}
	if err := sspi.EncryptMessage(to, 0, bufs, 0); err != nil {
		r.t.Fatal(err)
	}
	return append(append(append([]byte(nil), bufs[0].Data...), bufs[1].Data...), bufs[2].Data...)
}

// TestRelayWithAnotherCertificate: the client's TLS ends at the relay, whose certificate
// differs from the server's; the inner authentication (NTLM) still succeeds across the
// relay, and the server must refuse the client's binding to the relay's key.
func TestRelayWithAnotherCertificate(t *testing.T) {
	p := newSSPIPair(t, clientConfig(), pkgServerConfig(t))
	// The relay's own key, for the same name.
	other := makeCert("rdp.example.com")
	r := &relay{t: t,
		sc: schannelCreds(t, sspi.CredInbound, &schannel.Config{Certificates: []tls.Certificate{other}}),
		cc: schannelCreds(t, sspi.CredOutbound, &schannel.Config{ManualCredValidation: true})}

	// TLS with the real server.
	tok := r.step(false, nil)
	for !r.away.Established() {
		back, err := p.serverStep(tok)
		if err != nil {
			t.Fatal(err)
		}
		tok = r.step(false, back)
		if len(tok) > 0 && r.away.Established() {
			if _, err := p.serverStep(tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	// TLS with the client; its first TSRequest comes behind its Finished or next.
	ctok, err := p.clientStep(nil)
	if err != nil {
		t.Fatal(err)
	}
	var toClient []byte
	for r.toward == nil || !r.toward.Established() {
		bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: ctok}, {Type: sspi.BufferEmpty}}
		out := []sspi.Buffer{{Type: sspi.BufferToken}}
		r.toward, _, err = sspi.AcceptSecurityContext(r.sc, r.toward, sspi.ASCReqStream|sspi.ASCReqAllocateMemory, sspi.NativeDataRep, bufs, out)
		if err != nil {
			t.Fatal(err)
		}
		toClient = out[0].Data
		if r.toward.Established() {
			if bufs[1].Type == sspi.BufferExtra {
				ctok = bufs[1].Data
			} else {
				ctok = nil
			}
			break
		}
		if ctok, err = p.clientStep(toClient); err != nil {
			t.Fatal(err)
		}
	}
	if len(toClient) > 0 {
		// TLS 1.3: the relay's last word (tickets); the client's TSRequest comes back.
		more, err := p.clientStep(toClient)
		if err != nil {
			t.Fatal(err)
		}
		ctok = append(ctok, more...)
	}
	// Relay the CredSSP messages.
	var cerr, serr error
	for i := 0; i < 10 && len(ctok) > 0; i++ {
		back, err := p.serverStep(r.reseal(r.toward, r.away, ctok))
		if err != nil {
			serr = err
			break
		}
		if ctok, err = p.clientStep(r.reseal(r.away, r.toward, back)); err != nil {
			cerr = err
			break
		}
	}
	if !errors.Is(serr, sspi.ErrBadBindings) {
		t.Fatalf("server: %v (client: %v), want SEC_E_BAD_BINDINGS", serr, cerr)
	}
	if d, _ := DelegatedCredentials(p.sctx); d != nil {
		t.Fatal("the server has credentials")
	}
}
