package negotiate

import (
	"bytes"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
)

// seedTokens are the recorded vectors plus the tokens of one of our own handshakes.
func seedTokens(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, n := range vectorNames(f) {
		seeds = append(seeds, readVector(f, n))
	}
	x, err := handshake(f, clientCreds(f, nil), serverCreds(f, Config{}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, x.tokens...)
	seeds = append(seeds, nil, []byte("NTLMSSP\x00"), der.AppendGSSToken(nil, oidKRB5, []byte{1, 0}))
	return seeds
}

// FuzzParseNegToken: the parsers never panic, and what they accept re-encodes to a token
// they accept again and encode identically.
func FuzzParseNegToken(f *testing.F) {
	for _, s := range seedTokens(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		var ti negTokenInit
		if parseInitialToken(tok, &ti) == nil {
			if ti.hasMechTypes && len(ti.mechTypes) > maxMechTypes {
				t.Fatalf("%d mechanisms accepted", len(ti.mechTypes))
			}
			enc := appendInitialToken(nil, &ti)
			var again negTokenInit
			if err := parseInitialToken(enc, &again); err != nil {
				t.Fatalf("re-encoded NegTokenInit %x does not parse: %v", enc, err)
			}
			if enc2 := appendInitialToken(nil, &again); !bytes.Equal(enc, enc2) {
				t.Fatalf("encoding not stable: %x vs %x", enc, enc2)
			}
		}
		var r negTokenResp
		if parseNegTokenResp(tok, &r) == nil {
			enc := appendNegTokenResp(nil, &r)
			if len(enc) != r.size() {
				t.Fatalf("size() %d, encoding %d", r.size(), len(enc))
			}
			var again negTokenResp
			if err := parseNegTokenResp(enc, &again); err != nil {
				t.Fatalf("re-encoded NegTokenResp %x does not parse: %v", enc, err)
			}
			if enc2 := appendNegTokenResp(nil, &again); !bytes.Equal(enc, enc2) {
				t.Fatalf("encoding not stable: %x vs %x", enc, enc2)
			}
		}
	})
}

// FuzzServer feeds arbitrary first and second tokens to a Negotiate acceptor: errors
// only, never a panic, and every error carries a failure status.
func FuzzServer(f *testing.F) {
	seeds := seedTokens(f)
	for _, s := range seeds {
		f.Add(s, []byte(nil))
	}
	valid := readVector(f, "init-ntlm-negotiate-impacket")
	for _, s := range seeds {
		f.Add(valid, s)
	}
	scred := serverCreds(f, Config{})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		srv := sspi.NewServerContext(scred, sspi.ServerOptions{})
		defer srv.Close()
		if _, err := srv.Step(first); err != nil {
			if !sspi.StatusOf(err).Failed() {
				t.Fatalf("error without a failure status: %v", err)
			}
			return
		}
		if _, err := srv.Step(second); err != nil && !sspi.StatusOf(err).Failed() {
			t.Fatalf("error without a failure status: %v", err)
		}
	})
}

// FuzzClientReply feeds arbitrary server replies to a client that has sent its first
// token.
func FuzzClientReply(f *testing.F) {
	for _, s := range seedTokens(f) {
		f.Add(s)
	}
	ccred := clientCreds(f, nil)
	f.Fuzz(func(t *testing.T, reply []byte) {
		cli := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost"})
		defer cli.Close()
		if _, err := cli.Step(nil); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Step(reply); err != nil && !sspi.StatusOf(err).Failed() {
			t.Fatalf("error without a failure status: %v", err)
		}
	})
}
