package httpauth

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
)

// TestTransportProxy407: our middleware in Proxy mode in front of a forward proxy, and
// the Transport configured to use it: the 407 is answered with Proxy-Authorization
// (Negotiate with NTLM inside, and NTLM), the proxy sees the user, and the origin never
// sees the proxy's credentials.
func TestTransportProxy407(t *testing.T) {
	originSaw := make(chan string, 8)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originSaw <- r.Header.Get(HeaderProxyAuthorization) + "|" + r.Header.Get(HeaderAuthorization)
		io.WriteString(w, "origin")
	}))
	defer origin.Close()

	a, err := NewServer(Config{NTLM: testNTLMConfig(t), Proxy: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFromContext(r.Context())
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("X-Proxy-User", id.Principal)
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	proxy := httptestServer(t, a.Handler(forward), a)
	pu, _ := url.Parse(proxy.URL)

	for _, scheme := range []string{SchemeNegotiate, SchemeNTLM} {
		t.Run(scheme, func(t *testing.T) {
			id := testIdentity()
			id.PackageList = "NTLM"
			tr := &Transport{Base: &http.Transport{Proxy: http.ProxyURL(pu)}, Identity: id, Schemes: []string{scheme}}
			defer tr.CloseIdleConnections()
			resp, body, err := get(t, tr, "GET", origin.URL+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || body != "origin" || resp.Header.Get("X-Proxy-User") != `EXAMPLE\alice` {
				t.Fatalf("status %d body %q proxy user %q", resp.StatusCode, body, resp.Header.Get("X-Proxy-User"))
			}
			if got := <-originSaw; got != "|" {
				t.Fatalf("the origin saw authorization headers %q", got)
			}
		})
	}
}

// TestTransportOptimistic: with Optimistic, a Kerberos token rides on the first request,
// so the server sees one request instead of two (a 401, then the token).
func TestTransportOptimistic(t *testing.T) {
	k := ownKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+t.TempDir()+"/none")
	acc := clientCredsInbound(t, negotiate.PackageName, &negotiate.Config{
		Mechanisms:  []string{negotiate.Kerberos},
		Credentials: map[string]any{negotiate.Kerberos: &kerberos.ServerConfig{Keytab: k.Keytab}},
	})
	id := &sspi.AuthIdentity{User: testpeers.KDCUser, Domain: k.Realm, Password: testpeers.KDCPassword}
	for _, tc := range []struct {
		optimistic bool
		requests   int
	}{{false, 2}, {true, 1}} {
		s := newTestAuthServer(t, &testAuthServer{Offer: []string{"Negotiate"}, Scheme: "Negotiate", Cred: acc}, false)
		tr := &Transport{Identity: id, SPN: httpService, Optimistic: tc.optimistic}
		resp, body, err := get(t, tr, "GET", s.URL, nil)
		tr.CloseIdleConnections()
		if err != nil || resp.StatusCode != http.StatusOK || body != "hello "+k.Principal(testpeers.KDCUser) {
			t.Fatalf("Optimistic %v: %v %v %q", tc.optimistic, resp, err, body)
		}
		s.mu.Lock()
		n := len(s.legs)
		s.mu.Unlock()
		if n != tc.requests {
			t.Fatalf("Optimistic %v: the server saw %d requests, want %d", tc.optimistic, n, tc.requests)
		}
	}
}

// TestTransportCanonicalizeHost: a request to an alias whose CNAME is localhost asks for
// a ticket to HTTP/localhost only with CanonicalizeHost; without it the SPN is
// HTTP/alias.test, which the KDC does not know. The DNS answer comes from an injected
// Resolver talking to a loopback responder.
func TestTransportCanonicalizeHost(t *testing.T) {
	k := ownKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+t.TempDir()+"/none")
	acc := clientCredsInbound(t, negotiate.PackageName, &negotiate.Config{
		Mechanisms:  []string{negotiate.Kerberos},
		Credentials: map[string]any{negotiate.Kerberos: &kerberos.ServerConfig{Keytab: k.Keytab}},
	})
	s := newTestAuthServer(t, &testAuthServer{Offer: []string{"Negotiate"}, Scheme: "Negotiate", Cred: acc}, false)
	dns := startCNAMEResponder(t, "alias.test.", "localhost.")
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
	// Every connection goes to the test server, whatever the URL's host.
	base := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Listener.Addr().String())
	}}
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	url := "http://alias.test:" + port + "/"
	id := &sspi.AuthIdentity{User: testpeers.KDCUser, Domain: k.Realm, Password: testpeers.KDCPassword, PackageList: "Kerberos"}

	tr := &Transport{Base: base, Identity: id, CanonicalizeHost: true, Resolver: resolver}
	resp, body, err := get(t, tr, "GET", url, nil)
	tr.CloseIdleConnections()
	if err != nil || resp.StatusCode != http.StatusOK || body != "hello "+k.Principal(testpeers.KDCUser) {
		t.Fatalf("CanonicalizeHost: %v %v %q", resp, err, body)
	}

	tr = &Transport{Base: base, Identity: id, Resolver: resolver}
	_, _, err = get(t, tr, "GET", url, nil)
	tr.CloseIdleConnections()
	if err == nil || !strings.Contains(err.Error(), "HTTP/alias.test") {
		t.Fatalf("without CanonicalizeHost: err = %v, want a failure for HTTP/alias.test", err)
	}
}

// startCNAMEResponder answers every DNS query for alias with a CNAME to target, over UDP
// on loopback, and returns its address.
func startCNAMEResponder(t *testing.T, alias, target string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	qname := dnsName(alias)
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			// Header (12 bytes), then the question: our name, type, class.
			if n < 12+len(qname)+4 || !strings.EqualFold(string(q[12:12+len(qname)]), string(qname)) {
				continue
			}
			question := q[12 : 12+len(qname)+4]
			rdata := dnsName(target)
			resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q))
			resp = append(resp, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0) // QR AA RD RA; 1 question, 1 answer
			resp = append(resp, question...)
			resp = append(resp, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60) // the question's name, CNAME, IN, TTL 60
			resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
			resp = append(resp, rdata...)
			pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// dnsName is a fully qualified name in DNS wire form.
func dnsName(fqdn string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(fqdn, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}
