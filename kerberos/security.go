package kerberos

import (
	"errors"

	"github.com/gosspi/sspi"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// established is what both sides hold once the handshake is done.
type established struct {
	done       bool
	sessionKey []byte
	sec        *cfx // nil when the enctype has no RFC 4121 support here
	secErr     error
	identity   sspi.Identity
}

// setup makes the RFC 4121 state from the chosen key.
func (e *established) setup(key types.EncryptionKey, acceptor, acceptorSK, seqCheck bool, sendSeq, recvSeq uint64) {
	e.done = true
	e.sessionKey = append([]byte(nil), key.KeyValue...)
	switch key.KeyType {
	case 17, 18, 19, 20:
	default:
		e.secErr = sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: message protection with encryption type %d is not supported (only AES)", key.KeyType)
		return
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		e.secErr = sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: encryption type %d: %v", key.KeyType, err)
		return
	}
	e.sec = &cfx{et: et, key: append([]byte(nil), key.KeyValue...), acceptor: acceptor, acceptorSK: acceptorSK,
		seqCheck: seqCheck, sendSeq: sendSeq, recvSeq: recvSeq}
}

func (e *established) ready() error {
	if !e.done {
		return sspi.Errorf(sspi.ErrNoContext, "kerberos: the handshake has not completed")
	}
	if e.sec == nil {
		return e.secErr
	}
	return nil
}

// Sizes reports SecPkgContext_Sizes: MaxSignature is a MIC token, SecurityTrailer the
// EncryptMessage token buffer (60 bytes for aes-sha1).
func (e *established) Sizes() sspi.Sizes {
	s := sspi.Sizes{MaxToken: MaxToken, MaxSignature: 28, BlockSize: 1, SecurityTrailer: 60}
	if e.sec != nil {
		s.MaxSignature = 16 + e.sec.cksumSize()
		s.SecurityTrailer = e.sec.trailerSize()
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
	return append([]byte(nil), e.sessionKey...), nil
}

// Identity reports who authenticated.
func (e *established) Identity() sspi.Identity { return e.identity }

// Close zeroes the keys.
func (e *established) Close() error {
	clear(e.sessionKey)
	if e.sec != nil {
		clear(e.sec.key)
	}
	return nil
}

func mapSecErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errBadSig):
		return &sspi.Error{Status: sspi.ErrMessageAltered, Err: err}
	case errors.Is(err, errSeq):
		return &sspi.Error{Status: sspi.ErrOutOfSequence, Err: err}
	case errors.Is(err, errMalformed):
		return &sspi.Error{Status: sspi.ErrInvalidToken, Err: err}
	}
	var se *sspi.Error
	if errors.As(err, &se) {
		return err
	}
	return &sspi.Error{Status: sspi.ErrInternalError, Err: err}
}

// dataAndToken finds msg's data buffers and its first token buffer.
func dataAndToken(msg []sspi.Buffer) (data []int, tok *sspi.Buffer, err error) {
	for i := range msg {
		switch msg[i].Type.Base() {
		case sspi.BufferData:
			data = append(data, i)
		case sspi.BufferToken:
			if tok == nil {
				tok = &msg[i]
			}
		}
	}
	if tok == nil {
		return nil, nil, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the message has no BufferToken buffer")
	}
	return data, tok, nil
}

func joinData(msg []sspi.Buffer, idx []int) []byte {
	var out []byte
	for _, i := range idx {
		out = append(out, msg[i].Data...)
	}
	return out
}

// MakeSignature writes a MIC token over msg's data buffers into its token buffer.
func (e *established) MakeSignature(qop uint32, msg []sspi.Buffer, _ uint32) error {
	if err := e.ready(); err != nil {
		return err
	}
	if qop != 0 {
		return sspi.Errorf(sspi.ErrQOPNotSupported, "kerberos: quality of protection %#x is not supported for signing", qop)
	}
	idx, tok, err := dataAndToken(msg)
	if err != nil {
		return err
	}
	mic, err := e.sec.getMIC(joinData(msg, idx))
	if err != nil {
		return mapSecErr(err)
	}
	if len(tok.Data) < len(mic) {
		return sspi.Errorf(sspi.ErrBufferTooSmall, "kerberos: the signature buffer holds %d bytes, the MIC needs %d", len(tok.Data), len(mic))
	}
	tok.Data = tok.Data[:copy(tok.Data, mic)]
	return nil
}

