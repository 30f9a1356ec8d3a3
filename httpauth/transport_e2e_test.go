package httpauth

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// e2eCase is a client identity and the server configuration it authenticates against.
type e2eCase struct {
	name    string
	schemes []string // offered by the server
	kdc     bool     // the server has the HTTP/localhost keytab, the client a KDC password
	ntlm    bool     // the client has NTLM credentials (Negotiate then carries NTLM)
	pkgWant string   // the package the server's log names
}

var e2eCases = []e2eCase{
	{"NTLM", []string{SchemeNTLM}, false, true, "package=NTLM"},
	{"Negotiate with NTLM inside", []string{SchemeNegotiate, SchemeNTLM}, false, true, "package=NTLM"},
	{"Negotiate with Kerberos", []string{SchemeNegotiate, SchemeNTLM}, true, false, "package=Kerberos"},
}

// e2eSetup starts our middleware (over TLS with Extended Protection required when cert
// is set) and returns it with a Transport holding the case's credentials.
func e2eSetup(t *testing.T, tc e2eCase, cert *tls.Certificate) (*testServer, *Transport, string) {
	t.Helper()
	cfg := Config{Schemes: tc.schemes, NTLM: testNTLMConfig(t)}
	id := testIdentity()
	want := `hello EXAMPLE\alice`
	if tc.kdc {
		k := ownKDC(t)
		cfg.Kerberos = &kerberos.ServerConfig{Keytab: k.Keytab}
		// The Transport acquires the default Kerberos credentials with this password.
		t.Setenv("KRB5_CONFIG", k.Krb5Conf)
		t.Setenv("KRB5CCNAME", "FILE:"+t.TempDir()+"/none")
		id = &sspi.AuthIdentity{User: testpeers.KDCUser, Domain: k.Realm, Password: testpeers.KDCPassword, PackageList: "Kerberos"}
		want = "hello " + k.Principal(testpeers.KDCUser)
	} else {
		id.PackageList = "NTLM"
	}
	if cert != nil {
		cfg.ChannelBindings = sspi.BindingsRequired
	}
	ts := startServer(t, cfg, cert)
	tr := &Transport{Identity: id}
	t.Cleanup(tr.CloseIdleConnections)
	return ts, tr, want
}

// TestTransportOurServer runs our Transport against our own middleware: NTLM, Negotiate
// with NTLM inside and Negotiate with Kerberos (the loopback MIT KDC), over plain HTTP
// and over HTTPS with Extended Protection required, where the handshake only passes
// because the Transport sends the tls-server-end-point bindings of the server's
// certificate.
func TestTransportOurServer(t *testing.T) {
	pki := testpeers.NewPKI(t)
	for _, tc := range e2eCases {
		for _, overTLS := range []bool{false, true} {
			name := tc.name
			if overTLS {
				name += " over HTTPS with EPA required"
			}
			t.Run(name, func(t *testing.T) {
				var cert *tls.Certificate
				if overTLS {
					cert = &pki.Server.Cert
				}
				ts, tr, want := e2eSetup(t, tc, cert)
				if overTLS {
					tr.Base = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.Roots}}
				}
				for _, method := range []string{"GET", "POST"} {
					var body io.Reader
					if method == "POST" {
						body = strings.NewReader("payload")
					}
					resp, got, err := get(t, tr, method, localURL(ts), body)
					if err != nil {
						t.Fatalf("%s: %v\n%s", method, err, ts.log)
					}
					if resp.StatusCode != http.StatusOK || got != want {
						t.Fatalf("%s: status %d body %q, want 200 %q\n%s", method, resp.StatusCode, got, want, ts.log)
					}
				}
				if !strings.Contains(ts.log.String(), tc.pkgWant) {
					t.Errorf("log lacks %s:\n%s", tc.pkgWant, ts.log)
				}
				if overTLS && !strings.Contains(ts.log.String(), "channel_bindings=true") {
					t.Errorf("log does not show channel bindings given:\n%s", ts.log)
				}
			})
		}
	}
}

// TestTransportRelayedTLS puts a man in the middle between our Transport and our
// middleware: it terminates the client's TLS with its own certificate (one the fooled
// client trusts) and relays the bytes, connection for connection, over its own TLS
// connection to the server. The client's tokens carry the bindings of the relay's
// certificate, so the server, which requires bindings to its own, refuses them with
// SEC_E_BAD_BINDINGS: the client gets 401.
func TestTransportRelayedTLS(t *testing.T) {
	pki := testpeers.NewPKI(t)
	for _, tc := range e2eCases {
		t.Run(tc.name, func(t *testing.T) {
			ts, tr, _ := e2eSetup(t, tc, &pki.Server.Cert)
			relay := startTLSRelay(t, pki.Untrusted.Cert, ts.Listener.Addr().String(), &tls.Config{RootCAs: pki.Roots, ServerName: "localhost"})
			// The victim trusts the relay's certificate (a mis-issued or user-accepted one).
			tr.Base = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			resp, _, err := get(t, tr, "GET", "https://localhost:"+relay.port+"/", nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, ts.log)
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d through the relay, want 401\n%s", resp.StatusCode, ts.log)
			}
			if !strings.Contains(ts.log.String(), "SEC_E_BAD_BINDINGS") {
				t.Fatalf("server log lacks SEC_E_BAD_BINDINGS:\n%s", ts.log)
			}
			if relay.conns() == 0 {
				t.Fatal("nothing went through the relay")
			}
		})
	}
}

// tlsRelay is a man in the middle that terminates TLS and relays each connection over a
// TLS connection of its own to the target.
type tlsRelay struct {
	port string
	mu   sync.Mutex
	n    int
}

func (r *tlsRelay) conns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func startTLSRelay(t *testing.T, cert tls.Certificate, target string, up *tls.Config) *tlsRelay {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	r := &tlsRelay{port: port}
	var wg sync.WaitGroup
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range open {
			c.Close()
		}
		r.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.n++
			open = append(open, c)
			r.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := tls.Dial("tcp", target, up)
				if err != nil {
					return
				}
				defer s.Close()
				done := make(chan struct{})
				go func() { io.Copy(s, c); s.CloseWrite(); close(done) }()
				io.Copy(c, s)
				c.Close()
				<-done
			}()
		}
	}()
	return r
}
