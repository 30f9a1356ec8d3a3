package kerberos

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/ccache"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/wiretext"
)

// serverContext is the acceptor's state.
type serverContext struct {
	creds *serverCreds
	// deleg is the TGT the client delegated (ASC_RET_DELEGATE), nil without one.
	deleg *ccache.CCache
	// evidence is the client's ticket as it came, for S4U2Proxy (ProxyCredentials).
	evidence evidenceTicket
	// dce is set in DCE style while the AP-REP is sent and the client's answer awaited (dce.go).
	dce *dceWait
	established
}

// scratchPool holds the buffers tickets and authenticators are decrypted in: the input
// token is the caller's and stays as it was, and the plaintext (the session key within)
// is zeroed before the buffer goes back.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// acceptState is what one AP-REQ yields as it is checked, step by step.
type acceptState struct {
	req     wire.APReq
	bare    bool         // the AP-REQ came without GSS framing (DCE style)
	svc     *acceptNames // the ticket's service, as sent
	tkt     wire.EncTicketPart
	session *krbcrypto.Key
	auth    wire.Authenticator
	ctime   time.Time
	ck      gssChecksum
	now     time.Time
	// client names the ticket's client (the authenticator's, which must be the same), for
	// the replay cache and the identity.
	client *acceptNames
	code   int32 // the KRB-ERROR code of a refusal, 0 for none
	// ticketKey is the service key that decrypted the ticket; authz and token what its PAC
	// says (pac.go).
	ticketKey *krbcrypto.Key
	authz     sspi.AuthorizationSource
	token     *sspi.AccessToken
	// opened is the ticket cache's entry this AP-REQ uses (tkt and session are its),
	// nil when the ticket was opened for this AP-REQ alone.
	opened *openedTicket
}

// release lets go of the ticket's session key: the cache's entry, or the key itself.
func (st *acceptState) release() {
	if st.opened != nil {
		st.opened.release()
	} else if st.session != nil {
		st.session.Destroy()
	}
}

// service is the ticket's service for error messages, bounded: it comes from the
// unauthenticated ticket.
func (st *acceptState) service() string { return wiretext.Name(st.svc.full) }

func (s *serverContext) Step(p *sspi.StepParams) (sspi.Status, error) {
	if s.dce != nil {
		return s.readDCEReply(p)
	}
	if s.done {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the handshake is over")
	}
	in := p.InputToken()
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: no AP-REQ token given")
	}
	bp := scratchPool.Get().(*[]byte)
	defer func() {
		clear((*bp)[:cap(*bp)])
		*bp = (*bp)[:0]
		scratchPool.Put(bp)
	}()
	var st acceptState
	defer st.release()
	status, err := s.accept(p, &st, in, bp)
	if err != nil {
		s.appendKRBError(p, &st)
	}
	return status, err
}

// accept checks the AP-REQ in in and answers it. A refusal sets st.code to the Kerberos
// error code the client is told (krberror.go); 0 tells it nothing.
func (s *serverContext) accept(p *sspi.StepParams, st *acceptState, in []byte, bp *[]byte) (sspi.Status, error) {
	if err := s.readAPReq(in, st); err != nil {
		return 0, err
	}
	if err := s.openTicket(st, bp); err != nil {
		return 0, err
	}
	if err := s.openAuthenticator(st, bp); err != nil {
		return 0, err
	}
	if err := checkDCEFraming(st); err != nil {
		return 0, err
	}
	if err := s.creds.checkBindings(p, st.ck.bindings); err != nil {
		return 0, err // a policy of this server, not a Kerberos error: MIT sends none either
	}
	// Replay cache (RFC 4120 3.2.3): the authenticator ciphertext identifies it, per service.
	if err := s.creds.checkReplay(st.svc.name, st.req.Ticket.Realm, st.req.Authenticator.Cipher, st.now, st.ctime,
		st.client.full); err != nil {
		if errors.Is(err, ErrReplay) {
			st.code = errRepeat
		}
		return 0, err
	}
	return s.finishDelegating(p, st, bp)
}

