package ntlm

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// The tests of this file are an attacker in the middle of our own client and server: it
// rewrites the tokens between them and checks that one side or the other refuses.

// rewriteChallenge parses our server's CHALLENGE, lets edit change it, and marshals it
// again, as an attacker on the path can.
func rewriteChallenge(t testing.TB, chal []byte, edit func(m *ntlmssp.ChallengeMessage, ti *ntlmssp.AVPairs)) []byte {
	t.Helper()
	m, err := ntlmssp.ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	ti, err := ntlmssp.ParseAVPairs(m.TargetInfo)
	if err != nil {
		t.Fatal(err)
	}
	edit(m, &ti)
	m.TargetInfo = ti.Marshal()
	return m.Marshal()
}

// blobOf returns the AV pairs a client echoed in its NTLMv2 response.
func blobOf(t testing.TB, auth []byte) ntlmssp.AVPairs {
	t.Helper()
	a, err := ntlmssp.ParseAuthenticate(auth)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := ntlmssp.ParseNTLMv2Response(a.NtChallengeResponse)
	if err != nil {
		t.Fatal(err)
	}
	return blob.AVPairs
}

// stripTo40Bit is the downgrade of issue 8 item 1: no 128-bit or 56-bit keys, no key
// exchange, and no timestamp so that the client sends no MIC to give the rewrite away.
func stripTo40Bit(m *ntlmssp.ChallengeMessage, ti *ntlmssp.AVPairs) {
	m.Flags &^= ntlmssp.Flag128 | ntlmssp.Flag56 | ntlmssp.FlagKeyExch
	ti.Delete(ntlmssp.MsvAvTimestamp)
}

// The attacker's CHALLENGE reaches the client; if the client answers, its AUTHENTICATE
// reaches the server. The steps' errors come back.
func throughAttacker(t testing.TB, ccfg ClientConfig, scfg ServerConfig, copts sspi.ClientOptions, edit func(*ntlmssp.ChallengeMessage, *ntlmssp.AVPairs)) (client *sspi.ClientContext, server *sspi.ServerContext, auth []byte, clientErr, serverErr error) {
	t.Helper()
	if copts.Target == "" {
		copts.Target = "host/localhost"
	}
	client = sspi.NewClientContext(clientCredsFor(t, ccfg), copts)
	server = sspi.NewServerContext(serverCreds(t, scfg), sspi.ServerOptions{})
	neg, err := client.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	chal, err := server.Step(neg)
	if err != nil {
		t.Fatal(err)
	}
	if auth, clientErr = client.Step(rewriteChallenge(t, chal, edit)); clientErr != nil {
		return client, server, nil, clientErr, nil
	}
	_, serverErr = server.Step(auth)
	return client, server, auth, nil, serverErr
}

var alice = ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}

