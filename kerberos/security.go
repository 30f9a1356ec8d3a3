package kerberos

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/gss"
)

// established is what both sides hold once the handshake is done: the key that protects
// messages, its RFC 4121 (AES) or RFC 4757 (RC4) token state, and the sequence numbers,
// which the token code leaves to its caller.
type established struct {
	done     bool
	key      *krbcrypto.Key // the session key: SessionKey copies it only when asked
	cfx      *gss.CFX       // AES keys: nil, or cfxState
	cfxState gss.CFX        // held here: one allocation fewer per session
	rc4      *gss.RC4       // rc4-hmac keys
	secErr   error          // why neither is set
	identity sspi.Identity

	acceptor   bool // this side is the acceptor
	dceStyle   bool // DCE style: sealed tokens in Windows' layout (dce.go)
	acceptorSK bool // the acceptor sent a subkey
	seqCheck   bool // replay or sequence detection was asked for: check strictly
	sendSeq    uint64
	recvSeq    uint64

	// Per-call scratch, so that message calls with the caller's buffers allocate nothing;
	// the core calls a context from one goroutine at a time.
	conf    [16]byte
	parts   [8][]byte
	scratch []byte
}

// setup records the chosen key; the message-protection state (four derived usages) is
// made on the first message call, so a handshake whose context never protects a message
// does not pay for it.
func (e *established) setup(key *krbcrypto.Key, acceptor, acceptorSK, seqCheck bool, sendSeq, recvSeq uint64) {
	e.done = true
	e.key = key
	e.acceptor, e.acceptorSK, e.seqCheck = acceptor, acceptorSK, seqCheck
	e.sendSeq, e.recvSeq = sendSeq, recvSeq
	if !protectable(key.EType()) {
		e.secErr = sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: encryption type %d has no message protection here (only AES and RC4)", int32(key.EType()))
	}
}

func protectable(et krbcrypto.EType) bool {
	switch et {
	case krbcrypto.AES128CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.AES256CTSHMACSHA384192, krbcrypto.RC4HMAC:
		return true
	}
	return false
}

// protection makes the RFC 4121 (AES) or RFC 4757 (RC4) state on first use.
func (e *established) protection() error {
	if e.cfx != nil || e.rc4 != nil {
		return nil
	}
	if e.secErr != nil {
		return e.secErr
	}
	var err error
	if e.key.EType() == krbcrypto.RC4HMAC {
		e.rc4, err = gss.NewRC4(e.key, e.acceptor)
	} else if err = e.cfxState.Init(e.key, e.acceptor, e.acceptorSK); err == nil {
		e.cfx = &e.cfxState
	}
	if err != nil {
		e.cfx, e.rc4 = nil, nil
		e.secErr = sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: %v", err)
	}
	return e.secErr
}

func (e *established) protects() bool { return e.done && e.key != nil && protectable(e.key.EType()) }

func (e *established) ready() error {
	if !e.done {
		return sspi.Errorf(sspi.ErrNoContext, "kerberos: the handshake has not completed")
	}
	return e.protection()
}

// rc4TrailerSize is the largest token buffer of an RC4 Wrap: framing with a four-byte DER
// length, the OID and the 32-byte header.
const rc4TrailerSize = 6 + 11 + 32

// Sizes reports SecPkgContext_Sizes: MaxSignature is a MIC token, SecurityTrailer the
// EncryptMessage token buffer (60 bytes for aes-sha1).
func (e *established) Sizes() sspi.Sizes {
	s := sspi.Sizes{MaxToken: MaxToken, MaxSignature: 28, BlockSize: 1, SecurityTrailer: 60}
	if e.done {
		_ = e.protection()
	}
	switch {
	case e.cfx != nil:
		s.MaxSignature = e.cfx.MICSize()
		s.SecurityTrailer = e.cfx.SSPITokenSize(true, e.dceStyle)
	case e.rc4 != nil:
		s.MaxSignature = e.rc4.MICSize()
		s.SecurityTrailer = rc4TrailerSize
	}
	return s
}

