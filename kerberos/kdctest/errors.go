package kdctest

import (
	"time"

	"github.com/gosspi/sspi/internal/krb5/wire"
)

// KRB-ERROR codes the KDC sends (RFC 4120 7.5.9) beyond those package wire names.
const (
	errNeverValid       = 11
	errBadOption        = 13
	errETypeNoSupp      = 14
	errSumTypeNoSupp    = 15
	errPADataTypeNoSupp = 16
	errBadIntegrity     = 31
	errTktExpired       = 32
	errTktNotYetValid   = 33
	errNotUs            = 35
	errBadMatch         = 36
	errModified         = 41
	errBadKeyVer        = 44
	errMsgType          = 40
	errInappCksum       = 50
)

// kdcError is a refusal: the KRB-ERROR's code, e-text and e-data.
type kdcError struct {
	code  int32
	text  string
	edata []byte
}

func refuse(code int32, text string) *kdcError { return &kdcError{code: code, text: text} }

// errorReply encodes a KRB-ERROR (RFC 4120 5.9.1) answering req (nil when it did not
// decode): the server name asked for, and the client's when there was one.
func (k *KDC) errorReply(req *wire.KDCReq, e *kdcError) []byte {
	now := k.now()
	ke := wire.KRBError{
		STime: now.UTC().Truncate(time.Second), SUsec: int32(now.Nanosecond() / 1000),
		Code: e.code, Realm: k.realm,
		SName: wire.PrincipalName{Type: wire.NameSrvInst, Components: []string{"krbtgt", k.realm}},
		EText: e.text, HasEText: e.text != "", EData: e.edata,
	}
	if req != nil {
		if req.Body.SName != nil {
			ke.SName = *req.Body.SName
		}
		if req.Body.CName != nil {
			ke.CName, ke.CRealm, ke.HasCRealm = req.Body.CName, req.Body.Realm, true
		}
	}
	b, err := ke.Marshal()
	if err != nil {
		// A name from the request the encoder refuses: answer without the names.
		ke.SName = wire.PrincipalName{Type: wire.NameSrvInst, Components: []string{"krbtgt", k.realm}}
		ke.CName, ke.HasCRealm = nil, false
		if b, err = ke.Marshal(); err != nil {
			return nil
		}
	}
	k.count(func(c *Counts) { c.Errors++ })
	return b
}
