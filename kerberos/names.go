package kerberos

import (
	"strings"

	"github.com/gosspi/sspi"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Client names as Windows resolves them (issue 14). An *sspi.AuthIdentity names its user in
// one of three forms, and each becomes a Kerberos principal its own way:
//
//   - down-level, "DOMAIN\user" or User and Domain apart: a NetBIOS domain goes through
//     mapDomainToRealm (krb5.conf must say which realm it is, or Kerberos is not tried); a
//     DNS domain is its realm, upper-cased, as Active Directory names realms;
//   - UPN, "user@suffix": a suffix that is a realm krb5.conf knows (in any case: the
//     default realm, a [realms] entry, a [domain_realm] domain) makes user@REALM; a NetBIOS
//     name is mapped as above; any other suffix is a UPN suffix of the directory
//     ("alice@sales.example.com" in the domain CORP.EXAMPLE.COM), and the name goes, as
//     Windows sends it, as an NT-ENTERPRISE principal (RFC 6806) to the default realm's KDC
//     with the canonicalize option: the KDC finds the account by its userPrincipalName and
//     answers with its canonical name (or refers the client to the realm that has it);
//   - a bare "user": the default realm.
//
// ClientConfig.Enterprise asks for an enterprise name explicitly. The context's identity is
// the canonical name the KDC answered with ("alice@CORP.EXAMPLE.COM"), not the name given.

// identityPrincipal writes an *sspi.AuthIdentity's user as newClientCreds reads it, keeping
// its form: "DOMAIN\user" for a down-level name, "user@suffix" for a UPN.
func identityPrincipal(a *sspi.AuthIdentity) string {
	if strings.ContainsAny(a.User, `\@`) || a.Domain == "" {
		return a.User
	}
	return a.Domain + `\` + a.User
}

// clientPrincipal is the client principal of cfg. windowsName says Principal came from an
// *sspi.AuthIdentity (see identityPrincipal).
func clientPrincipal(cfg *ClientConfig, kcfg *krbconf.Config, windowsName bool) (krbclient.Principal, error) {
	def := kcfg.LibDefaults.DefaultRealm
	if cfg.Enterprise {
		return enterprisePrincipal(cfg.Principal, def)
	}
	upn := windowsName && !strings.Contains(cfg.Principal, `\`)
	user, realm := splitUser(cfg.Principal, "")
	switch {
	case realm == "":
		realm = def
	case windowsName && !strings.Contains(realm, "."):
		var err error
		if realm, err = mapDomainToRealm(realm, kcfg); err != nil {
			return krbclient.Principal{}, err
		}
	case windowsName:
		known, ok := knownRealm(realm, kcfg)
		switch {
		case ok:
			realm = known
		case upn && def != "":
			return enterprisePrincipal(cfg.Principal, def)
		default:
			realm = dnsDomainRealm(realm, kcfg)
		}
	}
	if realm == "" {
		return krbclient.Principal{}, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: %s has no realm and krb5.conf has no default_realm", cfg.Principal)
	}
	return krbclient.Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: strings.Split(user, "/")}, Realm: realm}, nil
}

// enterprisePrincipal reads "user@suffix" (asked for in defaultRealm) or "user@suffix@REALM"
// as an NT-ENTERPRISE principal.
func enterprisePrincipal(name, defaultRealm string) (krbclient.Principal, error) {
	upn, realm := name, defaultRealm
	if first, last := strings.IndexByte(name, '@'), strings.LastIndexByte(name, '@'); first != last {
		upn, realm = name[:last], name[last+1:]
	}
	if i := strings.IndexByte(upn, '@'); i <= 0 || i == len(upn)-1 {
		return krbclient.Principal{}, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: the enterprise name %q is not of the form user@suffix", upn)
	}
	if realm == "" {
		return krbclient.Principal{}, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority,
			"kerberos: the enterprise name %s needs a realm to ask: set default_realm in krb5.conf or write user@suffix@REALM", upn)
	}
	return krbclient.Enterprise(upn, realm), nil
}

// knownRealm returns the realm krb5.conf knows by the DNS name domain, without regard to
// case: the default realm, a [realms] entry, or the realm [domain_realm] gives the domain
// (an entry for the domain itself or for ".domain").
func knownRealm(domain string, cfg *krbconf.Config) (string, bool) {
	if strings.EqualFold(cfg.LibDefaults.DefaultRealm, domain) {
		return cfg.LibDefaults.DefaultRealm, true
	}
	for _, r := range cfg.Realms {
		if strings.EqualFold(r.Name, domain) {
			return r.Name, true
		}
	}
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, e := range cfg.DomainRealm {
		if e.Domain == d || e.Domain == "."+d {
			return e.Realm, true
		}
	}
	return "", false
}

// adoptCanonicalName takes the client's name from krbclient after a logon: the KDC's
// canonical name when it changed it (an enterprise name, a name in another case). Called
// with c.mu held, before loggedIn is set, so that contexts, which log on first, see it.
func (c *clientCreds) adoptCanonicalName() {
	u := c.cl.User()
	c.user, c.realm = strings.Join(u.Name.Components, "/"), u.Realm
	c.cname = wire.PrincipalName{Type: wire.NamePrincipal, Components: u.Name.Components}
	c.name = c.user + "@" + c.realm
}

// userName is the client's name, user@REALM (canonical once logged on).
func (c *clientCreds) userName() string {
	if c.loggedIn.Load() {
		return c.name
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}
