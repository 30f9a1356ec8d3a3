package tokendump

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/schannel"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedKDC()
	os.Exit(code)
}

// TestRecord re-records the ours-* tokens with -update: our Kerberos, Negotiate and
// Schannel packages against an MIT KDC (whose keytab is kept, to decrypt the tickets).
func TestRecord(t *testing.T) {
	if !*update {
		t.Skip("records tokens only with -update")
	}
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{})
	kt, err := os.ReadFile(kdc.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oursKeytab, kt, 0o644); err != nil {
		t.Fatal(err)
	}
	client := &kerberos.ClientConfig{Principal: kdc.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: kdc.Krb5Conf}
	server := &kerberos.ServerConfig{Keytab: kdc.Keytab}
	// Kerberos with mutual authentication and channel bindings: AP-REQ, AP-REP.
	cb := (&sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}).Marshal()
	toks := handshake(t, "Kerberos", client, server, "host/localhost", sspi.ISCReqMutualAuth|sspi.ISCReqConfidentiality|sspi.ISCReqDelegate, cb)
	writeToken(t, "ours-krb5-ap-req", "gosspi kerberos client, MIT KDC", toks[0])
	writeToken(t, "ours-krb5-ap-rep", "gosspi kerberos server", toks[1])
	// Negotiate choosing Kerberos.
	neg := &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: client}}
	sneg := &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: server}}
	toks = handshake(t, "Negotiate", neg, sneg, "host/localhost", sspi.ISCReqMutualAuth, nil)
	writeToken(t, "ours-krb5-spnego-init", "gosspi negotiate client, MIT KDC", toks[0])
	writeToken(t, "ours-spnego-resp-krb5", "gosspi negotiate server", toks[1])
	// Schannel: the ClientHello and the server's first flight.
	cert := selfSigned(t)
	toks = handshake(t, "Schannel", &schannel.Config{ManualCredValidation: true},
		&schannel.Config{Certificates: []tls.Certificate{cert}}, "server.example", 0, nil)
	writeToken(t, "ours-tls-client-hello", "gosspi schannel client", toks[0])
	writeToken(t, "ours-tls-server-flight", "gosspi schannel server", toks[1])
}

// handshake runs client and server of pkg to the end and returns every token, in order.
func handshake(t *testing.T, pkg string, cauth, sauth any, target string, req sspi.ContextReq, cb []byte) [][]byte {
	t.Helper()
	ccred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, cauth, nil)
	if err != nil {
		t.Fatal(err)
	}
	scred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredInbound, nil, sauth, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: target, Req: req, ChannelBindings: cb})
	s := sspi.NewServerContext(scred, sspi.ServerOptions{ChannelBindings: cb})
	var toks [][]byte
	var in []byte
	for i := 0; i < 10 && (!c.Established() || !s.Established()); i++ {
		out, err := c.Step(in)
		if err != nil {
			t.Fatalf("%s client: %v", pkg, err)
		}
		if len(out) == 0 {
			break
		}
		toks = append(toks, out)
		if in, err = s.Step(out); err != nil {
			t.Fatalf("%s server: %v", pkg, err)
		}
		if len(in) > 0 {
			toks = append(toks, in)
		}
	}
	return toks
}

func writeToken(t *testing.T, name, source string, tok []byte) {
	t.Helper()
	h := hex.EncodeToString(tok)
	var lines []string
	for len(h) > 64 {
		lines = append(lines, h[:64])
		h = h[64:]
	}
	lines = append(lines, h)
	data := "# recorded by go test -run TestRecord -update: " + source + "\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile("testdata/tokens/"+name+".hex", []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "server.example"},
		DNSNames: []string{"server.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}
