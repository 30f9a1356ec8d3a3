package sshgss

import (
	"sync"

	"github.com/gosspi/sspi"
)

// Server is an ssh.GSSAPIServer over the Kerberos package: set it as
// ssh.GSSAPIWithMICConfig.Server. It holds the security context of one connection's
// authentication; see the package doc for giving each connection its own.
type Server struct {
	cred *sspi.Credentials

	mu  sync.Mutex
	ctx *sspi.ServerContext
	id  sspi.Identity
}

// NewServer returns a Server that accepts with cred, inbound credentials of the
// "Kerberos" package (sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredInbound, nil,
// &kerberos.ServerConfig{Keytab: ...}, nil)). One cred serves any number of Servers.
func NewServer(cred *sspi.Credentials) (*Server, error) {
	if err := checkCred(cred, sspi.CredInbound); err != nil {
		return nil, err
	}
	return &Server{cred: cred}, nil
}

// AcceptSecContext runs one AcceptSecurityContext step on the client's token (RFC 4462
// section 3.4) and returns the token to send back (the AP-REP when the client asked for
// mutual authentication). When the context is established, srcName is the client's
// principal ("alice@EXAMPLE.COM"), the name x/crypto/ssh passes to AllowLogin.
func (s *Server) AcceptSecContext(token []byte) (outputToken []byte, srcName string, needContinue bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx = sspi.NewServerContext(s.cred, sspi.ServerOptions{})
		s.id = sspi.Identity{}
	} else if s.ctx.Established() {
		// Only a second connection sharing this Server gets here: Kerberos establishes the
		// context in one step. Refuse rather than replace the first connection's context.
		return nil, "", false, sspi.Errorf(sspi.ErrInvalidHandle, "sshgss: this Server already holds an established context; give each SSH connection its own Server")
	}
	out, err := s.ctx.Step(token)
	if err != nil {
		s.deleteLocked()
		return out, "", false, err
	}
	if !s.ctx.Established() {
		return out, "", true, nil
	}
	id, err := s.ctx.Identity()
	if err != nil || id.Principal == "" {
		s.deleteLocked()
		return nil, "", false, sspi.Errorf(sspi.ErrInternalError, "sshgss: the established context names no client: %v", err)
	}
	s.id = id
	return out, id.Principal, false, nil
}

// VerifyMIC checks micToken, the client's MIC over micField (VerifySignature): the RFC
// 4462 section 3.5 binding of the authentication to this SSH session.
func (s *Server) VerifyMIC(micField []byte, micToken []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || !s.ctx.Established() {
		return sspi.Errorf(sspi.ErrInvalidHandle, "sshgss: VerifyMIC before the context is established")
	}
	return s.ctx.Verify(micField, micToken)
}

// DeleteSecContext deletes the context in progress, established or not
// (DeleteSecurityContext). It is idempotent; the Server can accept again afterwards.
func (s *Server) DeleteSecContext() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteLocked()
}

func (s *Server) deleteLocked() error {
	if s.ctx == nil {
		return nil
	}
	err := s.ctx.Close()
	s.ctx = nil
	return err
}

// Identity returns who the last established context authenticated (the client's principal,
// user and realm, and the service principal whose key accepted the ticket), and false
// when no context was established yet. It stays valid after DeleteSecContext.
func (s *Server) Identity() (sspi.Identity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id, s.id.Principal != ""
}

// Context returns the security context of the handshake in progress, nil when there is
// none. x/crypto/ssh calls AllowLogin before DeleteSecContext, so AllowLogin can use it:
// its Attributes tell whether the client delegated (sspi.ASCRetDelegate), and the
// Kerberos package's delegation functions take it to keep the user's forwarded TGT.
// Do not keep it past AllowLogin: DeleteSecContext deletes it.
func (s *Server) Context() *sspi.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		return nil
	}
	return s.ctx.Handle()
}