// readAPReq decodes the framed AP-REQ and applies the policy to the ticket's service.
func (s *serverContext) readAPReq(in []byte, st *acceptState) error {
	tokID, msg, err := parseGSSFramed(in)
	if wire.MessageType(in) == wire.MsgAPReq {
		tokID, msg, err, st.bare = tokAPReq, in, nil, true
	}
	if err != nil {
		return malformed("AP-REQ token", err)
	}
	if tokID != tokAPReq {
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: expected an AP-REQ, got TOK_ID % x", tokID[:])
	}
	if err := st.req.Unmarshal(msg); err != nil {
		return malformed("AP-REQ", err)
	}
	t := &st.req.Ticket
	if len(t.SName.Components) == 0 {
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the ticket names no service")
	}
	st.svc = s.creds.services.lookup(&t.SName, t.Realm)
	if !s.creds.accepts(st.svc.name, t.Realm) {
		st.code = errNotUs
		return sspi.Errorf(sspi.ErrWrongPrincipal, "kerberos: the ticket is for %s, this server is %s", st.service(), s.creds.spn)
	}
	if st.req.Options&wire.APOptionUseSessionKey != 0 {
		st.code = errBadOption
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: user-to-user AP-REQs are not supported")
	}
	return nil
}

// openTicket finds the ticket in the cache of opened tickets, or decrypts it with the
// keytab's key (RFC 4120 3.2.3) and verifies its PAC (pac.go); either way it checks the
// ticket's times against the clock.
func (s *serverContext) openTicket(st *acceptState, bp *[]byte) error {
	cr, t := s.creds, &st.req.Ticket
	k := cr.kt.find(t.SName, t.Realm, t.EncPart.KVNO, t.EncPart.EType)
	if k == nil {
		st.code = cr.kt.missingKeyCode(t.SName, t.Realm, t.EncPart.KVNO)
		return sspi.Errorf(sspi.ErrWrongPrincipal, "kerberos: no key in the keytab for %s (kvno %d, type %d)", st.service(), t.EncPart.KVNO, t.EncPart.EType)
	}
	st.ticketKey = k.key
	// Room for the authenticator and the AP-REP (and the ticket, when it is opened in the
	// scratch buffer), so that nothing moves: the decoded parts alias the plaintexts, and
	// all of it is zeroed after the step.
	if need := len(t.EncPart.Cipher) + len(st.req.Authenticator.Cipher) + 1024; cap(*bp) < need {
		*bp = make([]byte, 0, need)
	}
	if o := cr.tickets.get(k.key, t.EncPart.Cipher); o != nil {
		st.opened = o
		st.tkt, st.session, st.authz, st.token = o.tkt, o.session, o.authz, o.token
		if st.authz == sspi.AuthzNoPAC && cr.requirePAC {
			st.code = errGeneric
			return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s has no PAC and this server requires one (ServerConfig.RequirePAC)", st.service())
		}
		err := s.checkTicketTimes(st)
		if st.code == errTktExpired {
			cr.tickets.drop(o) // its session key need not wait for the slot's next ticket
		}
		return err
	}
	var o *openedTicket
	if cr.tickets != nil {
		o = newOpenedTicket(k.key, t)
	}
	if o == nil {
		*bp = append((*bp)[:0], t.EncPart.Cipher...)
		return s.decryptTicket(st, k, *bp)
	}
	if err := s.decryptTicket(st, k, o.plain); err != nil {
		clear(o.plain)
		return err
	}
	o.tkt, o.session, o.authz, o.token = st.tkt, st.session, st.authz, st.token
	cr.tickets.put(o)
	st.opened = o
	return nil
}

