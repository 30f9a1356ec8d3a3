package sockauth

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// The frame readers take whatever a client sends: they must stay within their limits and
// never panic. Every target checks that what parses re-encodes to the bytes it came from.

const fuzzLimit = 4096

func FuzzSSPIFrame(f *testing.F) {
	f.Add(appendSSPIFrame(nil, []byte("NTLMSSP\x00\x01")))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{10, 0, 0})
	f.Add([]byte{5, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		b, err := readSSPIFrame(r, fuzzLimit, "frame")
		if err != nil {
			return
		}
		if len(b) > fuzzLimit {
			t.Fatalf("a %d-byte frame passed the %d-byte limit", len(b), fuzzLimit)
		}
		used := len(in) - r.Len()
		if !bytes.Equal(appendSSPIFrame(nil, b), in[:used]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzSSPIBody(f *testing.F) {
	f.Add(appendSSPIBody(nil, make([]byte, 16), []byte("This is your server speaking")))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		tok, data, err := parseSSPIBody(in)
		if err != nil {
			return
		}
		if !bytes.Equal(appendSSPIBody(nil, tok, data), in) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzGSSToken(f *testing.F) {
	f.Add(appendGSSToken(nil, GSSTokenNoop|GSSTokenContextNext, nil))
	f.Add(appendGSSToken(nil, GSSTokenContext, []byte("NTLMSSP\x00\x01")))
	f.Add(appendGSSToken(nil, GSSTokenData|GSSTokenWrapped|GSSTokenEncrypted|GSSTokenSendMIC, []byte("x")))
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c'}) // version 1
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		flags, b, err := readGSSToken(r, fuzzLimit, "token")
		if err != nil {
			return
		}
		if len(b) > fuzzLimit {
			t.Fatalf("a %d-byte token passed the %d-byte limit", len(b), fuzzLimit)
		}
		used := len(in) - r.Len()
		var enc []byte
		if flags == 0 {
			enc = append([]byte{0, byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
		} else {
			enc = appendGSSToken(nil, flags, b)
		}
		if !bytes.Equal(enc, in[:used]) {
			t.Fatalf("re-encoding differs: % x vs % x", enc, in[:used])
		}
	})
}

// FuzzServerInput feeds a whole client stream to the server's connection handling, the
// handshake and the package's token parsers included: whatever arrives, the server logs a
// line and returns.
func FuzzServerInput(f *testing.F) {
	f.Add(byte(0), appendSSPIFrame(nil, []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")))
	f.Add(byte(1), append(appendGSSToken(nil, GSSTokenNoop|GSSTokenContextNext, nil), appendGSSToken(nil, GSSTokenContext, []byte("NTLMSSP\x00\x03"))...))
	f.Add(byte(0), []byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(byte(1), []byte{1, 0, 0, 0, 0})
	creds := serverCreds(f, "NTLM")
	f.Fuzz(func(t *testing.T, framing byte, in []byte) {
		lb := &logBuffer{}
		s := &Server{Credentials: creds, Framing: Framing(framing & 1), Timeout: 200 * time.Millisecond, MaxToken: fuzzLimit, Logger: slog.New(slog.NewJSONHandler(lb, nil))}
		s.init()
		client, server := net.Pipe()
		defer client.Close()
		s.pending <- struct{}{}
		c, m, err := s.admit(server)
		if err != nil {
			t.Fatal(err)
		}
		c.maxMsg = fuzzLimit
		done := make(chan struct{})
		go func() { s.serve(c, m); close(done) }()
		go func() {
			client.Write(in)
			client.Close()
		}()
		go io.Copy(io.Discard, client)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not finish with the connection")
		}
		if lb.String() == "" {
			t.Fatal("no log line")
		}
	})
}