// SessionKey returns a copy of the context's session key: the key that protects messages
// (the acceptor subkey, else the initiator subkey, else the ticket's session key), as
// MIT's GSS_C_INQ_SSPI_SESSION_KEY and Windows' SECPKG_ATTR_SESSION_KEY report it.
func (e *established) SessionKey() ([]byte, error) {
	if !e.done {
		return nil, sspi.Errorf(sspi.ErrNoContext, "kerberos: no session key before the handshake completes")
	}
	return e.key.Bytes(), nil
}

// Identity reports who authenticated.
func (e *established) Identity() sspi.Identity { return e.identity }

// Close zeroes the keys.
func (e *established) Close() error {
	clear(e.scratch)
	if e.key != nil {
		e.key.Destroy()
	}
	e.cfx, e.rc4, e.done = nil, nil, false
	e.cfxState = gss.CFX{}
	return nil
}

// errSeq is the cause of ErrOutOfSequence.
var errSeq = errors.New("kerberos: the sequence number is not the one expected")

// mapSecErr gives the token code's errors their SSPI status.
func mapSecErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gss.ErrBadMIC):
		return &sspi.Error{Status: sspi.ErrMessageAltered, Err: fmt.Errorf("kerberos: %w", err)}
	case errors.Is(err, errSeq):
		return &sspi.Error{Status: sspi.ErrOutOfSequence, Err: err}
	case errors.Is(err, gss.ErrBufferTooSmall):
		return &sspi.Error{Status: sspi.ErrBufferTooSmall, Err: fmt.Errorf("kerberos: %w", err)}
	case errors.Is(err, gss.ErrMalformed), errors.Is(err, gss.ErrDirection), errors.Is(err, gss.ErrSubkey),
		errors.Is(err, gss.ErrLayout), errors.Is(err, gss.ErrTooManyBuffers):
		return &sspi.Error{Status: sspi.ErrInvalidToken, Err: fmt.Errorf("kerberos: %w", err)}
	}
	var se *sspi.Error
	if errors.As(err, &se) {
		return err
	}
	return &sspi.Error{Status: sspi.ErrInternalError, Err: err}
}

func (e *established) nextSend() uint64 {
	s := e.sendSeq
	e.sendSeq++
	return s
}

// checkSeq applies the sequence policy to a received token's number (RC4's are 32 bits).
func (e *established) checkSeq(seq uint64) error {
	want := e.recvSeq
	if e.rc4 != nil {
		want = uint64(uint32(want))
	}
	if e.seqCheck && seq != want {
		return fmt.Errorf("%w: got %d, want %d", errSeq, seq, want)
	}
	e.recvSeq = seq + 1
	return nil
}

// split finds msg's data buffers (on e.parts when they fit), its first token buffer and
// its first padding buffer.
func (e *established) split(msg []sspi.Buffer) (data [][]byte, idx int, tok, pad *sspi.Buffer, err error) {
	data = e.parts[:0]
	for i := range msg {
		switch msg[i].Type.Base() {
		case sspi.BufferData:
			if len(data) == 0 {
				idx = i
			}
			data = append(data, msg[i].Data)
		case sspi.BufferToken:
			if tok == nil {
				tok = &msg[i]
			}
		case sspi.BufferPadding:
			if pad == nil {
				pad = &msg[i]
			}
		}
	}
	if tok == nil {
		return nil, 0, nil, nil, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the message has no BufferToken buffer")
	}
	return data, idx, tok, pad, nil
}

// MakeSignature writes a MIC token over msg's data buffers into its token buffer.
func (e *established) MakeSignature(qop uint32, msg []sspi.Buffer, _ uint32) error {
	if err := e.ready(); err != nil {
		return err
	}
	if qop != 0 {
		return sspi.Errorf(sspi.ErrQOPNotSupported, "kerberos: quality of protection %#x is not supported for signing", qop)
	}
	data, _, tok, _, err := e.split(msg)
	if err != nil {
		return err
	}
	need := e.Sizes().MaxSignature
	if len(tok.Data) < need {
		return sspi.Errorf(sspi.ErrBufferTooSmall, "kerberos: the signature buffer holds %d bytes, the MIC needs %d", len(tok.Data), need)
	}
	if e.cfx != nil {
		tok.Data = e.cfx.AppendMIC(tok.Data[:0], e.nextSend(), data...)
	} else {
		tok.Data = e.rc4.AppendMIC(tok.Data[:0], uint32(e.nextSend()), data...)
	}
	return nil
}