// decryptTicket decrypts the ticket's ciphertext in buf in place with the keytab key k,
// decodes it (st.tkt aliases buf), makes its session key and checks its times and PAC.
func (s *serverContext) decryptTicket(st *acceptState, k *serviceKey, buf []byte) error {
	plain, err := k.ticket.OpenInPlace(buf)
	if err != nil {
		st.code = errBadIntegrity
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s does not decrypt with the keytab's key: %v", st.service(), err)
	}
	if err := st.tkt.Unmarshal(plain); err != nil {
		st.code = errGeneric
		return malformed("ticket", err)
	}
	tkt := &st.tkt
	et := krbcrypto.EType(tkt.Key.Type)
	if !et.Supported() {
		st.code = errETypeNoSupp
		return sspi.Errorf(sspi.ErrKDCUnknownEtype, "kerberos: the ticket's session key has encryption type %d, which this package does not implement", tkt.Key.Type)
	}
	if st.session, err = krbcrypto.NewKey(et, tkt.Key.Value); err != nil {
		st.code = errGeneric
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the ticket's session key: %v", err)
	}
	if err := s.checkTicketTimes(st); err != nil {
		return err
	}
	return s.checkPAC(st)
}

// checkTicketTimes refuses a ticket that is not valid yet or has expired (RFC 4120
// 3.2.3), allowing the clock skew.
func (s *serverContext) checkTicketTimes(st *acceptState) error {
	cr, tkt := s.creds, &st.tkt
	st.now = cr.now().UTC()
	start := tkt.StartTime
	if start.IsZero() {
		start = tkt.AuthTime
	}
	if start.Sub(st.now) > cr.skew || tkt.Flags&wire.FlagInvalid != 0 {
		st.code = errTktNYV
		return sspi.Errorf(sspi.ErrTimeSkew, "kerberos: the ticket is not valid yet (starts %v, now %v)", start, st.now)
	}
	if st.now.Sub(tkt.EndTime) > cr.skew {
		st.code = errTktExpired
		return sspi.Errorf(sspi.ErrContextExpired, "kerberos: the ticket expired at %v", tkt.EndTime)
	}
	return nil
}

// openAuthenticator decrypts the authenticator with the ticket's session key, after the
// ticket's plaintext in the scratch buffer, and checks its client, time and checksum.
func (s *serverContext) openAuthenticator(st *acceptState, bp *[]byte) error {
	cr, a := s.creds, &st.req.Authenticator
	if a.EType != int32(st.session.EType()) {
		st.code = errBadIntegrity
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator is encrypted with type %d, the ticket's session key is type %d", a.EType, int32(st.session.EType()))
	}
	// The ticket's plaintext stays where it is (st.tkt aliases it): the authenticator
	// goes after it, in room openTicket made.
	off := len(*bp)
	buf := append(*bp, a.Cipher...)
	plain, err := st.session.Usage(usageAuthenticator).OpenInPlace(buf[off:])
	if err != nil {
		st.code = errBadIntegrity
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator does not decrypt with the ticket's session key: %v", err)
	}
	*bp = buf
	return s.checkAuthenticator(st, plain, cr)
}

func (s *serverContext) checkAuthenticator(st *acceptState, plain []byte, cr *serverCreds) error {
	if err := st.auth.Unmarshal(plain); err != nil {
		st.code = errGeneric
		return malformed("authenticator", err)
	}
	auth, tkt := &st.auth, &st.tkt
	if !auth.CName.Equal(tkt.CName) || auth.CRealm != tkt.CRealm {
		st.code = errBadMatch
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator's client %s is not the ticket's %s",
			wiretext.Name(auth.CName.String()+"@"+auth.CRealm), wiretext.Name(tkt.CName.String()+"@"+tkt.CRealm))
	}
	st.client = cr.clients.lookup(&tkt.CName, tkt.CRealm)
	st.ctime = auth.CTime.Add(time.Duration(auth.CUsec) * time.Microsecond)
	if d := st.now.Sub(st.ctime); d > cr.skew || -d > cr.skew {
		st.code = errSkew
		return sspi.Errorf(sspi.ErrTimeSkew, "kerberos: the client's clock is %v off (more than %v)", d.Round(time.Second), cr.skew)
	}
	if auth.Checksum == nil {
		st.code = errInappCksum
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the authenticator has no checksum, not the GSS type 0x8003")
	}
	if auth.Checksum.Type != checksumType8003 {
		st.code = errInappCksum
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the authenticator checksum has type %d, not the GSS type 0x8003", auth.Checksum.Type)
	}
	ck, err := parseGSSChecksum(auth.Checksum.Value)
	if err != nil {
		st.code = errGeneric
		return malformed("authenticator checksum", err)
	}
	st.ck = ck
	return nil
}

