package sockauth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/internal/rdp"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/schannel"
)

const (
	rdpUser     = "alice"
	rdpDomain   = "EXAMPLE"
	rdpPassword = "Passw0rd!"
)

func rdpCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// rdpServerCreds are CredSSP acceptor credentials: NTLM (in Negotiate) with alice's
// account, a self-signed TLS certificate.
func rdpServerCreds(t testing.TB, eua bool) *sspi.Credentials {
	t.Helper()
	store, err := ntlm.ParseAccounts(strings.NewReader(rdpDomain + ":" + rdpUser + ":" + rdpPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &credssp.Config{
		TLS: &schannel.Config{Certificates: []tls.Certificate{rdpCert(t)}},
		Negotiate: &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: &ntlm.ServerConfig{Accounts: store,
			NetBIOSDomain: rdpDomain, NetBIOSComputer: "GATE", DNSComputer: "localhost"}}},
		EarlyUserAuthResult: eua,
	}
	c, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredInbound, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// rdpClientCreds delegate alice's password to any TERMSRV after NTLM (the opt-in Windows
// calls "with NTLM-only server authentication"). pkg "NTLM" sends bare NTLM, which
// FreeRDP's server needs.
func rdpClientCreds(t testing.TB, password, pkg string, eua bool) *sspi.Credentials {
	t.Helper()
	cfg := &credssp.Config{Package: pkg, Negotiate: &sspi.AuthIdentity{User: rdpUser, Domain: rdpDomain, Password: password},
		DelegateToNTLMOnly: []string{"TERMSRV/*"}, EarlyUserAuthResult: eua}
	c, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredOutbound, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

type acceptResult struct {
	sc    *sspi.ServerContext
	proto uint32
	err   error
}

func serveOneRDP(t testing.TB, cred *sspi.Credentials, opts RDPOptions) (string, <-chan acceptResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan acceptResult, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- acceptResult{err: err}
			return
		}
		defer nc.Close()
		sc, proto, err := AcceptRDP(nc, cred, opts)
		done <- acceptResult{sc, proto, err}
		// Let the client read the last token before the connection goes.
		time.Sleep(100 * time.Millisecond)
	}()
	return ln.Addr().String(), done
}

func TestRDPOurClientOurServer(t *testing.T) {
	for _, tt := range []struct {
		name     string
		password string
		eua      bool
		want     sspi.Status
	}{
		{"HYBRID", rdpPassword, false, sspi.OK},
		{"HYBRID_EX with the early user authorization result", rdpPassword, true, sspi.OK},
		{"wrong password", "wrong", false, sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, done := serveOneRDP(t, rdpServerCreds(t, tt.eua), RDPOptions{HybridEx: tt.eua})
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			cc, proto, cerr := ConnectRDP(nc, rdpClientCreds(t, tt.password, "", tt.eua), "TERMSRV/localhost", RDPOptions{HybridEx: tt.eua, Cookie: "Cookie: mstshash=alice"})
			r := <-done
			if tt.want != sspi.OK {
				if !errors.Is(cerr, tt.want) || !errors.Is(r.err, tt.want) {
					t.Fatalf("client %v, server %v; want %v on both (the client through errorCode)", cerr, r.err, tt.want)
				}
				return
			}
			if cerr != nil || r.err != nil {
				t.Fatalf("client %v, server %v", cerr, r.err)
			}
			wantProto := rdp.ProtocolHybrid
			if tt.eua {
				wantProto = rdp.ProtocolHybridEx
			}
			if proto != wantProto || r.proto != wantProto || !cc.Established() {
				t.Fatalf("protocol %d/%d", proto, r.proto)
			}
			d, err := credssp.DelegatedCredentials(r.sc.Handle())
			if err != nil || !reflect.DeepEqual(d, &credssp.PasswordCredentials{Domain: rdpDomain, User: rdpUser, Password: rdpPassword}) {
				t.Fatalf("delegated %+v, %v", d, err)
			}
		})
	}
}

