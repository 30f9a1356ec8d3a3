package nrpc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/gosspi/sspi/internal/dcerpc"
)

// ChannelConfig says how to set up a secure channel.
type ChannelConfig struct {
	// Addr is the domain controller: "host" (Netlogon's port is asked of the endpoint
	// mapper on port 135) or "host:port" (Netlogon's port itself).
	Addr string
	// Domain is the NetBIOS domain name, Computer the machine account's name without
	// its "$", NTHash the NT hash of its password.
	Domain, Computer string
	NTHash           [16]byte
	// ChannelType is WorkstationSecureChannel (zero means it) or ServerSecureChannel.
	ChannelType uint16
	// Seal chooses privacy (sealing) over integrity; DCs since CVE-2022-38023 require it.
	Seal bool
	// Connections is how many RPC connections the channel binds with its session key,
	// each running one call at a time; zero means one.
	Connections int
	Rand        io.Reader
}

// Channel is an established secure channel, bound as the security provider of one or
// more RPC connections to the DC, each of which runs one call at a time.
type Channel struct {
	conns  chan *dcerpc.Conn
	all    []*dcerpc.Conn
	creds  *Credentials
	server string // \\DC as the calls name it
	cfg    ChannelConfig
	// Flags are the negotiate flags the DC agreed to.
	Flags uint32
	// Addr is the DC's Netlogon endpoint, host:port.
	Addr string
}

// Open sets up a secure channel (MS-NRPC 3.1.4.1): NetrServerReqChallenge and
// NetrServerAuthenticate3 over an unauthenticated connection, then a second connection
// bound with the Netlogon security provider over the new session key.
func Open(ctx context.Context, cfg ChannelConfig) (*Channel, error) {
	if cfg.ChannelType == 0 {
		cfg.ChannelType = WorkstationSecureChannel
	}
	addr, err := resolve(ctx, cfg.Addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	creds, err := authenticate(ctx, addr, cfg)
	if err != nil {
		return nil, err
	}
	n := max(cfg.Connections, 1)
	c := &Channel{conns: make(chan *dcerpc.Conn, n), creds: creds, server: `\\` + host, cfg: cfg, Flags: creds.Flags, Addr: addr}
	for range n {
		conn, err := c.bind(ctx, addr)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.all = append(c.all, conn)
		c.conns <- conn
	}
	return c, nil
}

// bind opens one RPC connection bound with the channel's session key; each has its own
// security context and so its own sequence numbers.
func (c *Channel) bind(ctx context.Context, addr string) (*dcerpc.Conn, error) {
	conn, err := dcerpc.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	sc := NewSecureChannel(c.creds.SessionKey, strings.ToUpper(c.cfg.Domain), strings.ToUpper(c.cfg.Computer), c.cfg.Seal)
	if c.cfg.Rand != nil {
		sc.rand = c.cfg.Rand
	}
	if err := conn.Bind(ctx, Netlogon, sc); err != nil {
		conn.Close()
		return nil, fmt.Errorf("nrpc: binding the secure channel: %w", err)
	}
	return conn, nil
}

// resolve turns a configured address into host:port, asking the endpoint mapper for
// Netlogon's port when none was given.
func resolve(ctx context.Context, addr string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr, nil
	}
	port, err := dcerpc.EptMap(ctx, addr, Netlogon)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(addr, strconv.Itoa(port)), nil
}

// authenticate runs the challenge exchange and returns the channel's credentials.
func authenticate(ctx context.Context, addr string, cfg ChannelConfig) (*Credentials, error) {
	conn, err := dcerpc.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.Bind(ctx, Netlogon, nil); err != nil {
		return nil, fmt.Errorf("nrpc: binding to Netlogon: %w", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	server := `\\` + host
	var clientCh [8]byte
	r := cfg.Rand
	if r == nil {
		r = randReader
	}
	if _, err := io.ReadFull(r, clientCh[:]); err != nil {
		return nil, err
	}
	resp, err := conn.Call(ctx, OpServerReqChallenge, ReqChallengeRequest(server, cfg.Computer, clientCh))
	if err != nil {
		return nil, fmt.Errorf("nrpc: NetrServerReqChallenge: %w", err)
	}
	serverCh, err := ParseReqChallengeResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("nrpc: NetrServerReqChallenge: %w", err)
	}
	creds, clientCred, wantServerCred := NewCredentials(cfg.NTHash, clientCh, serverCh)
	resp, err = conn.Call(ctx, OpServerAuthenticate3, Authenticate3Request(server, cfg.Computer+"$", cfg.ChannelType, cfg.Computer, clientCred, NegClientFlags))
	if err != nil {
		return nil, fmt.Errorf("nrpc: NetrServerAuthenticate3: %w", err)
	}
	a3, err := ParseAuthenticate3Response(resp)
	if err != nil {
		return nil, fmt.Errorf("nrpc: NetrServerAuthenticate3 for %s$: %w", cfg.Computer, err)
	}
	// MS-NRPC 3.1.4.1: the server proves it knows the machine password too.
	if subtle.ConstantTimeCompare(a3.ServerCredential[:], wantServerCred[:]) != 1 {
		return nil, errors.New("nrpc: the DC's credential does not match: it does not know the machine password (or this is not the DC)")
	}
	if a3.Flags&NegSupportsAES == 0 || a3.Flags&NegAuthenticatedRPC == 0 {
		return nil, fmt.Errorf("nrpc: the DC does not offer AES secure channels bound to RPC (flags %#08x)", a3.Flags)
	}
	creds.Flags = a3.Flags
	return creds, nil
}

// Close closes the channel's connections.
func (c *Channel) Close() error {
	for _, conn := range c.all {
		conn.Close()
	}
	return nil
}

// SessionKey returns the channel's session key.
func (c *Channel) SessionKey() [16]byte { return c.creds.SessionKey }

// SamLogon passes a network logon to the DC with NetrLogonSamLogonEx and returns the
// validation information, its user session key decrypted. A refusal is a Status.
func (c *Channel) SamLogon(ctx context.Context, l *NetworkLogon) (*SamLogonResponse, error) {
	req, err := SamLogonExRequest(c.server, c.cfg.Computer, l, ValidationSamInfo4)
	if err != nil {
		return nil, err
	}
	var conn *dcerpc.Conn
	select {
	case conn = <-c.conns:
	case <-ctx.Done():
		return nil, fmt.Errorf("nrpc: no secure channel connection free in time: %w", ctx.Err())
	}
	resp, err := conn.Call(ctx, OpLogonSamLogonEx, req)
	c.conns <- conn
	if err != nil {
		return nil, err
	}
	r, err := ParseSamLogonExResponse(resp)
	if err != nil {
		return r, err
	}
	return r, nil
}