// VerifySignature checks the MIC token in msg's token buffer.
func (e *established) VerifySignature(msg []sspi.Buffer, _ uint32) (uint32, error) {
	if err := e.ready(); err != nil {
		return 0, err
	}
	idx, tok, err := dataAndToken(msg)
	if err != nil {
		return 0, err
	}
	return 0, mapSecErr(e.sec.verifyMIC(joinData(msg, idx), tok.Data))
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
	idx, tok, err := dataAndToken(msg)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if msg[i].Type.ReadOnly() {
			return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: read-only (sign-only) data buffers are not supported by EncryptMessage")
		}
	}
	pt := joinData(msg, idx)
	w, err := e.sec.wrap(pt, qop == 0)
	if err != nil {
		return mapSecErr(err)
	}
	head := len(w) - len(pt)
	if len(tok.Data) < head {
		return sspi.Errorf(sspi.ErrBufferTooSmall, "kerberos: the token buffer holds %d bytes, the Wrap token needs %d", len(tok.Data), head)
	}
	tok.Data = tok.Data[:copy(tok.Data, w[:head])]
	rest := w[head:]
	for _, i := range idx {
		rest = rest[copy(msg[i].Data, rest):]
	}
	return nil
}

// DecryptMessage checks and unseals a Wrap token split over msg's token buffer and data
// buffers, and returns QOPWrapNoEncrypt for an integrity-only one.
func (e *established) DecryptMessage(msg []sspi.Buffer, _ uint32) (uint32, error) {
	if err := e.ready(); err != nil {
		return 0, err
	}
	idx, tok, err := dataAndToken(msg)
	if err != nil {
		return 0, err
	}
	whole := append(append([]byte(nil), tok.Data...), joinData(msg, idx)...)
	pt, sealed, err := e.sec.unwrap(whole)
	if err != nil {
		return 0, mapSecErr(err)
	}
	total := 0
	for _, i := range idx {
		total += len(msg[i].Data)
	}
	switch {
	case total == len(pt):
		rest := pt
		for _, i := range idx {
			rest = rest[copy(msg[i].Data, rest):]
		}
	case len(idx) == 1:
		d := &msg[idx[0]]
		if cap(d.Data) >= len(pt) {
			d.Data = d.Data[:copy(d.Data[:len(pt)], pt)]
		} else {
			d.Data = pt
		}
	default:
		return 0, sspi.Errorf(sspi.ErrInvalidParameter, "kerberos: %d plaintext bytes do not fit the %d data buffers", len(pt), len(idx))
	}
	if !sealed {
		return sspi.QOPWrapNoEncrypt, nil
	}
	return 0, nil
}

// MakeMechListMIC is GSS GetMIC over SPNEGO's mechanism list; Negotiate calls it.
func (e *established) MakeMechListMIC(mechList []byte) ([]byte, error) {
	if err := e.ready(); err != nil {
		return nil, err
	}
	mic, err := e.sec.getMIC(mechList)
	return mic, mapSecErr(err)
}

// VerifyMechListMIC is GSS VerifyMIC of the peer's mechListMIC.
func (e *established) VerifyMechListMIC(mechList, mic []byte) error {
	if err := e.ready(); err != nil {
		return err
	}
	return mapSecErr(e.sec.verifyMIC(mechList, mic))
}

// granted maps the GSS flags a context ended with to what it really enforces: ASC_RET_
// bits on the server, ISC_RET_ bits on the client. The two sets agree below 0x800
// (mutual, replay, sequence, confidentiality) and for CONNECTION; integrity differs.
//
// Sequence numbers are checked strictly in both directions when the client asked for
// replay or sequence detection (MIT's gss-client asks for replay only), which detects both,
// so both are reported together; with neither, neither is checked nor reported. A context
// whose key has no message protection here (RC4, DES3) reports no integrity,
// confidentiality, replay or sequence detection: its message calls would fail.
func (e *established) granted(gflags uint32, mutual, connection bool) sspi.ContextAttr {
	var a sspi.ContextAttr
	if mutual {
		a |= sspi.ISCRetMutualAuth
	}
	if connection {
		a |= sspi.ISCRetConnection
	}
	if e.sec == nil {
		return a
	}
	if e.sec.acceptor {
		a |= sspi.ASCRetIntegrity
	} else {
		a |= sspi.ISCRetIntegrity
	}
	if e.sec.seqCheck {
		a |= sspi.ISCRetReplayDetect | sspi.ISCRetSequenceDetect
	}
	if gflags&gssConf != 0 {
		a |= sspi.ISCRetConfidentiality
	}
	return a
}
