package ntlm

import (
	"errors"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// established is what both sides hold once the handshake is done: the session security
// state (MS-NLMP 3.4), the exported session key and the identity.
type established struct {
	// session is made on first use: many servers authenticate and never sign or seal, and
	// keying RC4 and HMAC states is a third of the handshake's work.
	session    *ntlmssp.Session
	flags      ntlmssp.NegotiateFlags
	server     bool
	sessionKey [16]byte
	done       bool
	anonymous  bool
	// mechListMICRequired: SPNEGO must carry a mechListMIC (MS-SPNG 3.3.5.1). A client
	// sets it when its AUTHENTICATE carried a MIC; a server whenever the client echoed
	// the timestamp it issued, which obliges a client to send a MIC.
	mechListMICRequired bool
	identity            sspi.Identity
}

func (e *established) init(flags ntlmssp.NegotiateFlags, exported [16]byte, server, anonymous bool) error {
	e.flags, e.server = flags, server
	e.sessionKey = exported
	e.done = true
	e.anonymous = anonymous
	return nil
}

// Sizes reports SecPkgContext_Sizes as Windows does for NTLM.
func (e *established) Sizes() sspi.Sizes {
	return sspi.Sizes{MaxToken: 2010, MaxSignature: ntlmssp.SignatureSize, BlockSize: 0, SecurityTrailer: ntlmssp.SignatureSize}
}

// SessionKey returns a copy of the exported session key.
func (e *established) SessionKey() ([]byte, error) {
	if !e.done || e.anonymous {
		return nil, sspi.Errorf(sspi.ErrNoContext, "ntlm: no session key (the context is not established, or anonymous)")
	}
	k := make([]byte, 16)
	copy(k, e.sessionKey[:])
	return k, nil
}

// Identity reports who authenticated.
func (e *established) Identity() sspi.Identity { return e.identity }

// Close zeroes the keys.
func (e *established) Close() error {
	clear(e.sessionKey[:])
	if e.session != nil {
		e.session.Close()
	}
	return nil
}

// maxPieces bounds how many data buffers one message may have; SSPI callers use one or a
// few (DCE/RPC uses header, body, trailer).
const maxPieces = 8

// signed gathers msg's data buffers into pieces without allocating, and finds the token.
func gather(msg []sspi.Buffer, pieces *[maxPieces]ntlmssp.Buffer) (n int, tok *sspi.Buffer, err error) {
	for i := range msg {
		b := &msg[i]
		switch b.Type.Base() {
		case sspi.BufferData:
			if n == maxPieces {
				return 0, nil, sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: more than %d data buffers in one message", maxPieces)
			}
			pieces[n] = ntlmssp.Buffer{Data: b.Data, SignOnly: b.Type.ReadOnly()}
			n++
		case sspi.BufferToken:
			if tok == nil {
				tok = b
			}
		}
	}
	if tok == nil {
		return 0, nil, sspi.Errorf(sspi.ErrInvalidToken, "ntlm: the message has no BufferToken buffer for the signature")
	}
	if len(tok.Data) < ntlmssp.SignatureSize {
		return 0, nil, sspi.Errorf(sspi.ErrInvalidToken, "ntlm: the signature buffer holds %d bytes, NTLM needs %d", len(tok.Data), ntlmssp.SignatureSize)
	}
	return n, tok, nil
}

func dataOnly(pieces *[maxPieces]ntlmssp.Buffer, n int, raw *[maxPieces][]byte) [][]byte {
	for i := range n {
		raw[i] = pieces[i].Data
	}
	return raw[:n]
}

func (e *established) ready() error {
	if !e.done {
		return sspi.Errorf(sspi.ErrNoContext, "ntlm: the handshake has not completed")
	}
	if e.anonymous {
		// MS-NLMP keys an anonymous session with zeros, which anyone can do: a signature
		// under it proves nothing, so none is made or accepted.
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: an anonymous context has no session key, so it cannot sign or seal messages")
	}
	if e.session == nil {
		e.session = ntlmssp.NewSession(e.flags, e.sessionKey, !e.server)
	}
	return nil
}

// MakeSignature signs msg's data buffers into its token buffer (MS-NLMP 3.4.4).
func (e *established) MakeSignature(qop uint32, msg []sspi.Buffer, _ uint32) error {
	if err := e.ready(); err != nil {
		return err
	}
	if qop != 0 {
		return sspi.Errorf(sspi.ErrQOPNotSupported, "ntlm: quality of protection %#x is not supported for signing", qop)
	}
	var pieces [maxPieces]ntlmssp.Buffer
	var raw [maxPieces][]byte
	n, tok, err := gather(msg, &pieces)
	if err != nil {
		return err
	}
	if err := e.session.Sign(tok.Data[:ntlmssp.SignatureSize], dataOnly(&pieces, n, &raw)...); err != nil {
		return mapSessionErr(err)
	}
	tok.Data = tok.Data[:ntlmssp.SignatureSize]
	return nil
}

// VerifySignature checks the signature in msg's token buffer.
func (e *established) VerifySignature(msg []sspi.Buffer, _ uint32) (uint32, error) {
	if err := e.ready(); err != nil {
		return 0, err
	}
	var pieces [maxPieces]ntlmssp.Buffer
	var raw [maxPieces][]byte
	n, tok, err := gather(msg, &pieces)
	if err != nil {
		return 0, err
	}
	return 0, mapSessionErr(e.session.Verify(tok.Data[:ntlmssp.SignatureSize], dataOnly(&pieces, n, &raw)...))
}

// EncryptMessage seals msg's data buffers in place (read-only ones are signed, not
// sealed) and writes the signature into its token buffer (MS-NLMP 3.4.3).
// QOPWrapNoEncrypt signs without sealing, as Windows' NTLM does.
func (e *established) EncryptMessage(qop uint32, msg []sspi.Buffer, seq uint32) error {
	if qop == sspi.QOPWrapNoEncrypt {
		return e.MakeSignature(0, msg, seq)
	}
	if err := e.ready(); err != nil {
		return err
	}
	if qop != 0 {
		return sspi.Errorf(sspi.ErrQOPNotSupported, "ntlm: quality of protection %#x is not supported", qop)
	}
	var pieces [maxPieces]ntlmssp.Buffer
	n, tok, err := gather(msg, &pieces)
	if err != nil {
		return err
	}
	if err := e.session.Seal(tok.Data[:ntlmssp.SignatureSize], pieces[:n]...); err != nil {
		return mapSessionErr(err)
	}
	tok.Data = tok.Data[:ntlmssp.SignatureSize]
	return nil
}

// DecryptMessage checks and unseals msg in place.
func (e *established) DecryptMessage(msg []sspi.Buffer, _ uint32) (uint32, error) {
	if err := e.ready(); err != nil {
		return 0, err
	}
	var pieces [maxPieces]ntlmssp.Buffer
	n, tok, err := gather(msg, &pieces)
	if err != nil {
		return 0, err
	}
	return 0, mapSessionErr(e.session.Unseal(tok.Data[:ntlmssp.SignatureSize], pieces[:n]...))
}

func mapSessionErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ntlmssp.ErrOutOfSequence):
		return &sspi.Error{Status: sspi.ErrOutOfSequence, Err: err}
	case errors.Is(err, ntlmssp.ErrMessageAltered):
		return &sspi.Error{Status: sspi.ErrMessageAltered, Err: err}
	}
	return &sspi.Error{Status: sspi.ErrInvalidToken, Err: err}
}