func TestDowngradeTo40BitIsRefused(t *testing.T) {
	t.Run("client requires 128-bit keys", func(t *testing.T) {
		_, server, _, cerr, serr := throughAttacker(t, alice, ServerConfig{}, sspi.ClientOptions{}, stripTo40Bit)
		if cerr == nil {
			t.Fatalf("client answered a CHALLENGE without NTLMSSP_NEGOTIATE_128 (server: %v, established %v)", serr, server.Established())
		}
		wantErr(t, cerr, sspi.ErrUnsupportedFunction, "NTLMSSP_NEGOTIATE_128")
	})
	t.Run("server catches the stripped timestamp", func(t *testing.T) {
		weak := alice
		weak.AllowWeakSessionSecurity = true // the client lets 40-bit through; the server must not
		_, server, auth, cerr, serr := throughAttacker(t, weak, ServerConfig{AllowWeakSessionSecurity: true}, sspi.ClientOptions{}, stripTo40Bit)
		if cerr != nil {
			t.Fatal(cerr)
		}
		if _, ok := blobOf(t, auth).Timestamp(); ok {
			t.Fatal("the rewrite left the timestamp in")
		}
		wantErr(t, serr, sspi.ErrMessageAltered, "MsvAvTimestamp")
		if server.Established() {
			t.Fatal("server established")
		}
	})
	t.Run("server requires 128-bit keys", func(t *testing.T) {
		// The attacker now clears 128 and 56 in the client's NEGOTIATE as well.
		client := sspi.NewClientContext(clientCredsFor(t, alice), sspi.ClientOptions{Target: "host/localhost"})
		neg, _ := client.Step(nil)
		f := binary.LittleEndian.Uint32(neg[12:])
		binary.LittleEndian.PutUint32(neg[12:], f&^uint32(ntlmssp.Flag128|ntlmssp.Flag56))
		_, err := sspi.NewServerContext(serverCreds(t, ServerConfig{}), sspi.ServerOptions{}).Step(neg)
		wantErr(t, err, sspi.ErrUnsupportedFunction, "NTLMSSP_NEGOTIATE_128")
		// An explicit opt-in lowers the floor.
		if _, err := sspi.NewServerContext(serverCreds(t, ServerConfig{AllowWeakSessionSecurity: true}), sspi.ServerOptions{}).Step(neg); err != nil {
			t.Fatalf("AllowWeakSessionSecurity: %v", err)
		}
	})
	t.Run("authentication only needs no 128-bit keys", func(t *testing.T) {
		keep := func(m *ntlmssp.ChallengeMessage, _ *ntlmssp.AVPairs) {
			m.Flags &^= ntlmssp.Flag128 | ntlmssp.Flag56 | ntlmssp.FlagKeyExch
		}
		_, _, _, cerr, _ := throughAttacker(t, alice, ServerConfig{}, sspi.ClientOptions{Req: sspi.ISCReqConnection}, keep)
		if cerr != nil {
			t.Fatalf("a context without signing or sealing has no keys to weaken: %v", cerr)
		}
	})
	t.Run("MIC promised but absent", func(t *testing.T) {
		// The client's blob says a MIC is present; the attacker re-lays the AUTHENTICATE
		// without room for it. NTProofStr still verifies, the promise does not.
		client := sspi.NewClientContext(clientCredsFor(t, alice), sspi.ClientOptions{Target: "host/localhost"})
		server := sspi.NewServerContext(serverCreds(t, ServerConfig{}), sspi.ServerOptions{})
		neg, _ := client.Step(nil)
		chal, _ := server.Step(neg)
		auth, err := client.Step(chal)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ntlmssp.ParseAuthenticate(auth)
		if err != nil {
			t.Fatal(err)
		}
		a.MIC, a.Flags = nil, a.Flags&^ntlmssp.FlagVersion
		_, err = server.Step(a.AppendMarshal(nil))
		wantErr(t, err, sspi.ErrMessageAltered, "MIC")
	})
}

