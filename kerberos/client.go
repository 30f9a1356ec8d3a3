package kerberos

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// ticketSource gives the initiator a service ticket to put in its AP-REQ, for a target
// "service/host" or "service/host@REALM": the Ticket's DER as the KDC sent it and the
// ticket's session key. Implementations cache what they
// can and are safe for concurrent use; the key they return is shared and read-only.
type ticketSource interface {
	serviceTicket(ctx context.Context, spn string) (ticketDER []byte, sessionKey *krbcrypto.Key, end time.Time, err error)
}

// clientContext is the initiator's state.
type clientContext struct {
	creds *clientCreds
	state int // 0: send AP-REQ; 1: await AP-REP; 2: done
	spn   string
	key   *krbcrypto.Key // the ticket's session key (shared with the ticket source)
	// rnd is the AP-REQ's randomness: the initiator subkey's bytes, the sequence number,
	// the confounder. The subkey stays here until the AP-REP says which key protects
	// messages: most acceptors send a subkey of their own, and the initiator's then
	// needs no Key.
	rnd    [rndSize]byte
	ctime  int64 // the authenticator's time, whole seconds since 1970
	end    int64 // the ticket's end time, seconds since 1970: the context's expiry
	cusec  int32
	seq    uint64
	gflags uint32
	req    sspi.ContextReq
	ck     [24]byte
	established
}

// The parts of clientContext.rnd.
const (
	rndSeq     = 32 // after the largest subkey
	rndConf    = rndSeq + 4
	rndSize    = rndConf + 16
	apReqExtra = 96 // an AP-REQ's DER around its ticket and authenticator, at most
)

func (c *clientContext) Step(p *sspi.StepParams) (sspi.Status, error) {
	switch c.state {
	case 0:
		return c.sendAPReq(p)
	case 1:
		return c.readAPRep(p)
	}
	return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the handshake is over")
}

// gssFlags turns ISC request bits into the GSS flags of the 0x8003 checksum.
func gssFlags(req sspi.ContextReq) uint32 {
	f := uint32(gssInteg)
	if req&sspi.ISCReqMutualAuth != 0 {
		f |= gssMutual
	}
	if req&sspi.ISCReqReplayDetect != 0 {
		f |= gssReplay
	}
	if req&sspi.ISCReqSequenceDetect != 0 {
		f |= gssSequence
	}
	if req&sspi.ISCReqConfidentiality != 0 {
		f |= gssConf
	}
	return f
}

func channelBindingHash(in []sspi.Buffer) ([16]byte, error) {
	var h [16]byte
	if b := sspi.FindBuffer(in, sspi.BufferChannelBindings); b != nil && len(b.Data) > 0 {
		cb, err := sspi.ParseChannelBindings(b.Data)
		if err != nil {
			return h, err
		}
		h = cb.Hash()
	}
	return h, nil
}

// sendAPReq builds the AP-REQ (RFC 4120 3.2.2) around the ticket: an authenticator with
// the 0x8003 checksum of RFC 4121 4.1.1, a fresh subkey and sequence number, sealed with
// the ticket's session key.
func (c *clientContext) sendAPReq(p *sspi.StepParams) (sspi.Status, error) {
	spn, realm, err := parseTarget(p.Target)
	if err != nil {
		return 0, err
	}
	ctx := p.Context
	if ctx == nil {
		ctx = context.Background()
	}
	name := spn
	if realm != "" {
		name = spn + "@" + realm
	}
	tkt, key, end, err := c.creds.tickets.serviceTicket(ctx, name)
	if err != nil {
		return 0, err
	}
	c.end = end.Unix()
	cb, err := channelBindingHash(p.In)
	if err != nil {
		return 0, err
	}
	c.gflags = gssFlags(p.Req)
	if p.Req&sspi.ISCReqUseDCEStyle != 0 {
		c.gflags |= gssDCEStyle | gssMutual // DCE style implies mutual authentication
		c.dceStyle = true
	}
	ck := gssChecksum{bindings: cb, flags: c.gflags}
	ckValue := ck.put(&c.ck)
	if p.Req&sspi.ISCReqDelegate != 0 {
		if ckValue, err = c.delegate(ctx, name, key, &ck); err != nil {
			return 0, err
		}
	}

	et := key.EType()
	rnd := &c.rnd
	if _, err := rand.Read(rnd[:]); err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: no randomness for the subkey: %v", err)
	}
	sent := false
	defer func() {
		if sent {
			clear(rnd[rndSeq:]) // the subkey waits for the AP-REP
		} else {
			clear(rnd[:])
		}
	}()
	now := time.Now().UTC()
	c.ctime, c.cusec = now.Unix(), int32(now.Nanosecond()/1000)
	c.seq = uint64(binary.BigEndian.Uint32(rnd[rndSeq:]) & 0x3fffffff)
	auth := wire.Authenticator{
		CRealm: c.creds.realm, CName: c.creds.cname,
		Checksum: &wire.Checksum{Type: checksumType8003, Value: ckValue},
		CTime:    time.Unix(c.ctime, 0).UTC(), CUsec: c.cusec,
		SubKey:    &wire.EncryptionKey{Type: int32(et), Value: rnd[:et.KeySize()]},
		SeqNumber: uint32(c.seq), HasSeq: true,
	}
	// The AP-REQ is written into the output token.
	sealed, err := sealAuthenticator(key, &auth, authenticatorBound(c.creds, len(ckValue), et.KeySize()), rnd[rndConf:rndConf+et.ConfounderSize()])
	if err != nil {
		return 0, err
	}
	req := wire.APReq{Ticket: wire.Ticket{Raw: tkt}, Authenticator: wire.EncryptedData{EType: int32(et), Cipher: sealed}}
	if c.gflags&gssMutual != 0 {
		req.Options |= wire.APOptionMutualRequired
	}
	if p.Out, err = appendAPReq(p.Out, &req, !c.dceStyle); err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the AP-REQ: %v", err)
	}
	sent = true
	c.spn, c.key, c.req = spn, key, p.Req
	c.identity = sspi.Identity{Package: PackageName, User: c.creds.user, Domain: c.creds.realm, Principal: c.creds.name}
	if c.gflags&gssMutual != 0 {
		c.state = 1
		return sspi.ContinueNeeded, nil
	}
	// Without an AP-REP the acceptor's sequence numbers start at ours, as MIT does.
	sub, err := c.initiatorSubkey()
	if err != nil {
		return 0, err
	}
	c.finish(p, sub, false, c.seq)
	return sspi.OK, nil
}

