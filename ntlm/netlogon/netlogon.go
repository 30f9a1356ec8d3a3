// Package netlogon verifies NTLM logons for an ntlm server by passing them to an Active
// Directory domain controller over Netlogon, as a Windows member server does
// (pass-through authentication, MS-APDS 3.1.5.1.1): the server's machine account opens
// a secure channel to the DC (MS-NRPC: NetrServerReqChallenge, NetrServerAuthenticate3
// with AES, the RPC traffic sealed), and each logon is a NetrLogonSamLogonEx with the
// client's responses, answered with the user's session key, SIDs and groups, or with the
// NTSTATUS of a refusal. It is pure Go: no Samba, no winbind.
//
//	v, err := netlogon.New(netlogon.Config{
//		Domain: "SAMDOM", DNSDomain: "samdom.test",
//		Computer: "WEB1", Password: machinePassword,
//	})
//	...
//	cfg := &ntlm.ServerConfig{Verifier: v, NetBIOSDomain: "SAMDOM"}
//
// The machine account is an ordinary computer account of the domain (samba-tool
// computer create and a password set with samba-tool user setpassword 'WEB1$', or
// adcli join, or a Windows join whose password is known). Domain controllers refuse
// secure channels that are not AES and sealed since the fixes for CVE-2020-1472 and
// CVE-2022-38023; this package offers nothing else.
//
// The server's CHALLENGE must name the machine account: the DC binds NTLMv2 responses to
// it (ntlm.TargetNamer), and an ntlm.ServerConfig takes the names from the Verifier.
//
// One secure channel serves all logons. Its calls go one at a time over each of
// Config.Connections RPC connections (one by default); a channel that fails (the DC restarted, the
// connection dropped, the DC answers STATUS_ACCESS_DENIED because the channel was
// reset) is set up again, on the next DC of the list if the first does not answer, and
// the logon is retried once.
package netlogon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/nrpc"
	"github.com/gosspi/sspi/ntlm"
)

// Config configures a Verifier.
type Config struct {
	// DomainControllers are the DCs to use, in order of preference: a host name or
	// address (Netlogon's port is asked of the endpoint mapper on port 135), or
	// host:port of Netlogon itself. Empty means DNS discovery: the SRV records
	// _ldap._tcp.dc._msdcs.<DNSDomain>.
	DomainControllers []string
	// DNSDomain is the domain's DNS name, for discovery.
	DNSDomain string
	// Resolver is the DNS resolver for discovery; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Domain is the domain's NetBIOS name ("SAMDOM").
	Domain string
	// Computer is the machine account's name without its "$" ("WEB1"), and Password its
	// password, or NTHash the NT hash of it.
	Computer string
	Password string
	NTHash   *[16]byte
	// Connections is the number of RPC connections bound to the secure channel, each
	// running one logon at a time; zero means one, so that the channel's calls are
	// serialised, as a DC expects of a member server by default. NetrLogonSamLogonEx
	// does not advance the channel's authenticator chain, so more connections may run
	// logons side by side (Windows' MaxConcurrentApi); each has its own sequence numbers.
	Connections int
	// Timeout bounds one logon, setting up the channel included; zero means 30s.
	Timeout time.Duration
	// Rand is the source of client challenges and confounders; nil means crypto/rand.
	Rand io.Reader
}

// Verifier is an ntlm.Verifier that asks a domain controller. It is safe for concurrent
// use.
type Verifier struct {
	cfg     Config
	ntHash  [16]byte
	mu      sync.Mutex
	ch      *nrpc.Channel
	opening chan struct{} // closed when the channel being opened is ready (or failed)
	openErr error
	closed  bool
}