// finish answers with an AP-REP when mutual authentication was asked (RFC 4120 3.2.4),
// choosing an acceptor subkey, and sets up the context.
func (s *serverContext) finish(p *sspi.StepParams, st *acceptState, bp *[]byte) (sspi.Status, error) {
	auth, tkt := &st.auth, &st.tkt
	dce := st.ck.flags&gssDCEStyle != 0
	mutual := dce || st.ck.flags&gssMutual != 0 || st.req.Options&wire.APOptionMutualRequired != 0
	et, keyValue := st.session.EType(), tkt.Key.Value
	if auth.SubKey != nil && len(auth.SubKey.Value) > 0 {
		et, keyValue = krbcrypto.EType(auth.SubKey.Type), auth.SubKey.Value
		if !et.Supported() {
			return 0, sspi.Errorf(sspi.ErrKDCUnknownEtype, "kerberos: the client's subkey has encryption type %d, which this package does not implement", auth.SubKey.Type)
		}
	}
	peerSeq := uint64(auth.SeqNumber)
	sendSeq, acceptorSK := peerSeq, false
	var key *krbcrypto.Key
	if mutual {
		// An RFC 1964-style (RC4) initiator ignores an acceptor subkey of its own key's
		// type (MIT's mutual_auth; Windows uses it only in DCE style): send none then,
		// unless the client offered AES (RFC 4537), whose subkey moves the context to
		// RFC 4121 tokens, as MIT's acceptor does. DCE style always takes the subkey.
		subType := et
		if et == krbcrypto.RC4HMAC && !dce {
			subType = negotiatedEType(auth.AuthData)
		}
		sub, seq, err := s.appendAPRep(p, st, subType, bp)
		if err != nil {
			return 0, err
		}
		sendSeq = seq
		key, acceptorSK = sub, sub != nil
	}
	if key == nil {
		var err error
		if key, err = krbcrypto.NewKey(et, keyValue); err != nil {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the client's subkey: %v", err)
		}
	}
	s.setup(key, true, acceptorSK, st.ck.flags&(gssSequence|gssReplay) != 0, sendSeq, peerSeq)
	s.dceStyle = dce
	// The names passed every check: keep their strings for the next AP-REQ.
	s.creds.services.keep(st.svc)
	s.creds.clients.keep(st.client)
	s.identity = sspi.Identity{Package: PackageName, User: st.client.name, Domain: tkt.CRealm, Principal: st.client.full,
		Server: st.svc.full, Authorization: st.authz, Token: st.token}
	if st.token != nil {
		s.identity.UserSID = st.token.UserSID
	}
	p.Attr = s.granted(st.ck.flags, mutual, p.Req&sspi.ASCReqConnection != 0)
	p.Expiry = tkt.EndTime
	if dce {
		return s.waitDCE(p, st, sendSeq)
	}
	return sspi.OK, nil
}

