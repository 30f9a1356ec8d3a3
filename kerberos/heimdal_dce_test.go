package kerberos_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

const heimdalDCEFlags = testpeers.GSSDCEStyleFlag | testpeers.GSSMutualFlag | testpeers.GSSIntegFlag |
	testpeers.GSSConfFlag | testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag

// gssPeer is the Heimdal driver's side of a context, either role.
type gssPeer interface {
	Step(in []byte) ([]byte, bool, error)
	Established() bool
	Wrap(msg []byte) ([]byte, error)
	Unwrap(tok []byte) ([]byte, bool, error)
	GetMIC(msg []byte) ([]byte, error)
	VerifyMIC(msg, mic []byte) error
}

// ours is our side of a context, either role.
type ours interface {
	Step(in []byte) ([]byte, error)
	Established() bool
	Attributes() sspi.ContextAttr
	Wrap([]byte) ([]byte, error)
	Unwrap([]byte) ([]byte, error)
	Sign([]byte) ([]byte, error)
	Verify(msg, sig []byte) error
}

// TestHeimdalDCEStyle: DCE style (GSS_C_DCE_STYLE) between Heimdal's GSS-API and ours, both
// ways, with Heimdal-issued tickets: three bare tokens, then sealed messages and MICs both
// ways (our sealed tokens in Windows' EC = 16 / RRC = 28 layout).
func TestHeimdalDCEStyle(t *testing.T) {
	k, keytab, _ := getHeimdal(t)
	for _, svc := range []string{hService, "rc4/localhost"} {
		t.Run(svc, func(t *testing.T) { heimdalDCE(t, k, keytab, svc) })
	}
}

func heimdalDCE(t *testing.T, k *testpeers.HeimdalKDC, keytab, svc string) {
	t.Run("heimdal-initiator", func(t *testing.T) {
		ccache := k.Kinit(t, hUser, hPassword)
		sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytab})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer srv.Close()
		cli := testpeers.NewHeimdalGSSClient(t, k, ccache, strings.Replace(svc, "/", "@", 1), heimdalDCEFlags)
		toks := dceHandshake(t, cli, srv, true)
		if cli.Flags&testpeers.GSSDCEStyleFlag == 0 {
			t.Errorf("Heimdal's context flags %#x lack DCE style", cli.Flags)
		}
		checkBare(t, toks)
		if id, _ := srv.Identity(); id.Principal != hUser+"@"+hRealm {
			t.Errorf("our acceptor's identity %+v", id)
		}
		dcePeerMessages(t, cli, srv)
	})
	t.Run("heimdal-acceptor", func(t *testing.T) {
		cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: hUser + "@" + hRealm, Password: hPassword, Config: k.Krb5Conf})
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: svc, Req: sspi.DefaultClientReq | sspi.ISCReqUseDCEStyle |
			sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect})
		defer cli.Close()
		srv := testpeers.NewHeimdalGSSServer(t, k, keytab)
		toks := dceHandshake(t, srv, cli, false)
		checkBare(t, toks)
		if srv.Flags&testpeers.GSSDCEStyleFlag == 0 || srv.Client != hUser+"@"+hRealm {
			t.Errorf("Heimdal's acceptor: flags %#x, client %q", srv.Flags, srv.Client)
		}
		dcePeerMessages(t, srv, cli)
	})
}

// dceHandshake runs a DCE-style handshake between a Heimdal peer and our context and
// returns the three tokens; peerFirst says the peer is the initiator.
func dceHandshake(t *testing.T, peer gssPeer, us ours, peerFirst bool) [][]byte {
	t.Helper()
	var toks [][]byte
	var in []byte
	var err error
	if !peerFirst {
		if in, err = us.Step(nil); err != nil {
			t.Fatalf("our initiator: %v", err)
		}
		toks = append(toks, in)
	}
	for i := 0; i < 4 && (!peer.Established() || !us.Established()); i++ {
		var out []byte
		if !peer.Established() {
			if out, _, err = peer.Step(in); err != nil {
				t.Fatalf("Heimdal, leg %d: %v", len(toks)+1, err)
			}
		}
		if len(out) == 0 {
			break
		}
		toks = append(toks, out)
		if in, err = us.Step(out); err != nil {
			t.Fatalf("ours, leg %d: %v", len(toks), err)
		}
		if len(in) > 0 {
			toks = append(toks, in)
		}
	}
	if !peer.Established() || !us.Established() || len(toks) != 3 {
		t.Fatalf("established: Heimdal %v, ours %v, after %d tokens", peer.Established(), us.Established(), len(toks))
	}
	if us.Attributes()&sspi.ISCRetUsedDCEStyle == 0 {
		t.Errorf("our attributes lack USED_DCE_STYLE: %#x", uint32(us.Attributes()))
	}
	return toks
}

// checkBare checks the three tokens are bare AP-REQ, AP-REP, AP-REP.
func checkBare(t *testing.T, toks [][]byte) {
	t.Helper()
	for i, tok := range toks {
		if want := []int{wire.MsgAPReq, wire.MsgAPRep, wire.MsgAPRep}[i]; wire.MessageType(tok) != want {
			t.Errorf("token %d is not the bare Kerberos message %d: % x", i, want, tok[:min(4, len(tok))])
		}
	}
}

func dcePeerMessages(t *testing.T, peer gssPeer, us ours) {
	t.Helper()
	msg := []byte("DCE/RPC stub data through Heimdal and back, longer than a block")
	for i := 0; i < 2; i++ {
		tok, err := peer.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := us.Unwrap(tok); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("our Unwrap of Heimdal's token: %q %v", got, err)
		}
		if tok, err = us.Wrap(msg); err != nil {
			t.Fatal(err)
		}
		if got, sealed, err := peer.Unwrap(tok); err != nil || !sealed || !bytes.Equal(got, msg) {
			t.Fatalf("Heimdal's gss_unwrap of our token (Windows layout): %q sealed %v, %v", got, sealed, err)
		}
		mic, err := peer.GetMIC(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := us.Verify(msg, mic); err != nil {
			t.Errorf("our Verify of Heimdal's MIC: %v", err)
		}
		if mic, err = us.Sign(msg); err != nil {
			t.Fatal(err)
		}
		if err := peer.VerifyMIC(msg, mic); err != nil {
			t.Errorf("Heimdal's gss_verify_mic of our MIC: %v", err)
		}
	}
	tok, _ := peer.Wrap(msg)
	tok[len(tok)-1] ^= 1
	if _, err := us.Unwrap(tok); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("our Unwrap of an altered Heimdal token: %v", err)
	}
}
