package sspi

import (
	"bytes"
	"errors"
	"testing"
)

// TestExtendedErrorToken checks that a token a package produces with a failure reaches
// the caller only when the call asked for EXTENDED_ERROR, through both layers.
func TestExtendedErrorToken(t *testing.T) {
	refusal := appendToken(nil, 0xEE, []byte("denied"))
	for _, tt := range []struct {
		name string
		req  ContextReq
		want []byte
	}{
		{"with ASC_REQ_EXTENDED_ERROR", ASCReqExtendedError | ASCReqConnection, refusal},
		{"without", ASCReqConnection, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc, _, err := AcquireCredentialsHandle("", scriptedName, CredOutbound, nil, &AuthIdentity{User: "u", Password: "wrong"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer FreeCredentialsHandle(cc)
			sc, _, err := AcquireCredentialsHandle("", scriptedName, CredInbound, nil, &scriptedCreds{Password: "right"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer FreeCredentialsHandle(sc)
			client := NewClientContext(cc, ClientOptions{Req: ISCReqConnection})
			server := NewServerContext(sc, ServerOptions{Req: tt.req})
			tok, err := client.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok, err = server.Step(tok); err != nil {
				t.Fatal(err)
			}
			if tok, err = client.Step(tok); err != nil {
				t.Fatal(err)
			}
			out, err := server.Step(tok)
			if !errors.Is(err, ErrLogonDenied) {
				t.Fatalf("err = %v", err)
			}
			if !bytes.Equal(out, tt.want) {
				t.Fatalf("token with the failure: %x, want %x", out, tt.want)
			}
		})
	}
}

// TestExtendedErrorTokenKeepsCause: a failure token that does not fit the caller's output
// buffer (none, or one too small) is dropped, and the caller still gets the package's own
// status and cause, not SEC_E_INVALID_PARAMETER or SEC_E_BUFFER_TOO_SMALL.
func TestExtendedErrorTokenKeepsCause(t *testing.T) {
	for _, tt := range []struct {
		name string
		out  []Buffer
	}{
		{"no output buffer", nil},
		{"output buffer too small", []Buffer{{Type: BufferToken, Data: make([]byte, 1)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc, _, err := AcquireCredentialsHandle("", scriptedName, CredOutbound, nil, &AuthIdentity{User: "u", Password: "wrong"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer FreeCredentialsHandle(cc)
			sc, _, err := AcquireCredentialsHandle("", scriptedName, CredInbound, nil, &scriptedCreds{Password: "right"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer FreeCredentialsHandle(sc)
			req := ASCReqExtendedError | ASCReqConnection
			client := NewClientContext(cc, ClientOptions{Req: ISCReqConnection})
			server := NewServerContext(sc, ServerOptions{Req: req})
			tok, err := client.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok, err = server.Step(tok); err != nil {
				t.Fatal(err)
			}
			if tok, err = client.Step(tok); err != nil {
				t.Fatal(err)
			}
			_, status, err := AcceptSecurityContext(sc, server.Handle(), req, NativeDataRep,
				[]Buffer{{Type: BufferToken, Data: tok}}, tt.out)
			if status != ErrLogonDenied || !errors.Is(err, ErrLogonDenied) {
				t.Fatalf("status %v, err %v; want the package's SEC_E_LOGON_DENIED", status, err)
			}
		})
	}
}