// New checks the configuration and returns a Verifier. The secure channel is set up on
// the first logon.
func New(cfg Config) (*Verifier, error) {
	switch {
	case cfg.Domain == "" || cfg.Computer == "":
		return nil, errors.New("netlogon: Config needs the NetBIOS Domain and the Computer (machine account) name")
	case len(cfg.DomainControllers) == 0 && cfg.DNSDomain == "":
		return nil, errors.New("netlogon: Config needs DomainControllers or a DNSDomain to discover them")
	case cfg.Password == "" && cfg.NTHash == nil:
		return nil, errors.New("netlogon: Config needs the machine account's Password or NTHash")
	}
	cfg.Computer = strings.TrimSuffix(cfg.Computer, "$")
	if cfg.Connections <= 0 {
		cfg.Connections = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	v := &Verifier{cfg: cfg}
	if cfg.NTHash != nil {
		v.ntHash = *cfg.NTHash
	} else {
		v.ntHash = ntlm.AccountFromPassword("", "", cfg.Password).NTHash
	}
	v.cfg.Password, v.cfg.NTHash = "", nil
	return v, nil
}

// TargetNames returns the domain and the machine account's name: the DC accepts only
// NTLMv2 responses made for a CHALLENGE that names them (see ntlm.TargetNamer), so the
// server's CHALLENGE must carry them.
func (v *Verifier) TargetNames() (netbiosDomain, netbiosComputer string) {
	return strings.ToUpper(v.cfg.Domain), strings.ToUpper(v.cfg.Computer)
}

// Close closes the secure channel and zeroes the machine account's hash.
func (v *Verifier) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	clear(v.ntHash[:])
	if v.ch != nil {
		v.ch.Close()
		v.ch = nil
	}
	return nil
}

// VerifyLogon passes the logon to the domain controller.
func (v *Verifier) VerifyLogon(ctx context.Context, req *ntlm.LogonRequest) (*ntlm.LogonResult, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	l := &nrpc.NetworkLogon{Domain: req.Domain, User: req.User, Workstation: req.Workstation, Challenge: req.ServerChallenge, NTResponse: req.NTResponse}
	// The LM response goes along only with an NTLMv1 one: with NTLMv2 the session key
	// is the NT response's, and a DC that accepted an LMv2 response alone would
	// return another.
	if len(req.NTResponse) == 24 {
		l.LMResponse = req.LMResponse
	}
	var resp *nrpc.SamLogonResponse
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var ch *nrpc.Channel
		if ch, err = v.channel(ctx); err != nil {
			return nil, err
		}
		resp, err = ch.SamLogon(ctx, l)
		if !retryable(err) || ctx.Err() != nil {
			break
		}
		v.reset(ch)
	}
	var st nrpc.Status
	switch {
	case errors.As(err, &st):
		return nil, &ntlm.LogonError{Status: ntlm.NTStatus(st), Err: fmt.Errorf("netlogon: the domain controller refused the logon")}
	case err != nil:
		return nil, fmt.Errorf("netlogon: %w", err)
	}
	return result(resp.Validation), nil
}

// retryable reports a failure of the channel rather than an answer about the logon: a
// broken or refused connection, or STATUS_ACCESS_DENIED, a DC's answer on a channel it
// no longer knows (another process authenticated with the same machine account).
func retryable(err error) bool {
	var st nrpc.Status
	if errors.As(err, &st) {
		return ntlm.NTStatus(st) == ntlm.StatusAccessDenied
	}
	return err != nil
}

// channel returns the secure channel, setting it up if there is none. Only one caller
// sets it up; the others wait for it.
func (v *Verifier) channel(ctx context.Context) (*nrpc.Channel, error) {
	for {
		v.mu.Lock()
		if v.closed {
			v.mu.Unlock()
			return nil, errors.New("netlogon: the verifier is closed")
		}
		if v.ch != nil {
			ch := v.ch
			v.mu.Unlock()
			return ch, nil
		}
		if wait := v.opening; wait != nil {
			v.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, fmt.Errorf("netlogon: waiting for the secure channel: %w", ctx.Err())
			}
			v.mu.Lock()
			err := v.openErr
			v.mu.Unlock()
			if err != nil {
				return nil, err
			}
			continue
		}
		done := make(chan struct{})
		v.opening = done
		v.mu.Unlock()
		ch, err := v.open(ctx)
		v.mu.Lock()
		v.opening, v.openErr = nil, err
		if err == nil {
			if v.closed {
				ch.Close()
				err = errors.New("netlogon: the verifier is closed")
			} else {
				v.ch = ch
			}
		}
		v.mu.Unlock()
		close(done)
		return ch, err
	}
}

// reset drops a failed channel, unless another caller has replaced it already.
func (v *Verifier) reset(ch *nrpc.Channel) {
	v.mu.Lock()
	if v.ch == ch {
		v.ch = nil
	}
	v.mu.Unlock()
	ch.Close()
}

