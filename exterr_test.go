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
