package pac

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

var update = flag.Bool("update", false, "re-record testdata/mit-* from a live MIT KDC")

// TestRecordedMIT checks the PAC MIT krb5 1.20's KDC put in a service ticket: client info,
// the ticket signature and the server and KDC signatures, no logon information; both
// signatures verify with the recorded keys.
func TestRecordedMIT(t *testing.T) {
	if *update {
		recordMIT(t, "testdata")
	}
	checkMIT(t, "testdata")
}

// TestLiveMIT records the same from the MIT KDC installed now and checks it the same way,
// so that a newer MIT's PAC is seen before anyone re-records.
func TestLiveMIT(t *testing.T) {
	if *update {
		t.Skip("TestRecordedMIT -update records")
	}
	dir := t.TempDir()
	recordMIT(t, dir)
	checkMIT(t, dir)
}

func recordMIT(t *testing.T, dir string) {
	kdc := testpeers.StartKDC(t, testpeers.KDCOptions{})
	tgtKeytab := kdc.KeytabFor(t, "krbtgt/"+kdc.Realm)
	conf, err := krbconf.Load(kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	user, err := krbclient.ParsePrincipal(testpeers.KDCUser, kdc.Realm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := krbclient.NewWithPassword(&krbclient.Options{Config: conf}, user, testpeers.KDCPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	svc, err := krbclient.ParsePrincipal(testpeers.KDCService, kdc.Realm)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := c.ServiceTicket(context.Background(), svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	svcKeytab, err := os.ReadFile(kdc.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	var tkt wire.Ticket
	if err := tkt.Unmarshal(cred.Ticket.Raw); err != nil {
		t.Fatal(err)
	}
	key := findKey(t, svcKeytab, tkt.EncPart.EType)
	plain, err := key.Decrypt(nil, tkt.EncPart.Cipher, 2)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := os.ReadFile(tgtKeytab)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"mit-enc-ticket-part.der": plain, "mit-service.keytab": svcKeytab, "mit-krbtgt.keytab": tgt} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func findKey(t *testing.T, kt []byte, etype int32) *krbcrypto.Key {
	t.Helper()
	k, err := keytab.Parse(kt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range k.Entries {
		if e.Key.Type == etype {
			key, err := krbcrypto.NewKey(krbcrypto.EType(etype), e.Key.Value)
			if err != nil {
				t.Fatal(err)
			}
			return key
		}
	}
	t.Fatalf("no key of type %d", etype)
	return nil
}

func readMITPart(tb testing.TB) *wire.EncTicketPart {
	var part wire.EncTicketPart
	if err := part.Unmarshal(readFile(tb, "mit-enc-ticket-part.der")); err != nil {
		tb.Fatal(err)
	}
	return &part
}

func checkMIT(t *testing.T, dir string) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (regenerate with go test -run TestRecordedMIT -update)", err)
		}
		return b
	}
	var part wire.EncTicketPart
	if err := part.Unmarshal(read("mit-enc-ticket-part.der")); err != nil {
		t.Fatal(err)
	}
	raw, ok, err := Find(part.AuthData)
	if err != nil || !ok {
		t.Fatalf("no PAC in MIT's ticket: %v", err)
	}
	p, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var types []uint32
	for _, b := range p.Buffers {
		types = append(types, b.Type)
	}
	t.Logf("MIT PAC buffers %v", types)
	if p.LogonInfo != nil || p.ClientInfo == nil || p.ServerSignature == nil || p.KDCSignature == nil || p.TicketSignature == nil {
		t.Fatalf("MIT PAC buffers %v", types)
	}
	// The server signature is made with the service key of the ticket's type, the KDC
	// signature with the krbtgt key of the KDC's choice.
	srvKey := findKey(t, read("mit-service.keytab"), int32(krbcrypto.AES256CTSHMACSHA196))
	if err := p.VerifyServer(srvKey); err != nil {
		t.Fatal(err)
	}
	kdcKey := findKey(t, read("mit-krbtgt.keytab"), int32(krbcrypto.AES256CTSHMACSHA196))
	if err := p.VerifyKDC(kdcKey); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckClient(part.CName.Components, part.CRealm, part.AuthTime); err != nil {
		t.Fatal(err)
	}
	if p.ClientInfo.Name != testpeers.KDCUser {
		t.Fatalf("client info name %q", p.ClientInfo.Name)
	}
	// Our encoder makes the same client info from the ticket.
	ci := ClientInfo{ClientID: FileTimeOf(part.AuthTime), Name: part.CName.Components[0]}
	if got := ci.marshal(); string(got) != string(p.Buffer(TypeClientInfo)) {
		t.Fatalf("client info %x, MIT's %x", got, p.Buffer(TypeClientInfo))
	}
}