// VerifySignature checks the MIC token in msg's token buffer.
func (e *established) VerifySignature(msg []sspi.Buffer, _ uint32) (uint32, error) {
	if err := e.ready(); err != nil {
		return 0, err
	}
	data, _, tok, _, err := e.split(msg)
	if err != nil {
		return 0, err
	}
	return 0, mapSecErr(e.verifyMIC(tok.Data, data...))
}

func (e *established) verifyMIC(tok []byte, data ...[]byte) error {
	var seq uint64
	if e.cfx != nil {
		s, err := e.cfx.VerifyMIC(tok, data...)
		if err != nil {
			return err
		}
		seq = s
	} else {
		s, err := e.rc4.VerifyMIC(tok, data...)
		if err != nil {
			return err
		}
		seq = uint64(s)
	}
	return e.checkSeq(seq)
}

// EncryptMessage seals msg's data buffers in place and writes the rest of the Wrap token
// into its token buffer (see the package doc for the layout). QOPWrapNoEncrypt makes an
// integrity-only Wrap token.
func (e *established) EncryptMessage(qop uint32, msg []sspi.Buffer, _ uint32) error {
	if err := e.ready(); err != nil {
		return err
	}
	if qop != 0 && qop != sspi.QOPWrapNoEncrypt {
		return sspi.Errorf(sspi.ErrQOPNotSupported, "kerberos: quality of protection %#x is not supported", qop)
	}
	data, idx, tok, pad, err := e.split(msg)
	if err != nil {
		return err
	}
	signOnly, err := signOnlyMask(msg[idx:])
	if err != nil {
		return err
	}
	opt := gss.WrapOptions{Seal: qop == 0, Windows: e.dceStyle, SignOnly: signOnly}
	if e.cfx != nil {
		if need := e.cfx.SSPITokenSize(opt.Seal, opt.Windows); len(tok.Data) < need {
			return sspi.Errorf(sspi.ErrBufferTooSmall, "kerberos: the token buffer holds %d bytes, the Wrap token needs %d", len(tok.Data), need)
		}
		conf := e.conf[:e.key.EType().ConfounderSize()]
		rand.Read(conf)
		n, err := e.cfx.WrapSSPI(tok.Data, data, e.nextSend(), opt, conf)
		if err != nil {
			return mapSecErr(err)
		}
		tok.Data = tok.Data[:n]
		if pad != nil {
			pad.Data = pad.Data[:0]
		}
		return nil
	}
	return e.wrapRC4(tok, pad, data, opt)
}

// wrapRC4 makes an RFC 4757 Wrap token split as Windows' EncryptMessage splits it: the
// framing and the 32-byte header in the token buffer, the data encrypted in place. With a
// padding buffer the pad byte goes there and the framing's length covers the whole token,
// so token, data and padding joined are the token gss_wrap makes; without one there is no
// pad and the framing covers the header alone, as in DCE style.
func (e *established) wrapRC4(tok, pad *sspi.Buffer, data [][]byte, opt gss.WrapOptions) error {
	const hdr = 32
	// A DCE-style context always sends DCE's token, as Windows and Heimdal do there.
	dce := e.dceStyle || pad == nil || len(pad.Data) == 0
	if dce && pad != nil {
		pad.Data = pad.Data[:0]
	}
	n := 0
	for _, d := range data {
		n += len(d)
	}
	inner := hdr
	if !dce {
		inner += n + 1
	}
	framing := framingLen(inner)
	if len(tok.Data) < max(framing+hdr, e.rc4.SSPITokenSize()) {
		return sspi.Errorf(sspi.ErrBufferTooSmall, "kerberos: the token buffer holds %d bytes, the Wrap token needs %d", len(tok.Data), framing+hdr)
	}
	if !dce {
		pad.Data = pad.Data[:1]
		pad.Data[0] = 1
		data = append(data, pad.Data)
	}
	rand.Read(e.conf[:8])
	k, err := e.rc4.WrapSSPI(tok.Data, data, uint32(e.nextSend()), opt, e.conf[:8])
	if err != nil {
		return mapSecErr(err)
	}
	if !dce {
		// Reframe: the header moves to follow a framing whose length covers it all.
		copy(tok.Data[framing:], tok.Data[k-hdr:k])
		appendGSSFraming(tok.Data[:0], inner)
	}
	tok.Data = tok.Data[:framing+hdr]
	return nil
}

