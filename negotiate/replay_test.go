package negotiate

// Recorded real-peer transcripts, replayed without the peer: MIT krb5's SPNEGO with
// gss-ntlmssp (through python3-gssapi) as initiator against our server, and as acceptor
// against our client. Our side runs with a fixed random source and clock, so its tokens
// are the recorded ones byte for byte and the peer's recorded tokens (its NTLM responses
// and its mechListMICs) verify again. Regenerate with
//
//	go test ./negotiate -run Replay -update
//
// which needs the peers installed (scripts/install-peers).

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/ntlm"
)

var update = flag.Bool("update", false, "re-record the testdata transcripts against the live peers")

// countingRand is a deterministic io.Reader: 0, 1, 2, ...
type countingRand struct{ n byte }

func (r *countingRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

var replayTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// replayServerCreds fixes the server's randomness and clock; gss-ntlmssp checks the
// CHALLENGE's timestamp against its own clock, so a recording uses the real time, which
// the transcript keeps for the replay.
func replayServerCreds(t testing.TB, now time.Time) *sspi.Credentials {
	store, err := ntlm.ParseAccounts(strings.NewReader(peerDomain + ":" + peerUser + ":" + peerPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ntlm.ServerConfig{Accounts: store, NetBIOSComputer: "GOSSPI", NetBIOSDomain: peerDomain,
		Rand: &countingRand{}, Time: func() time.Time { return now }, MaxClockSkew: -1}
	return acquire(t, sspi.CredInbound, &Config{Mechanisms: []string{NTLM}, Credentials: map[string]any{NTLM: cfg}})
}

func replayClientCreds(t testing.TB) *sspi.Credentials {
	cfg := &ntlm.ClientConfig{User: peerDomain + `\` + peerUser, Password: peerPassword, Workstation: "GOSSPI",
		Rand: &countingRand{}, Time: func() time.Time { return replayTime }}
	return acquire(t, sspi.CredOutbound, &Config{Mechanisms: []string{NTLM}, Credentials: map[string]any{NTLM: cfg}})
}

// A transcript file holds one token per line, "C <hex>" from the client, "S <hex>" from
// the server, in order, after a "T <RFC 3339 time>" line with the clock the recording
// ran with; '#' starts a comment.
func writeTranscript(t testing.TB, name, comment string, now time.Time, tokens [][]byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n# recorded by go test -run Replay -update\nT %s\n", comment, now.Format(time.RFC3339))
	for i, tok := range tokens {
		side := "C"
		if i%2 == 1 {
			side = "S"
		}
		fmt.Fprintf(&b, "%s %x\n", side, tok)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTranscript(t testing.TB, name string) (time.Time, [][]byte) {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var tokens [][]byte
	now := replayTime
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if ts, ok := strings.CutPrefix(line, "T "); ok {
			if now, err = time.Parse(time.RFC3339, ts); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		want := "C"
		if len(tokens)%2 == 1 {
			want = "S"
		}
		side, h, ok := strings.Cut(line, " ")
		if !ok || side != want {
			t.Fatalf("%s: bad line %q", name, line)
		}
		tokens = append(tokens, unhex(t, h))
	}
	return now, tokens
}

// TestReplayMITInitiator: MIT's SPNEGO initiator (gss-ntlmssp) against our server.
func TestReplayMITInitiator(t *testing.T) {
	const file = "mit-spnego-ntlm-initiator.transcript"
	if *update {
		ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{Role: testpeers.Initiator, Mech: testpeers.MechSPNEGO,
			User: peerDomain + `\` + peerUser, Password: peerPassword,
			Flags: testpeers.GSSIntegFlag | testpeers.GSSConfFlag | testpeers.GSSReplayFlag | testpeers.GSSSequenceFlag})
		now := time.Now().UTC().Truncate(time.Second)
		srv := sspi.NewServerContext(replayServerCreds(t, now), sspi.ServerOptions{})
		tokens, err := testpeers.Handshake(ini, ourServer{srv}, 0)
		if err != nil {
			t.Fatal(err)
		}
		writeTranscript(t, file, "MIT krb5 SPNEGO + gss-ntlmssp initiator (python3-gssapi) against gosspi's Negotiate server", now, tokens)
	}
	now, tokens := readTranscript(t, file)
	srv := sspi.NewServerContext(replayServerCreds(t, now), sspi.ServerOptions{})
	defer srv.Close()
	for i := 0; i < len(tokens); i += 2 {
		out, err := srv.Step(tokens[i])
		if err != nil {
			t.Fatalf("client token %d: %v", i, err)
		}
		if i+1 < len(tokens) && !bytes.Equal(out, tokens[i+1]) {
			t.Fatalf("server token %d differs from the recording:\n got %x\nwant %x", i+1, out, tokens[i+1])
		}
	}
	if !srv.Established() {
		t.Fatal("not established")
	}
	// MIT's initiator sent a mechListMIC (gss-ntlmssp asks for one because its
	// AUTHENTICATE has a MIC), and we verified it.
	if cm, sm := micsSent(t, tokens); !cm || !sm {
		t.Errorf("mechListMICs: client %v, server %v", cm, sm)
	}
	id, err := srv.Identity()
	if err != nil || id.Principal != peerDomain+`\`+peerUser {
		t.Errorf("identity %+v, %v", id, err)
	}
}

// TestReplayMITAcceptor: our client against MIT's SPNEGO acceptor (gss-ntlmssp).
func TestReplayMITAcceptor(t *testing.T) {
	const file = "mit-spnego-ntlm-acceptor.transcript"
	if *update {
		acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{Role: testpeers.Acceptor, Mech: testpeers.MechSPNEGO,
			NTLM: testpeers.NTLMEnv{Users: peerUsers}})
		cli := sspi.NewClientContext(replayClientCreds(t), sspi.ClientOptions{Target: "host/localhost"})
		tokens, err := testpeers.Handshake(ourClient{cli}, acc, 0)
		if err != nil {
			t.Fatal(err)
		}
		writeTranscript(t, file, "gosspi's Negotiate client against MIT krb5 SPNEGO + gss-ntlmssp acceptor (python3-gssapi)", replayTime, tokens)
	}
	_, tokens := readTranscript(t, file)
	cli := sspi.NewClientContext(replayClientCreds(t), sspi.ClientOptions{Target: "host/localhost"})
	defer cli.Close()
	var in []byte
	for i := 0; i < len(tokens); i += 2 {
		out, err := cli.Step(in)
		if err != nil {
			t.Fatalf("before client token %d: %v", i, err)
		}
		if !bytes.Equal(out, tokens[i]) {
			t.Fatalf("client token %d differs from the recording:\n got %x\nwant %x", i, out, tokens[i])
		}
		if i+1 < len(tokens) {
			in = tokens[i+1]
		} else {
			in = nil
		}
	}
	if len(in) > 0 {
		if out, err := cli.Step(in); err != nil || len(out) != 0 {
			t.Fatalf("final server token: %x, %v", out, err)
		}
	}
	if !cli.Established() {
		t.Fatal("not established")
	}
	if cm, sm := micsSent(t, tokens); !cm || !sm {
		t.Errorf("mechListMICs: client %v, server %v", cm, sm)
	}
}
