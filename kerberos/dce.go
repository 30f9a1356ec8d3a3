package kerberos

import (
	"crypto/rand"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// DCE style (ISC_REQ_USE_DCE_STYLE, GSS_C_DCE_STYLE; MS-KILE 3.4.5.1, and as MIT and
// Heimdal implement it) is what DCE/RPC's Kerberos binding uses: three legs, AP-REQ,
// AP-REP, AP-REP, every token a bare Kerberos message without the RFC 2743 framing.
//   - The initiator puts GSS_C_DCE_STYLE (and mutual authentication, which DCE style
//     implies) in the 0x8003 checksum and sends the AP-REQ bare. An acceptor takes a bare
//     AP-REQ only with that flag, and a framed one only without it (as MIT does), so a
//     token cannot be moved between the two styles.
//   - The acceptor always answers with an AP-REP carrying an acceptor subkey (RC4 too)
//     and its sequence number, and waits for a third token.
//   - The initiator checks that AP-REP as usual, takes the acceptor subkey whatever its
//     type, and answers with an AP-REP of its own: EncAPRepPart sealed with the ticket's
//     session key, its own time, no subkey, and the acceptor's sequence number echoed.
//     The acceptor checks the echo and that there is no subkey (its own AP-REP reflected
//     back has one), then the context is established.
// Sequence numbers then run as outside DCE style: each side starts from the one it sent.
// Delegation too: the KRB-CRED rides in the first leg's checksum, and the acceptor opens
// it there, but reports ASC_RET_DELEGATE (and hands the TGT out) only with the context
// the third leg establishes.
// Sealed messages use Windows' layout (EC = 16, RRC = 28; internal/krb5/gss), which DCE
// peers (Windows, and MIT's and Heimdal's gss_unwrap_iov) read.

// gssDCEStyle is GSS_C_DCE_STYLE in the 0x8003 checksum's flags.
const gssDCEStyle = 0x1000

// bareMessage returns the Kerberos message of a DCE-style token (no framing), as a
// TOK_ID for the callers that switch on it.
func bareMessage(in []byte) (tokID [2]byte, msg []byte) {
	switch wire.MessageType(in) {
	case wire.MsgAPReq:
		return tokAPReq, in
	case wire.MsgAPRep:
		return tokAPRep, in
	case wire.MsgKRBError:
		return tokError, in
	}
	return [2]byte{}, in
}

// dceReply is the initiator's third leg: an AP-REP whose encrypted part echoes the
// acceptor's sequence number, without a subkey, sealed with the ticket's session key.
func (c *clientContext) dceReply(p *sspi.StepParams, acceptorSeq uint32) error {
	now := time.Now().UTC()
	part := wire.EncAPRepPart{CTime: now.Truncate(time.Second), CUsec: int32(now.Nanosecond() / 1000), SeqNumber: acceptorSeq, HasSeq: true}
	plain, err := part.Marshal()
	if err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the DCE-style AP-REP: %v", err)
	}
	defer clear(plain)
	var conf [16]byte
	rand.Read(conf[:])
	sealed, err := c.key.Usage(usageAPRepPart).Seal(nil, plain, conf[:c.key.EType().ConfounderSize()])
	if err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "kerberos: sealing the DCE-style AP-REP: %v", err)
	}
	rep := wire.APRep{EncPart: wire.EncryptedData{EType: int32(c.key.EType()), Cipher: sealed}}
	if p.Out, err = rep.Append(p.Out); err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the DCE-style AP-REP: %v", err)
	}
	return nil
}

// dceWait is what the acceptor keeps between its AP-REP and the initiator's DCE-style
// answer: the ticket's session key, the sequence number it sent, and the attributes it
// grants once the answer checks out.
type dceWait struct {
	session *krbcrypto.Key
	seq     uint32
	attr    sspi.ContextAttr
	expiry  time.Time
}

// checkDCEFraming refuses a bare AP-REQ without GSS_C_DCE_STYLE in its checksum, and a
// framed one with it.
func checkDCEFraming(st *acceptState) error {
	dce := st.ck.flags&gssDCEStyle != 0
	switch {
	case st.bare && !dce:
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the AP-REQ came without GSS framing but its checksum does not ask for DCE style")
	case !st.bare && dce:
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the AP-REQ asks for DCE style but came in GSS framing; DCE style sends it bare")
	}
	return nil
}

// waitDCE holds the established context back until the initiator's AP-REP.
func (s *serverContext) waitDCE(p *sspi.StepParams, st *acceptState, sendSeq uint64) (sspi.Status, error) {
	key, err := krbcrypto.NewKey(st.session.EType(), st.session.Bytes())
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: keeping the session key: %v", err)
	}
	s.dce = &dceWait{session: key, seq: uint32(sendSeq), attr: p.Attr, expiry: p.Expiry}
	s.done = false
	p.Attr, p.Expiry = 0, time.Time{}
	return sspi.ContinueNeeded, nil
}

// readDCEReply checks the initiator's DCE-style AP-REP and completes the context.
func (s *serverContext) readDCEReply(p *sspi.StepParams) (sspi.Status, error) {
	w := s.dce
	in := p.InputToken()
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: no token given for the third leg of DCE style (the client's AP-REP)")
	}
	if wire.MessageType(in) != wire.MsgAPRep {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the third leg of DCE style is not a bare AP-REP")
	}
	var rep wire.APRep
	if err := rep.Unmarshal(in); err != nil {
		return 0, malformed("DCE-style AP-REP", err)
	}
	if rep.EncPart.EType != int32(w.session.EType()) {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the client's AP-REP is encrypted with type %d, the session key is type %d", rep.EncPart.EType, int32(w.session.EType()))
	}
	plain, err := w.session.Usage(usageAPRepPart).Open(nil, rep.EncPart.Cipher)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the client's AP-REP does not decrypt with the session key: %v", err)
	}
	defer clear(plain)
	var part wire.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return 0, malformed("DCE-style AP-REP's encrypted part", err)
	}
	if part.SubKey != nil {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the client's AP-REP carries a subkey: it is not the client's answer (our own AP-REP reflected?)")
	}
	if !part.HasSeq || part.SeqNumber != w.seq {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the client's AP-REP does not echo our sequence number")
	}
	w.session.Destroy()
	s.dce = nil
	s.done = true
	p.Attr, p.Expiry = w.attr, w.expiry
	return sspi.OK, nil
}

// signOnlyMask marks the data buffers of msg that are protected but not encrypted
// (SECBUFFER_READONLY_WITH_CHECKSUM, as DCE/RPC passes its PDU header and security
// trailer): bit i for the i-th data buffer. A data buffer that is read-only without the
// checksum bit (neither encrypted nor protected, on Windows) is refused.
func signOnlyMask(msg []sspi.Buffer) (uint64, error) {
	var mask uint64
	n := 0
	for _, b := range msg {
		if b.Type.Base() != sspi.BufferData {
			continue
		}
		switch {
		case b.Type&sspi.BufferReadOnlyWithChecksum != 0:
			if n >= 62 {
				return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: more than 62 data buffers in one message")
			}
			mask |= 1 << n
		case b.Type&sspi.BufferReadOnly != 0:
			return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: read-only data buffers without SECBUFFER_READONLY_WITH_CHECKSUM are not supported; mark them with the checksum bit to have them signed")
		}
		n++
	}
	return mask, nil
}