// DecryptMessage checks and unseals a Wrap token split over msg's token buffer and data
// buffers, and returns QOPWrapNoEncrypt for an integrity-only one.
func (e *established) DecryptMessage(msg []sspi.Buffer, _ uint32) (uint32, error) {
	if err := e.ready(); err != nil {
		return 0, err
	}
	data, idx, tok, pad, err := e.split(msg)
	if err != nil {
		return 0, err
	}
	signOnly, err := signOnlyMask(msg[idx:])
	if err != nil {
		return 0, err
	}
	var seq uint64
	var sealed bool
	if e.cfx != nil {
		seq, sealed, err = e.cfx.UnwrapSSPI(tok.Data, data, signOnly)
	} else {
		// The pad is in the padding buffer when the sender had one (Windows' layout).
		last := lastData(msg)
		if pad != nil && len(pad.Data) > 0 {
			data, last = append(data, pad.Data), pad
		}
		var s uint32
		s, sealed, err = e.rc4.UnwrapSSPI(tok.Data, data, signOnly)
		seq = uint64(s)
		if pad != nil && len(pad.Data) > 0 {
			data = data[:len(data)-1]
		}
		if errors.Is(err, gss.ErrMalformed) {
			// Not split at the header (UnwrapSSPI touched nothing): try the joined token.
			err = gss.ErrLayout
		} else if err == nil {
			err = stripRC4Pad(tok.Data, last)
		}
	}
	if errors.Is(err, gss.ErrLayout) && signOnly != 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the token buffer does not hold the whole Wrap header and trailer, which sign-only data buffers need")
	}
	if errors.Is(err, gss.ErrLayout) {
		// Split elsewhere than at the trailer (gss_wrap's own layout cut at
		// SecurityTrailer): join the pieces and unwrap the whole token.
		seq, sealed, err = e.unwrapJoined(msg, idx, tok.Data, data)
	}
	if err != nil {
		return 0, mapSecErr(err)
	}
	if err := e.checkSeq(seq); err != nil {
		return 0, mapSecErr(err)
	}
	if !sealed {
		return sspi.QOPWrapNoEncrypt, nil
	}
	return 0, nil
}

// rc4HeaderOnly reports whether tok is an RC4 Wrap token whose framing covers the
// 32-byte header alone (DCE style), followed by data, and where the header ends.
func rc4HeaderOnly(tok []byte) (end int, ok bool) {
	hdr, n, err := parseFramingLen(tok)
	if err != nil || n != len(oidKRB5)+32 || len(tok) < hdr+n {
		return 0, false
	}
	return hdr + n, true
}

// lastData is msg's last data buffer, or nil.
func lastData(msg []sspi.Buffer) *sspi.Buffer {
	for i := len(msg) - 1; i >= 0; i-- {
		if msg[i].Type.Base() == sspi.BufferData {
			return &msg[i]
		}
	}
	return nil
}

// stripRC4Pad removes the pad of an RC4 token whose framing covers the data (gss_wrap's)
// from last, the buffer that ends the token: the last byte says how many, all of that
// value.
func stripRC4Pad(tok []byte, last *sspi.Buffer) error {
	// UnwrapSSPI checked that the framing covers the header alone (DCE style, no pad) or
	// the header and the data; parseFramingLen refuses lengths past 1 MiB, never 43.
	if _, inner, err := parseFramingLen(tok); (err == nil && inner == len(oidKRB5)+32) || last == nil {
		return nil
	}
	b := last.Data
	if len(b) == 0 {
		return gss.ErrMalformed
	}
	p := int(b[len(b)-1])
	if p < 1 || p > 8 || p > len(b) {
		return gss.ErrMalformed
	}
	for _, c := range b[len(b)-p:] {
		if int(c) != p {
			return gss.ErrMalformed
		}
	}
	last.Data = b[:len(b)-p]
	return nil
}

