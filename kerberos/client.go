package kerberos

import (
	"fmt"
	"time"

	"github.com/gosspi/sspi"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// clientContext is the initiator's state.
type clientContext struct {
	creds  *clientCreds
	state  int // 0: send AP-REQ; 1: await AP-REP; 2: done
	spn    string
	key    types.EncryptionKey // ticket session key
	subkey types.EncryptionKey // initiator subkey
	ctime  time.Time
	cusec  int
	seq    uint64
	gflags uint32
	req    sspi.ContextReq
	expiry time.Time
	established
}

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

func (c *clientContext) sendAPReq(p *sspi.StepParams) (sspi.Status, error) {
	if p.Req&sspi.ISCReqUseDCEStyle != 0 {
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: DCE style is not supported")
	}
	spn, _, err := parseTarget(p.Target)
	if err != nil {
		return 0, err
	}
	if err := c.creds.login(); err != nil {
		return 0, err
	}
	c.creds.mu.Lock()
	tkt, key, err := c.creds.cl.GetServiceTicket(spn)
	c.creds.mu.Unlock()
	if err != nil {
		return 0, kdcError("getting a ticket for "+spn, err)
	}
	cb, err := channelBindingHash(p.In)
	if err != nil {
		return 0, err
	}
	c.gflags = gssFlags(p.Req)
	ck := gssChecksum{bindings: cb, flags: c.gflags}
	auth, err := types.NewAuthenticator(c.creds.realm, types.NewPrincipalName(1, c.creds.user))
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: making the authenticator: %v", err)
	}
	auth.Cksum = types.Checksum{CksumType: checksumType8003, Checksum: ck.marshal()}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrKDCUnknownEtype, "kerberos: session key type %d: %v", key.KeyType, err)
	}
	if c.subkey, err = newSubkey(et); err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: making a subkey: %v", err)
	}
	auth.SubKey = c.subkey
	apReq, err := messages.NewAPReq(tkt, key, auth)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: making the AP-REQ: %v", err)
	}
	if c.gflags&gssMutual != 0 {
		types.SetFlag(&apReq.APOptions, flags.APOptionMutualRequired)
	}
	der, err := apReq.Marshal()
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the AP-REQ: %v", err)
	}
	p.Out = appendGSSFramed(p.Out, tokAPReq, der)
	c.spn, c.key, c.req = spn, key, p.Req
	c.ctime, c.cusec, c.seq = auth.CTime, auth.Cusec, uint64(uint32(auth.SeqNumber))
	c.identity = sspi.Identity{Package: PackageName, User: c.creds.user, Domain: c.creds.realm, Principal: c.creds.name}
	if c.gflags&gssMutual != 0 {
		c.state = 1
		return sspi.ContinueNeeded, nil
	}
	// Without an AP-REP the acceptor's sequence numbers start at ours, as MIT does.
	c.finish(p, c.subkey, false, c.seq)
	return sspi.OK, nil
}

func (c *clientContext) finish(p *sspi.StepParams, key types.EncryptionKey, acceptorSK bool, recvSeq uint64) {
	c.setup(key, false, acceptorSK, c.gflags&(gssSequence|gssReplay) != 0, c.seq, recvSeq)
	c.state = 2
	mutual := c.gflags&gssMutual != 0
	if mutual {
		c.identity.Server = c.spn
	}
	p.Attr = c.granted(c.gflags, mutual, c.req&sspi.ISCReqConnection != 0)
	p.Expiry = c.expiry
}

func (c *clientContext) readAPRep(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: no AP-REP token given for mutual authentication")
	}
	tokID, msg, err := parseGSSFramed(in)
	if err != nil {
		return 0, malformed("AP-REP token", err)
	}
	switch tokID {
	case tokAPRep:
	case tokError:
		return 0, krbErrorToken(msg)
	default:
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: expected an AP-REP, got TOK_ID % x", tokID[:])
	}
	var rep messages.APRep
	if err := rep.Unmarshal(msg); err != nil {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the AP-REP is not the DER encoding RFC 4120 defines")
	}
	plain, err := decryptEncPart(rep.EncPart, c.key, keyusage.AP_REP_ENCPART)
	if err != nil {
		return 0, &sspi.Error{Status: sspi.ErrMutualAuthFailed, Err: bounded("kerberos: AP-REP does not decrypt with the session key: ", err)}
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: the AP-REP's encrypted part is not the DER encoding RFC 4120 defines")
	}
	if !part.CTime.Equal(c.ctime.Truncate(time.Second)) || part.Cusec != c.cusec {
		return 0, sspi.Errorf(sspi.ErrMutualAuthFailed, "kerberos: AP-REP time %v.%06d does not echo the authenticator's %v.%06d", part.CTime, part.Cusec, c.ctime, c.cusec)
	}
	key, acceptorSK := c.subkey, false
	if len(part.Subkey.KeyValue) > 0 {
		key, acceptorSK = part.Subkey, true
	}
	recv := c.seq
	if part.SequenceNumber != 0 || acceptorSK {
		recv = uint64(uint32(part.SequenceNumber))
	}
	c.finish(p, key, acceptorSK, recv)
	return sspi.OK, nil
}

// decryptEncPart decrypts with the length checks gokrb5 leaves out.
func decryptEncPart(ed types.EncryptedData, key types.EncryptionKey, usage uint32) ([]byte, error) {
	if ed.EType != key.KeyType {
		return nil, fmt.Errorf("encrypted with type %d, the key is type %d", ed.EType, key.KeyType)
	}
	et, err := crypto.GetEtype(ed.EType)
	if err != nil {
		return nil, err
	}
	if len(ed.Cipher) < et.GetConfounderByteSize()+et.GetHMACBitLength()/8 {
		return nil, fmt.Errorf("ciphertext of %d bytes is too short", len(ed.Cipher))
	}
	return crypto.DecryptEncPart(ed, key, usage)
}
