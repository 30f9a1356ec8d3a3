package krbclient

import (
	"context"
	"net"
	"strconv"
	"strings"

	krbconf "github.com/gosspi/sspi/internal/krb5/config"
)

// HostResolver is the DNS a host-based service name needs: TXT records for
// dns_lookup_realm, forward and reverse look-ups for dns_canonicalize_hostname and rdns.
// *net.Resolver is one; tests inject their own.
type HostResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Bounds on what DNS may contribute to a name.
const (
	maxHostLen   = 253 // a DNS name
	maxRealmLen  = 255 // a realm from a TXT record
	maxTXTLabels = 16  // parent domains tried for a TXT record or as a realm
)

// ServiceHosts returns the host names to try, in order, for a host-based service on host,
// as MIT's krb5_sname_to_principal and its "fallback" retry do with krb5.conf's
// dns_canonicalize_hostname and rdns:
//   - "false": host alone, lower-cased, without a trailing dot; no DNS.
//   - "true" (MIT's default): the canonical name of a forward look-up (CNAMEs followed,
//     getaddrinfo's AI_CANONNAME), and with rdns (default true) the name a reverse look-up
//     of its first address gives instead; host itself when DNS says nothing.
//   - "fallback" (MIT 1.18): host as under "false", then, when the KDC does not know that
//     name, the name "true" gives.
//
// What DNS returns is used only when it is a syntactically valid host name, so a hostile
// answer cannot put '/' or '@' into a principal.
func ServiceHosts(ctx context.Context, conf *krbconf.Config, r HostResolver, host string) []string {
	plain := cleanHost(host)
	switch conf.LibDefaults.DNSCanonicalizeHostname {
	case "false":
		return []string{plain}
	case "fallback":
		if c := canonicalHost(ctx, r, plain, conf.LibDefaults.RDNS); c != plain {
			return []string{plain, c}
		}
		return []string{plain}
	}
	return []string{canonicalHost(ctx, r, plain, conf.LibDefaults.RDNS)}
}

// canonicalHost is MIT's expand_hostname with DNS: forward look-up, then reverse with
// rdns; host when neither answers.
func canonicalHost(ctx context.Context, r HostResolver, host string, rdns bool) string {
	if r == nil {
		r = net.DefaultResolver
	}
	canon := ""
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		c, err := r.LookupCNAME(ctx, host)
		if err != nil {
			return host
		}
		if c = cleanHost(c); validHost(c) {
			canon = c
		} else {
			canon = host
		}
		if rdns {
			addrs, _ = r.LookupHost(ctx, canon)
		}
	}
	if rdns && len(addrs) > 0 {
		if names, err := r.LookupAddr(ctx, addrs[0]); err == nil && len(names) > 0 {
			if n := cleanHost(names[0]); validHost(n) {
				return n
			}
		}
	}
	if canon == "" {
		return host
	}
	return canon
}

// HostRealm returns the realm krb5.conf's [domain_realm] gives host. That is all MIT 1.20
// asks before its first request (its "profile" hostrealm module; since MIT 1.12 the "dns"
// module's TXT records are a fallback only): ok is false when krb5.conf does not say, and
// the caller then asks its own realm's KDC, which may refer it (RFC 6806), and when that
// KDC refuses, the realm FallbackHostRealm picks.
func HostRealm(conf *krbconf.Config, host string) (realm string, ok bool) {
	return conf.RealmForHost(cleanHost(host))
}

// FallbackHostRealm is MIT 1.20's krb5_get_fallback_host_realm: the realm to ask for a
// service on host when the client's realm neither holds it nor refers it elsewhere.
// MIT's hostrealm modules answer in turn:
//   - "dns", when dns_lookup_realm is on: the TXT record of _kerberos.<host>, then of each
//     parent domain;
//   - "domain": with realm_try_domains = N (default -1, off), host and up to N of its parent
//     domains upper-cased, the first that hasKDC says is a realm with KDCs; otherwise the
//     parent domain of host, upper-cased (WEB.B.TEST gives B.TEST);
//   - else (an address, or a name without a dot) the default realm.
//
// hasKDC may be nil when realm_try_domains is off. An address gets the default realm.
func FallbackHostRealm(ctx context.Context, conf *krbconf.Config, r HostResolver, hasKDC func(realm string) bool, host string) string {
	host = cleanHost(host)
	if host == "" || numericHost(host) {
		return conf.LibDefaults.DefaultRealm
	}
	if conf.LibDefaults.DNSLookupRealm {
		if realm, ok := txtRealm(ctx, r, host); ok {
			return realm
		}
	}
	upper := strings.ToUpper(host)
	limit := -1
	if v, ok := conf.Get("libdefaults", "realm_try_domains"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			limit = n
		}
	}
	suffix := upper
	for i := 0; i <= limit && i < maxTXTLabels && hasKDC != nil; i++ {
		dot := strings.IndexByte(suffix, '.')
		if dot < 0 {
			break
		}
		if hasKDC(suffix) {
			return suffix
		}
		suffix = suffix[dot+1:]
	}
	if dot := strings.IndexByte(upper, '.'); dot >= 0 && dot+1 < len(upper) {
		return upper[dot+1:]
	}
	return conf.LibDefaults.DefaultRealm
}

// txtRealm looks for the TXT record of _kerberos.<host> and of each parent domain in turn.
func txtRealm(ctx context.Context, r HostResolver, host string) (string, bool) {
	if r == nil {
		r = net.DefaultResolver
	}
	p := host
	for i := 0; i < maxTXTLabels && p != ""; i++ {
		if txt, err := r.LookupTXT(ctx, "_kerberos."+p); err == nil && len(txt) > 0 {
			if v := strings.TrimSpace(txt[0]); validRealm(v) {
				return v, true
			}
		}
		j := strings.IndexByte(p, '.')
		if j < 0 {
			break
		}
		p = p[j+1:]
	}
	return "", false
}

// numericHost is MIT's k5_is_numeric_address: digits and exactly three dots, or a colon.
func numericHost(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	return strings.Trim(h, "0123456789.") == "" && strings.Count(h, ".") == 3
}

// cleanHost lower-cases host and drops a trailing dot, as MIT does to every host name.
func cleanHost(host string) string {
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

func validHost(h string) bool {
	if h == "" || len(h) > maxHostLen || h[0] == '.' || h[0] == '-' {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

// validRealm accepts a realm from DNS: printable, no separators of principal syntax.
func validRealm(s string) bool {
	if s == "" || len(s) > maxRealmLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '@' || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}
