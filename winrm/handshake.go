package winrm

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
)

// maxLegs bounds a handshake's round trips: CredSSP takes the most, five or six.
const maxLegs = 10

// scheme is the HTTP authentication scheme the package's tokens travel under.
func (t *Transport) scheme() string {
	if t.pkg() == "CredSSP" {
		return "CredSSP"
	}
	return httpauth.SchemeNegotiate
}

func (t *Transport) pkg() string {
	if t.Package == "" {
		return "Negotiate"
	}
	return t.Package
}

// credSSPReq is what a CredSSP context asks for: the user's credentials delegated (what
// CredSSP is for) and TLS's protections, without mutual authentication, which an inner
// NTLM cannot give (CredSSP's public-key binding authenticates the server's TLS key).
const credSSPReq = sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqStream |
	sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect

func (t *Transport) req() sspi.ContextReq {
	if t.Req == 0 && t.pkg() == "CredSSP" {
		return credSSPReq
	}
	return t.Req
}

func (t *Transport) credentials() (*sspi.Credentials, error) {
	if t.Credentials != nil {
		return t.Credentials, nil
	}
	var authData any
	if t.Identity != nil {
		authData = t.Identity
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", t.pkg(), sspi.CredOutbound, nil, authData, nil)
	if err != nil {
		return nil, fmt.Errorf("winrm: acquiring %s credentials: %w", t.pkg(), err)
	}
	t.Credentials, t.ownCred = cred, true
	return cred, nil
}

// handshake authenticates the connection: it sends body (nil for the empty request that
// precedes sealed messages) with each of the client's tokens until the server answers
// with something other than a 401 carrying a token, checks the server's last token, and
// keeps the context for sealing.
func (t *Transport) handshake(body []byte) (*http.Response, error) {
	cred, err := t.credentials()
	if err != nil {
		return nil, err
	}
	spn := t.SPN
	if spn == "" {
		spn = "HTTP/" + t.endpoint.Host
		if t.pkg() == "CredSSP" {
			// The name Windows' delegation policy for WinRM lists (WSMAN/*).
			spn = "WSMAN/" + t.endpoint.Host
		}
	}
	opts := sspi.ClientOptions{Target: spn, Req: t.req()}
	if tc, ok := t.conn.(*tls.Conn); ok && t.pkg() != "CredSSP" {
		// Extended Protection: bind the authentication to this TLS channel. CredSSP binds
		// to its own TLS inside instead.
		if cb, err := sspi.TLSServerEndPointFromState(tc.ConnectionState()); err == nil {
			opts.ChannelBindings = cb.Marshal()
		}
	}
	ctx := sspi.NewClientContext(cred, opts)
	tok, err := ctx.Step(nil)
	for leg := 0; err == nil; leg++ {
		if leg == maxLegs {
			err = fmt.Errorf("winrm: no end to the handshake after %d round trips", maxLegs)
			break
		}
		var resp *http.Response
		contentType := soapContentType
		if body == nil {
			contentType = ""
		}
		resp, err = t.roundTrip(body, contentType, httpauth.FormatHeader(t.scheme(), tok))
		if err != nil {
			break
		}
		var in []byte
		in, err = t.serverToken(resp)
		if err != nil {
			readBody(resp)
			break
		}
		if resp.StatusCode == http.StatusUnauthorized && len(in) > 0 && !ctx.Established() {
			readBody(resp)
			tok, err = ctx.Step(in)
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized {
			readBody(resp)
			err = sspi.Errorf(sspi.ErrLogonDenied, "winrm: the server refused the %s authentication (HTTP 401)", t.pkg())
			break
		}
		if err = t.finish(ctx, in); err != nil {
			readBody(resp)
			break
		}
		t.sess = ctx
		return resp, nil
	}
	ctx.Close()
	return nil, err
}

// finish feeds the server's last token (mutual authentication) and checks the result.
func (t *Transport) finish(ctx *sspi.ClientContext, in []byte) error {
	if len(in) > 0 && !ctx.Established() {
		if _, err := ctx.Step(in); err != nil {
			return err
		}
	}
	if !ctx.Established() {
		return sspi.Errorf(sspi.ErrMutualAuthFailed, "winrm: the server let the request through before the %s handshake was complete", t.pkg())
	}
	if t.encrypting() && ctx.Attributes()&sspi.ISCRetConfidentiality == 0 {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "winrm: the %s context cannot seal messages, which this Transport requires (Encryption)", ctx.Package())
	}
	return nil
}

// serverToken returns the token of the response's challenge for our scheme, if any.
func (t *Transport) serverToken(resp *http.Response) ([]byte, error) {
	chs, err := httpauth.ParseChallenges(resp.Header, httpauth.HeaderWWWAuthenticate)
	if err != nil {
		return nil, fmt.Errorf("winrm: %w", err)
	}
	for _, ch := range chs {
		if ch.Is(t.scheme()) {
			return ch.Token()
		}
	}
	if resp.StatusCode == http.StatusUnauthorized && len(chs) > 0 {
		return nil, errors.New("winrm: the server does not offer the " + t.scheme() + " scheme")
	}
	return nil, nil
}
