package kdctest

import (
	"slices"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// asExchange is the KDC's side of one AS exchange (RFC 4120 3.1).
type asExchange struct {
	k      *KDC
	req    *wire.KDCReq
	now    time.Time
	canon  bool
	client *principal
	server *principal
	// replyKey is the client's key the timestamp was encrypted in; the reply uses it too.
	replyKey *krbcrypto.Key
}

// as answers an AS-REQ: names, then preauthentication, then the ticket.
func (k *KDC) as(req *wire.KDCReq) ([]byte, *kdcError) {
	x := &asExchange{k: k, req: req, now: k.now().UTC().Truncate(time.Second),
		canon: req.Body.Options&wire.KDCOptCanonicalize != 0}
	if err := x.findPrincipals(); err != nil {
		return nil, err
	}
	if err := x.checkOptions(); err != nil {
		return nil, err
	}
	if err := x.preauthenticate(); err != nil {
		return nil, err
	}
	return x.reply()
}

// findPrincipals checks the realm and finds the client and the server (RFC 4120 3.1.2).
func (x *asExchange) findPrincipals() *kdcError {
	if err := x.k.checkRealm(x.req.Body.Realm, x.canon); err != nil {
		return err
	}
	var err *kdcError
	if x.client, err = x.k.findClient(x.req.Body.CName); err != nil {
		return err
	}
	x.server, err = x.k.findServer(x.req.Body.SName, x.canon)
	return err
}

// checkOptions refuses what this KDC does not do (RFC 4120 3.1.3).
func (x *asExchange) checkOptions() *kdcError {
	o := x.req.Body.Options
	switch {
	case o&(wire.KDCOptPostdated|wire.KDCOptAllowPostdate) != 0 || !x.req.Body.From.IsZero() && x.req.Body.From.After(x.now.Add(x.k.skew)):
		return refuse(errBadOption, "postdated tickets are not issued")
	case o&(wire.KDCOptForwarded|wire.KDCOptProxy|wire.KDCOptRenew|wire.KDCOptValidate|wire.KDCOptEncTktInSkey) != 0:
		return refuse(errBadOption, "an option of TGS requests in an AS request")
	}
	return nil
}

// preauthenticate requires PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2): without it the client is
// told the salts of its keys (KDC_ERR_PREAUTH_REQUIRED with ETYPE-INFO2); with it, the
// timestamp must decrypt with the client's key and be within the clock skew.
func (x *asExchange) preauthenticate() *kdcError {
	var pa *wire.PAData
	for i := range x.req.PAData {
		if x.req.PAData[i].Type == wire.PAEncTimestamp {
			pa = &x.req.PAData[i]
		}
	}
	if pa == nil {
		return x.preauthRequired()
	}
	var ed wire.EncryptedData
	if err := ed.Unmarshal(pa.Value); err != nil {
		return refuse(wire.KDCErrPreauthFailed, "PA-ENC-TIMESTAMP does not decode")
	}
	key := x.client.key(krbcrypto.EType(ed.EType))
	if key == nil || !slices.Contains(x.req.Body.ETypes, ed.EType) {
		return refuse(wire.KDCErrPreauthFailed, "PA-ENC-TIMESTAMP is encrypted with a type the client has no key of or did not ask for")
	}
	plain, err := key.Decrypt(nil, ed.Cipher, usagePAEncTimestamp)
	if err != nil {
		return refuse(wire.KDCErrPreauthFailed, "Preauthentication failed")
	}
	var ts wire.PAEncTSEnc
	err = ts.Unmarshal(plain)
	clear(plain)
	if err != nil {
		return refuse(wire.KDCErrPreauthFailed, "PA-ENC-TS-ENC does not decode")
	}
	t := ts.Timestamp.Add(time.Duration(ts.Usec) * time.Microsecond)
	if !x.k.withinSkew(t, x.k.now()) {
		return refuse(wire.KRBAPErrSkew, "Clock skew too great")
	}
	x.replyKey = key
	return nil
}

// preauthRequired is KDC_ERR_PREAUTH_REQUIRED with METHOD-DATA: ETYPE-INFO2 with an entry
// for each requested type the client has a key of, in the client's order, and an empty
// PA-ENC-TIMESTAMP saying that is the method (RFC 4120 5.2.7.5).
func (x *asExchange) preauthRequired() *kdcError {
	var info []wire.ETypeInfo2Entry
	for _, e := range x.req.Body.ETypes {
		if x.client.key(krbcrypto.EType(e)) != nil && !slices.ContainsFunc(info, func(i wire.ETypeInfo2Entry) bool { return i.EType == e }) {
			info = append(info, wire.ETypeInfo2Entry{EType: e, Salt: x.client.salt, HasSalt: true})
		}
	}
	if len(info) == 0 {
		return refuse(errETypeNoSupp, "the client has no key of any requested encryption type")
	}
	v, err := wire.MarshalETypeInfo2(info)
	if err != nil {
		return refuse(wire.KRBErrGeneric, "ETYPE-INFO2 does not encode")
	}
	md, err := wire.MarshalMethodData([]wire.PAData{
		{Type: wire.PAETypeInfo2, Value: v},
		{Type: wire.PAEncTimestamp, Value: []byte{}},
	})
	if err != nil {
		return refuse(wire.KRBErrGeneric, "METHOD-DATA does not encode")
	}
	return &kdcError{code: wire.KDCErrPreauthRequired, text: "Additional pre-authentication required", edata: md}
}

// reply issues the ticket (RFC 4120 3.1.3) and the AS-REP, encrypted in the client's key.
func (x *asExchange) reply() ([]byte, *kdcError) {
	b := &x.req.Body
	et, kerr := x.k.sessionEType(b.ETypes)
	if kerr != nil {
		return nil, kerr
	}
	g := &grant{
		flags:    wire.FlagInitial | wire.FlagPreAuthent,
		authTime: x.now, start: x.now,
		crealm: x.k.realm, cname: *b.CName, caddr: b.Addresses,
	}
	sname := *b.SName
	if x.canon {
		g.cname, sname = x.client.name, x.server.name
	}
	if b.Options&wire.KDCOptForwardable != 0 && !x.k.noForwardable {
		g.flags |= wire.FlagForwardable
	}
	if b.Options&wire.KDCOptProxiable != 0 {
		g.flags |= wire.FlagProxiable
	}
	if kerr := x.k.lifetimes(g, b, time.Time{}, time.Time{}, true); kerr != nil {
		return nil, kerr
	}
	session, kerr := x.k.newSessionKey(et)
	if kerr != nil {
		return nil, kerr
	}
	defer session.Destroy()
	// The salt again, as MIT sends it, for a client that did not keep the first one.
	info, err := wire.MarshalETypeInfo2([]wire.ETypeInfo2Entry{{EType: int32(x.replyKey.EType()), Salt: x.client.salt, HasSalt: true}})
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "ETYPE-INFO2 does not encode")
	}
	return x.k.issue(wire.MsgASRep, x.req, g, x.server, sname, session, x.replyKey, usageASRep,
		[]wire.PAData{{Type: wire.PAETypeInfo2, Value: info}})
}
