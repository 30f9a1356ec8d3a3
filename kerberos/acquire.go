package kerberos

import "github.com/gosspi/sspi"

// The forms of AcquireCredentials' authentication data, one function each.

// defaultCreds are the credentials of the environment (no authentication data): a client
// named by principal (KRB5CCNAME, KRB5_CLIENT_KTNAME) when out, a server with KRB5_KTNAME's
// keytab when in. With both, principal names the client; inbound only, the service.
func defaultCreds(principal string, out, in bool) (client *clientCreds, server *serverCreds, err error) {
	if out {
		if client, err = newClientCreds(&ClientConfig{Principal: principal}, false); err != nil {
			return nil, nil, err
		}
	}
	if in {
		cfg := &ServerConfig{}
		if !out {
			cfg.ServicePrincipal = principal
		}
		if server, err = newServerCreds(cfg); err != nil {
			return nil, nil, err
		}
	}
	return client, server, nil
}

// identityCreds are a client's from a user name (user@REALM, REALM\user or user with
// Domain) and password.
func identityCreds(a *sspi.AuthIdentity) (*clientCreds, error) {
	if a == nil {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: nil *sspi.AuthIdentity")
	}
	if a.Password == "" {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no password given for %s", a.String())
	}
	return newClientCreds(&ClientConfig{Principal: identityPrincipal(a), Password: a.Password}, true)
}

// serverConfigCreds are a server's from a ServerConfig; AcquireCredentialsHandle's
// principal, when given, is the service (and must agree with ServicePrincipal).
func serverConfigCreds(a *ServerConfig, principal string) (*serverCreds, error) {
	if a != nil && principal != "" {
		if a.ServicePrincipal != "" && !sameService(a.ServicePrincipal, principal) {
			return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: the principal %s and ServerConfig.ServicePrincipal %s disagree", principal, a.ServicePrincipal)
		}
		cfg := *a
		cfg.ServicePrincipal = principal
		a = &cfg
	}
	return newServerCreds(a)
}
