package kerberos

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// sha2SPN is a service whose tickets carry aes128-cts-hmac-sha256-128 session keys.
const sha2SPN = "sha2/localhost"

// BenchmarkCompareMIT times gosspi's Kerberos and MIT krb5's (libgssapi_krb5 through the C
// harness, testpeers.RunGSSKrb5Bench) side by side in one run, against one KDC, measured the
// same way: b.N handshakes with mutual authentication and the service ticket in hand, the
// clock read around each call; then b.N wrap+unwrap and MIC+verify pairs of 1 KiB and 16 KiB
// on one context. Our messages go through EncryptMessage/DecryptMessage and
// MakeSignature/VerifySignature in the caller's buffers. MIT's acceptor uses its default
// (file) replay cache, ours the in-memory one.
//
// Per session-key type (aes256-sha1, aes128-sha256) it reports each side's ns per call and
// the ratios MIT/ours (above 1: gosspi is faster). Never asserted on.
//
//	SSPI_INTEROP=require go test -run=X -bench=CompareMIT -benchtime=2000x ./kerberos/
func BenchmarkCompareMIT(b *testing.B) {
	testpeers.RequireCGSSAPI(b)
	k := testpeers.StartKDC(b, testpeers.KDCOptions{
		Realm:    testRealm,
		Users:    map[string]string{testUser: testPassword},
		Services: []string{testSPN, sha2SPN},
	})
	k.Kadmin(b, "setstr "+sha2SPN+" session_enctypes aes128-cts-hmac-sha256-128")
	// Both clients must offer the aes-sha2 type (gokrb5's and MIT's defaults leave it out).
	conf, err := os.ReadFile(k.Krb5Conf)
	if err != nil {
		b.Fatal(err)
	}
	const etypes = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha256-128 aes128-cts-hmac-sha1-96"
	conf = bytes.Replace(conf, []byte("[libdefaults]\n"), []byte("[libdefaults]\n\tdefault_tgs_enctypes = "+etypes+
		"\n\tdefault_tkt_enctypes = "+etypes+"\n\tpermitted_enctypes = "+etypes+"\n"), 1)
	if err := os.WriteFile(k.Krb5Conf, conf, 0o600); err != nil {
		b.Fatal(err)
	}
	bin := testpeers.BuildGSSKrb5Bench(b)
	ccred := acquire(b, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword, Config: k.Krb5Conf})
	// The acceptor opens every ticket, as MIT's does; "ours-repeat" is the same with the
	// ticket cache, which finds the client's ticket opened from the second AP-REQ on.
	scred := acquire(b, sspi.CredInbound, &ServerConfig{Keytab: k.Keytab, TicketCacheSize: -1})
	scredRepeat := acquire(b, sspi.CredInbound, &ServerConfig{Keytab: k.Keytab})
	for _, tc := range []struct{ name, spn, gssTarget string }{
		{"aes256-sha1", testSPN, "host@localhost"},
		{"aes128-sha256", sha2SPN, "sha2@localhost"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := b.N
			oursIni, oursAcc := cmpHandshakes(b, ccred, scred, tc.spn, n)
			_, oursAccRepeat := cmpHandshakes(b, ccred, scredRepeat, tc.spn, n)
			c, s := cmpPair(b, ccred, scred, tc.spn)
			var key sspi.SessionKey
			if err := sspi.QueryContextAttributes(s, sspi.AttrSessionKey, &key); err != nil {
				b.Fatal(err)
			}
			b.Logf("context key of %d bytes", len(key.Key))
			var ours [2][4]float64 // size × wrap, unwrap, mic, verify
			for i, size := range []int{1 << 10, 16 << 10} {
				ours[i][0], ours[i][1] = testpeers.TimeSeal(b, c, s, size, 128, n)
				ours[i][2], ours[i][3] = testpeers.TimeSign(b, c, s, size, 64, n)
			}
			mit, err := testpeers.RunGSSKrb5Bench(b, bin, k, n, testUser+"@"+testRealm, testPassword, tc.gssTarget)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s", mit)
			b.Logf("gosspi, n=%d: handshake initiator %.0f ns, acceptor %.0f ns; 1 KiB wrap %.0f unwrap %.0f mic %.0f verify %.0f; 16 KiB wrap %.0f unwrap %.0f mic %.0f verify %.0f",
				n, oursIni, oursAcc, ours[0][0], ours[0][1], ours[0][2], ours[0][3], ours[1][0], ours[1][1], ours[1][2], ours[1][3])
			testpeers.ReportHandshakes(b, "mit", oursIni, oursAcc, mit.InitiatorNsPerHandshake, mit.AcceptorNsPerHandshake)
			testpeers.ReportRatio(b, mit.AcceptorNsPerHandshake, oursAccRepeat, "mit-acceptor/ours-repeat")
			for i, p := range mit.Protect {
				if i < 2 {
					testpeers.ReportRatio(b, p.WrapNs+p.UnwrapNs, ours[i][0]+ours[i][1], "mit-wrap+unwrap-"+[]string{"1k", "16k"}[i]+"/ours")
				}
			}
			for i, m := range mit.MICs {
				if i < 2 {
					testpeers.ReportRatio(b, m.GetMICNs+m.VerifyMICNs, ours[i][2]+ours[i][3], "mit-mic-"+[]string{"1k", "16k"}[i]+"/ours")
				}
			}
		})
	}
}

