package kerberos

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/atomicfile"
	"github.com/gosspi/sspi/internal/krb5/ccache"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/wiretext"
)

// usageKRBCred is RFC 4120 7.5.1's key usage of KRB-CRED's encrypted part.
const usageKRBCred = 14

// DelegationOptions configure the credentials made from what a client delegated
// (DelegatedCredentials) or from a service's own credentials acting for a user
// (ImpersonateUser, ProxyCredentials).
type DelegationOptions struct {
	// Config is the path of krb5.conf, which says where the KDCs of the user's realm are,
	// for DelegatedCredentials (the others use the service credentials' krb5.conf); empty
	// means KRB5_CONFIG, then /etc/krb5.conf.
	Config string
	// Context bounds the KDC exchanges ImpersonateUser makes now; nil means none. Those of
	// InitializeSecurityContext follow its own context.
	Context context.Context
}

// forwarder is a ticket source that can delegate: it gives a forwarded TGT for a KRB-CRED
// to target, or nil when policy says not to.
type forwarder interface {
	forwardedTGT(ctx context.Context, target string, ignoreOKAsDelegate bool) (*krbclient.Credential, error)
}

// forwardedTGT applies Windows' policy: the service ticket must carry OK-AS-DELEGATE (the
// KDC's word that the realm trusts the service with users' TGTs), unless the caller chose
// to ignore it, as MIT's GSS_C_DELEG_FLAG does. The TGT must be forwardable.
func (t *clientTickets) forwardedTGT(ctx context.Context, target string, ignoreOKAsDelegate bool) (*krbclient.Credential, error) {
	ps, err := t.principals(ctx, target)
	if err != nil {
		return nil, err
	}
	// The ticket serviceTicket got a moment ago, for whichever of the names worked: a cache
	// look-up.
	var st *krbclient.Credential
	for _, p := range ps {
		if st, err = t.creds.cl.ServiceTicket(ctx, p, nil); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if st.Flags&wire.FlagOKAsDelegate == 0 && !ignoreOKAsDelegate {
		return nil, nil
	}
	return t.creds.cl.ForwardedTGT(ctx)
}

// delegate returns the 0x8003 checksum with a KRB-CRED holding a forwarded TGT (RFC 4121
// 4.1.1), sealed in the ticket's session key as MIT and Windows seal it, or the plain
// checksum when there is nothing to delegate: the service is not trusted for delegation,
// the TGT is not forwardable, or the KDC refuses to forward it. As with MIT and Windows,
// that is not a failure: the context is made without ISC_RET_DELEGATE.
func (c *clientContext) delegate(ctx context.Context, target string, key *krbcrypto.Key, ck *gssChecksum) ([]byte, error) {
	plain := ck.put(&c.ck)
	f, ok := c.creds.tickets.(forwarder)
	if !ok {
		return plain, nil
	}
	tgt, err := f.forwardedTGT(ctx, target, c.creds.ignoreOKAsDelegate)
	if err != nil || tgt == nil {
		return plain, nil
	}
	defer tgt.Key.Destroy()
	cred, err := marshalKRBCred(tgt, key, time.Now())
	if err != nil {
		return nil, err
	}
	ck.deleg = cred
	out, err := ck.appendDeleg(nil)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: %v", err)
	}
	c.gflags |= gssDeleg
	return out, nil
}

