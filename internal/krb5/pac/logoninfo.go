package pac

import (
	"fmt"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ndr"
)

// User flags of a KERB_VALIDATION_INFO (MS-PAC 2.5, MS-NRPC 2.2.1.4.11).
const (
	UserFlagGuest          = 0x0001 // A: the account is a guest
	UserFlagNoEncryption   = 0x0002 // B
	UserFlagExtraSIDs      = 0x0020 // D: ExtraSids holds SIDs
	UserFlagResourceGroups = 0x0200 // H: ResourceGroupIds holds groups
)

// Group attributes (MS-PAC 2.2.1, SE_GROUP_*).
const (
	GroupMandatory        = 0x00000001
	GroupEnabledByDefault = 0x00000002
	GroupEnabled          = 0x00000004
	GroupOwner            = 0x00000008
	GroupResource         = 0x20000000
)

// GroupMembership is a GROUP_MEMBERSHIP: a group's RID in some domain and its attributes.
type GroupMembership struct {
	RID        uint32
	Attributes uint32
}

// SIDAndAttributes is a KERB_SID_AND_ATTRIBUTES (NETLOGON_SID_AND_ATTRIBUTES).
type SIDAndAttributes struct {
	SID        ndr.SID
	Attributes uint32
}

// ValidationInfo is a KERB_VALIDATION_INFO (MS-PAC 2.5): who the user is, as the KDC's
// account database says. Its fields up to ExtraSIDs are also, in the same order and NDR
// layout, the first fields of Netlogon's NETLOGON_VALIDATION_SAM_INFO4.
type ValidationInfo struct {
	LogonTime          FileTime
	LogoffTime         FileTime
	KickOffTime        FileTime
	PasswordLastSet    FileTime
	PasswordCanChange  FileTime
	PasswordMustChange FileTime
	EffectiveName      string // the account name (sAMAccountName)
	FullName           string
	LogonScript        string
	ProfilePath        string
	HomeDirectory      string
	HomeDirectoryDrive string
	LogonCount         uint16
	BadPasswordCount   uint16
	UserID             uint32 // the user's RID in LogonDomainID
	PrimaryGroupID     uint32 // the primary group's RID in LogonDomainID
	GroupIDs           []GroupMembership
	UserFlags          uint32
	UserSessionKey     [16]byte // zero in a PAC
	LogonServer        string   // the NetBIOS name of the DC
	LogonDomainName    string   // the NetBIOS name of the domain
	LogonDomainID      *ndr.SID
	// Reserved1 is two reserved longs in a PAC, LMKey in NETLOGON_VALIDATION_SAM_INFO4.
	Reserved1            [8]byte
	UserAccountControl   uint32
	SubAuthStatus        uint32
	LastSuccessfulILogon FileTime
	LastFailedILogon     FileTime
	FailedILogonCount    uint32
	Reserved3            uint32
	ExtraSIDs            []SIDAndAttributes

	// KERB_VALIDATION_INFO only.
	ResourceGroupDomainSID *ndr.SID
	ResourceGroupIDs       []GroupMembership
}

// ParseLogonInfo decodes a PAC_LOGON_INFO buffer: a KERB_VALIDATION_INFO in a version 1
// type serialization, behind a unique pointer.
func ParseLogonInfo(b []byte) (*ValidationInfo, error) {
	body, err := ndr.ParseSerialization1(b)
	if err != nil {
		return nil, err
	}
	v := new(ValidationInfo)
	d := ndr.NewDecoder(body)
	d.RefPointer(v.read)
	if err := d.Flush(); err != nil {
		return nil, fmt.Errorf("KERB_VALIDATION_INFO: %w", err)
	}
	return v, nil
}

// read reads the KERB_VALIDATION_INFO structure; its referents are queued on d.
func (v *ValidationInfo) read(d *ndr.Decoder) {
	v.ReadCommon(d)
	d.SIDPointer(&v.ResourceGroupDomainSID)
	readGroups(d, &v.ResourceGroupIDs)
}

