package credssp

import (
	"bytes"
	"reflect"
	"testing"
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
