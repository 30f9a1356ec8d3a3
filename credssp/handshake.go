package credssp

import (
	"context"
	"crypto/rand"
	"io"

	"github.com/gosspi/sspi"
)

// common is what both handshake roles share: the inner context, the versions and the
// key the exchange is bound to.
type common struct {
	creds *credentials
	gctx  context.Context
	inner inner
	// spk is the TLS server's SubjectPublicKey: the one the client saw, or the server's own.
	spk         []byte
	version     int64 // ours: Config.MaxVersion
	peerVersion int64 // 0 until the peer's first TSRequest
	nonce       []byte
	// errToken is a TSRequest carrying errorCode, produced with a failure for the core to
	// hand to the caller (ISC/ASC_REQ_EXTENDED_ERROR) so the peer learns why.
	errToken []byte
}

// negotiated is the version both sides use: the lower of the two (MS-CSSP 3.1.5).
func (c *common) negotiated() int64 { return min(c.version, c.peerVersion) }

// sendsErrorCode reports whether errorCode may be sent: from version 3, except 5, which
// is version 2 with the CVE-2018-0886 fix and knows no errorCode (as pyspnego and
// Windows behave).
func (c *common) sendsErrorCode() bool {
	v := c.negotiated()
	return v >= firstErrorCodeVersion && v != firstNonceVersion
}

// readRequest parses a TSRequest from the peer and applies the version rules: the peer's
// version is fixed by its first message (a change means someone rewrote it), the
// negotiated version may not be below Config.MinVersion, and an errorCode is the peer's
// failure.
func (c *common) readRequest(msg []byte, peer string) (*tsRequest, error) {
	r, err := parseTSRequest(msg)
	if err != nil {
		return nil, sspi.WithStatus(sspi.ErrInvalidToken, err)
	}
	if r.version < 1 {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the %s sent TSRequest version %d", peer, r.version)
	}
	switch {
	case c.peerVersion == 0:
		c.peerVersion = r.version
		if c.negotiated() < c.creds.cfg.minVersion() {
			return nil, sspi.Errorf(sspi.ErrDowngradeDetected, "credssp: the %s speaks TSRequest version %d, below the minimum %d (versions before 5 lack the CVE-2018-0886 fix; lower Config.MinVersion only for a peer you know is unpatched)", peer, r.version, c.creds.cfg.minVersion())
		}
	case r.version != c.peerVersion:
		return nil, sspi.Errorf(sspi.ErrDowngradeDetected, "credssp: the %s changed its TSRequest version from %d to %d during the exchange: someone on the path rewrote it", peer, c.peerVersion, r.version)
	}
	if r.hasErrorCode && r.errorCode != 0 {
		st := fromNTStatus(r.errorCode)
		return nil, sspi.Errorf(st, "credssp: the %s reports failure NTSTATUS 0x%08X", peer, r.errorCode)
	}
	return r, nil
}

// failInner records the errorCode TSRequest for an inner failure and returns err.
func (c *common) failInner(err error) error {
	if c.peerVersion != 0 && c.sendsErrorCode() {
		c.errToken = (&tsRequest{version: c.version, errorCode: toNTStatus(sspi.StatusOf(err)), hasErrorCode: true}).marshal()
	}
	return err
}

func (c *common) request() *tsRequest { return &tsRequest{version: c.version} }

// continued is the status of a step that sends a token and waits: ContinueNeeded, or the
// inner package's CompleteAndContinue passed through.
func continued(innerStatus sspi.Status) sspi.Status {
	if innerStatus == sspi.CompleteAndContinue {
		return sspi.CompleteAndContinue
	}
	return sspi.ContinueNeeded
}

func randomNonce(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	n := make([]byte, nonceSize)
	if _, err := io.ReadFull(r, n); err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "credssp: reading the client nonce: %w", err)
	}
	return n, nil
}
