package sockauth

import (
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
)

// TestRDPFramingServerAndClient: our Client against our Server over FramingRDP, and
// what the server's log line says of each.
func TestRDPFramingServerAndClient(t *testing.T) {
	for _, tt := range []struct {
		name      string
		password  string
		delegate  bool
		eua       bool
		want      sspi.Status
		delegated string
	}{
		{"HYBRID, delegating", rdpPassword, true, false, sspi.OK, "password"},
		{"HYBRID, not delegating", rdpPassword, false, false, sspi.OK, "none"},
		{"HYBRID_EX, early user authorization result", rdpPassword, true, true, sspi.OK, "password"},
		{"wrong password", "wrong", true, false, sspi.ErrLogonDenied, ""},
		{"wrong password, HYBRID_EX", "wrong", true, true, sspi.ErrLogonDenied, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: rdpServerCreds(t, tt.eua), Framing: FramingRDP, HybridEx: tt.eua})
			cl := &Client{Credentials: rdpClientCreds(t, tt.password, "", tt.eua), Framing: FramingRDP, Delegate: tt.delegate, HybridEx: tt.eua}
			nc := dialTCP(t, srv.Addr)
			c, err := cl.Handshake(testCtx(t), nc)
			rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
			if rec["status"] != StatusName(&sspi.Error{Status: tt.want}) {
				t.Fatalf("server log %v, want status %v", rec, tt.want)
			}
			wantProto := "HYBRID"
			if tt.eua {
				wantProto = "HYBRID_EX"
			}
			if rec["framing"] != "rdp" || rec["protocol"] != wantProto {
				t.Errorf("log %v: want framing rdp, protocol %s", rec, wantProto)
			}
			if tt.want != sspi.OK {
				if !errors.Is(err, tt.want) {
					t.Fatalf("client: %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("client: %v\nserver log: %s", err, srv.Log)
			}
			defer c.Close()
			if rec["identity"] != rdpDomain+`\`+rdpUser || rec["package"] != "CredSSP" || rec["inner"] != "NTLM" ||
				rec["credssp_version"] != float64(6) || rec["credssp_delegated"] != tt.delegated {
				t.Errorf("log %v", rec)
			}
			if got, _ := rec["early_user_auth"].(string); (got == "AUTHZ_SUCCESS") != tt.eua {
				t.Errorf("log early_user_auth %q, want it when HYBRID_EX", got)
			}
			if strings.Contains(srv.Log.String(), rdpPassword) {
				t.Fatal("the password is in the log")
			}
			info, ok := c.RDPInfo()
			if !ok || info.Protocol != wantProto || info.Version != 6 || info.EarlyUserAuthResult != tt.eua || (info.Delegated == "password") != tt.delegate {
				t.Errorf("client's RDPInfo %+v", info)
			}
			if c.Attributes().Has(sspi.ISCRetDelegate) != tt.delegate {
				t.Errorf("attributes %v", c.Attributes())
			}
			if _, err := c.ReadMessage(); !errors.Is(err, errNoRDPSession) {
				t.Errorf("ReadMessage: %v", err)
			}
		})
	}
}

// TestRDPFramingHardening: the server's handshake deadline and rate floor cover the X.224
// prelude and the records of CredSSP; a client that offers no NLA is refused.
func TestRDPFramingHardening(t *testing.T) {
	cr := (&rdp.ConnectionRequest{NegReq: true, RequestedProtocols: rdp.ProtocolSSL | rdp.ProtocolHybrid}).Marshal()
	t.Run("deadline in the prelude", func(t *testing.T) {
		srv := startServer(t, &Server{Credentials: rdpServerCreds(t, false), Framing: FramingRDP, HandshakeTimeout: 500 * time.Millisecond, MinRate: -1})
		nc := dialTCP(t, srv.Addr)
		nc.Write(cr[:len(cr)/2])
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if cause, _ := rec["cause"].(string); rec["status"] != "TIMEOUT" || !strings.Contains(cause, "did not finish within 500ms") {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("deadline after the prelude", func(t *testing.T) {
		srv := startServer(t, &Server{Credentials: rdpServerCreds(t, false), Framing: FramingRDP, HandshakeTimeout: 500 * time.Millisecond, MinRate: -1})
		nc := dialTCP(t, srv.Addr)
		nc.Write(cr)
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if rec["status"] != "TIMEOUT" || rec["protocol"] != "HYBRID" {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("rate", func(t *testing.T) {
		srv := startServer(t, &Server{Credentials: rdpServerCreds(t, false), Framing: FramingRDP, HandshakeTimeout: time.Minute, MinRate: 100, MinRateGrace: 300 * time.Millisecond})
		nc := dialTCP(t, srv.Addr)
		nc.Write(cr[:1])
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if cause, _ := rec["cause"].(string); rec["status"] != "TIMEOUT" || !strings.Contains(cause, "below the minimum rate") {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("no NLA offered", func(t *testing.T) {
		srv := startServer(t, &Server{Credentials: rdpServerCreds(t, false), Framing: FramingRDP})
		nc := dialTCP(t, srv.Addr)
		nc.Write((&rdp.ConnectionRequest{NegReq: true, RequestedProtocols: rdp.ProtocolSSL}).Marshal())
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		pdu, err := rdp.ReadTPKT(nc, rdp.MaxConnectionPDU)
		if err != nil {
			t.Fatal(err)
		}
		if cc, err := rdp.ParseConnectionConfirm(pdu); err != nil || !cc.Failure || cc.Protocol != rdp.HybridRequiredByServer {
			t.Errorf("confirm %+v, %v", cc, err)
		}
		if rec := srv.Log.waitRecord(t, nc.LocalAddr().String()); rec["status"] != "SEC_E_UNSUPPORTED_FUNCTION" {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("per-address cap", func(t *testing.T) {
		srv := startServer(t, &Server{Credentials: rdpServerCreds(t, false), Framing: FramingRDP, MaxPendingPerAddr: 1, MinRate: -1, Timeout: time.Minute})
		held := dialTCP(t, srv.Addr)
		held.Write(cr[:3])
		for end := time.Now().Add(10 * time.Second); ; sleepBriefly() {
			srv.mu.Lock()
			n := len(srv.handshaking)
			srv.mu.Unlock()
			if n == 1 || time.Now().After(end) {
				break
			}
		}
		second := dialTCP(t, srv.Addr)
		second.Write(cr)
		second.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := second.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("a second handshake from the address: read %d bytes, %v; want the connection closed", n, err)
		}
	})
}

// TestRDPFramingClientToNonRDP: a client of the rdp framing against a server that does
// not speak RDP says so.
func TestRDPFramingClientToNonRDP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		nc, err := l.Accept()
		if err == nil {
			nc.Read(make([]byte, 64))
			nc.Close()
		}
	}()
	cl := &Client{Credentials: rdpClientCreds(t, rdpPassword, "", false), Framing: FramingRDP}
	_, err = cl.Dial(testCtx(t), l.Addr().String())
	if !errors.Is(err, sspi.ErrIllegalMessage) || !strings.Contains(err.Error(), "does not speak RDP") {
		t.Fatalf("err = %v", err)
	}
}

// TestRDPFramingVerifyCertificate: a client that refuses the server's certificate stops
// before its first TSRequest, so the server never sees a token of the inner package.
func TestRDPFramingVerifyCertificate(t *testing.T) {
	srv := startServer(t, &Server{Credentials: rdpServerCreds(t, false), Framing: FramingRDP})
	refused := errors.New("not this certificate")
	var seen []*x509.Certificate
	cl := &Client{Credentials: rdpClientCreds(t, rdpPassword, "", false), Framing: FramingRDP, Delegate: true,
		VerifyCertificate: func(chain []*x509.Certificate) error { seen = chain; return refused }}
	nc := dialTCP(t, srv.Addr)
	if _, err := cl.Handshake(testCtx(t), nc); !errors.Is(err, refused) {
		t.Fatalf("err = %v", err)
	}
	nc.Close()
	if len(seen) != 1 || seen[0].Subject.CommonName != "localhost" {
		t.Fatalf("chain %v", seen)
	}
	rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
	if rec["msg"] != "authentication failed" || rec["status"] == "SEC_E_OK" || rec["identity"] != nil {
		t.Errorf("log %v", rec)
	}
}