// TestRDPFreeRDPClient: xfreerdp /sec:nla +auth-only against AcceptRDP. FreeRDP 2.11
// goes on to the MCS connection after NLA, which an NLA gate does not answer, so its exit
// status is 147 (transport failed) either way: the verdict is the gate's.
func TestRDPFreeRDPClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs xfreerdp")
	}
	x := testpeers.StartXvfb(t)
	for _, tt := range []struct {
		name, user, password string
		want                 sspi.Status
	}{
		{"right password", rdpUser, rdpPassword, sspi.OK},
		{"wrong password", rdpUser, "wrong", sspi.ErrLogonDenied},
		{"unknown user", "mallory", rdpPassword, sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, done := serveOneRDP(t, rdpServerCreds(t, false), RDPOptions{})
			res, err := testpeers.RunXFreeRDP(t, addr, testpeers.XFreeRDPOptions{Domain: rdpDomain, User: tt.user, Password: tt.password, X: x})
			if err != nil {
				t.Fatal(err)
			}
			r := <-done
			if tt.want != sspi.OK {
				if !errors.Is(r.err, tt.want) {
					t.Fatalf("gate: %v, want %v", r.err, tt.want)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("gate: %v\nxfreerdp:\n%s", r.err, res.Output)
			}
			d, err := credssp.DelegatedCredentials(r.sc.Handle())
			if err != nil || !reflect.DeepEqual(d, &credssp.PasswordCredentials{Domain: rdpDomain, User: rdpUser, Password: rdpPassword}) {
				t.Fatalf("delegated %+v, %v", d, err)
			}
			id, err := r.sc.Identity()
			if err != nil || id.User != rdpUser {
				t.Fatalf("identity %+v %v", id, err)
			}
		})
	}
}

// TestRDPFreeRDPServer: ConnectRDP against freerdp-shadow-cli /sec:nla.
func TestRDPFreeRDPServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs freerdp-shadow-cli")
	}
	srv := testpeers.StartFreeRDPShadow(t, testpeers.ShadowOptions{Users: []testpeers.RDPUser{{User: rdpUser, Password: rdpPassword}}})
	for _, tt := range []struct {
		name, password string
		want           sspi.Status
	}{
		{"right password", rdpPassword, sspi.OK},
		{"wrong password", "wrong", sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			cc, proto, err := ConnectRDP(nc, rdpClientCreds(t, tt.password, "NTLM", false), "TERMSRV/localhost", RDPOptions{Cookie: "Cookie: mstshash=alice"})
			if tt.want != sspi.OK {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nserver log:\n%s", err, srv.Log())
			}
			if proto != rdp.ProtocolHybrid || !cc.Established() || cc.Attributes()&sspi.ISCRetDelegate == 0 {
				t.Fatalf("protocol %d, attributes %v", proto, cc.Attributes())
			}
		})
	}
}

func TestRDPPreludeRefusesNonNLA(t *testing.T) {
	var out bytes.Buffer
	cr := (&rdp.ConnectionRequest{NegReq: true, RequestedProtocols: rdp.ProtocolSSL}).Marshal()
	_, err := acceptRDPPrelude(bytes.NewReader(cr), &out, false)
	if !errors.Is(err, sspi.ErrUnsupportedFunction) {
		t.Fatalf("err = %v", err)
	}
	cc, perr := rdp.ParseConnectionConfirm(out.Bytes())
	if perr != nil || !cc.Failure || cc.Protocol != rdp.HybridRequiredByServer {
		t.Fatalf("confirm %+v %v", cc, perr)
	}
}

// FuzzRDPServerInput: the gate's prelude and first TLS record readers on hostile bytes.
func FuzzRDPServerInput(f *testing.F) {
	f.Add((&rdp.ConnectionRequest{Cookie: "Cookie: mstshash=a", NegReq: true, RequestedProtocols: 3}).Marshal())
	f.Add([]byte{0x16, 3, 1, 0, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		if _, err := acceptRDPPrelude(r, &bytes.Buffer{}, true); err != nil {
			return
		}
		rec, err := readTLSRecord(r)
		if err == nil && (len(rec) < tlsHeaderLen || len(rec) > maxTLSRecord) {
			t.Fatalf("record of %d bytes", len(rec))
		}
	})
}
