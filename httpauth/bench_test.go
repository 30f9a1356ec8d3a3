package httpauth

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
)

// BenchmarkServer compares, in one run, requests per second to the same handler without
// authentication, through the middleware on an NTLM-authenticated connection (no header:
// persisted), with a full NTLM handshake per request (NEGOTIATE, AUTHENTICATE: two HTTP
// requests), and with a Negotiate/Kerberos AP-REQ per request (one HTTP request; the
// service ticket is cached by the client, the acceptor checks the authenticator and its
// replay cache and returns an AP-REP). Loopback, one connection, sequential.
//
//	go test -run XXX -bench BenchmarkServer -benchtime 2s ./httpauth
func BenchmarkServer(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	plainTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer plainTS.Close()
	b.Run("no-auth", func(b *testing.B) {
		c := plainTS.Client()
		for b.Loop() {
			benchGet(b, c, plainTS.URL, "", http.StatusOK)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})

	ts := startServer(b, Config{NTLM: testNTLMConfig(b), Logger: quiet}, nil)
	ntlmCreds := clientCreds(b, "NTLM", ntlmClientConfig())
	b.Run("ntlm-persisted", func(b *testing.B) {
		c := pinnedClient(ts)
		runHandshake(b, c, ts.URL, SchemeNTLM, sspi.NewClientContext(ntlmCreds, sspi.ClientOptions{Target: httpService}))
		for b.Loop() {
			benchGet(b, c, ts.URL, "", http.StatusOK)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("ntlm-handshake", func(b *testing.B) {
		c := pinnedClient(ts)
		for b.Loop() {
			cctx := sspi.NewClientContext(ntlmCreds, sspi.ClientOptions{Target: httpService})
			neg, err := cctx.Step(nil)
			if err != nil {
				b.Fatal(err)
			}
			resp := benchGet(b, c, ts.URL, FormatHeader(SchemeNTLM, neg), http.StatusUnauthorized)
			chs, _ := ParseChallenges(resp.Header, HeaderWWWAuthenticate)
			tok, _ := chs[0].Token()
			auth, err := cctx.Step(tok)
			if err != nil {
				b.Fatal(err)
			}
			benchGet(b, c, ts.URL, FormatHeader(SchemeNTLM, auth), http.StatusOK)
			cctx.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auth/s")
	})

	if testing.Short() {
		return
	}
	k := testpeers.StartKDC(b, testpeers.KDCOptions{Services: []string{httpService}})
	kts := startServer(b, Config{Kerberos: &kerberos.ServerConfig{Keytab: k.Keytab}, Logger: quiet}, nil)
	krbCreds := clientCreds(b, negotiate.PackageName, &negotiate.Config{
		Mechanisms: []string{negotiate.Kerberos},
		Credentials: map[string]any{negotiate.Kerberos: &kerberos.ClientConfig{
			Principal: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: k.Krb5Conf}},
	})
	url := localURL(kts)
	b.Run("negotiate-kerberos", func(b *testing.B) {
		c := pinnedClient(kts)
		for b.Loop() {
			cctx := sspi.NewClientContext(krbCreds, sspi.ClientOptions{Target: httpService})
			tok, err := cctx.Step(nil)
			if err != nil {
				b.Fatal(err)
			}
			benchGet(b, c, url, FormatHeader(SchemeNegotiate, tok), http.StatusOK)
			cctx.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

func benchGet(b *testing.B, c *http.Client, url, authz string, want int) *http.Response {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if authz != "" {
		req.Header.Set(HeaderAuthorization, authz)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d, want %d", resp.StatusCode, want)
	}
	return resp
}
