package kdctest

import (
	"fmt"
	"strings"

	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/ndr"
)

// Well-known group RIDs of an Active Directory domain.
const (
	RIDDomainAdmins = 512
	RIDDomainUsers  = 513
)

// PAC is what the PAC (MS-PAC) of a user's service tickets says, as an Active Directory
// domain controller would write it: the user's SID and groups in a KERB_VALIDATION_INFO,
// the client info, UPN_DNS_INFO, and the server and KDC signatures (with the service's
// key and the KDC's krbtgt key). SetPAC asks for it; users without one get tickets with
// no PAC, as from MIT's KDC without a PAC plugin.
type PAC struct {
	// DomainSID is the domain's SID ("S-1-5-21-1111-2222-3333"); the user's SID is it
	// followed by UserRID. Required.
	DomainSID string
	// UserRID is the user's relative ID (AD gives users 1000 and up). Required.
	UserRID uint32
	// PrimaryGroupRID is the primary group's RID; zero means RIDDomainUsers.
	PrimaryGroupRID uint32
	// GroupRIDs are the user's other groups in the domain (RIDDomainAdmins, ...).
	GroupRIDs []uint32
	// ExtraSIDs are SIDs from outside the domain ("S-1-18-1", another domain's groups).
	ExtraSIDs []string
	// NetBIOSDomain is the logon domain's NetBIOS name; empty means the realm's first
	// label.
	NetBIOSDomain string
	// FullName is the user's display name.
	FullName string
}

// userPAC is a PAC made ready to be encoded for each ticket.
type userPAC struct {
	info   pac.ValidationInfo
	upn    pac.UPNDNSInfo
	client string // PAC_CLIENT_INFO's name: the principal without the realm
}

// SetPAC makes the service tickets of user (added by AddUser) carry a PAC with p; nil
// removes it. TGTs carry none: the KDC writes the PAC when it issues a service ticket.
func (k *KDC) SetPAC(user string, p *PAC) error {
	n, err := k.parseName(user)
	if err != nil {
		return err
	}
	var up *userPAC
	if p != nil {
		if up, err = k.makePAC(n, p); err != nil {
			return err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	pr := k.db[dbKey(n)]
	if pr == nil || pr.service {
		return fmt.Errorf("kdctest: no user %s in realm %s", user, k.realm)
	}
	cp := *pr // requests being answered may hold pr: entries are replaced, never changed
	cp.pac = up
	k.db[dbKey(n)] = &cp
	return nil
}

func (k *KDC) makePAC(n wire.PrincipalName, p *PAC) (*userPAC, error) {
	dom, err := ndr.ParseSID(p.DomainSID)
	if err != nil || p.UserRID == 0 {
		return nil, fmt.Errorf("kdctest: a PAC needs a DomainSID (S-1-5-21-...) and a UserRID: %q, %d: %v", p.DomainSID, p.UserRID, err)
	}
	netbios := p.NetBIOSDomain
	if netbios == "" {
		netbios, _, _ = strings.Cut(k.realm, ".")
	}
	primary := p.PrimaryGroupRID
	if primary == 0 {
		primary = RIDDomainUsers
	}
	const attrs = pac.GroupMandatory | pac.GroupEnabledByDefault | pac.GroupEnabled
	name := strings.Join(n.Components, "/")
	up := &userPAC{client: name, info: pac.ValidationInfo{
		EffectiveName: name, FullName: p.FullName, UserID: p.UserRID, PrimaryGroupID: primary,
		LogoffTime: pac.NeverTime, KickOffTime: pac.NeverTime, PasswordMustChange: pac.NeverTime,
		LogonServer: "KDCTEST", LogonDomainName: netbios, LogonDomainID: &dom,
		UserAccountControl: 0x10, // USER_NORMAL_ACCOUNT
	}}
	up.info.GroupIDs = append(up.info.GroupIDs, pac.GroupMembership{RID: primary, Attributes: attrs})
	for _, rid := range p.GroupRIDs {
		if rid != primary {
			up.info.GroupIDs = append(up.info.GroupIDs, pac.GroupMembership{RID: rid, Attributes: attrs})
		}
	}
	for _, s := range p.ExtraSIDs {
		sid, err := ndr.ParseSID(s)
		if err != nil {
			return nil, fmt.Errorf("kdctest: PAC extra SID %q: %w", s, err)
		}
		up.info.ExtraSIDs = append(up.info.ExtraSIDs, pac.SIDAndAttributes{SID: sid, Attributes: attrs})
		up.info.UserFlags |= pac.UserFlagExtraSIDs
	}
	userSID := dom.Append(p.UserRID)
	up.upn = pac.UPNDNSInfo{UPN: name + "@" + strings.ToLower(k.realm), DNSDomainName: k.realm, SAMName: name, SID: &userSID}
	return up, nil
}

// pacFor returns the authorization data of a service ticket for g's client: its PAC,
// signed with the key the ticket is encrypted in and the KDC's key (MS-PAC 2.8), or
// nothing when the client has none.
func (k *KDC) pacFor(g *grant, server *principal) ([]wire.AuthorizationData, *kdcError) {
	if g.crealm != k.realm {
		return nil, nil
	}
	client := k.lookup(g.cname)
	if client == nil || client.pac == nil || server.name.Components[0] == "krbtgt" {
		return nil, nil
	}
	info := client.pac.info // a copy: the logon time is this ticket's
	info.LogonTime = pac.FileTimeOf(g.authTime)
	upn := client.pac.upn
	b, err := pac.Build(&pac.Contents{LogonInfo: &info, ClientName: client.pac.client, AuthTime: g.authTime, UPNDNSInfo: &upn},
		server.keys[0], k.krbtgt().keys[0])
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "the PAC does not encode: "+err.Error())
	}
	ad, err := pac.AuthorizationData(b)
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "the PAC does not encode: "+err.Error())
	}
	return []wire.AuthorizationData{ad}, nil
}