// open sets up a secure channel with the first DC that answers.
func (v *Verifier) open(ctx context.Context) (*nrpc.Channel, error) {
	v.mu.Lock()
	ntHash := v.ntHash // Close zeroes it
	v.mu.Unlock()
	defer clear(ntHash[:])
	dcs := v.cfg.DomainControllers
	if len(dcs) == 0 {
		var err error
		if dcs, err = v.discover(ctx); err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, dc := range dcs {
		ch, err := nrpc.Open(ctx, nrpc.ChannelConfig{
			Addr: dc, Domain: v.cfg.Domain, Computer: v.cfg.Computer, NTHash: ntHash,
			Seal: true, Connections: v.cfg.Connections, Rand: v.cfg.Rand,
		})
		if err == nil {
			return ch, nil
		}
		var st nrpc.Status
		if errors.As(err, &st) {
			// The DC refused the machine account: another DC will too.
			return nil, &ntlm.LogonError{Status: ntlm.StatusNoLogonServers, Reason: "the domain controller refused this server's secure channel",
				Err: fmt.Errorf("netlogon: %s: machine account %s$: %s (check the account and its password)", dc, v.cfg.Computer, ntlm.NTStatus(st).Name())}
		}
		errs = append(errs, fmt.Errorf("%s: %w", dc, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &ntlm.LogonError{Status: ntlm.StatusNoLogonServers, Err: fmt.Errorf("netlogon: no domain controller answered: %w", errors.Join(errs...))}
}

// discover finds the domain's DCs in DNS (MS-ADTS 6.3.6.1: _ldap._tcp.dc._msdcs.<domain>),
// in the order of their priorities and weights.
func (v *Verifier) discover(ctx context.Context) ([]string, error) {
	r := v.cfg.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	_, srvs, err := r.LookupSRV(ctx, "ldap", "tcp", "dc._msdcs."+v.cfg.DNSDomain)
	if err != nil {
		return nil, &ntlm.LogonError{Status: ntlm.StatusNoLogonServers, Err: fmt.Errorf("netlogon: finding the domain controllers of %s in DNS: %w", v.cfg.DNSDomain, err)}
	}
	var dcs []string
	for _, s := range srvs {
		host := strings.TrimSuffix(s.Target, ".")
		if v.cfg.Resolver != nil {
			// A private resolver knows the DC's name; the host's may not.
			addrs, err := r.LookupHost(ctx, host)
			if err != nil || len(addrs) == 0 {
				continue
			}
			host = addrs[0]
		}
		dcs = append(dcs, host)
	}
	if len(dcs) == 0 {
		return nil, &ntlm.LogonError{Status: ntlm.StatusNoLogonServers, Err: fmt.Errorf("netlogon: DNS lists no usable domain controller for %s", v.cfg.DNSDomain)}
	}
	return dcs, nil
}

// result turns validation information into the verifier's answer: the session key,
// the names, and the access token: the user's SID (the logon domain's SID and the
// user's RID), its primary group, and every group (domain groups by RID, extra SIDs),
// as the PAC decoder counts them for a Kerberos ticket.
func result(v *nrpc.Validation) *ntlm.LogonResult {
	t := &sspi.AccessToken{
		Source:   sspi.AuthzDomainLogon,
		UserName: v.EffectiveName, FullName: v.FullName,
		LogonDomain: v.LogonDomainName, DNSDomain: v.DNSLogonDomainName, UPN: v.UPN,
		LogonServer: v.LogonServer, UserFlags: v.UserFlags,
		LogonTime: v.LogonTime.Time(), LogoffTime: v.LogoffTime.Time(), KickoffTime: v.KickOffTime.Time(),
	}
	if v.LogonDomainID != nil {
		t.DomainSID = v.LogonDomainID.String()
	}
	if sid, ok := v.UserSID(); ok {
		t.UserSID = sid.String()
	}
	if sid, ok := v.PrimaryGroupSID(); ok {
		t.PrimaryGroupSID = sid.String()
	}
	for _, g := range v.Groups() {
		t.Groups = append(t.Groups, sspi.GroupSID{SID: g.SID.String(), Attributes: g.Attributes})
	}
	return &ntlm.LogonResult{
		SessionBaseKey: v.UserSessionKey,
		Domain:         v.LogonDomainName, User: v.EffectiveName,
		Authority: v.LogonServer, Token: t,
	}
}
