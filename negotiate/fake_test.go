package negotiate

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
)

// testKerb is a stand-in for a second, preferred mechanism while only NTLM exists: a
// package registered as "TestKerb" under a private OID and put first in Negotiate's table,
// shaped like Kerberos with mutual authentication. The client sends one token; the server
// completes on it and answers with one token; the client completes on that with nothing
// more to send. It has integrity (MechListMICer over a key both sides derive), so every
// mechListMIC path that differs from NTLM's is exercised. It only acquires credentials
// from a *testKerbConfig, so tests that do not ask for it never see it.
const testKerbName = "TestKerb"

var (
	oidTestKerb  = der.MustOID("1.3.6.1.4.1.99999.5.2")
	mechTestKerb = &mechanism{name: testKerbName, oids: []der.OID{oidTestKerb}}
)

func init() {
	mechanisms = append([]*mechanism{mechTestKerb}, mechanisms...)
	sspi.Register(testKerbPkg{})
}

type testKerbConfig struct {
	Secret     string
	FailStart  bool // the client cannot make its first token (Kerberos without a ticket)
	FailAccept bool // the server refuses the token (a bad ticket)
	NoMIC      bool // the context cannot make a mechListMIC (no MechListMICer)
}

type testKerbPkg struct{}

func (testKerbPkg) Info() sspi.PackageInfo {
	return sspi.PackageInfo{Name: testKerbName, Capabilities: sspi.CapIntegrity | sspi.CapMutualAuth, Version: 1, RPCID: sspi.RPCIDNone, MaxToken: 64, Comment: "Negotiate's test mechanism"}
}

func (testKerbPkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	cfg, ok := req.AuthData.(*testKerbConfig)
	if !ok || cfg == nil {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "testkerb: want *testKerbConfig, got %T", req.AuthData)
	}
	return &testKerbCreds{cfg: *cfg}, nil
}

type testKerbCreds struct{ cfg testKerbConfig }

func (c *testKerbCreds) Expiry() time.Time { return time.Time{} }

func (c *testKerbCreds) NewContext(server bool) (sspi.PackageContext, error) {
	ctx := &testKerbCtx{cfg: c.cfg, server: server}
	if c.cfg.NoMIC {
		return &testKerbNoMIC{ctx}, nil
	}
	return ctx, nil
}

type testKerbCtx struct {
	cfg    testKerbConfig
	server bool
	state  int
	cn     [8]byte
	key    []byte
}

// testKerbNoMIC hides the MechListMICer of a testKerbCtx.
type testKerbNoMIC struct{ c *testKerbCtx }

func (n *testKerbNoMIC) Step(p *sspi.StepParams) (sspi.Status, error) { return n.c.Step(p) }

func (c *testKerbCtx) derive(sn []byte) {
	h := hmac.New(sha256.New, []byte(c.cfg.Secret))
	h.Write(c.cn[:])
	h.Write(sn)
	c.key = h.Sum(nil)
}

func (c *testKerbCtx) Step(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	switch {
	case !c.server && c.state == 0:
		if c.cfg.FailStart {
			return 0, sspi.Errorf(sspi.ErrNoCredentials, "testkerb: no ticket for %s", p.Target)
		}
		rand.Read(c.cn[:])
		p.Out = append(append(p.Out, "TK1"...), c.cn[:]...)
		c.state = 1
		return sspi.ContinueNeeded, nil
	case !c.server && c.state == 1:
		if len(in) != 11 || !bytes.HasPrefix(in, []byte("TK2")) {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "testkerb: bad reply %x", in)
		}
		c.derive(in[3:])
		c.state = 2
		p.Attr = sspi.ISCRetIntegrity | sspi.ISCRetMutualAuth
		return sspi.OK, nil
	case c.server && c.state == 0:
		if len(in) != 11 || !bytes.HasPrefix(in, []byte("TK1")) {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "testkerb: bad token %x", in)
		}
		if c.cfg.FailAccept {
			return 0, sspi.Errorf(sspi.ErrLogonDenied, "testkerb: ticket refused")
		}
		copy(c.cn[:], in[3:])
		var sn [8]byte
		rand.Read(sn[:])
		c.derive(sn[:])
		p.Out = append(append(p.Out, "TK2"...), sn[:]...)
		c.state = 2
		p.Attr = sspi.ASCRetIntegrity | sspi.ASCRetMutualAuth
		return sspi.OK, nil
	}
	return 0, sspi.Errorf(sspi.ErrInvalidToken, "testkerb: no more legs")
}

func (c *testKerbCtx) mic(fromClient bool, list []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	if fromClient {
		h.Write([]byte{'C'})
	} else {
		h.Write([]byte{'S'})
	}
	h.Write(list)
	return h.Sum(nil)[:16]
}

func (c *testKerbCtx) MakeMechListMIC(list []byte) ([]byte, error) {
	return c.mic(!c.server, list), nil
}

func (c *testKerbCtx) VerifyMechListMIC(list, mic []byte) error {
	if !hmac.Equal(mic, c.mic(c.server, list)) {
		return sspi.Errorf(sspi.ErrMessageAltered, "testkerb: MIC does not match")
	}
	return nil
}

func (c *testKerbCtx) SessionKey() ([]byte, error) { return append([]byte(nil), c.key...), nil }

func (c *testKerbCtx) Identity() sspi.Identity {
	return sspi.Identity{User: "alice", Domain: "TEST", Principal: "alice@TEST", Server: "host/server"}
}