// ReadCommon reads the fields a KERB_VALIDATION_INFO shares with a
// NETLOGON_VALIDATION_SAM_INFO4, LogonTime through ExtraSids, and queues the referents of
// their pointers on d: the caller reads its structure's remaining fields and then calls
// d.Flush, which fills in the strings, SIDs and arrays.
func (v *ValidationInfo) ReadCommon(d *ndr.Decoder) {
	for _, t := range []*FileTime{&v.LogonTime, &v.LogoffTime, &v.KickOffTime, &v.PasswordLastSet, &v.PasswordCanChange, &v.PasswordMustChange} {
		*t = FileTime(d.FileTime())
	}
	for _, s := range []*string{&v.EffectiveName, &v.FullName, &v.LogonScript, &v.ProfilePath, &v.HomeDirectory, &v.HomeDirectoryDrive} {
		d.UnicodeString(s)
	}
	v.LogonCount = d.Uint16()
	v.BadPasswordCount = d.Uint16()
	v.UserID = d.Uint32()
	v.PrimaryGroupID = d.Uint32()
	readGroups(d, &v.GroupIDs)
	v.UserFlags = d.Uint32()
	copy(v.UserSessionKey[:], d.Bytes(16))
	d.UnicodeString(&v.LogonServer)
	d.UnicodeString(&v.LogonDomainName)
	d.SIDPointer(&v.LogonDomainID)
	copy(v.Reserved1[:], d.Bytes(8))
	v.UserAccountControl = d.Uint32()
	v.SubAuthStatus = d.Uint32()
	v.LastSuccessfulILogon = FileTime(d.FileTime())
	v.LastFailedILogon = FileTime(d.FileTime())
	v.FailedILogonCount = d.Uint32()
	v.Reserved3 = d.Uint32()
	count := d.Uint32()
	d.Pointer(func(d *ndr.Decoder) {
		n := d.Count(8)
		if n != int(count) {
			d.Failf("SidCount %d, ExtraSids array of %d", count, n)
			return
		}
		v.ExtraSIDs = make([]SIDAndAttributes, n)
		for i := range v.ExtraSIDs {
			e := &v.ExtraSIDs[i]
			d.RefPointer(func(d *ndr.Decoder) { e.SID = d.SID() })
			e.Attributes = d.Uint32()
		}
	})
}

// readGroups reads a count and a pointer to a conformant array of GROUP_MEMBERSHIP of
// that many elements.
func readGroups(d *ndr.Decoder, dst *[]GroupMembership) {
	count := d.Uint32()
	d.Pointer(func(d *ndr.Decoder) {
		n := d.Count(8)
		if n != int(count) {
			d.Failf("group count %d, array of %d", count, n)
			return
		}
		g := make([]GroupMembership, n)
		for i := range g {
			g[i].RID = d.Uint32()
			g[i].Attributes = d.Uint32()
		}
		*dst = g
	})
}

// MarshalLogonInfo encodes v as a PAC_LOGON_INFO buffer.
func MarshalLogonInfo(v *ValidationInfo) []byte {
	var e ndr.Encoder
	e.Pointer(true, func(e *ndr.Encoder) {
		v.WriteCommon(e)
		e.SIDPointer(v.ResourceGroupDomainSID)
		writeGroups(e, v.ResourceGroupIDs)
	})
	e.Flush()
	return ndr.AppendSerialization1(nil, e.Bytes())
}

