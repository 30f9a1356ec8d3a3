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
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/schannel"
)

// oursServicePassword is HTTP/localhost's password in the recording KDC.
const oursServicePassword = "Svc-Passw0rd!"

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
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{Users: map[string]string{
		testpeers.KDCUser: testpeers.KDCPassword,
		// A service account with a password, as Active Directory's are: its tickets are
		// decrypted from the password (--password --principal).
		"HTTP/localhost": oursServicePassword,
	}})
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
	// A ticket for the password service.
	pwServer := &kerberos.ServerConfig{Keytab: kdc.KeytabFor(t, "HTTP/localhost")}
	toks = handshake(t, "Kerberos", client, pwServer, "HTTP/localhost", sspi.ISCReqMutualAuth, nil)
	writeToken(t, "ours-pw-krb5-ap-req", "gosspi kerberos client, MIT KDC, ticket for a password service", toks[0])
	recordMIT(t, kdc, server)
	// NTLM: our client and server, with channel bindings, so with a MIC.
	accounts := &ntlm.FileAccountStore{}
	if err := accounts.Add(ntlm.AccountFromPassword("EXAMPLE", "alice", "Passw0rd!")); err != nil {
		t.Fatal(err)
	}
	toks = handshake(t, "NTLM", &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"},
		&ntlm.ServerConfig{Accounts: accounts, NetBIOSDomain: "EXAMPLE", NetBIOSComputer: "SERVER", DNSDomain: "example.com"},
		"HTTP/server.example.com", sspi.ISCReqConfidentiality|sspi.ISCReqIntegrity, cb)
	for i, n := range []string{"negotiate", "challenge", "authenticate"} {
		writeToken(t, "ours-ntlm-"+n, "gosspi ntlm client and server, channel bindings", toks[i])
	}
	// Schannel: the ClientHello and the server's first flight.
	cert := selfSigned(t)
	toks = handshake(t, "Schannel", &schannel.Config{ManualCredValidation: true},
		&schannel.Config{Certificates: []tls.Certificate{cert}}, "server.example", 0, nil)
	writeToken(t, "ours-tls-client-hello", "gosspi schannel client", toks[0])
	writeToken(t, "ours-tls-server-flight", "gosspi schannel server", toks[1])
}

// recordMIT records MIT krb5's initiator (python3-gssapi): a raw Kerberos AP-REQ with
// channel bindings and every flag, and SPNEGO with Kerberos.
func recordMIT(t *testing.T, kdc *testpeers.KDC, server *kerberos.ServerConfig) {
	testpeers.RequireGSSPython(t)
	cbApp := []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")
	for _, r := range []struct {
		name, mech string
		flags      uint32
		cb         []byte
	}{
		{"mit-krb5-ap-req-cb", testpeers.MechKerberos, testpeers.GSSMutualFlag | testpeers.GSSIntegFlag | testpeers.GSSConfFlag |
			testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag, cbApp},
		{"mit-krb5-spnego-init", testpeers.MechSPNEGO, testpeers.GSSMutualFlag | testpeers.GSSIntegFlag, nil},
	} {
		ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
			Role: testpeers.Initiator, Mech: r.mech, NegMechs: []string{testpeers.MechKerberos},
			User: kdc.Principal(testpeers.KDCUser), UserType: "principal", Password: testpeers.KDCPassword,
			Target: "host@localhost", Flags: r.flags, ChannelBindings: r.cb, Env: kdc.Env(),
		})
		tok, _, err := ini.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		writeToken(t, r.name, "MIT krb5 1.20 initiator (python3-gssapi), MIT KDC", tok)
	}
	_ = server
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