// marshalKRBCred makes the KRB-CRED (RFC 4120 5.8) carrying cred, its part sealed with
// key (usage 14).
func marshalKRBCred(cred *krbclient.Credential, key *krbcrypto.Key, now time.Time) ([]byte, error) {
	kb := cred.Key.Bytes()
	defer clear(kb)
	info := wire.KrbCredInfo{
		Key:    wire.EncryptionKey{Type: int32(cred.Key.EType()), Value: kb},
		PRealm: cred.Client.Realm, PName: &cred.Client.Name,
		Flags: cred.Flags, HasFlags: true,
		AuthTime: cred.AuthTime, StartTime: cred.StartTime, EndTime: cred.EndTime, RenewTill: cred.RenewTill,
		SRealm: cred.Server.Realm, SName: &cred.Server.Name,
	}
	part := wire.EncKrbCredPart{
		TicketInfo: []wire.KrbCredInfo{info},
		Timestamp:  now.UTC().Truncate(time.Second), Usec: int32(now.Nanosecond() / 1000), HasUsec: true,
	}
	plain, err := part.Marshal()
	defer clear(plain)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the delegated TGT: %v", err)
	}
	conf := make([]byte, key.EType().ConfounderSize())
	if _, err := rand.Read(conf); err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: no randomness for the KRB-CRED: %v", err)
	}
	sealed, err := key.Usage(usageKRBCred).Seal(nil, plain, conf)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: sealing the KRB-CRED: %v", err)
	}
	kc := wire.KRBCred{Tickets: []wire.Ticket{cred.Ticket}, EncPart: wire.EncryptedData{EType: int32(key.EType()), Cipher: sealed}}
	b, err := kc.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the KRB-CRED: %v", err)
	}
	return b, nil
}

// finishDelegating finishes the handshake (finish) after opening the delegated TGT the
// client's checksum carries, if any, and keeps the ticket for S4U2Proxy.
func (s *serverContext) finishDelegating(p *sspi.StepParams, st *acceptState, bp *[]byte) (sspi.Status, error) {
	if st.ck.flags&gssDeleg != 0 && len(st.ck.deleg) > 0 {
		if err := s.acceptDelegation(st); err != nil {
			return 0, err
		}
	}
	status, err := s.finish(p, st, bp)
	if err != nil {
		return 0, err
	}
	s.keepEvidence(st)
	if s.deleg != nil {
		// In DCE style the context is established by the third leg (readDCEReply), which
		// grants the attributes waitDCE kept: ASC_RET_DELEGATE belongs with them, not
		// with this CONTINUE_NEEDED leg.
		if s.dce != nil {
			s.dce.attr |= sspi.ASCRetDelegate
		} else {
			p.Attr |= sspi.ASCRetDelegate
		}
	}
	return status, nil
}

// clientOf names the ticket's client for error messages, bounded.
func clientOf(st *acceptState) string {
	return wiretext.Name(st.tkt.CName.String() + "@" + st.tkt.CRealm)
}

// acceptDelegation opens the KRB-CRED of the client's checksum and keeps the TGT it
// carries. MIT and Windows seal it in the ticket's session key; RFC 4121 allows the
// initiator's subkey, and an unencrypted part (etype 0) is taken as the authenticator
// that carries it is itself sealed. A KRB-CRED that does not open, or that carries
// another client's ticket or no TGT, fails the handshake, as in MIT's acceptor.
func (s *serverContext) acceptDelegation(st *acceptState) error {
	var kc wire.KRBCred
	if err := kc.Unmarshal(st.ck.deleg); err != nil {
		return malformed("delegated KRB-CRED", err)
	}
	plain, err := openKRBCred(&kc, st)
	if err != nil {
		return err
	}
	defer clear(plain)
	var part wire.EncKrbCredPart
	if err := part.Unmarshal(plain); err != nil {
		return malformed("delegated KRB-CRED part", err)
	}
	if len(part.TicketInfo) != 1 || len(kc.Tickets) != 1 {
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the delegated KRB-CRED holds %d tickets and %d ticket infos, want one TGT", len(kc.Tickets), len(part.TicketInfo))
	}
	info, t := &part.TicketInfo[0], &kc.Tickets[0]
	tkt := &st.tkt
	// The ticket's own client is sealed in the KDC's key: the info's names, which MIT and
	// Windows always send, are what can be checked against the authenticated client.
	if info.PName == nil || !info.PName.Equal(tkt.CName) || info.PRealm != tkt.CRealm {
		return sspi.Errorf(sspi.ErrLogonDenied, "kerberos: %s delegated a ticket of another client", clientOf(st))
	}
	if len(t.SName.Components) != 2 || t.SName.Components[0] != "krbtgt" {
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: %s delegated a ticket for %s, not a TGT", clientOf(st), wiretext.Name(t.SName.String()))
	}
	if !krbcrypto.EType(info.Key.Type).Supported() {
		return sspi.Errorf(sspi.ErrKDCUnknownEtype, "kerberos: the delegated TGT's key has encryption type %d, which this package does not implement", info.Key.Type)
	}
	if info.EndTime.IsZero() {
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the delegated TGT has no end time")
	}
	cl := ccache.Principal{Name: clonePrincipalName(tkt.CName), Realm: tkt.CRealm}
	s.deleg = &ccache.CCache{Version: ccache.Version4, DefaultPrincipal: cl, Credentials: []ccache.Credential{{
		Client: cl,
		Server: ccache.Principal{Name: clonePrincipalName(t.SName), Realm: t.Realm},
		Key:    wire.EncryptionKey{Type: info.Key.Type, Value: append([]byte(nil), info.Key.Value...)},
		Flags:  info.Flags, AuthTime: info.AuthTime, StartTime: info.StartTime, EndTime: info.EndTime, RenewTill: info.RenewTill,
		Ticket: append([]byte(nil), t.Raw...),
	}}}
	return nil
}