// sealAuthenticator encodes auth, at most bound bytes, after room for the confounder
// (and RC4's leading checksum) and seals it where it lies (RFC 3961's layout: the
// ciphertext is the whole buffer), so that no copy of its plaintext, which holds the
// subkey, is left behind.
func sealAuthenticator(key *krbcrypto.Key, auth *wire.Authenticator, bound int, conf []byte) ([]byte, error) {
	et := key.EType()
	lead, mac := len(conf), et.MACSize()
	if et == krbcrypto.RC4HMAC {
		lead += mac
	}
	orig := make([]byte, lead, lead+bound+mac)
	copy(orig[lead-len(conf):], conf)
	buf, err := auth.Append(orig)
	if len(buf) == 0 || &buf[0] != &orig[0] {
		clear(orig[:cap(orig)]) // a partial plaintext the encoder left behind
	}
	if err == nil && cap(buf)-len(buf) < mac {
		// The bound was short: grow now, as sealing must not move the buffer.
		grown := slices.Grow(buf, mac)
		clear(buf)
		buf = grown
	}
	if err != nil {
		clear(buf)
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the authenticator: %v", err)
	}
	uk := key.Usage(usageAuthenticator)
	body := buf[lead-len(conf):]
	if et == krbcrypto.RC4HMAC {
		_, err = uk.SealParts(buf[:0], body) // the checksum goes in front
	} else {
		buf, err = uk.SealParts(buf, body)
	}
	if err != nil {
		clear(buf)
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: sealing the authenticator: %v", err)
	}
	return buf, nil
}

// authenticatorBound is at least the length of the authenticator sendAPReq encodes, with
// a checksum value of ck bytes and a subkey of ks: its fields' DER overhead (tags and
// lengths of at most 4 bytes, a 15-character time, 32-bit numbers) and the variable
// parts.
func authenticatorBound(cr *clientCreds, ck, ks int) int {
	n := 128 + len(cr.realm) + ck + ks
	for _, s := range cr.cname.Components {
		n += 4 + len(s)
	}
	return n
}

// appendAPReq appends req's encoding to dst, framed as a GSS initial context token (RFC
// 2743 3.1) unless bare (DCE style), growing dst once at most: the AP-REQ is encoded
// after room for the longest framing header, which then moves up to meet it.
func appendAPReq(dst []byte, req *wire.APReq, framed bool) ([]byte, error) {
	start, room := len(dst), 0
	if framed {
		room = gssHeaderMax
	}
	dst = slices.Grow(dst, room+len(req.Ticket.Raw)+len(req.Authenticator.Cipher)+apReqExtra)
	out, err := req.Append(dst[:start+room])
	if err != nil || !framed {
		return out, err
	}
	msg := len(out) - start - room
	var h [gssHeaderMax]byte
	hdr := appendGSSHeader(h[:0], tokAPReq, msg)
	copy(out[start+len(hdr):], out[start+room:])
	copy(out[start:], hdr)
	return out[:start+len(hdr)+msg], nil
}

