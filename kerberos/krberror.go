package kerberos

import (
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// The acceptor's KRB-ERROR token (RFC 1964 1.1, TOK_ID 03 00; RFC 4120 3.1.6, 5.9.1).
//
// A refused AP-REQ is answered with a KRB-ERROR when the client waits for an answer (it
// asked for mutual authentication), as MIT's acceptor answers: the client then reports
// the cause ("Clock skew too great") instead of a closed connection. The token goes out
// with the failure only when the caller asked for it with ASC_REQ_EXTENDED_ERROR. It tells the client the code, the service's name and the
// server's time, which a client of the right service would learn anyway; the e-text is
// the code's standard text, never the cause the server logs.

// eTexts are the KRB-ERROR texts, MIT's wording of each code.
var eTexts = map[int32]string{
	errBadOption:    "KDC can't fulfill requested option",
	errETypeNoSupp:  "KDC has no support for encryption type",
	errBadIntegrity: "Decrypt integrity check failed",
	errTktExpired:   "Ticket expired",
	errTktNYV:       "Ticket not yet valid",
	errRepeat:       "Request is a replay",
	errNotUs:        "The ticket isn't for us",
	errBadMatch:     "Ticket/authenticator don't match",
	errSkew:         "Clock skew too great",
	errBadKeyVer:    "Specified version of key is not available",
	errNoKey:        "Service key not available",
	errInappCksum:   "Inappropriate type of checksum in message",
	errGeneric:      "Generic error (see e-text)",
}

// appendKRBError appends the framed KRB-ERROR for a refusal to p.Out: when the AP-REQ was
// decoded (its realm and service name the error), the refusal has a code, and the client
// waits for an answer (mutual authentication in the AP options, or in the 0x8003
// checksum's flags once the authenticator was read), and the caller asked for it
// (ASC_REQ_EXTENDED_ERROR; the output buffer may be the caller's, left alone otherwise).
func (s *serverContext) appendKRBError(p *sspi.StepParams, st *acceptState) {
	mutual := st.req.Options&wire.APOptionMutualRequired != 0 || st.ck.flags&gssMutual != 0
	if st.code == 0 || st.svc == nil || !mutual || p.Req&sspi.ASCReqExtendedError == 0 {
		return
	}
	now := s.creds.now().UTC()
	ke := wire.KRBError{
		STime: now.Truncate(time.Second), SUsec: int32(now.Nanosecond() / 1000),
		Code:  st.code,
		Realm: st.req.Ticket.Realm, SName: st.req.Ticket.SName,
	}
	if t, ok := eTexts[st.code]; ok {
		ke.EText, ke.HasEText = t, true
	}
	der, err := ke.Marshal()
	if err != nil {
		return // the failure's own status and cause still go back
	}
	p.Out = appendGSSFramed(p.Out[:0], tokError, der)
}

// missingKeyCode is the code for a ticket the keytab has no key for, as MIT's acceptor
// chooses it: NOT_US when the service has no key at all, BADKEYVER when it has one of
// another version, NOKEY when of another encryption type.
func (ks *serviceKeys) missingKeyCode(principal wire.PrincipalName, realm string, kvno uint32) int32 {
	code := int32(errNotUs)
	for i := range ks.keys {
		k := &ks.keys[i]
		if k.realm != realm || !k.name.Equal(principal) {
			continue
		}
		if kvno != 0 && k.kvno != kvno {
			code = errBadKeyVer
			continue
		}
		return errNoKey // the version is there, the encryption type is not
	}
	return code
}
