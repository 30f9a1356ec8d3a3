package negotiate

import (
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

// What SPNEGO costs on top of NTLM: the same three NTLM messages, once bare and once
// inside Negotiate (which adds the DER framing, a fourth token and the two mechListMICs).
// The mechListMICs need NTLM's session keys during the handshake, which bare NTLM derives
// only on its first message, so the ...AndMessage pair, which also seals one message
// each way, is the like-for-like comparison.

func benchHandshake(b *testing.B, ccred, scred *sspi.Credentials, message bool) {
	b.ReportAllocs()
	for b.Loop() {
		cli := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "HTTP/server"})
		srv := sspi.NewServerContext(scred, sspi.ServerOptions{})
		var tok []byte
		var err error
		for !cli.Established() || !srv.Established() {
			if tok, err = cli.Step(tok); err != nil {
				b.Fatal(err)
			}
			if len(tok) == 0 {
				break
			}
			if tok, err = srv.Step(tok); err != nil {
				b.Fatal(err)
			}
			if len(tok) == 0 {
				break
			}
		}
		if !cli.Established() || !srv.Established() {
			b.Fatal("not established")
		}
		if message {
			w, err := cli.Wrap([]byte("ping"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := srv.Unwrap(w); err != nil {
				b.Fatal(err)
			}
			if w, err = srv.Wrap([]byte("pong")); err != nil {
				b.Fatal(err)
			}
			if _, err := cli.Unwrap(w); err != nil {
				b.Fatal(err)
			}
		}
		cli.Close()
		srv.Close()
	}
}

func BenchmarkNegotiateNTLMHandshake(b *testing.B) {
	benchHandshake(b, clientCreds(b, nil), serverCreds(b, Config{}), false)
}

func BenchmarkPlainNTLMHandshake(b *testing.B) {
	cc, sc := plainNTLMCreds(b)
	benchHandshake(b, cc, sc, false)
}

func BenchmarkNegotiateNTLMHandshakeAndMessage(b *testing.B) {
	benchHandshake(b, clientCreds(b, nil), serverCreds(b, Config{}), true)
}

func BenchmarkPlainNTLMHandshakeAndMessage(b *testing.B) {
	cc, sc := plainNTLMCreds(b)
	benchHandshake(b, cc, sc, true)
}

func plainNTLMCreds(b *testing.B) (cc, sc *sspi.Credentials) {
	cc, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredOutbound, nil, alice(), nil)
	if err != nil {
		b.Fatal(err)
	}
	sc, _, err = sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredInbound, nil, ntlmServerConfig(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	return cc, sc
}

// BenchmarkParseNegTokenInit is the parser alone on Windows' server NegTokenInit2.
func BenchmarkParseNegTokenInit(b *testing.B) {
	tok := readVector(b, "init2-neghints-pyspnego")
	var ti negTokenInit
	b.ReportAllocs()
	for b.Loop() {
		if err := parseInitialToken(tok, &ti); err != nil {
			b.Fatal(err)
		}
	}
}
