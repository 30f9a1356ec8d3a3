package krbclient

import (
	"encoding/binary"

	"github.com/gosspi/sspi/internal/krb5/wire"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// NTSTATUS values an Active Directory KDC (Windows, Samba) explains a refused logon with.
// One KRB-ERROR code stands for several of them (KDC_ERR_CLIENT_REVOKED: disabled, expired or
// locked out), so the client reads the status to say which.
const (
	StatusNoSuchUser           uint32 = 0xC0000064
	StatusWrongPassword        uint32 = 0xC000006A
	StatusLogonFailure         uint32 = 0xC000006D
	StatusAccountRestriction   uint32 = 0xC000006E
	StatusInvalidLogonHours    uint32 = 0xC000006F
	StatusInvalidWorkstation   uint32 = 0xC0000070
	StatusPasswordExpired      uint32 = 0xC0000071
	StatusAccountDisabled      uint32 = 0xC0000072
	StatusLogonTypeNotGranted  uint32 = 0xC000015B
	StatusAccountExpired       uint32 = 0xC0000193
	StatusPasswordMustChange   uint32 = 0xC0000224
	StatusAccountLockedOut     uint32 = 0xC0000234
	StatusAuthFirewallFailed   uint32 = 0xC0000413
	StatusProtectedUserBlocked uint32 = 0xC000040A // unused by Samba 4.17; Windows' "Protected Users"
)

// ntStatusText names a status and says what it means for the user.
var ntStatusText = map[uint32]struct{ name, meaning string }{
	StatusNoSuchUser:           {"STATUS_NO_SUCH_USER", "the account does not exist"},
	StatusWrongPassword:        {"STATUS_WRONG_PASSWORD", "the password is wrong"},
	StatusLogonFailure:         {"STATUS_LOGON_FAILURE", "the user name or password is wrong"},
	StatusAccountRestriction:   {"STATUS_ACCOUNT_RESTRICTION", "an account restriction prevents the logon"},
	StatusInvalidLogonHours:    {"STATUS_INVALID_LOGON_HOURS", "the account may not log on at this time"},
	StatusInvalidWorkstation:   {"STATUS_INVALID_WORKSTATION", "the account may not log on from this workstation"},
	StatusPasswordExpired:      {"STATUS_PASSWORD_EXPIRED", "the password has expired; change it"},
	StatusAccountDisabled:      {"STATUS_ACCOUNT_DISABLED", "the account is disabled"},
	StatusLogonTypeNotGranted:  {"STATUS_LOGON_TYPE_NOT_GRANTED", "the account may not log on this way"},
	StatusAccountExpired:       {"STATUS_ACCOUNT_EXPIRED", "the account has expired"},
	StatusPasswordMustChange:   {"STATUS_PASSWORD_MUST_CHANGE", "the password must be changed before the account can log on"},
	StatusAccountLockedOut:     {"STATUS_ACCOUNT_LOCKED_OUT", "the account is locked out"},
	StatusAuthFirewallFailed:   {"STATUS_AUTHENTICATION_FIREWALL_FAILED", "the account may not authenticate to this service"},
	StatusProtectedUserBlocked: {"STATUS_ACCOUNT_RESTRICTION (Protected Users)", "the account is a protected user and may not log on this way"},
}

// Types of the e-data entries that carry a KERB-EXT-ERROR.
const (
	paPWSalt             = 3 // Samba: a PA-DATA of METHOD-DATA (MS-KILE 2.2.1's legacy form)
	kerbErrTypeExtended  = 3 // Windows: KERB-ERROR-DATA's data-type (MS-KILE 2.2.1)
	kerbExtErrorSize     = 12
	ntStatusSeverityMask = 0xC0000000
)

// extendedStatus returns the NTSTATUS of the KERB-EXT-ERROR (MS-KILE 2.2.1: status,
// reserved, flags; 32-bit little-endian each) in a KRB-ERROR's e-data, or 0. Samba sends it
// as a PA-DATA of type PA-PW-SALT in a METHOD-DATA (beside ETYPE-INFO2); Windows as a
// KERB-ERROR-DATA, a single SEQUENCE { data-type [1] 3, data-value [2] }, which has the
// same shape as one PA-DATA. Only error statuses (severity bits 11) of exactly 12 bytes
// count: a real PW-SALT is a salt string.
func extendedStatus(edata []byte) uint32 {
	if len(edata) == 0 {
		return 0
	}
	entries, err := wire.ParseMethodData(edata)
	if err != nil {
		entries = nil
		if t, v, ok := parseKerbErrorData(edata); ok {
			entries = []wire.PAData{{Type: t, Value: v}}
		}
	}
	for _, e := range entries {
		if (e.Type == paPWSalt || e.Type == kerbErrTypeExtended) && len(e.Value) == kerbExtErrorSize {
			if s := binary.LittleEndian.Uint32(e.Value); s&ntStatusSeverityMask == ntStatusSeverityMask {
				return s
			}
		}
	}
	return 0
}

// parseKerbErrorData reads KERB-ERROR-DATA ::= SEQUENCE { data-type [1] INTEGER,
// data-value [2] OCTET STRING OPTIONAL }.
func parseKerbErrorData(b []byte) (int32, []byte, bool) {
	s := cryptobyte.String(b)
	var seq, typ, val cryptobyte.String
	var t int32
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1(&typ, asn1.Tag(1).Constructed().ContextSpecific()) || !typ.ReadASN1Integer(&t) || !typ.Empty() {
		return 0, nil, false
	}
	var v []byte
	if seq.PeekASN1Tag(asn1.Tag(2).Constructed().ContextSpecific()) {
		if !seq.ReadASN1(&val, asn1.Tag(2).Constructed().ContextSpecific()) || !val.ReadASN1Bytes(&v, asn1.OCTET_STRING) || !val.Empty() {
			return 0, nil, false
		}
	}
	return t, v, seq.Empty()
}
