package sspi

import (
	"slices"
	"time"
)

// AuthorizationSource says whether an Identity carries authorization data, the client's
// SIDs and groups, and where it came from. Its zero value, AuthzNone, is what every
// package that only authenticates names reports.
type AuthorizationSource uint8

const (
	// AuthzNone: the package has no group information to give (NTLM against an account
	// store, Schannel, a client-side context). The identity is a name and nothing more.
	AuthzNone AuthorizationSource = iota
	// AuthzNoPAC: a Kerberos ticket without a PAC (a KDC that issues none, or a service
	// marked as not needing one). The name is authenticated; there are no SIDs or groups.
	AuthzNoPAC
	// AuthzPACWithoutLogonInfo: a verified PAC without a KERB_VALIDATION_INFO, as MIT
	// krb5's KDC issues them: the PAC confirms the client's name, but carries no SIDs or
	// groups.
	AuthzPACWithoutLogonInfo
	// AuthzPAC: a verified PAC with logon information: the user's SID and groups as the
	// domain controller stated them.
	AuthzPAC
	// AuthzDomainLogon: a domain controller checked the logon itself and returned the
	// user's SID and groups (NTLM pass-through over Netlogon, or winbind asked for them).
	AuthzDomainLogon
)

// String names the source.
func (a AuthorizationSource) String() string {
	switch a {
	case AuthzNone:
		return "none (the package carries no group information)"
	case AuthzNoPAC:
		return "none (the Kerberos ticket had no PAC)"
	case AuthzPACWithoutLogonInfo:
		return "PAC without logon information (no SIDs or groups)"
	case AuthzPAC:
		return "PAC"
	case AuthzDomainLogon:
		return "domain controller logon (validation information)"
	}
	return "unknown"
}

// HasGroups reports whether the source gives SIDs and groups.
func (a AuthorizationSource) HasGroups() bool { return a == AuthzPAC || a == AuthzDomainLogon }

// Group attributes (SE_GROUP_*) of a GroupSID.
const (
	GroupMandatory        = 0x00000001
	GroupEnabledByDefault = 0x00000002
	GroupEnabled          = 0x00000004
	GroupOwner            = 0x00000008
	GroupUseForDenyOnly   = 0x00000010
	GroupResource         = 0x20000000
)

// GroupSID is one group of an AccessToken: its SID in string form (S-1-5-21-...) and its
// SE_GROUP_* attributes.
type GroupSID struct {
	SID        string
	Attributes uint32
}

// AccessToken is the Go counterpart of what SECPKG_ATTR_ACCESS_TOKEN gives a Windows
// server: who the client is as its domain controller vouched for it, with its SIDs and
// groups, taken from a verified Kerberos PAC or from the validation information a domain
// controller returned for an NTLM logon it checked. A token whose Source is not AuthzPAC has
// names but no SIDs; authorization decisions that need groups must check Source.
type AccessToken struct {
	// Source says where the token came from and whether it has SIDs.
	Source AuthorizationSource
	// UserName is the account name (a PAC's EffectiveName: the sAMAccountName), or the
	// authenticated user name when there is no logon information.
	UserName string
	// FullName is the user's display name, where the PAC has one.
	FullName string
	// LogonDomain is the NetBIOS name of the user's domain (or the Kerberos realm when
	// there is no logon information); DNSDomain its DNS name and UPN the user's principal
	// name, from UPN_DNS_INFO.
	LogonDomain, DNSDomain, UPN string
	// LogonServer is the NetBIOS name of the domain controller that issued the PAC.
	LogonServer string
	// UserSID, PrimaryGroupSID and DomainSID are empty without logon information.
	UserSID, PrimaryGroupSID, DomainSID string
	// Groups are every group the user is a member of, each once: the domain groups (the
	// primary group included), extra SIDs and resource groups, as Windows builds a token.
	Groups []GroupSID
	// UserFlags are the KERB_VALIDATION_INFO's user flags (LOGON_EXTRA_SIDS, ...).
	UserFlags uint32
	// LogonTime, LogoffTime and KickoffTime are the logon information's times; the zero
	// time for one that is unset or "never".
	LogonTime, LogoffTime, KickoffTime time.Time
	// PAC is the PAC as the KDC issued it, verified; nil when there was none.
	PAC []byte
}

// IsMember reports whether sid is the token's user or one of its groups that is not
// deny-only. It is false for every SID when the token has no SIDs.
func (t *AccessToken) IsMember(sid string) bool {
	if t == nil || sid == "" {
		return false
	}
	if sid == t.UserSID {
		return true
	}
	for _, g := range t.Groups {
		if g.SID == sid && g.Attributes&GroupUseForDenyOnly == 0 {
			return true
		}
	}
	return false
}

// clone returns a copy that shares nothing with t.
func (t *AccessToken) clone() AccessToken {
	c := *t
	c.Groups = slices.Clone(t.Groups)
	c.PAC = slices.Clone(t.PAC)
	return c
}

// GroupSIDs returns the SIDs of the identity's groups, nil when it has none (see
// Authorization).
func (id Identity) GroupSIDs() []string {
	if id.Token == nil || len(id.Token.Groups) == 0 {
		return nil
	}
	out := make([]string, len(id.Token.Groups))
	for i, g := range id.Token.Groups {
		out[i] = g.SID
	}
	return out
}

// queryAccessToken answers AttrAccessToken (*AccessToken) and AttrLogoffTime (*time.Time)
// on a server context from the package's identity: its token, or for a package without
// one a token that has the names and says, in Source, that there is nothing more.
func (ctx *Context) queryAccessToken(attr Attribute, out any) error {
	name := ctx.pkg.info.Name
	ir, ok := ctx.impl.(IdentityReporter)
	if !ok {
		return errUnsupported(name, "SECPKG_ATTR_ACCESS_TOKEN")
	}
	if !ctx.server {
		return Errorf(ErrUnsupportedFunction, "sspi: the access token is the server's view of its client; this is a %s client context", name)
	}
	if !ctx.established {
		return Errorf(ErrNoContext, "sspi: the access token exists only once the %s context is established", name)
	}
	id := ir.Identity()
	tok := AccessToken{Source: id.Authorization, UserName: id.User, LogonDomain: id.Domain, UserSID: id.UserSID}
	if id.Token != nil {
		tok = id.Token.clone()
	}
	if attr == AttrLogoffTime {
		return queryValue(attr, out, tok.LogoffTime)
	}
	return queryValue(attr, out, tok)
}
