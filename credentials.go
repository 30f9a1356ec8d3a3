package sspi

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Credentials is a credentials handle (CredHandle): a principal's credentials for one
// security package, returned by AcquireCredentialsHandle.
//
// Unlike a Context, one Credentials value serves any number of contexts at the same time,
// as a server's credentials do in SSPI. FreeCredentialsHandle stops new contexts from using
// it; contexts already made with it keep working until they are deleted.
type Credentials struct {
	// refs counts the handle itself plus each live context; the package's credentials are
	// closed when it drops to zero.
	refs   atomic.Int32
	freed  atomic.Bool
	pkg    *registeredPackage
	use    CredentialUse
	impl   PackageCredentials
	expiry time.Time
}

// AcquireCredentialsHandle is SSPI's AcquireCredentialsHandle: it obtains the
// credentials of principal for the named package.
//
// use says whether the credentials initiate (CredOutbound), accept (CredInbound) or both.
// logonID must be nil: other logon sessions do not exist here. authData is nil for the
// default credentials of the environment (NTLM_USER_FILE, KRB5CCNAME, ...), an
// *AuthIdentity for a user name and password, or a value documented by the package.
// getKey is passed to the package.
//
// It returns the handle and the time the credentials expire (zero for never), or an error
// carrying ErrSecPkgNotFound (no such package), ErrNoCredentials (no credentials
// available), ErrUnknownCredentials (authData not understood by the package), ErrNotOwner
// (a logon id was given) or ErrInvalidParameter.
func AcquireCredentialsHandle(principal, pkg string, use CredentialUse, logonID []byte, authData any, getKey GetKeyFunc) (*Credentials, time.Time, error) {
	return acquireCredentials(context.Background(), principal, pkg, use, logonID, authData, getKey)
}

func acquireCredentials(ctx context.Context, principal, pkg string, use CredentialUse, logonID []byte, authData any, getKey GetKeyFunc) (*Credentials, time.Time, error) {
	rp, err := lookup(pkg)
	if err != nil {
		return nil, time.Time{}, err
	}
	if use&CredBoth == 0 {
		return nil, time.Time{}, Errorf(ErrInvalidParameter, "sspi: credential use %#x has neither CredInbound nor CredOutbound", uint32(use))
	}
	if logonID != nil {
		return nil, time.Time{}, Errorf(ErrNotOwner, "sspi: credentials of another logon session (a logon id) cannot be acquired; pass nil")
	}
	impl, err := rp.pkg.AcquireCredentials(&CredentialsRequest{
		Principal: principal, Use: use, LogonID: logonID, AuthData: authData, GetKey: getKey, Context: ctx,
	})
	if err != nil {
		return nil, time.Time{}, WithStatus(ErrNoCredentials, err)
	}
	c := &Credentials{pkg: rp, use: use, impl: impl, expiry: impl.Expiry()}
	c.refs.Store(1)
	return c, c.expiry, nil
}

// FreeCredentialsHandle is SSPI's FreeCredentialsHandle. It is idempotent: freeing a
// freed or nil handle returns nil. Contexts made from cred keep working.
func FreeCredentialsHandle(cred *Credentials) error {
	if cred == nil || !cred.freed.CompareAndSwap(false, true) {
		return nil
	}
	return cred.release()
}

// retain takes a reference for a new context; it fails once the handle is freed.
func (c *Credentials) retain() error {
	if c == nil {
		return errNilCred
	}
	if c.freed.Load() {
		return errCredFreed
	}
	for {
		r := c.refs.Load()
		if r <= 0 {
			return errCredFreed
		}
		if c.refs.CompareAndSwap(r, r+1) {
			return nil
		}
	}
}

func (c *Credentials) release() error {
	if c.refs.Add(-1) == 0 {
		if cl, ok := c.impl.(Closer); ok {
			return cl.Close()
		}
	}
	return nil
}

// Package returns the name of the package the credentials belong to.
func (c *Credentials) Package() string { return c.pkg.info.Name }

// Use returns the CredentialUse the credentials were acquired with.
func (c *Credentials) Use() CredentialUse { return c.use }

// Expiry returns when the credentials expire; the zero time means never.
func (c *Credentials) Expiry() time.Time { return c.expiry }

// CredentialNames is SecPkgCredentials_Names, for CredAttrNames.
type CredentialNames struct {
	UserName string // the principal the credentials belong to
}

// QueryCredentialsAttributes is SSPI's QueryCredentialsAttributes. out must point to
// the type the attribute id names (*CredentialNames for CredAttrNames); the package
// answers. It returns ErrInvalidHandle for a freed handle and ErrUnsupportedFunction for
// an attribute the package does not report.
func QueryCredentialsAttributes(cred *Credentials, attr CredentialAttribute, out any) error {
	if cred == nil {
		return errNilCred
	}
	if cred.freed.Load() {
		return errCredFreed
	}
	if out == nil {
		return Errorf(ErrInvalidParameter, "sspi: QueryCredentialsAttributes needs a pointer to fill")
	}
	q, ok := cred.impl.(CredentialsQuerier)
	if !ok {
		return Errorf(ErrUnsupportedFunction, "sspi: package %s does not report credential attribute %d", cred.pkg.info.Name, attr)
	}
	return WithStatus(ErrUnsupportedFunction, q.QueryCredentialsAttribute(attr, out))
}

// errUnsupported builds the error for an ability a package lacks.
func errUnsupported(pkg, what string) error {
	return &Error{Status: ErrUnsupportedFunction, Err: fmt.Errorf("sspi: package %s does not support %s", pkg, what)}
}

var errNoOutputBuffer = errors.New("sspi: the package produced a token but the output list has no BufferToken buffer")
