package kerberos

import (
	"errors"
	"testing"

	"github.com/gosspi/sspi"
)

// The provider API directly: the MechListMICer Negotiate uses, both ways, and the causes
// behind the statuses.
func TestProviderMechListMIC(t *testing.T) {
	k := getKDC(t)
	cc, err := pkg{}.AcquireCredentials(&sspi.CredentialsRequest{Use: sspi.CredOutbound, AuthData: &ClientConfig{Principal: testUser, Password: testPassword, Config: k.Krb5Conf}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pkg{}.AcquireCredentials(&sspi.CredentialsRequest{Use: sspi.CredInbound, AuthData: &ServerConfig{Keytab: k.Keytab}})
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := cc.NewContext(false)
	si, _ := sc.NewContext(true)
	p := &sspi.StepParams{Target: "host@localhost", Req: sspi.ISCReqMutualAuth | sspi.ISCReqIntegrity | sspi.ISCReqSequenceDetect}
	if st, err := ci.Step(p); err != nil || st != sspi.ContinueNeeded {
		t.Fatal(st, err)
	}
	sp := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: p.Out}}}
	if st, err := si.Step(sp); err != nil || st != sspi.OK {
		t.Fatal(st, err)
	}
	p2 := &sspi.StepParams{Req: p.Req, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: sp.Out}}}
	if st, err := ci.Step(p2); err != nil || st != sspi.OK {
		t.Fatal(st, err)
	}
	c, s := ci.(sspi.MechListMICer), si.(sspi.MechListMICer)
	list := []byte{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	mic, err := c.MakeMechListMIC(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyMechListMIC(list, mic); err != nil {
		t.Fatal(err)
	}
	mic, _ = s.MakeMechListMIC(list)
	if err := c.VerifyMechListMIC(list, mic); err != nil {
		t.Fatal(err)
	}
	// A replayed MIC is out of sequence; a MIC over another list is altered.
	if err := c.VerifyMechListMIC(list, mic); !errors.Is(err, sspi.ErrOutOfSequence) {
		t.Errorf("replayed MIC: %v", err)
	}
	mic, _ = s.MakeMechListMIC(list)
	if err := c.VerifyMechListMIC(list[1:], mic); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("other list: %v", err)
	}
	// A reflected MIC (our own) is refused.
	mic, _ = c.MakeMechListMIC(list)
	if err := c.VerifyMechListMIC(list, mic); err == nil {
		t.Error("reflected MIC accepted")
	}
	if sz := ci.(sspi.SizeReporter).Sizes(); sz.SecurityTrailer != 60 || sz.MaxSignature != 28 {
		t.Errorf("sizes %+v", sz)
	}
}
