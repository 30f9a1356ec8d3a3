package testpeers

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestGSSSampleNTLM(t *testing.T) {
	srv := StartGSSServer(t, GSSServerOptions{NTLM: NTLMEnv{Users: testUsers}})
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") {
		t.Fatalf("server address %q is not on loopback", srv.Addr)
	}

	res, err := RunGSSClient(t, srv.Addr, GSSClientOptions{
		Mech: MechNTLM, User: `TESTDOM\alice`, Password: testPassword, Message: "hello over NTLM",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("gss-client exit %d: %s\nserver log:\n%s", res.ExitCode, res.Output, srv.Log())
	}
	if !srv.AcceptedMech(MechNTLM) || !srv.ReceivedMessage("hello over NTLM") {
		t.Errorf("server log does not show the NTLM context and message:\n%s", srv.Log())
	}

	// Through SPNEGO, limited to NTLM, against the same server.
	res, err = RunGSSClient(t, srv.Addr, GSSClientOptions{
		Mech: MechNTLM, SPNEGO: true, User: `TESTDOM\alice`, Password: testPassword, Message: "hello over SPNEGO",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || !srv.ReceivedMessage("hello over SPNEGO") {
		t.Fatalf("gss-client -spnego exit %d: %s\nserver log:\n%s", res.ExitCode, res.Output, srv.Log())
	}
	// The SPNEGO InitialContextToken (60 .. 06 06 2b 06 01 05 05 02) reached the server.
	if !strings.Contains(srv.Log(), "60 48 06 06 2b 06 01 05 05 02") {
		t.Errorf("server log shows no SPNEGO initial token:\n%s", srv.Log())
	}

	// A wrong password must fail: the harness cannot turn a refusal into a pass.
	res, err = RunGSSClient(t, srv.Addr, GSSClientOptions{
		Mech: MechNTLM, User: `TESTDOM\alice`, Password: "wrong", Message: "must not arrive",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 {
		t.Errorf("wrong password: exit 0, output %s", res.Output)
	}
	if !srv.WaitLog(GSSServerAcceptError, 5*time.Second) || strings.Contains(srv.Log(), "must not arrive") {
		t.Errorf("wrong password: server log shows no refusal, or the message:\n%s", srv.Log())
	}
}

// peers-notes: without -q gss-client exits 1 after a good NTLM handshake, because gss-ntlmssp
// lacks gss_inquire_names_for_mech. The harness defaults to -q; this pins the quirk.
func TestGSSSampleVerboseNTLMQuirk(t *testing.T) {
	srv := StartGSSServer(t, GSSServerOptions{NTLM: NTLMEnv{Users: testUsers}})
	res, err := RunGSSClient(t, srv.Addr, GSSClientOptions{
		Mech: MechNTLM, User: `TESTDOM\alice`, Password: testPassword, Verbose: true, Message: "verbose",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Output, "inquiring mech names") {
		t.Errorf("verbose gss-client with NTLM: exit %d, output %s", res.ExitCode, res.Output)
	}
	// The context itself was fine: the server accepted it; the client gave up before sending
	// its message.
	if !srv.AcceptedMech(MechNTLM) || strings.Contains(srv.Log(), "Received message") {
		t.Errorf("server log:\n%s", srv.Log())
	}
}

func TestGSSServerStop(t *testing.T) {
	srv := StartGSSServer(t, GSSServerOptions{NTLM: NTLMEnv{Users: testUsers}})
	c, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("server not reachable: %v", err)
	}
	c.Close()
	srv.Stop()
	srv.Stop() // idempotent
	if c, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
		c.Close()
		t.Error("server still accepts connections after Stop")
	}
}
