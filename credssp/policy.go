package credssp

import "strings"

// DefaultDelegationTargets is the list Config.DelegateTo means when it is nil: Windows'
// default for "Allow delegating fresh credentials", which is to delegate to Remote
// Desktop servers on any host, once the server has been authenticated mutually
// (Kerberos).
var DefaultDelegationTargets = []string{"TERMSRV/*"}

// matchSPN reports whether target (an SPN, "service/host[:port][/name]" or a bare host)
// matches one of patterns, in the form of Windows' delegation policies:
//
//   - any target
//     TERMSRV/*         any host, for the TERMSRV service class
//     TERMSRV/*.corp    hosts under .corp
//     TERMSRV/host      that host only
//     */host            any service on that host
//
// Service classes and host names compare case-insensitively; a host wildcard is a
// leading "*" that stands for one or more labels. A bare host target is matched as if its
// service class were empty, so only "*" and "*/…" patterns can match it.
func matchSPN(target string, patterns []string) bool {
	svc, host := splitSPN(target)
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "*" {
			return true
		}
		psvc, phost, ok := strings.Cut(p, "/")
		if !ok {
			continue
		}
		if psvc != "*" && !strings.EqualFold(psvc, svc) {
			continue
		}
		if matchHost(host, phost) {
			return true
		}
	}
	return false
}

// splitSPN returns the service class and host of an SPN, dropping a port, a service
// name and a realm: "TERMSRV/host.corp:3389/x@REALM" → "TERMSRV", "host.corp".
func splitSPN(target string) (svc, host string) {
	if i := strings.LastIndexByte(target, '@'); i >= 0 {
		target = target[:i]
	}
	svc, host, ok := strings.Cut(target, "/")
	if !ok {
		svc, host = "", target
	}
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i+1:], "]") {
		host = host[:i]
	}
	return svc, strings.TrimSuffix(host, ".")
}

func matchHost(host, pattern string) bool {
	switch {
	case pattern == "*":
		return host != ""
	case strings.HasPrefix(pattern, "*."):
		suffix := pattern[1:]
		return len(host) > len(suffix) && strings.HasSuffix(strings.ToLower(host), strings.ToLower(suffix))
	}
	return strings.EqualFold(host, strings.TrimSuffix(pattern, "."))
}

// samePrincipal reports whether the principal a Kerberos server proved (service/host@REALM)
// is the target the client asked for (service/host, perhaps with a realm or port).
func samePrincipal(proved, target string) bool {
	ps, ph := splitSPN(proved)
	ts, th := splitSPN(target)
	if ts == "" {
		return strings.EqualFold(ph, th)
	}
	return strings.EqualFold(ps, ts) && strings.EqualFold(ph, th)
}
