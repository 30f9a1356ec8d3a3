package ccache

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestHeimdalCCache: a cache Heimdal's kinit wrote, with a service ticket kgetcred added,
// parses field by field (version 4, the default principal, the TGT and the service ticket
// with their AES256 keys, flags, times and ticket DER, Heimdal's configuration entries);
// written back by us it is byte for byte what Heimdal wrote, and Heimdal's klist lists a
// cache we built from its credentials.
func TestHeimdalCCache(t *testing.T) {
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	k := testpeers.StartHeimdalKDC(t, testpeers.HeimdalKDCOptions{})
	path := k.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	k.Kgetcred(t, path, testpeers.KDCService)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != Version4 {
		t.Errorf("version %#x, want %#x", c.Version, Version4)
	}
	if got := c.DefaultPrincipal; got.Realm != k.Realm || got.Name.String() != testpeers.KDCUser {
		t.Errorf("default principal %v@%s", got.Name, got.Realm)
	}
	tickets := map[string]Credential{}
	configs := 0
	for _, cr := range c.Credentials {
		if cr.IsConfig() {
			configs++
			continue
		}
		tickets[cr.Server.Name.String()+"@"+cr.Server.Realm] = cr
	}
	tgtName := "krbtgt/" + k.Realm + "@" + k.Realm
	for name, wantFlags := range map[string]uint32{
		tgtName:                              wire.FlagInitial | wire.FlagPreAuthent | wire.FlagForwardable,
		testpeers.KDCService + "@" + k.Realm: wire.FlagPreAuthent | wire.FlagForwardable,
	} {
		cr, ok := tickets[name]
		if !ok {
			t.Errorf("no ticket for %s in %d credentials", name, len(c.Credentials))
			continue
		}
		checkHeimdalCredential(t, name, cr, k.Realm, wantFlags, start)
	}
	if configs == 0 {
		t.Errorf("no configuration entries (Heimdal writes start_realm and fast_avail)")
	}

	// Marshal writes what Heimdal wrote.
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, orig) {
		t.Errorf("re-marshalled cache differs from Heimdal's (%d vs %d bytes)", len(again), len(orig))
	}

	// A cache we build from scratch, with the TGT only, is one Heimdal's klist lists.
	checkBuiltForHeimdal(t, k, &CCache{DefaultPrincipal: c.DefaultPrincipal, Credentials: []Credential{tickets[tgtName]}})
}

// checkHeimdalCredential checks one of the tickets kinit and kgetcred (after start) put in
// the cache: for KDCUser in realm, an AES256 key, flags with wantFlags, sensible times.
func checkHeimdalCredential(t *testing.T, name string, cr Credential, realm string, wantFlags uint32, start time.Time) {
	t.Helper()
	if cr.Client.Realm != realm || cr.Client.Name.String() != testpeers.KDCUser {
		t.Errorf("%s: client %v@%s", name, cr.Client.Name, cr.Client.Realm)
	}
	// The KDC's default enctypes put aes256-cts-hmac-sha1-96 first.
	if cr.Key.Type != 18 || len(cr.Key.Value) != 32 || bytes.Equal(cr.Key.Value, make([]byte, 32)) {
		t.Errorf("%s: session key type %d, %d bytes", name, cr.Key.Type, len(cr.Key.Value))
	}
	if cr.Flags&wantFlags != wantFlags {
		t.Errorf("%s: flags %#x lack %#x", name, cr.Flags, wantFlags)
	}
	if cr.AuthTime.Before(start) || cr.AuthTime.After(time.Now().Add(time.Minute)) ||
		!cr.EndTime.After(cr.AuthTime.Add(23*time.Hour)) || cr.IsSKey {
		t.Errorf("%s: auth %v, start %v, end %v, is_skey %v", name, cr.AuthTime, cr.StartTime, cr.EndTime, cr.IsSKey)
	}
	var tkt wire.Ticket
	if err := tkt.Unmarshal(cr.Ticket); err != nil {
		t.Errorf("%s: ticket DER: %v", name, err)
	} else if tkt.Realm != cr.Server.Realm || !tkt.SName.Equal(cr.Server.Name) || tkt.EncPart.EType != 18 {
		t.Errorf("%s: ticket for %v@%s, enctype %d", name, tkt.SName, tkt.Realm, tkt.EncPart.EType)
	}
}

// checkBuiltForHeimdal writes built (the TGT only) and checks that Heimdal's klist lists it
// and that its kgetcred uses it for a TGS exchange, appending to our file.
func checkBuiltForHeimdal(t *testing.T, k *testpeers.HeimdalKDC, built *CCache) {
	t.Helper()
	tgtName := "krbtgt/" + k.Realm + "@" + k.Realm
	out := filepath.Join(t.TempDir(), "built")
	if err := built.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	list := k.Klist(t, out)
	if !strings.Contains(list, "Server: "+tgtName) || !strings.Contains(list, "Principal: "+k.Principal(testpeers.KDCUser)) {
		t.Errorf("Heimdal's klist of our cache:\n%s", list)
	}
	// And Heimdal's kgetcred uses it for a TGS exchange, appending to our file.
	k.Kgetcred(t, out, testpeers.KDCService)
	after, err := Load(out)
	if err != nil {
		t.Fatalf("our cache after Heimdal's kgetcred: %v", err)
	}
	found := false
	for _, cr := range after.Credentials {
		found = found || cr.Server.Name.String() == testpeers.KDCService
	}
	if !found {
		t.Error("kgetcred's service ticket is not in our cache")
	}
}