// WriteCommon writes the fields ReadCommon reads and queues their referents on e.
func (v *ValidationInfo) WriteCommon(e *ndr.Encoder) {
	for _, t := range []FileTime{v.LogonTime, v.LogoffTime, v.KickOffTime, v.PasswordLastSet, v.PasswordCanChange, v.PasswordMustChange} {
		e.FileTime(uint64(t))
	}
	for _, s := range []string{v.EffectiveName, v.FullName, v.LogonScript, v.ProfilePath, v.HomeDirectory, v.HomeDirectoryDrive} {
		e.UnicodeString(s)
	}
	e.Uint16(v.LogonCount)
	e.Uint16(v.BadPasswordCount)
	e.Uint32(v.UserID)
	e.Uint32(v.PrimaryGroupID)
	writeGroups(e, v.GroupIDs)
	e.Uint32(v.UserFlags)
	e.Write(v.UserSessionKey[:])
	e.UnicodeString(v.LogonServer)
	e.UnicodeString(v.LogonDomainName)
	e.SIDPointer(v.LogonDomainID)
	e.Write(v.Reserved1[:])
	e.Uint32(v.UserAccountControl)
	e.Uint32(v.SubAuthStatus)
	e.FileTime(uint64(v.LastSuccessfulILogon))
	e.FileTime(uint64(v.LastFailedILogon))
	e.Uint32(v.FailedILogonCount)
	e.Uint32(v.Reserved3)
	e.Uint32(uint32(len(v.ExtraSIDs)))
	e.Pointer(len(v.ExtraSIDs) > 0, func(e *ndr.Encoder) {
		e.Uint32(uint32(len(v.ExtraSIDs)))
		for i := range v.ExtraSIDs {
			s := &v.ExtraSIDs[i]
			e.Pointer(true, func(e *ndr.Encoder) { e.SID(s.SID) })
			e.Uint32(s.Attributes)
		}
	})
}

func writeGroups(e *ndr.Encoder, g []GroupMembership) {
	e.Uint32(uint32(len(g)))
	e.Pointer(len(g) > 0, func(e *ndr.Encoder) {
		e.Uint32(uint32(len(g)))
		for _, m := range g {
			e.Uint32(m.RID)
			e.Uint32(m.Attributes)
		}
	})
}

// UserSID returns the user's SID: LogonDomainID and UserID. ok is false without a domain
// SID.
func (v *ValidationInfo) UserSID() (sid ndr.SID, ok bool) {
	if v.LogonDomainID == nil {
		return ndr.SID{}, false
	}
	return v.LogonDomainID.Append(v.UserID), true
}

// PrimaryGroupSID returns the primary group's SID: LogonDomainID and PrimaryGroupID.
func (v *ValidationInfo) PrimaryGroupSID() (sid ndr.SID, ok bool) {
	if v.LogonDomainID == nil {
		return ndr.SID{}, false
	}
	return v.LogonDomainID.Append(v.PrimaryGroupID), true
}

// Groups returns every group SID the PAC gives the user, as a Windows access token would
// hold them (MS-KILE 3.4.5.3): the domain groups (GroupIDs in
// LogonDomainID), the extra SIDs, and the resource groups (ResourceGroupIDs in
// ResourceGroupDomainSID), each once, in that order. A KDC that sets the SIDs without the
// user flag that announces them (D, H) still has them counted: the PAC is signed.
func (v *ValidationInfo) Groups() []SIDAndAttributes {
	out := make([]SIDAndAttributes, 0, len(v.GroupIDs)+len(v.ExtraSIDs)+len(v.ResourceGroupIDs))
	seen := map[string]bool{}
	add := func(s ndr.SID, attr uint32) {
		k := s.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, SIDAndAttributes{SID: s, Attributes: attr})
		}
	}
	if v.LogonDomainID != nil {
		for _, g := range v.GroupIDs {
			add(v.LogonDomainID.Append(g.RID), g.Attributes)
		}
	}
	for _, s := range v.ExtraSIDs {
		add(s.SID, s.Attributes)
	}
	if v.ResourceGroupDomainSID != nil {
		for _, g := range v.ResourceGroupIDs {
			add(v.ResourceGroupDomainSID.Append(g.RID), g.Attributes)
		}
	}
	return out
}

// FillToken sets what an access token takes from validation information, a PAC's or
// Netlogon's alike: the account and full names, the logon server and domain (a token's
// domain is kept when the information has none), the user flags, the logon times, and the
// SIDs of the domain, the user, the primary group and every group.
func (v *ValidationInfo) FillToken(t *sspi.AccessToken) {
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
}
