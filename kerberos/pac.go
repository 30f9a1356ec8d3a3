package kerberos

import (
	"bytes"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/pac"
)

// checkPAC finds the PAC in the decrypted ticket's authorization data (AD-IF-RELEVANT →
// AD-WIN2K-PAC, MS-PAC 3.1), verifies its server signature with the key that decrypted
// the ticket and ties its client info to the ticket's client and authtime (MS-KILE
// 3.4.5.3). A PAC that fails any of it means the ticket was not issued as it stands:
// someone who holds the service key (or a KDC bug) made or altered it, so the ticket is
// refused. A ticket without a PAC is accepted, marked AuthzNoPAC, unless the server
// requires one.
//
// The KDC signature needs the KDC's key, which a service does not have; Windows asks the
// DC to check it only for privileged services, which this package is not.
func (s *serverContext) checkPAC(st *acceptState) error {
	cr, tkt := s.creds, &st.tkt
	found, ok, err := pac.Find(tkt.AuthData)
	if err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s carries unusable authorization data: %v", st.service(), err)
	}
	if !ok {
		if cr.requirePAC {
			return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has no PAC and this server requires one (ServerConfig.RequirePAC)", st.service())
		}
		st.authz = sspi.AuthzNoPAC
		return nil
	}
	// The ticket's plaintext is zeroed after the step: the PAC the identity keeps is a copy.
	raw := bytes.Clone(found)
	p, err := pac.Parse(raw)
	if err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has a malformed PAC: %v", st.service(), err)
	}
	if err := p.VerifyServer(st.ticketKey); err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has a PAC that fails verification, refusing it: %v", st.service(), err)
	}
	if err := p.CheckClient(tkt.CName.Components, tkt.CRealm, tkt.AuthTime); err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has a PAC for another logon, refusing it: %v", st.service(), err)
	}
	st.token = tokenFromPAC(p, tkt.CName.String(), tkt.CRealm)
	st.authz = st.token.Source
	return nil
}

// tokenFromPAC makes the access token of a verified PAC. user and realm are the ticket's
// client, the names a PAC without logon information leaves the token.
func tokenFromPAC(p *pac.PAC, user, realm string) *sspi.AccessToken {
	t := &sspi.AccessToken{Source: sspi.AuthzPACWithoutLogonInfo, UserName: user, LogonDomain: realm, PAC: p.Raw}
	if u := p.UPNDNSInfo; u != nil {
		t.UPN, t.DNSDomain = u.UPN, u.DNSDomainName
	}
	v := p.LogonInfo
	if v == nil {
		return t
	}
	t.Source = sspi.AuthzPAC
	t.UserName, t.FullName, t.LogonServer = v.EffectiveName, v.FullName, v.LogonServer
	if v.LogonDomainName != "" {
		t.LogonDomain = v.LogonDomainName
	}
	t.UserFlags = v.UserFlags
	t.LogonTime, t.LogoffTime, t.KickoffTime = v.LogonTime.Time(), v.LogoffTime.Time(), v.KickOffTime.Time()
	if v.LogonDomainID != nil {
		t.DomainSID = v.LogonDomainID.String()
	}
	if sid, ok := v.UserSID(); ok {
		t.UserSID = sid.String()
	}
	if sid, ok := v.PrimaryGroupSID(); ok {
		t.PrimaryGroupSID = sid.String()
	}
	for _, g := range v.Groups() {
		t.Groups = append(t.Groups, sspi.GroupSID{SID: g.SID.String(), Attributes: g.Attributes})
	}
	return t
}
