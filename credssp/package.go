package credssp

import "github.com/gosspi/sspi"

func init() { sspi.Register(pkg{}) }

type pkg struct{}

// capabilities: what CredSSP offers through its TLS channel, and delegation.
const capabilities = sspi.CapIntegrity | sspi.CapPrivacy | sspi.CapConnection | sspi.CapMultiRequired |
	sspi.CapExtendedError | sspi.CapImpersonation | sspi.CapStream | sspi.CapMutualAuth | sspi.CapDelegation

// Info reports CredSSP's SecPkgInfo.
func (pkg) Info() sspi.PackageInfo {
	return sspi.PackageInfo{
		Capabilities: capabilities,
		Version:      1,
		RPCID:        sspi.RPCIDNone,
		MaxToken:     MaxToken,
		Name:         PackageName,
		Comment:      "Microsoft CredSSP Security Provider",
	}
}

// AcquireCredentials acquires the inner package's and Schannel's credentials through the
// registry. authData is nil, a *sspi.AuthIdentity (the user to authenticate and delegate)
// or a *Config.
func (pkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	cfg, err := configFrom(req.AuthData)
	if err != nil {
		return nil, err
	}
	c, err := acquireInner(req, cfg)
	if err != nil {
		return nil, err
	}
	p, err := sspi.LookupPackage(tlsPackage)
	if err != nil {
		c.Close()
		return nil, err
	}
	sub := *req
	sub.AuthData = cfg.TLS
	if c.tls, err = p.AcquireCredentials(&sub); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
