package kerberos

import (
	"sort"
	"strings"

	"github.com/gosspi/sspi"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
)

// A Windows-style identity ("EXAMPLE\alice", "alice@EXAMPLE", or Domain "EXAMPLE") names a
// NetBIOS domain, which is not a Kerberos realm. Windows finds the domain's DNS name, and
// so its realm, through a domain controller; here krb5.conf is all there is, so a domain
// name without a dot is used for Kerberos only when krb5.conf says which realm it is:
//
//  1. a realm of that name (default_realm or a [realms] entry), compared without case;
//  2. otherwise the realm whose first label it is: a realm name (EXAMPLE.COM for EXAMPLE), or
//     the realm a [domain_realm] entry maps a domain whose first label it is to
//     (.corp.example.com = CORP.EXAMPLE.COM for CORP). When several realms qualify,
//     default_realm wins if it is one of them; otherwise the name is ambiguous.
//
// Anything else is refused before a KDC is looked for, so that a made-up or foreign domain
// never sends the user's name to the KDCs of whatever realm krb5.conf happens to list (or to
// DNS). A domain with a dot is a DNS domain, taken as the realm of the same name, upper-cased.

// maxRealmCandidates bounds the realms an ambiguity error lists.
const maxRealmCandidates = 4

// mapDomainToRealm returns the realm krb5.conf gives the NetBIOS domain, or an error that
// says why Kerberos cannot be used for it.
func mapDomainToRealm(domain string, cfg *krbconf.Config) (string, error) {
	def := cfg.LibDefaults.DefaultRealm
	if strings.EqualFold(def, domain) {
		return def, nil
	}
	for _, r := range cfg.Realms {
		if strings.EqualFold(r.Name, domain) {
			return r.Name, nil
		}
	}
	seen := map[string]bool{}
	var found []string
	add := func(label, realm string) {
		if realm != "" && strings.EqualFold(label, domain) && !seen[strings.ToUpper(realm)] {
			seen[strings.ToUpper(realm)] = true
			found = append(found, realm)
		}
	}
	add(firstLabel(def), def)
	for _, r := range cfg.Realms {
		add(firstLabel(r.Name), r.Name)
	}
	for _, d := range cfg.DomainRealm {
		add(firstLabel(strings.TrimPrefix(d.Domain, ".")), d.Realm)
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		for _, r := range found {
			if strings.EqualFold(r, def) {
				return def, nil
			}
		}
		sort.Strings(found)
		if len(found) > maxRealmCandidates {
			found = append(found[:maxRealmCandidates], "...")
		}
		return "", sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: the domain %s could be realm %s in krb5.conf; name the realm (user@REALM)", domain, strings.Join(found, " or "))
	}
	return "", sspi.Errorf(sspi.ErrNoAuthenticatingAuthority,
		"kerberos: krb5.conf maps the domain %s to no realm (no realm %s, and no realm or [domain_realm] domain whose first label is %s), so Kerberos is not tried; name the realm (user@REALM) or add it to krb5.conf",
		domain, domain, domain)
}

func firstLabel(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i]
	}
	return s
}

// dnsDomainRealm is the realm of a DNS domain named in a Windows-style identity: the realm
// krb5.conf spells the same way but for case, or the domain upper-cased, as Active
// Directory names its realms.
func dnsDomainRealm(domain string, cfg *krbconf.Config) string {
	if strings.EqualFold(cfg.LibDefaults.DefaultRealm, domain) {
		return cfg.LibDefaults.DefaultRealm
	}
	for _, r := range cfg.Realms {
		if strings.EqualFold(r.Name, domain) {
			return r.Name
		}
	}
	return strings.ToUpper(domain)
}