func TestAnonymousGrantsNoProtection(t *testing.T) {
	x, err := run(t, clientCredsFor(t, ClientConfig{Anonymous: true}), serverCreds(t, ServerConfig{AllowAnonymous: true}), sspi.ClientOptions{Target: "host/localhost"}, sspi.ServerOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const protection = sspi.ASCRetIntegrity | sspi.ASCRetConfidentiality | sspi.ASCRetReplayDetect | sspi.ASCRetSequenceDetect
	if got := x.server.Attributes(); got&protection != 0 || !got.Has(sspi.ASCRetNullSession) {
		t.Errorf("anonymous server context granted %s", got.Format(true))
	}
	if got := x.client.Attributes(); got&(sspi.ISCRetIntegrity|sspi.ISCRetConfidentiality|sspi.ISCRetReplayDetect|sspi.ISCRetSequenceDetect) != 0 {
		t.Errorf("anonymous client context granted %s", got.Format(false))
	}
	// Anyone can key a session with the all-zero key of an anonymous logon.
	c, _ := ntlmssp.ParseChallenge(x.challenge)
	a, _ := ntlmssp.ParseAuthenticate(x.authMsg)
	forger := ntlmssp.NewSession(c.Flags&a.Flags|ntlmssp.FlagSign|ntlmssp.FlagSeal, [16]byte{}, true)
	msg := []byte("transfer everything to mallory")
	sig := make([]byte, ntlmssp.SignatureSize)
	if err := forger.Sign(sig, msg); err != nil {
		t.Fatal(err)
	}
	if err := x.server.Verify(msg, sig); err == nil {
		t.Fatal("a signature forged under the all-zero key verified")
	}
	if _, err := x.server.Wrap(msg); err == nil {
		t.Fatal("an anonymous context sealed a message")
	}
	if _, err := x.client.Sign(msg); err == nil {
		t.Fatal("an anonymous client signed a message")
	}
}

func TestClientSetsItsOwnTargetNameAndFlags(t *testing.T) {
	inject := func(m *ntlmssp.ChallengeMessage, ti *ntlmssp.AVPairs) {
		ti.SetString(ntlmssp.MsvAvTargetName, "cifs/victim.example")
		ti.SetFlags(ntlmssp.AvFlagConstrained | ntlmssp.AvFlagUntrustedTarget)
		ti.Set(ntlmssp.MsvAvSingleHost, make([]byte, 48))
		m.ServerChallenge[0] ^= 0xff // not one our server issued: the reflection check is not under test here
	}
	for _, tt := range []struct {
		target, want string
	}{
		{"", ""},
		{"host/localhost", "host/localhost"},
	} {
		t.Run("target "+tt.target, func(t *testing.T) {
			client := sspi.NewClientContext(clientCredsFor(t, alice), sspi.ClientOptions{Target: tt.target})
			server := sspi.NewServerContext(serverCreds(t, ServerConfig{}), sspi.ServerOptions{})
			neg, _ := client.Step(nil)
			chal, _ := server.Step(neg)
			auth, err := client.Step(rewriteChallenge(t, chal, inject))
			if err != nil {
				t.Fatal(err)
			}
			blob := blobOf(t, auth)
			if got, _ := blob.GetString(ntlmssp.MsvAvTargetName); got != tt.want {
				t.Errorf("MsvAvTargetName %q, want %q", got, tt.want)
			}
			if f, _ := blob.Flags(); f != ntlmssp.AvFlagMICPresent {
				t.Errorf("MsvAvFlags %#x, want only MIC_PRESENT (%#x)", f, ntlmssp.AvFlagMICPresent)
			}
			if _, ok := blob.Get(ntlmssp.MsvAvSingleHost); ok {
				t.Error("the client echoed the server's MsvAvSingleHost")
			}
		})
	}
}

// TestUnknownUserCostsTheSame compares the server's time to refuse a known user with a
// wrong password and an unknown user: the medians of many interleaved samples must be
// within a generous ratio, so that a difference as large as a random read per unknown
// user (about 40%) fails and scheduler noise does not.
func TestUnknownUserCostsTheSame(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison")
	}
	scred := serverCreds(t, ServerConfig{})
	prepare := func(user string) (*sspi.ServerContext, []byte) {
		client := sspi.NewClientContext(clientCredsFor(t, ClientConfig{User: user, Password: "wrong"}), sspi.ClientOptions{Target: "host/localhost"})
		server := sspi.NewServerContext(scred, sspi.ServerOptions{})
		neg, _ := client.Step(nil)
		chal, _ := server.Step(neg)
		auth, err := client.Step(chal)
		if err != nil {
			t.Fatal(err)
		}
		return server, auth
	}
	measure := func(user string) time.Duration {
		server, auth := prepare(user)
		start := time.Now()
		_, err := server.Step(auth)
		d := time.Since(start)
		if !errors.Is(err, sspi.ErrLogonDenied) {
			t.Fatalf("%s: %v", user, err)
		}
		return d
	}
	const samples = 3000
	known, unknown := make([]time.Duration, 0, samples), make([]time.Duration, 0, samples)
	for range samples {
		known = append(known, measure(`EXAMPLE\alice`))
		unknown = append(unknown, measure(`EXAMPLE\mallory`))
	}
	slices.Sort(known)
	slices.Sort(unknown)
	mk, mu := known[samples/2], unknown[samples/2]
	ratio := float64(mu) / float64(mk)
	t.Logf("median server time to refuse: known user %v, unknown user %v (ratio %.2f)", mk, mu, ratio)
	if ratio > 1.25 || ratio < 1/1.25 {
		t.Fatalf("unknown users take %.2f× the time of known ones (known %v, unknown %v)", ratio, mk, mu)
	}
}

