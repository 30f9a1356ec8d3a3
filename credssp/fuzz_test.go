package credssp

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/gosspi/sspi"
)

// FuzzTSRequest checks that the parser never panics, and that whatever it accepts
// marshals back to the same bytes (DER has one encoding; the only exception is an
// errorCode sent in the unsigned form, which we re-encode signed, so compare values).
func FuzzTSRequest(f *testing.F) {
	for _, d := range []string{vecTSRequestAll, vecPhase1, vecPhase4, vecPhase5} {
		f.Add(hexdump(f, d))
	}
	f.Add((&tsRequest{version: 3, errorCode: statusLogonFailure, hasErrorCode: true}).marshal())
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := parseTSRequest(msg)
		if err != nil {
			return
		}
		out := r.marshal()
		r2, err := parseTSRequest(out)
		if err != nil {
			t.Fatalf("re-parse of our own encoding: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the request: %+v -> %+v", r, r2)
		}
		if !r.hasErrorCode && !bytes.Equal(out, msg) {
			t.Fatalf("accepted a non-canonical encoding:\n in %x\nout %x", msg, out)
		}
	})
}

// FuzzTSCredentials does the same for the decrypted authInfo, which comes from an
// authenticated but not necessarily honest client.
func FuzzTSCredentials(f *testing.F) {
	f.Add(hexdump(f, vecPasswordCreds))
	f.Add(hexdump(f, vecSmartCardCreds))
	f.Add(marshalTSCredentials(&RemoteGuardCredentials{Logon: RemoteGuardPackageCredential{Package: "Kerberos", Credential: []byte{1}},
		Supplemental: []RemoteGuardPackageCredential{{Package: "NTLM", Credential: []byte{2}}}}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := parseTSCredentials(msg)
		if err != nil {
			return
		}
		c2, err := parseTSCredentials(marshalTSCredentials(c))
		if err != nil {
			t.Fatalf("re-parse of our own encoding: %v", err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the credentials: %+v -> %+v", c, c2)
		}
	})
}

// FuzzServerInput feeds a CredSSP server, after one honest message, whatever the fuzzer
// makes: the server's whole input path (TSRequest parsing, version rules, the inner
// package, unsealing, TSCredentials) must fail cleanly with a status, never panic.
func FuzzServerInput(f *testing.F) {
	for _, d := range []string{vecTSRequestAll, vecPhase1, vecPhase4, vecPhase5} {
		f.Add(hexdump(f, d), false)
	}
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x06}, true)
	f.Fuzz(func(t *testing.T, msg []byte, first bool) {
		s, err := newServerHandshake(innerCreds(t, sspi.CredInbound, serverConfig(t)), testSPK)
		if err != nil {
			t.Fatal(err)
		}
		s.gctx = t.Context()
		if !first {
			c, err := newClientHandshake(innerCreds(t, sspi.CredOutbound, clientConfig()), testTarget, defaultReq, testSPK)
			if err != nil {
				t.Fatal(err)
			}
			c.gctx = t.Context()
			hello, _, err := c.step(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.step(hello); err != nil {
				t.Fatal(err)
			}
		}
		out, st, err := s.step(msg)
		if err != nil {
			if sspi.StatusOf(err) == sspi.ErrInternalError || !sspi.StatusOf(err).Failed() {
				t.Fatalf("failure without a proper status: %v", err)
			}
			return
		}
		if st != sspi.ContinueNeeded || out == nil {
			t.Fatalf("a fuzzed message got the server to %v with %x", st, out)
		}
	})
}
