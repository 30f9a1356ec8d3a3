package httpauth

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
)

// unwrapper answers with the request body unwrapped by the kept security context, and the
// response wrapped with it: what a WinRM endpoint does with message encryption.
var unwrapper = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	sctx, ok := SecurityContextFromContext(r.Context())
	if !ok {
		http.Error(w, "no security context", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) == 0 {
		return
	}
	tok, err := base64.StdEncoding.DecodeString(string(body))
	if err == nil {
		body, err = sctx.Unwrap(tok)
	}
	if err == nil {
		body, err = sctx.Wrap(append([]byte("got "), body...))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Write([]byte(base64.StdEncoding.EncodeToString(body)))
})

// TestKeepSecurityContext: with Config.KeepSecurityContext the handler gets the context of
// the connection's handshake, which opens what the client sealed, and later requests on
// the connection without a header still have it; without the option it has none.
func TestKeepSecurityContext(t *testing.T) {
	for _, keep := range []bool{true, false} {
		a, err := NewServer(Config{NTLM: testNTLMConfig(t), KeepSecurityContext: keep})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ts := &testServer{Server: httptestServer(t, a.Handler(unwrapper), a), auth: a}
		c := pinnedClient(ts)
		cctx := sspi.NewClientContext(negotiateNTLMClient(t), sspi.ClientOptions{Target: "HTTP/localhost"})
		r := runHandshake(t, c, ts.URL, SchemeNegotiate, cctx)
		if !keep {
			if r.status != http.StatusInternalServerError || !strings.Contains(r.body, "no security context") {
				t.Fatalf("without KeepSecurityContext: %d %q", r.status, r.body)
			}
			continue
		}
		if r.status != http.StatusOK || !cctx.Established() {
			t.Fatalf("handshake: %d %q", r.status, r.body)
		}
		for _, msg := range []string{"first", "second"} {
			sealed, err := cctx.Wrap([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Post(ts.URL, "text/plain", strings.NewReader(base64.StdEncoding.EncodeToString(sealed)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tok, err := base64.StdEncoding.DecodeString(string(body))
			if resp.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("%s: %d %q", msg, resp.StatusCode, body)
			}
			plain, err := cctx.Unwrap(tok)
			if err != nil || string(plain) != "got "+msg {
				t.Fatalf("%s: answer %q, %v", msg, plain, err)
			}
		}
	}
}