// unwrapJoined unwraps the token made of tok and the data buffers joined, then puts the
// plaintext back into the data buffers: in place when it fits, otherwise the single data
// buffer's slice is replaced by a copy.
func (e *established) unwrapJoined(msg []sspi.Buffer, idx int, tok []byte, data [][]byte) (uint64, bool, error) {
	e.scratch = append(e.scratch[:0], tok...)
	total := 0
	for _, d := range data {
		e.scratch = append(e.scratch, d...)
		total += len(d)
	}
	var pt []byte
	var seq uint64
	var sealed bool
	var err error
	if e.cfx != nil {
		pt, seq, sealed, err = e.cfx.UnwrapInPlace(e.scratch)
	} else if at, ok := rc4HeaderOnly(e.scratch); ok {
		// DCE style's token: the framing covers the header alone, the data follows
		// without a pad.
		var s uint32
		body := [1][]byte{e.scratch[at:]}
		s, sealed, err = e.rc4.UnwrapSSPI(e.scratch[:at], body[:], 0)
		pt, seq = body[0], uint64(s)
	} else {
		var s uint32
		pt, s, sealed, err = e.rc4.UnwrapInPlace(e.scratch)
		seq = uint64(s)
	}
	if err != nil {
		return 0, false, err
	}
	defer clear(e.scratch)
	switch {
	case total == len(pt):
		rest := pt
		for _, d := range data {
			rest = rest[copy(d, rest):]
		}
	case len(data) == 1:
		d := &msg[idx]
		if cap(d.Data) >= len(pt) {
			d.Data = d.Data[:copy(d.Data[:len(pt)], pt)]
		} else {
			d.Data = append([]byte(nil), pt...)
		}
	default:
		return 0, false, sspi.Errorf(sspi.ErrInvalidParameter, "kerberos: %d plaintext bytes do not fit the %d data buffers", len(pt), len(data))
	}
	return seq, sealed, nil
}

// MakeMechListMIC is GSS GetMIC over SPNEGO's mechanism list; Negotiate calls it.
func (e *established) MakeMechListMIC(mechList []byte) ([]byte, error) {
	if err := e.ready(); err != nil {
		return nil, err
	}
	if e.cfx != nil {
		return e.cfx.AppendMIC(nil, e.nextSend(), mechList), nil
	}
	return e.rc4.AppendMIC(nil, uint32(e.nextSend()), mechList), nil
}

// VerifyMechListMIC is GSS VerifyMIC of the peer's mechListMIC.
func (e *established) VerifyMechListMIC(mechList, mic []byte) error {
	if err := e.ready(); err != nil {
		return err
	}
	return mapSecErr(e.verifyMIC(mic, mechList))
}

// granted maps the GSS flags a context ended with to what it really enforces: ASC_RET_
// bits on the server, ISC_RET_ bits on the client. The two sets agree below 0x800
// (mutual, replay, sequence, confidentiality) and for CONNECTION; integrity differs.
//
// Sequence numbers are checked strictly in both directions when the client asked for
// replay or sequence detection (MIT's gss-client asks for replay only), which detects both,
// so both are reported together; with neither, neither is checked nor reported. A context
// whose key has no message protection here (DES3) reports no integrity, confidentiality,
// replay or sequence detection: its message calls would fail. AES and RC4 keys have it.
func (e *established) granted(gflags uint32, mutual, connection bool) sspi.ContextAttr {
	var a sspi.ContextAttr
	if mutual {
		a |= sspi.ISCRetMutualAuth
	}
	if connection {
		a |= sspi.ISCRetConnection
	}
	if e.dceStyle {
		a |= sspi.ISCRetUsedDCEStyle // the same bit as ASC_RET_USED_DCE_STYLE
	}
	if !e.protects() {
		return a
	}
	if e.acceptor {
		a |= sspi.ASCRetIntegrity
	} else {
		a |= sspi.ISCRetIntegrity
	}
	if e.seqCheck {
		a |= sspi.ISCRetReplayDetect | sspi.ISCRetSequenceDetect
	}
	if gflags&gssConf != 0 {
		a |= sspi.ISCRetConfidentiality
	}
	return a
}
