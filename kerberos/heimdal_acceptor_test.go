package kerberos_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// TestHeimdalGSSServer: our initiator, with a TGT and service tickets from Heimdal's KDC,
// against Heimdal's own GSS-API acceptor (libgssapi from the unpacked tree, through
// testpeers' C driver) with the keytab Heimdal's kadmin exported: mutual authentication
// (our client checks Heimdal's AP-REP), then sealed messages and MICs both ways, and a
// MIC over another message refused on each side (GSS_S_BAD_SIG from Heimdal), for each enctype's service.
func TestHeimdalGSSServer(t *testing.T) {
	k, keytab, _ := getHeimdal(t)
	cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: hUser + "@" + hRealm, Password: hPassword, Config: k.Krb5Conf})
	cases := append(heimdalEnctypeServices, struct {
		spn, enctype string
		keyLen       int
		weak         bool
	}{hService, "all", 32, false})
	for _, tc := range cases {
		t.Run(tc.enctype, func(t *testing.T) {
			srv := testpeers.NewHeimdalGSSServer(t, k, keytab)
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: tc.spn,
				Req: sspi.DefaultClientReq | sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity})
			defer cli.Close()
			var in []byte
			for legs := 0; !cli.Established() || !srv.Established(); legs++ {
				if legs > 3 {
					t.Fatal("handshake did not finish")
				}
				out, err := cli.Step(in)
				if err != nil {
					t.Fatalf("our initiator: %v", err)
				}
				if len(out) == 0 {
					break
				}
				if in, _, err = srv.Step(out); err != nil {
					t.Fatalf("Heimdal's acceptor: %v", err)
				}
			}
			if !cli.Established() || !srv.Established() {
				t.Fatalf("not established: ours %v, Heimdal %v", cli.Established(), srv.Established())
			}
			if srv.Client != hUser+"@"+hRealm || srv.Mech != "2a864886f712010202" {
				t.Errorf("Heimdal's acceptor saw %q, mech %s", srv.Client, srv.Mech)
			}
			const want = testpeers.GSSMutualFlag | testpeers.GSSConfFlag | testpeers.GSSIntegFlag
			if srv.Flags&want != want {
				t.Errorf("Heimdal's acceptor flags %#x, want %#x set", srv.Flags, want)
			}
			if !cli.Attributes().Has(sspi.ISCRetMutualAuth) {
				t.Errorf("our client: no mutual authentication: %s", cli.Attributes().Format(false))
			}
			// RC4 too: our initiator keeps an RC4 session key and seals with RFC 4757's tokens.
			if !cli.Attributes().Has(sspi.ISCRetConfidentiality) {
				t.Fatalf("context without confidentiality: %s", cli.Attributes().Format(false))
			}
			if key, _ := cli.SessionKey(); len(key) != tc.keyLen {
				t.Errorf("session key of %d bytes, want %d", len(key), tc.keyLen)
			}
			heimdalMessages(t, cli, srv)
		})
	}
}

// heimdalMessages checks sealed messages and MICs between our context and Heimdal's, both
// ways.
func heimdalMessages(t *testing.T, ours *sspi.ClientContext, heimdal *testpeers.HeimdalGSSServer) {
	t.Helper()
	msg := []byte("from our Wrap to Heimdal's gss_unwrap, and back, longer than a block")
	tok, err := ours.Wrap(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got, sealed, err := heimdal.Unwrap(tok); err != nil || !sealed || !bytes.Equal(got, msg) {
		t.Fatalf("Heimdal's gss_unwrap of our token: %q sealed %v, %v", got, sealed, err)
	}
	if tok, err = heimdal.Wrap(msg); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(tok, msg) {
		t.Error("Heimdal's sealed token holds the plaintext")
	}
	if got, err := ours.Unwrap(tok); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("our Unwrap of Heimdal's token: %q %v", got, err)
	}
	mic, err := heimdal.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ours.Verify(msg, mic); err != nil {
		t.Errorf("our Verify of Heimdal's MIC: %v", err)
	}
	if err := ours.Verify(append([]byte("x"), msg...), mic); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("our Verify of Heimdal's MIC over another message: %v", err)
	}
	sig, err := ours.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := heimdal.VerifyMIC(msg, sig); err != nil {
		t.Errorf("Heimdal's gss_verify_mic of our MIC: %v", err)
	}
	// A fresh MIC: Heimdal answers a repeated one GSS_S_DUPLICATE_TOKEN before it looks at
	// the checksum. Last, since the driver exits on a failure.
	if sig, err = ours.Sign(msg); err != nil {
		t.Fatal(err)
	}
	if err := heimdal.VerifyMIC(append([]byte("x"), msg...), sig); err == nil || !strings.Contains(err.Error(), "verify_mic 393216") {
		t.Errorf("Heimdal's gss_verify_mic of our MIC over another message: %v", err)
	}
}