// MakeMechListMIC signs SPNEGO's mechanism list and resets the RC4 state, as MS-SPNG
// 3.3.5.1 requires of NTLM; Negotiate calls it.
func (e *established) MakeMechListMIC(mechList []byte) ([]byte, error) {
	if err := e.ready(); err != nil {
		return nil, err
	}
	mic := make([]byte, ntlmssp.SignatureSize)
	if err := e.session.SignMechListMIC(mic, mechList); err != nil {
		return nil, mapSessionErr(err)
	}
	return mic, nil
}

// VerifyMechListMIC checks the peer's mechListMIC and resets the RC4 state.
func (e *established) VerifyMechListMIC(mechList, mic []byte) error {
	if err := e.ready(); err != nil {
		return err
	}
	if len(mic) != ntlmssp.SignatureSize {
		return sspi.Errorf(sspi.ErrInvalidToken, "ntlm: mechListMIC is %d bytes, want %d", len(mic), ntlmssp.SignatureSize)
	}
	return mapSessionErr(e.session.VerifyMechListMIC(mic, mechList))
}

// RequiresMechListMIC reports whether Negotiate must exchange mechListMICs: on the client
// when its AUTHENTICATE carried a MIC (MS-SPNG 3.3.5.1); on the server whenever the
// client's NTLMv2 response echoed the server's timestamp, as every NTLMv2 response this
// server accepts does. Such a client sends a MIC, so a mechListMIC missing on the server
// side can only mean one was stripped or suppressed on the way.
func (e *established) RequiresMechListMIC() bool { return e.mechListMICRequired }