// initiatorSubkey makes the initiator subkey the AP-REQ carried, for the messages of a
// context whose acceptor chose none, and zeroes its bytes in rnd.
func (c *clientContext) initiatorSubkey() (*krbcrypto.Key, error) {
	et := c.key.EType()
	k, err := krbcrypto.RandomToKey(et, c.rnd[:et.KeySize()])
	clear(c.rnd[:])
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: making a subkey: %v", err)
	}
	return k, nil
}

// Close zeroes the keys, the initiator subkey's bytes too when the handshake did not end.
func (c *clientContext) Close() error {
	clear(c.rnd[:])
	return c.established.Close()
}

func (c *clientContext) finish(p *sspi.StepParams, key *krbcrypto.Key, acceptorSK bool, recvSeq uint64) {
	c.setup(key, false, acceptorSK, c.gflags&(gssSequence|gssReplay) != 0, c.seq, recvSeq)
	c.state = 2
	mutual := c.gflags&gssMutual != 0
	if mutual {
		c.identity.Server = c.spn
	}
	p.Attr = c.granted(c.gflags, mutual, c.req&sspi.ISCReqConnection != 0)
	if c.gflags&gssDeleg != 0 {
		p.Attr |= sspi.ISCRetDelegate
	}
	p.Expiry = time.Unix(c.end, 0).UTC() // the ticket's end, as Windows reports it
}

// readAPRep verifies the acceptor's AP-REP (RFC 4120 3.2.5): it decrypts with the ticket's
// session key and echoes the authenticator's time; its subkey, when there is one, protects
// the messages.
func (c *clientContext) readAPRep(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: no AP-REP token given for mutual authentication")
	}
	tokID, msg, err := parseGSSFramed(in)
	if c.dceStyle {
		// DCE style's AP-REP (or KRB-ERROR) comes bare.
		tokID, msg = bareMessage(in)
		err = nil
	}
	if err != nil {
		return 0, malformed("AP-REP token", err)
	}
	switch tokID {
	case tokAPRep:
	case tokError:
		return 0, krbErrorToken(msg)
	default:
		id := tokID // a copy that only this path moves to the heap
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: expected an AP-REP, got TOK_ID % x", id[:])
	}
	var rep wire.APRep
	if err := rep.Unmarshal(msg); err != nil {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the AP-REP is not the DER encoding RFC 4120 defines: %v", err)
	}
	if rep.EncPart.EType != int32(c.key.EType()) {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the AP-REP is encrypted with type %d, the session key is type %d", rep.EncPart.EType, int32(c.key.EType()))
	}
	plain, err := c.key.Usage(usageAPRepPart).Open(nil, rep.EncPart.Cipher)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the AP-REP does not decrypt with the session key: %v", err)
	}
	defer clear(plain)
	var part wire.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the AP-REP's encrypted part is not the DER encoding RFC 4120 defines: %v", err)
	}
	if ctime := time.Unix(c.ctime, 0).UTC(); !part.CTime.Equal(ctime) || part.CUsec != c.cusec {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: AP-REP time %v.%06d does not echo the authenticator's %v.%06d", part.CTime, part.CUsec, ctime, c.cusec)
	}
	key, acceptorSK, err := c.messageKey(part.SubKey)
	if err != nil {
		return 0, err
	}
	recv := c.seq
	if part.HasSeq || acceptorSK {
		recv = uint64(part.SeqNumber)
	}
	if c.dceStyle {
		if err := c.dceReply(p, part.SeqNumber); err != nil {
			return 0, err
		}
	}
	c.finish(p, key, acceptorSK, recv)
	return sspi.OK, nil
}

// messageKey is the key that protects the context's messages once the AP-REP carried
// sk: the acceptor's subkey, when there is one to use, else the initiator's.
func (c *clientContext) messageKey(sk *wire.EncryptionKey) (key *krbcrypto.Key, acceptorSK bool, err error) {
	// An acceptor subkey of our RC4 subkey's own type is not used outside DCE style, as
	// MIT and Windows do; one of another type (AES) is, and moves to RFC 4121 tokens.
	sameRC4 := c.key.EType() == krbcrypto.RC4HMAC && sk != nil && sk.Type == int32(krbcrypto.RC4HMAC)
	if sk == nil || len(sk.Value) == 0 || (sameRC4 && !c.dceStyle) {
		key, err = c.initiatorSubkey()
		return key, false, err
	}
	et := krbcrypto.EType(sk.Type)
	if !et.Supported() {
		return nil, false, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the acceptor's subkey has encryption type %d, which this package does not implement", sk.Type)
	}
	if key, err = krbcrypto.NewKey(et, sk.Value); err != nil {
		return nil, false, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the acceptor's subkey: %v", err)
	}
	clear(c.rnd[:]) // our subkey is not used
	return key, true, nil
}