// openKRBCred decrypts the KRB-CRED's part into a new buffer, which the caller zeroes.
func openKRBCred(kc *wire.KRBCred, st *acceptState) ([]byte, error) {
	et := kc.EncPart.EType
	if et == 0 {
		return append([]byte(nil), kc.EncPart.Cipher...), nil
	}
	if et == int32(st.session.EType()) {
		if plain, err := st.session.Usage(usageKRBCred).Open(nil, kc.EncPart.Cipher); err == nil {
			return plain, nil
		}
	}
	if sk := st.auth.SubKey; sk != nil && sk.Type == et {
		k, err := krbcrypto.NewKey(krbcrypto.EType(et), sk.Value)
		if err == nil {
			defer k.Destroy()
			if plain, err := k.Usage(usageKRBCred).Open(nil, kc.EncPart.Cipher); err == nil {
				return plain, nil
			}
		}
	}
	return nil, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the delegated KRB-CRED of %s does not decrypt with the session key or the subkey", clientOf(st))
}

func clonePrincipalName(n wire.PrincipalName) wire.PrincipalName {
	return wire.PrincipalName{Type: n.Type, Components: append([]string(nil), n.Components...)}
}

// forgetDelegation zeroes the delegated TGT's key.
func (s *serverContext) forgetDelegation() {
	if s.deleg != nil {
		for i := range s.deleg.Credentials {
			clear(s.deleg.Credentials[i].Key.Value)
		}
		s.deleg = nil
	}
}

// Close zeroes the context's keys and the delegated TGT's; credentials made from it
// with DelegatedCredentials are the caller's and stay usable until freed.
func (s *serverContext) Close() error {
	s.forgetDelegation()
	if s.dce != nil { // the key a DCE-style handshake keeps for its third leg
		s.dce.session.Destroy()
		s.dce = nil
	}
	return s.established.Close()
}

// attrContextOp is the QueryContextAttributes id through which this package's own
// functions reach an established Kerberos server context (directly or inside Negotiate)
// with the handle held; out is a *contextOp.
const attrContextOp sspi.Attribute = 0x80000C70

// contextOp runs on the server context, with the handle held.
type contextOp func(s *serverContext) error

// QueryAttribute answers this package's own attribute ids.
func (s *serverContext) QueryAttribute(attr sspi.Attribute, out any) error {
	if attr == attrContextOp {
		op, ok := out.(*contextOp)
		if !ok || op == nil || *op == nil {
			return sspi.Errorf(sspi.ErrInvalidParameter, "kerberos: context attribute %#x is internal to package kerberos", uint32(attr))
		}
		return (*op)(s)
	}
	return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: context attribute %d is not supported", attr)
}

