package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Error codes of KRB-ERROR used by the exchanges (RFC 4120 7.5.9, RFC 6113).
const (
	KDCErrCPrincipalUnknown = 6
	KDCErrSPrincipalUnknown = 7
	KDCErrPreauthFailed     = 24
	KDCErrPreauthRequired   = 25
	KRBAPErrSkew            = 37
	KRBErrResponseTooBig    = 52
	KRBErrGeneric           = 60
	KDCErrWrongRealm        = 68
)

// KRBError is RFC 4120 5.9.1's KRB-ERROR. Slices alias the input. EData's form depends on
// the code: METHOD-DATA for KDC_ERR_PREAUTH_REQUIRED (ParseMethodData), TYPED-DATA for
// others (ParseTypedData).
type KRBError struct {
	CTime    time.Time // zero when absent
	CUsec    int32
	HasCUsec bool
	STime    time.Time
	SUsec    int32
	Code     int32
	// CRealm is the client's realm; HasCRealm says whether it was (or is to be) sent.
	CRealm    string
	HasCRealm bool
	CName     *PrincipalName // nil when absent
	Realm     string
	SName     PrincipalName
	// EText is the KDC's text: untrusted; bound it before showing it.
	EText    string
	HasEText bool
	EData    []byte // nil when absent
}

// Unmarshal decodes a KRB-ERROR from b, which it must fill exactly.
func (k *KRBError) Unmarshal(b []byte) error {
	const typ = "KRB-ERROR"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, MsgKRBError, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	return inMessage(k.parse(&seq), typ)
}

func (k *KRBError) parse(s *cryptobyte.String) error {
	const typ = "KRB-ERROR"
	if err := header(s, 0, MsgKRBError, typ); err != nil {
		return err
	}
	if !optTimeField(s, 2, &k.CTime) {
		return malformed(typ, "ctime")
	}
	if k.HasCUsec = s.PeekASN1Tag(ctx(3)); k.HasCUsec && (!int32Field(s, 3, &k.CUsec) || !microseconds(k.CUsec)) {
		return malformed(typ, "cusec")
	}
	if !timeField(s, 4, &k.STime) {
		return malformed(typ, "stime")
	}
	if !int32Field(s, 5, &k.SUsec) || !microseconds(k.SUsec) {
		return malformed(typ, "susec")
	}
	if !int32Field(s, 6, &k.Code) {
		return malformed(typ, "error-code")
	}
	if k.HasCRealm = s.PeekASN1Tag(ctx(7)); k.HasCRealm && !stringField(s, 7, &k.CRealm) {
		return malformed(typ, "crealm")
	}
	if s.PeekASN1Tag(ctx(8)) {
		k.CName = new(PrincipalName)
		if err := parseNameFieldOf(s, 8, k.CName, true); err != nil {
			return err
		}
	}
	if !stringField(s, 9, &k.Realm) {
		return malformed(typ, "realm")
	}
	if err := parseNameFieldOf(s, 10, &k.SName, true); err != nil {
		return err
	}
	if k.HasEText = s.PeekASN1Tag(ctx(11)); k.HasEText && !stringField(s, 11, &k.EText) {
		return malformed(typ, "e-text")
	}
	if s.PeekASN1Tag(ctx(12)) && !octetsField(s, 12, &k.EData) {
		return malformed(typ, "e-data")
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes k.
func (k *KRBError) Marshal() ([]byte, error) {
	const typ = "KRB-ERROR"
	var e encoder
	if !microseconds(k.SUsec) || (k.HasCUsec && !microseconds(k.CUsec)) {
		e.fail(invalid(typ, "usec"))
	}
	p := e.open(app(MsgKRBError))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.intField(1, MsgKRBError)
	e.optTimeField(typ, "ctime", 2, k.CTime)
	if k.HasCUsec {
		e.intField(3, int64(k.CUsec))
	}
	e.timeField(typ, "stime", 4, k.STime)
	e.intField(5, int64(k.SUsec))
	e.intField(6, int64(k.Code))
	if k.HasCRealm {
		e.stringField(typ, "crealm", 7, k.CRealm)
	}
	if k.CName != nil {
		e.nameField(8, k.CName)
	}
	e.stringField(typ, "realm", 9, k.Realm)
	e.nameField(10, &k.SName)
	if k.HasEText {
		e.stringField(typ, "e-text", 11, k.EText)
	}
	if k.EData != nil {
		e.octetsField(12, k.EData)
	}
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, typ)
}
