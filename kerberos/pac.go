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
	// The client is told KRB_AP_ERR_BAD_INTEGRITY for a PAC whose server signature fails (the
	// ticket's integrity, as the key saw it) and KRB_ERR_GENERIC for the rest; the cause
	// stays with the caller.
	st.code = errGeneric
	found, ok, err := pac.Find(tkt.AuthData)
	if err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s carries unusable authorization data: %v", st.service(), err)
	}
	if !ok {
		if cr.requirePAC {
			return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has no PAC and this server requires one (ServerConfig.RequirePAC)", st.service())
		}
		st.authz, st.code = sspi.AuthzNoPAC, 0
		return nil
	}
	// The ticket's plaintext is zeroed after the step: the PAC the identity keeps is a copy.
	raw := bytes.Clone(found)
	p, err := pac.Parse(raw)
	if err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has a malformed PAC: %v", st.service(), err)
	}
	if err := p.VerifyServer(st.ticketKey); err != nil {
		st.code = errBadIntegrity
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has a PAC that fails verification, refusing it: %v", st.service(), err)
	}
	if err := p.CheckClient(tkt.CName.Components, tkt.CRealm, tkt.AuthTime); err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has a PAC for another logon, refusing it: %v", st.service(), err)
	}
	st.token = tokenFromPAC(p, tkt.CName.String(), tkt.CRealm)
	st.authz, st.code = st.token.Source, 0
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
	v.FillToken(t)
	return t
}