// onServerContext runs op on ctx's Kerberos server context.
func onServerContext(ctx *sspi.Context, what string, op contextOp) error {
	if ctx == nil {
		return sspi.Errorf(sspi.ErrInvalidHandle, "kerberos: %s: nil context", what)
	}
	if !ctx.Server() || !ctx.Established() {
		return sspi.Errorf(sspi.ErrNoContext, "kerberos: %s needs an established server context", what)
	}
	err := sspi.QueryContextAttributes(ctx, attrContextOp, &op)
	if err != nil && sspi.StatusOf(err) == sspi.ErrUnsupportedFunction {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: %s needs a Kerberos context (this one is %s): %w", what, ctx.Package(), causeOf(err))
	}
	return err
}

// DelegatedCredentials returns client credentials of the user whose TGT the client of an
// established server context delegated (ASC_RET_DELEGATE, unconstrained delegation): use
// them with InitializeSecurityContext to reach another service as that user, and free
// them with FreeCredentialsHandle, which zeroes their keys. ctx may be a Kerberos context
// or a Negotiate one that chose Kerberos. Without a delegated TGT it fails with
// sspi.ErrNoCredentials. opts may be nil.
func DelegatedCredentials(ctx *sspi.Context, opts *DelegationOptions) (*sspi.Credentials, error) {
	if opts == nil {
		opts = &DelegationOptions{}
	}
	kcfg, err := loadConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	var cl *krbclient.Client
	err = onServerContext(ctx, "DelegatedCredentials", func(s *serverContext) error {
		if s.deleg == nil {
			return errNoDelegation(s)
		}
		var err error
		cl, err = krbclient.NewFromCCache(&krbclient.Options{Config: kcfg, HostResolver: hostDNS}, s.deleg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return handOff(clientCredsFor(cl, kcfg))
}

func errNoDelegation(s *serverContext) error {
	return sspi.Errorf(sspi.ErrNoCredentials, "kerberos: %s delegated no TGT (the client asks with ISC_REQ_DELEGATE, needs a forwardable TGT, and, unless it ignores the flag, a service ticket with OK-AS-DELEGATE)", s.identity.Principal)
}

// WriteDelegatedCCache writes the TGT the client of an established server context
// delegated to an MIT credential cache at path ("FILE:" prefix allowed), atomically with
// mode 0600, for programs that read KRB5CCNAME. Without a delegated TGT it fails with
// sspi.ErrNoCredentials.
func WriteDelegatedCCache(ctx *sspi.Context, path string) error {
	return onServerContext(ctx, "WriteDelegatedCCache", func(s *serverContext) error {
		if s.deleg == nil {
			return errNoDelegation(s)
		}
		b, err := s.deleg.Marshal()
		defer clear(b)
		if err != nil {
			return sspi.Errorf(sspi.ErrInternalError, "kerberos: encoding the delegated TGT as a credential cache: %v", err)
		}
		if err := atomicfile.Write(trimFilePrefix(path), b); err != nil {
			return sspi.Errorf(sspi.ErrInternalError, "kerberos: writing the credential cache: %v", err)
		}
		return nil
	})
}

// clientCredsFor makes client credentials around a krbclient.Client that already holds
// its TGT (delegated, or the service's for S4U).
func clientCredsFor(cl *krbclient.Client, kcfg *krbconf.Config) *clientCreds {
	c := &clientCreds{cl: cl}
	u := cl.User()
	c.user, c.realm = joinName(u.Name), u.Realm
	c.cname = wire.PrincipalName{Type: wire.NamePrincipal, Components: u.Name.Components}
	c.name = c.user + "@" + c.realm
	c.tickets = &clientTickets{creds: c, conf: kcfg}
	return c
}

func joinName(n wire.PrincipalName) string { return strings.Join(n.Components, "/") }

// handoff carries credentials this package made to AcquireCredentials, so that they
// come back as an *sspi.Credentials handle like any other.
type handoff struct{ creds *clientCreds }

func handOff(c *clientCreds) (*sspi.Credentials, error) {
	h, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &handoff{creds: c}, nil)
	if err != nil {
		if c.cl != nil {
			c.cl.Destroy()
		}
		return nil, err
	}
	return h, nil
}