// cmpHandshakes returns our initiator's and acceptor's time per handshake (both
// InitializeSecurityContext calls; the AcceptSecurityContext call), after one untimed
// handshake that gets the service ticket.
func cmpHandshakes(b *testing.B, ccred, scred *sspi.Credentials, spn string, n int) (ini, acc float64) {
	cout := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	sout := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	in := []sspi.Buffer{{Type: sspi.BufferToken}}
	var ti, ta time.Duration
	for i := -1; i < n; i++ {
		t0 := time.Now()
		cout[0].Data = cout[0].Data[:MaxToken]
		cctx, st, err := sspi.InitializeSecurityContext(ccred, nil, spn, sspi.DefaultClientReq, sspi.NativeDataRep, nil, cout)
		t1 := time.Now()
		if err != nil || st != sspi.ContinueNeeded {
			b.Fatal(st, err)
		}
		in[0].Data = cout[0].Data
		sout[0].Data = sout[0].Data[:MaxToken]
		sctx, st, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, sout)
		t2 := time.Now()
		if err != nil || st != sspi.OK {
			b.Fatal(st, err)
		}
		in[0].Data = sout[0].Data
		cout[0].Data = cout[0].Data[:MaxToken]
		_, st, err = sspi.InitializeSecurityContext(ccred, cctx, spn, sspi.DefaultClientReq, sspi.NativeDataRep, in, cout)
		t3 := time.Now()
		if err != nil || st != sspi.OK {
			b.Fatal(st, err)
		}
		if i >= 0 {
			ti += t1.Sub(t0) + t3.Sub(t2)
			ta += t2.Sub(t1)
		}
		sspi.DeleteSecurityContext(cctx)
		sspi.DeleteSecurityContext(sctx)
	}
	return float64(ti.Nanoseconds()) / float64(n), float64(ta.Nanoseconds()) / float64(n)
}

// cmpPair is an established pair of contexts for the message loops.
func cmpPair(b *testing.B, ccred, scred *sspi.Credentials, spn string) (c, s *sspi.Context) {
	cout := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	sout := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	c, _, err := sspi.InitializeSecurityContext(ccred, nil, spn, sspi.DefaultClientReq, sspi.NativeDataRep, nil, cout)
	if err != nil {
		b.Fatal(err)
	}
	s, _, err = sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, cout, sout)
	if err != nil {
		b.Fatal(err)
	}
	cout[0].Data = cout[0].Data[:MaxToken]
	if _, _, err := sspi.InitializeSecurityContext(ccred, c, spn, sspi.DefaultClientReq, sspi.NativeDataRep, sout, cout); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sspi.DeleteSecurityContext(c)
		sspi.DeleteSecurityContext(s)
	})
	return c, s
}
