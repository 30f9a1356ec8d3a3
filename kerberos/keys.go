package kerberos

import (
	"strings"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Key usages of RFC 4120 7.5.1 used by the AP exchange.
const (
	usageTicket        = 2  // KDC-REP ticket, encrypted with the service key
	usageAuthenticator = 11 // AP-REQ authenticator, with the ticket's session key
	usageAPRepPart     = 12 // AP-REP encrypted part, with the ticket's session key
)

// serviceKey is one keytab key made ready for ticket decryption: its derived keys for the
// ticket usage are set up when the credentials are acquired, so accepting an AP-REQ
// derives nothing from the service key.
type serviceKey struct {
	name   wire.PrincipalName
	joined string // name's components joined with "/", for the policy comparisons
	realm  string
	kvno   uint32
	etype  int32
	ticket *krbcrypto.UsageKey
	key    *krbcrypto.Key
}

// serviceKeys is a keytab as the acceptor uses it. Entries of encryption types this
// package does not implement (DES, DES3) are left out: a ticket encrypted with one is
// refused as having no key.
type serviceKeys struct {
	keys []serviceKey
}

// newServiceKeys parses a keytab file's content and sets up every key it can use. The
// key bytes are copied into the keys, and b is zeroed.
func newServiceKeys(b []byte) (*serviceKeys, int, error) {
	defer clear(b)
	kt, err := keytab.Parse(b)
	if err != nil {
		return nil, 0, err
	}
	ks := &serviceKeys{}
	for i := range kt.Entries {
		e := &kt.Entries[i]
		et := krbcrypto.EType(e.Key.Type)
		if !et.Supported() {
			continue
		}
		k, err := krbcrypto.NewKey(et, e.Key.Value)
		if err != nil {
			continue
		}
		ks.keys = append(ks.keys, serviceKey{
			name:   wire.PrincipalName{Type: e.Principal.Type, Components: append([]string(nil), e.Principal.Components...)},
			joined: strings.Join(e.Principal.Components, "/"),
			realm:  e.Realm, kvno: e.KVNO, etype: e.Key.Type,
			ticket: k.Usage(usageTicket), key: k,
		})
	}
	return ks, len(kt.Entries), nil
}

// find returns the key of principal@realm with etype and, unless kvno is 0 (not sent),
// that key version; with kvno 0 the highest version wins.
func (ks *serviceKeys) find(principal wire.PrincipalName, realm string, kvno uint32, etype int32) *serviceKey {
	var best *serviceKey
	for i := range ks.keys {
		k := &ks.keys[i]
		if k.etype != etype || k.realm != realm || (kvno != 0 && k.kvno != kvno) || !k.name.Equal(principal) {
			continue
		}
		if best == nil || k.kvno > best.kvno {
			best = k
		}
	}
	return best
}

// hasKeyFor reports whether there is a key for spn (in realm, when not empty). Service
// names compare without case, as host names do.
func (ks *serviceKeys) hasKeyFor(spn, realm string) bool {
	for i := range ks.keys {
		k := &ks.keys[i]
		if strings.EqualFold(k.joined, spn) && (realm == "" || k.realm == realm) {
			return true
		}
	}
	return false
}
