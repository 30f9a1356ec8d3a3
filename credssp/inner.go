package credssp

import (
	"context"

	"github.com/gosspi/sspi"
)

// inner is the authentication inside CredSSP (Negotiate, as on Windows): a package
// context driven through the same provider interface the core drives, and used for
// sealing pubKeyAuth and authInfo once established.
type inner struct {
	name    string
	ctx     sspi.PackageContext
	p       sspi.StepParams
	in      [1]sspi.Buffer
	done    bool
	attr    sspi.ContextAttr
	pending bool // CompleteAuthToken still owed
}

// step feeds tok (nil for the client's first call) to the inner package and returns its
// output token and status.
func (n *inner) step(gctx context.Context, server bool, target string, req sspi.ContextReq, tok []byte) ([]byte, sspi.Status, error) {
	n.p = sspi.StepParams{Server: server, Target: target, Req: req, DataRep: sspi.NativeDataRep, Context: gctx, Attr: n.attr}
	if tok != nil {
		n.in[0] = sspi.Buffer{Type: sspi.BufferToken, Data: tok}
		n.p.In = n.in[:]
	}
	st, err := n.ctx.Step(&n.p)
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	n.attr = n.p.Attr
	switch st {
	case sspi.OK:
		n.done = true
	case sspi.CompleteNeeded:
		n.done, n.pending = true, true
	case sspi.CompleteAndContinue:
		n.pending = true
	}
	return n.p.Out, st, nil
}

// complete runs the inner package's CompleteAuthToken if it asked for one. CredSSP calls
// it before it seals with the inner context; an application's CompleteAuthToken on the
// CredSSP context reaches it through the same path.
func (n *inner) complete(tok []byte) error {
	if !n.pending {
		return nil
	}
	n.pending = false
	c, ok := n.ctx.(sspi.Completer)
	if !ok {
		return sspi.Errorf(sspi.ErrInternalError, "credssp: %s asked for CompleteAuthToken but does not implement it", n.name)
	}
	return c.CompleteAuthToken([]sspi.Buffer{{Type: sspi.BufferToken, Data: tok}})
}

// seal encrypts plain with the inner context and returns signature-or-header || data,
// the layout Windows puts in pubKeyAuth and authInfo (MS-CSSP 3.1.5).
func (n *inner) seal(plain []byte) ([]byte, error) {
	if err := n.complete(nil); err != nil {
		return nil, err
	}
	s, ok := n.ctx.(sspi.Sealer)
	if !ok {
		return nil, sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: the inner package %s cannot seal messages", n.name)
	}
	trailer := n.trailer()
	out := make([]byte, trailer+len(plain))
	copy(out[trailer:], plain)
	msg := []sspi.Buffer{{Type: sspi.BufferToken, Data: out[:trailer]}, {Type: sspi.BufferData, Data: out[trailer:]}}
	if err := s.EncryptMessage(0, msg, 0); err != nil {
		return nil, sspi.WithStatus(sspi.ErrInternalError, err)
	}
	if len(msg[0].Data) == trailer {
		return out, nil
	}
	// The package wrote a shorter token than its maximum: close the gap.
	return append(msg[0].Data[:len(msg[0].Data):len(msg[0].Data)], msg[1].Data...), nil
}

// open decrypts what seal produced. The token part is the package's trailer size;
// Kerberos joins the two parts again, NTLM's signature is fixed.
func (n *inner) open(sealed []byte) ([]byte, error) {
	if err := n.complete(nil); err != nil {
		return nil, err
	}
	s, ok := n.ctx.(sspi.Sealer)
	if !ok {
		return nil, sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: the inner package %s cannot unseal messages", n.name)
	}
	trailer := n.trailer()
	if len(sealed) < trailer {
		trailer = len(sealed)
	}
	buf := append([]byte(nil), sealed...)
	msg := []sspi.Buffer{{Type: sspi.BufferToken, Data: buf[:trailer]}, {Type: sspi.BufferData, Data: buf[trailer:]}}
	if _, err := s.DecryptMessage(msg, 0); err != nil {
		return nil, sspi.WithStatus(sspi.ErrMessageAltered, err)
	}
	return msg[1].Data, nil
}

func (n *inner) trailer() int {
	if r, ok := n.ctx.(sspi.SizeReporter); ok {
		if t := r.Sizes().SecurityTrailer; t > 0 {
			return t
		}
	}
	return 16 // NTLM's signature
}

// identity is the inner package's view of who authenticated.
func (n *inner) identity() sspi.Identity {
	if r, ok := n.ctx.(sspi.IdentityReporter); ok {
		return r.Identity()
	}
	return sspi.Identity{}
}

// packageName is the package that really authenticated: for Negotiate, the mechanism.
func (n *inner) packageName() string {
	if r, ok := n.ctx.(sspi.NegotiationReporter); ok {
		info, _ := r.Negotiated()
		if info.Name != "" {
			return info.Name
		}
	}
	return n.name
}

func (n *inner) close() {
	if c, ok := n.ctx.(sspi.Closer); ok {
		c.Close()
	}
}