// appendAPRep appends the framed AP-REP: EncAPRepPart (the authenticator's time, a new
// acceptor subkey of type et unless et is 0, a random sequence number) sealed with the
// ticket's session key. The subkey is nil when et is 0.
func (s *serverContext) appendAPRep(p *sspi.StepParams, st *acceptState, et krbcrypto.EType, bp *[]byte) (*krbcrypto.Key, uint64, error) {
	var rnd [32 + 4 + 16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: no randomness for the subkey: %v", err)
	}
	defer clear(rnd[:])
	seq := uint64(binary.BigEndian.Uint32(rnd[32:]) & 0x3fffffff)
	part := wire.EncAPRepPart{CTime: st.auth.CTime, CUsec: st.auth.CUsec, SeqNumber: uint32(seq), HasSeq: true}
	var sub *krbcrypto.Key
	if et != 0 {
		var err error
		if sub, err = krbcrypto.RandomToKey(et, rnd[:et.KeySize()]); err != nil {
			return nil, 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: making a subkey: %v", err)
		}
		part.SubKey = &wire.EncryptionKey{Type: int32(et), Value: rnd[:et.KeySize()]}
	}
	// Scratch layout after the ticket and authenticator plaintexts: the EncAPRepPart, then
	// its ciphertext, then the AP-REP.
	off := len(*bp)
	buf, err := part.Append(*bp)
	if err != nil {
		if sub != nil {
			sub.Destroy()
		}
		return nil, 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the AP-REP: %v", err)
	}
	mid := len(buf)
	buf, err = st.session.Usage(usageAPRepPart).Seal(buf, buf[off:mid], rnd[36:36+st.session.EType().ConfounderSize()])
	if err != nil {
		if sub != nil {
			sub.Destroy()
		}
		return nil, 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: sealing the AP-REP: %v", err)
	}
	clear(buf[off:mid])
	end := len(buf)
	rep := wire.APRep{EncPart: wire.EncryptedData{EType: int32(st.session.EType()), Cipher: buf[mid:end]}}
	buf, err = rep.Append(buf)
	if err != nil {
		if sub != nil {
			sub.Destroy()
		}
		return nil, 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the AP-REP: %v", err)
	}
	*bp = buf
	if st.bare {
		p.Out = append(p.Out, buf[end:]...)
	} else {
		p.Out = appendGSSFramed(p.Out, tokAPRep, buf[end:])
	}
	return sub, seq, nil
}

// checkBindings applies the server's channel-binding policy to the bindings hash of the
// client's 0x8003 checksum (all zero when the client had none), against the
// BufferChannelBindings buffer the server was given.
func (cr *serverCreds) checkBindings(p *sspi.StepParams, theirs [16]byte) error {
	if cr.bindings == sspi.BindingsOff {
		return nil
	}
	ours, err := channelBindingHash(p.In)
	if err != nil {
		return err
	}
	sent, have := theirs != [16]byte{}, ours != [16]byte{}
	switch {
	case cr.bindings == sspi.BindingsRequired && !have:
		return sspi.Errorf(sspi.ErrBadBindings, "kerberos: channel bindings are required but the server was given none to check (pass a BufferChannelBindings buffer)")
	case cr.bindings == sspi.BindingsRequired && !sent:
		return sspi.Errorf(sspi.ErrBadBindings, "kerberos: the client sent no channel bindings and they are required")
	case sent && have && subtle.ConstantTimeCompare(theirs[:], ours[:]) != 1:
		return sspi.Errorf(sspi.ErrBadBindings, "kerberos: the client's channel bindings do not match")
	}
	return nil
}

// Authorization-data types of RFC 4120 5.2.6 and RFC 4537.
const (
	adIfRelevant       = 1
	adEtypeNegotiation = 129
)

// negotiatedEType returns the first AES type of an AD-ETYPE-NEGOTIATION (RFC 4537) in the
// authenticator's authorization data, inside AD-IF-RELEVANT as MIT sends it, or 0.
func negotiatedEType(ad []wire.AuthorizationData) krbcrypto.EType {
	for _, e := range ad {
		if e.Type != adIfRelevant {
			continue
		}
		inner, err := wire.ParseAuthorizationData(e.Data)
		if err != nil {
			continue
		}
		for _, in := range inner {
			if in.Type != adEtypeNegotiation {
				continue
			}
			var ets []int32
			if rest, err := asn1.Unmarshal(in.Data, &ets); err != nil || len(rest) != 0 || len(ets) > wire.MaxSequence {
				continue
			}
			for _, et := range ets {
				switch t := krbcrypto.EType(et); t {
				case krbcrypto.AES128CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.AES256CTSHMACSHA384192:
					return t
				}
			}
		}
	}
	return 0
}
