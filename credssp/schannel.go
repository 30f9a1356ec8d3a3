package credssp

import (
	"crypto/x509"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
)

func init() { peerCertificate = schannelCertificate }

// schannelCertificate reads the TLS server's certificate from Schannel: on a client the
// peer's (SECPKG_ATTR_REMOTE_CERT_CONTEXT), on a server its own
// (SECPKG_ATTR_LOCAL_CERT_CONTEXT).
func schannelCertificate(tls sspi.PackageContext, server bool) (*x509.Certificate, error) {
	q, ok := tls.(sspi.AttributeQuerier)
	if !ok {
		return nil, sspi.Errorf(sspi.ErrInternalError, "credssp: Schannel does not report certificates")
	}
	attr := sspi.AttrRemoteCertContext
	if server {
		attr = sspi.AttrLocalCertContext
	}
	var cc schannel.CertContext
	if err := q.QueryAttribute(attr, &cc); err != nil {
		return nil, err
	}
	if cc.Leaf() == nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "credssp: Schannel reports no TLS server certificate")
	}
	return cc.Leaf(), nil
}

// ChangeCredentials continues the handshake with other CredSSP credentials, after
// Schannel returned SEC_I_INCOMPLETE_CREDENTIALS: their Schannel credentials (with the
// client certificate the server asked for) go to Schannel.
func (c *secContext) ChangeCredentials(pc sspi.PackageCredentials) error {
	nc, ok := pc.(*credentials)
	if !ok {
		return sspi.Errorf(sspi.ErrWrongCredentialHandle, "credssp: %T is not CredSSP credentials", pc)
	}
	if c.tlsOK {
		return sspi.Errorf(sspi.ErrWrongCredentialHandle, "credssp: the TLS handshake is over; credentials can change only after SEC_I_INCOMPLETE_CREDENTIALS")
	}
	ch, ok := c.tls.(sspi.CredentialsChanger)
	if !ok {
		return sspi.Errorf(sspi.ErrWrongCredentialHandle, "credssp: Schannel cannot change credentials")
	}
	if err := ch.ChangeCredentials(nc.tls); err != nil {
		return err
	}
	c.creds = nc
	return nil
}

// DecryptMessageStatus is Schannel's, for the application's data after CredSSP.
func (c *secContext) DecryptMessageStatus(msg []sspi.Buffer, seq uint32) (uint32, sspi.Status, error) {
	sd, ok := c.tls.(sspi.StatusDecrypter)
	if !ok {
		return 0, 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: Schannel cannot decrypt")
	}
	return sd.DecryptMessageStatus(msg, seq)
}