// consumeChallenge forgets a challenge our server issued, as if its AUTHENTICATE had come.
func consumeChallenge(chal []byte) {
	m, err := ntlmssp.ParseChallenge(chal)
	if err == nil {
		issued.consume(m.ServerChallenge)
	}
}

func TestReflectedChallengeIsRefused(t *testing.T) {
	scred := serverCreds(t, ServerConfig{})
	// The client meant to talk to evil.example; the attacker there hands its NEGOTIATE
	// to a server of the client's own process and the CHALLENGE back.
	client := sspi.NewClientContext(clientCredsFor(t, alice), sspi.ClientOptions{Target: "HTTP/evil.example"})
	server := sspi.NewServerContext(scred, sspi.ServerOptions{})
	neg, _ := client.Step(nil)
	chal, err := server.Step(neg)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := client.Step(chal)
	if err == nil {
		_, serr := server.Step(auth)
		t.Fatalf("client answered its own process's challenge (server: %v, established %v)", serr, server.Established())
	}
	wantErr(t, err, sspi.ErrLogonDenied, "reflected challenge")

	// A caller that names this server, or a loopback address, means to talk to it.
	for _, target := range []string{"host/localhost", "host/127.0.0.1", "HTTP/[::1]:8080", "host/SERVER", "host/server.example"} {
		x, err := run(t, clientCredsFor(t, alice), scred, sspi.ClientOptions{Target: target}, sspi.ServerOptions{}, nil)
		if err != nil {
			t.Errorf("target %s: %v", target, err)
		} else if !x.server.Established() {
			t.Errorf("target %s: not established", target)
		}
	}
	// With no target there is nothing to say the peer is this process.
	x := &exchange{client: sspi.NewClientContext(clientCredsFor(t, alice), sspi.ClientOptions{}), server: sspi.NewServerContext(scred, sspi.ServerOptions{})}
	neg, _ = x.client.Step(nil)
	chal, _ = x.server.Step(neg)
	_, err = x.client.Step(chal)
	wantErr(t, err, sspi.ErrLogonDenied, "reflected challenge")
}

func TestIssuedChallengesAreBounded(t *testing.T) {
	var r challengeRegistry
	now := time.Unix(1_700_000_000, 0)
	names := &localNames{}
	var ch [8]byte
	for i := range maxIssuedChallenges + 1000 {
		ch[0], ch[1], ch[2], ch[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		r.add(ch, names, now)
	}
	if n := r.len(); n > maxIssuedChallenges {
		t.Fatalf("%d challenges kept, cap %d", n, maxIssuedChallenges)
	}
	if r.lookup(ch, now) == nil {
		t.Fatal("the newest challenge was dropped")
	}
	if r.lookup(ch, now.Add(issuedChallengeLifetime+time.Second)) != nil {
		t.Fatal("an expired challenge is still reported")
	}
	r.add([8]byte{1}, names, now.Add(2*issuedChallengeLifetime))
	if n := r.len(); n != 1 {
		t.Fatalf("expired challenges are kept: %d", n)
	}
	r.consume([8]byte{1})
	if r.lookup([8]byte{1}, now.Add(2*issuedChallengeLifetime)) != nil || r.len() != 0 {
		t.Fatal("a consumed challenge is still reported")
	}
}
