package httpauth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
)

func get(t *testing.T, tr http.RoundTripper, method, url string, body io.Reader) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

// TestTransportSchemes runs a handshake for each scheme a server may offer, and for
// servers that offer several, checking the scheme picked by preference order.
func TestTransportSchemes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offer  []string
		scheme string // the one the server accepts
		prefs  []string
		acc    func(*testing.T) *sspi.Credentials
		want   int
	}{
		{"NTLM", []string{"NTLM"}, "NTLM", nil, ntlmAcceptor, 200},
		{"IIS Negotiate with NTLM inside", []string{"Negotiate", "NTLM"}, "Negotiate", nil, negotiateNTLMAcceptor, 200},
		{"several schemes in one header, Negotiate preferred", []string{`Basic realm="x", NTLM, Negotiate`}, "Negotiate", nil, negotiateNTLMAcceptor, 200},
		{"several schemes, NTLM preferred", []string{`Negotiate`, `Basic realm="x"`, `NTLM`}, "NTLM", []string{"NTLM", "Negotiate"}, ntlmAcceptor, 200},
		{"only schemes we do not speak", []string{`Basic realm="x"`, `Digest realm="x", nonce="y"`}, "NTLM", nil, ntlmAcceptor, 401},
		{"a scheme not in Schemes is not used", []string{`NTLM`}, "NTLM", []string{"Negotiate"}, ntlmAcceptor, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestAuthServer(t, &testAuthServer{Offer: tc.offer, Scheme: tc.scheme, Cred: tc.acc(t)}, false)
			tr := &Transport{Identity: testIdentity(), Schemes: tc.prefs}
			defer tr.CloseIdleConnections()
			resp, body, err := get(t, tr, "GET", s.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.want, body)
			}
			if tc.want == 200 && body != `hello EXAMPLE\alice` {
				t.Fatalf("body %q", body)
			}
		})
	}
}

// TestTransportNTLMOneConnection proves that the legs of an NTLM handshake share one
// connection: the server keeps the NTLM state per connection (as IIS does), so legs on
// two connections could not succeed, and it records the connection of every request.
func TestTransportNTLMOneConnection(t *testing.T) {
	s := newTestAuthServer(t, &testAuthServer{Offer: []string{"NTLM"}, Scheme: "NTLM", Cred: ntlmAcceptor(t)}, false)
	// A Base that keeps idle connections: the first, unauthenticated request leaves one.
	base := http.DefaultTransport.(*http.Transport).Clone()
	tr := &Transport{Base: base, Identity: testIdentity()}
	for i := 0; i < 3; i++ {
		resp, _, err := get(t, tr, "GET", s.URL, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
	}
	s.mu.Lock()
	legs := append([]int64(nil), s.legs...)
	s.mu.Unlock()
	// Each request: one unauthenticated leg on Base's connection, then NEGOTIATE and
	// AUTHENTICATE together on a handshake connection of their own.
	if len(legs) != 9 {
		t.Fatalf("%d requests reached the server, want 9: %v", len(legs), legs)
	}
	seen := map[int64]bool{}
	for i := 0; i < 3; i++ {
		neg, auth := legs[3*i+1], legs[3*i+2]
		if neg != auth {
			t.Fatalf("request %d: NEGOTIATE on connection %d, AUTHENTICATE on %d", i, neg, auth)
		}
		if seen[neg] {
			t.Fatalf("request %d: handshake connection %d was reused from an earlier handshake", i, neg)
		}
		seen[neg] = true
	}
}

// TestTransportConnectionClosedMidHandshake: a server that closes the connection after
// its CHALLENGE must make the client fail, not send AUTHENTICATE on a new connection.
func TestTransportConnectionClosedMidHandshake(t *testing.T) {
	s := newTestAuthServer(t, &testAuthServer{Offer: []string{"NTLM"}, Scheme: "NTLM", Cred: ntlmAcceptor(t), CloseAfterChallenge: true}, false)
	tr := &Transport{Identity: testIdentity()}
	_, _, err := get(t, tr, "GET", s.URL, nil)
	if err == nil || !strings.Contains(err.Error(), "bound to one connection") {
		t.Fatalf("err = %v, want the connection-bound error", err)
	}
	if len(s.connections()) > 2 {
		t.Fatalf("the client opened %d connections", len(s.connections()))
	}
}

// TestTransportBodyReplay: the body travels again on every leg when GetBody is set, and
// a body that cannot be replayed is refused with a clear error.
func TestTransportBodyReplay(t *testing.T) {
	s := newTestAuthServer(t, &testAuthServer{Offer: []string{"NTLM"}, Scheme: "NTLM", Cred: ntlmAcceptor(t)}, false)
	tr := &Transport{Identity: testIdentity()}
	resp, _, err := get(t, tr, "POST", s.URL, strings.NewReader("payload"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	s.mu.Lock()
	bodies := append([]string(nil), s.bodies...)
	s.mu.Unlock()
	for i, b := range bodies {
		if b != "payload" {
			t.Fatalf("leg %d carried body %q", i, b)
		}
	}

	// io.MultiReader hides the type http.NewRequest knows, so GetBody stays nil.
	_, _, err = get(t, tr, "POST", s.URL, io.MultiReader(bytes.NewReader([]byte("payload"))))
	if err == nil || !strings.Contains(err.Error(), "GetBody") || !errors.Is(err, sspi.ErrInvalidParameter) {
		t.Fatalf("err = %v, want the GetBody error", err)
	}
}
