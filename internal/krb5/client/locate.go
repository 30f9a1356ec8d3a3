package krbclient

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gosspi/sspi"
)

// maxKDCs bounds the KDC addresses of one realm (krb5.conf entries and SRV records).
const maxKDCs = 32

// Resolver looks up SRV records; *net.Resolver is one. Tests inject their own to count and
// fake lookups.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// kdcAddr is one KDC: a host:port and the transports it may be asked over.
type kdcAddr struct {
	addr     string
	udp, tcp bool
}

// parseKDC reads a [realms] kdc value as MIT 1.20 does: an optional "tcp/" or "udp/" prefix
// (none allows both), then "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address;
// the port defaults to 88. HTTPS (MS-KKDCP) entries are not supported and skipped.
func parseKDC(s string) (kdcAddr, bool) {
	s = strings.TrimSpace(s)
	a := kdcAddr{udp: true, tcp: true}
	switch {
	case strings.HasPrefix(s, "tcp/"):
		a.udp, s = false, s[4:]
	case strings.HasPrefix(s, "udp/"):
		a.tcp, s = false, s[4:]
	case strings.HasPrefix(s, "kkdcp/"), strings.HasPrefix(s, "https://"):
		return a, false
	}
	host, port := s, "88"
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return a, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' {
				return a, false
			}
			port = rest[1:]
		}
	} else if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		host, port = s[:i], s[i+1:]
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" || strings.ContainsAny(host, " \t/") {
		return a, false
	}
	a.addr = net.JoinHostPort(host, port)
	return a, true
}

// locate returns the KDCs of realm: the [realms] kdc entries, or, when there are none and
// dns_lookup_kdc allows it, the SRV records _kerberos._udp and _kerberos._tcp.
func (c *Client) locate(ctx context.Context, realm string) ([]kdcAddr, error) {
	var out []kdcAddr
	if r, ok := c.conf.Realm(realm); ok {
		for _, s := range r.KDC {
			if a, ok := parseKDC(s); ok && len(out) < maxKDCs {
				out = append(out, a)
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if !c.conf.LibDefaults.DNSLookupKDC {
		return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority,
			"krbclient: krb5.conf lists no KDC for realm %s and dns_lookup_kdc is off; add [realms] %s = { kdc = host }", bound(realm), bound(realm))
	}
	var lastErr error
	for _, proto := range []string{"udp", "tcp"} {
		_, srvs, err := c.resolver().LookupSRV(ctx, "kerberos", proto, realm)
		if err != nil {
			lastErr = err
			continue
		}
		for _, s := range srvs {
			if s.Target == "." || s.Target == "" || len(out) >= maxKDCs {
				continue
			}
			addr := net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port)))
			out = merge(out, addr, proto)
		}
	}
	if len(out) == 0 {
		cause := "no SRV records"
		if lastErr != nil {
			cause = bound(lastErr.Error())
		}
		return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority,
			"krbclient: no KDC found for realm %s (krb5.conf lists none; DNS: %s)", bound(realm), cause)
	}
	return out, nil
}

// merge adds addr for proto, joining a record found for the other transport.
func merge(list []kdcAddr, addr, proto string) []kdcAddr {
	for i := range list {
		if list[i].addr == addr {
			list[i].udp = list[i].udp || proto == "udp"
			list[i].tcp = list[i].tcp || proto == "tcp"
			return list
		}
	}
	return append(list, kdcAddr{addr: addr, udp: proto == "udp", tcp: proto == "tcp"})
}

func (a kdcAddr) String() string { return fmt.Sprintf("%s (udp %v, tcp %v)", a.addr, a.udp, a.tcp) }
