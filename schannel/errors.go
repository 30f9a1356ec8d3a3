package schannel

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/gosspi/sspi"
)

// certError gives a certificate check's failure the status Schannel reports for it.
func certError(err error) error {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	switch {
	case errors.As(err, &hostErr):
		return sspi.Errorf(sspi.ErrWrongPrincipal, "schannel: the server's certificate is not for the target name: %w", err)
	case errors.As(err, &authErr):
		return sspi.Errorf(sspi.ErrUntrustedRoot, "schannel: the certificate chain ends in a root that is not trusted: %w", err)
	case errors.As(err, &invErr) && invErr.Reason == x509.Expired:
		return sspi.Errorf(sspi.ErrCertExpired, "schannel: the certificate has expired or is not yet valid: %w", err)
	case errors.As(err, &invErr) && invErr.Reason == x509.IncompatibleUsage:
		return sspi.Errorf(sspi.ErrCertWrongUsage, "schannel: the certificate is not for this use: %w", err)
	}
	return sspi.Errorf(sspi.ErrCertUnknown, "schannel: the certificate was not accepted: %w", err)
}

// handshakeError gives a failed handshake the status Windows' Schannel would report.
func handshakeError(err error) error {
	return tlsError(err, sspi.ErrIllegalMessage)
}

// tlsError maps an error from crypto/tls to a status; def is the status of a protocol
// violation (ErrIllegalMessage in a handshake, ErrDecryptFailure on a record).
func tlsError(err error, def sspi.Status) error {
	if _, ok := err.(*sspi.Error); ok {
		return err
	}
	var se *sspi.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, errStopped) {
		return sspi.Errorf(sspi.ErrInvalidHandle, "%w", err)
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return certError(cve.Err)
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "schannel: %w", err)
	}
	msg := err.Error()
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" {
		return sspi.Errorf(sspi.ErrIllegalMessage, "schannel: the peer ended the handshake with an alert: %w", err)
	}
	switch {
	case strings.Contains(msg, "didn't provide a certificate"):
		return sspi.Errorf(sspi.ErrLogonDenied, "schannel: the client sent no certificate and the server's credentials require one: %w", err)
	case strings.Contains(msg, "bad record MAC"):
		return sspi.Errorf(sspi.ErrDecryptFailure, "schannel: a record does not decrypt (altered, or not from this connection): %w", err)
	case strings.Contains(msg, "no cipher suite"), strings.Contains(msg, "unsupported versions"),
		strings.Contains(msg, "protocol version"), strings.Contains(msg, "no mutual"):
		return sspi.Errorf(sspi.ErrAlgorithmMismatch, "schannel: client and server have no protocol version or cipher suite in common: %w", err)
	}
	return sspi.Errorf(def, "schannel: %w", err)
}
