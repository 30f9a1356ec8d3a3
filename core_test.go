package sspi

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func mustCreds(t testing.TB, use CredentialUse, c *scriptedCreds) *Credentials {
	t.Helper()
	cred, _, err := AcquireCredentialsHandle("", scriptedName, use, nil, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func pair(t testing.TB, client, server *scriptedCreds) (*Credentials, *Credentials) {
	return mustCreds(t, CredOutbound, client), mustCreds(t, CredInbound, server)
}

func wantStatus(t testing.TB, err error, want Status) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	if !strings.HasPrefix(err.Error(), want.String()+":") {
		t.Fatalf("error %q does not name %v and a cause", err, want)
	}
}

// handshake runs the token loop with caller-sized output buffers, as the SDK sample does.
func handshake(t testing.TB, ccred, scred *Credentials, creq, sreq ContextReq) (*Context, *Context) {
	t.Helper()
	var cctx, sctx *Context
	var fromServer []byte
	for leg := 0; leg < 10; leg++ {
		var in []Buffer
		if fromServer != nil {
			in = []Buffer{{Type: BufferToken, Data: fromServer}}
		}
		out := []Buffer{{Type: BufferToken, Data: make([]byte, 256)}}
		var cs Status
		var err error
		cctx, cs, err = InitializeSecurityContext(ccred, cctx, "host/server", creq, NativeDataRep, in, out)
		if err != nil {
			t.Fatalf("ISC leg %d: %v", leg, err)
		}
		if cs == OK && len(out[0].Data) == 0 {
			return cctx, sctx
		}
		sout := []Buffer{{Type: BufferToken, Data: make([]byte, 256)}}
		var ss Status
		sctx, ss, err = AcceptSecurityContext(scred, sctx, sreq, NativeDataRep, []Buffer{{Type: BufferToken, Data: out[0].Data}}, sout)
		if err != nil {
			t.Fatalf("ASC leg %d: %v", leg, err)
		}
		fromServer = sout[0].Data
		if ss == OK && cs == OK {
			if len(fromServer) != 0 {
				t.Fatal("server produced a token after the client finished")
			}
			return cctx, sctx
		}
		if ss == OK && len(fromServer) == 0 {
			return cctx, sctx
		}
	}
	t.Fatal("handshake did not finish in 10 legs")
	return nil, nil
}

func TestHandshakeCallerSizedBuffers(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	cctx, sctx := handshake(t, ccred, scred, ISCReqMutualAuth|ISCReqConfidentiality|ISCReqIntegrity, ASCReqMutualAuth|ASCReqConfidentiality)
	if !cctx.Established() || !sctx.Established() {
		t.Fatal("not established")
	}
	// The last token came with SEC_E_OK from the server (mutual proof) and was consumed:
	// the client would have failed ErrMutualAuthFailed had it been dropped.
	if !cctx.Attributes().Has(ContextAttr(ISCRetMutualAuth | ISCRetConfidentiality)) {
		t.Errorf("client attrs %s", cctx.Attributes().Format(false))
	}
	if !sctx.Attributes().Has(ASCRetMutualAuth | ASCRetConfidentiality) {
		t.Errorf("server attrs %s", sctx.Attributes().Format(true))
	}
	if cctx.Attributes()&ISCRetAllocatedMemory != 0 {
		t.Error("ALLOCATED_MEMORY reported for caller-sized buffers")
	}
}

func TestGrantedAttributesAreWhatWasGranted(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw", NoConfidential: true})
	_, sctx := handshake(t, ccred, scred, ISCReqConfidentiality, ASCReqConfidentiality|ASCReqMutualAuth)
	if sctx.Attributes()&ASCRetConfidentiality != 0 {
		t.Error("server reports confidentiality it did not grant")
	}
	if sctx.Attributes()&ASCRetMutualAuth != 0 {
		t.Error("server reports mutual auth the client did not ask for")
	}
}

func TestAllocateMemory(t *testing.T) {
	ccred, _ := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	out := []Buffer{{Type: BufferToken}}
	ctx, st, err := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	if err != nil || st != ContinueNeeded {
		t.Fatal(st, err)
	}
	defer DeleteSecurityContext(ctx)
	if !bytes.HasPrefix(out[0].Data, []byte("SCR\x01")) {
		t.Fatalf("token %q", out[0].Data)
	}
	if !ctx.Attributes().Has(ISCRetAllocatedMemory) {
		t.Error("ISC_RET_ALLOCATED_MEMORY not reported")
	}
}

func TestBufferTooSmall(t *testing.T) {
	ccred := mustCreds(t, CredOutbound, &scriptedCreds{User: "alice", Password: "pw", BigToken: true})
	out := []Buffer{{Type: BufferToken, Data: make([]byte, 256)}}
	ctx, _, err := InitializeSecurityContext(ccred, nil, "x", 0, NativeDataRep, nil, out)
	wantStatus(t, err, ErrBufferTooSmall)
	if ctx != nil {
		t.Error("a failed first call returned a context")
	}
	// The same call with package-allocated output works.
	out = []Buffer{{Type: BufferToken}}
	ctx, _, err = InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	if err != nil || len(out[0].Data) < 4000 {
		t.Fatal(err, len(out[0].Data))
	}
	DeleteSecurityContext(ctx)
}

func TestIncompleteAndExtraInput(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	out := []Buffer{{Type: BufferToken}}
	cctx, _, err := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	tok := out[0].Data
	// Short by three bytes: the server reports how many are missing and can be called again.
	short := []Buffer{{Type: BufferToken, Data: tok[:len(tok)-3]}, {Type: BufferEmpty}}
	sout := []Buffer{{Type: BufferToken}}
	sctx, _, err := AcceptSecurityContext(scred, nil, ASCReqAllocateMemory, NativeDataRep, short, sout)
	wantStatus(t, err, ErrIncompleteMessage)
	if short[1].Type != BufferMissing || short[1].Size != 3 {
		t.Fatalf("missing buffer = %+v", short[1])
	}
	if sctx != nil {
		t.Fatal("failed first call returned a context")
	}
	// Followed by seven bytes of the next message: reported as extra.
	long := append(append([]byte(nil), tok...), "NEXTMSG"...)
	in := []Buffer{{Type: BufferToken, Data: long}, {Type: BufferEmpty}}
	sctx, st, err := AcceptSecurityContext(scred, nil, ASCReqAllocateMemory, NativeDataRep, in, sout)
	if err != nil || st != ContinueNeeded {
		t.Fatal(st, err)
	}
	if in[1].Type != BufferExtra || in[1].Size != 7 || string(in[1].Data) != "NEXTMSG" {
		t.Fatalf("extra buffer = %+v", in[1])
	}
	// An incomplete message on a later leg leaves the context usable.
	cin := []Buffer{{Type: BufferToken, Data: sout[0].Data[:5]}, {Type: BufferEmpty}}
	_, _, err = InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, cin, out)
	wantStatus(t, err, ErrIncompleteMessage)
	if cin[1].Type != BufferMissing || cin[1].Size != 1 {
		t.Fatalf("missing = %+v", cin[1])
	}
	cin = []Buffer{{Type: BufferToken, Data: sout[0].Data}}
	if _, st, err = InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, cin, out); err != nil || st != OK {
		t.Fatal(st, err)
	}
}

func TestInputBuffersPassThrough(t *testing.T) {
	cb := []byte("channel-binding-struct")
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	out := []Buffer{{Type: BufferToken}}
	in := []Buffer{{Type: BufferChannelBindings, Data: cb}, {Type: BufferPkgParams | BufferReadOnly, Data: []byte("p")}}
	cctx, _, err := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, in, out)
	if err != nil {
		t.Fatal(err)
	}
	var seen []BufferType
	if err := QueryContextAttributes(cctx, attrSeenBuffers, &seen); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != BufferChannelBindings || seen[1] != BufferPkgParams|BufferReadOnly {
		t.Fatalf("package saw %v", seen)
	}
	// The bindings reach both packages: a server with other bindings refuses the client.
	sout := []Buffer{{Type: BufferToken}}
	sin := []Buffer{{Type: BufferToken, Data: out[0].Data}, {Type: BufferChannelBindings, Data: []byte("other")}}
	sctx, _, err := AcceptSecurityContext(scred, nil, ASCReqAllocateMemory, NativeDataRep, sin, sout)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: sout[0].Data}}, out)
	if err != nil {
		t.Fatal(err)
	}
	sin[0].Data = out[0].Data
	_, _, err = AcceptSecurityContext(scred, sctx, ASCReqAllocateMemory, NativeDataRep, sin, sout)
	wantStatus(t, err, ErrLogonDenied)
	// A failed later leg leaves a handle that refuses further steps until deleted.
	_, _, err = AcceptSecurityContext(scred, sctx, ASCReqAllocateMemory, NativeDataRep, sin, sout)
	wantStatus(t, err, ErrInvalidHandle)
	if DeleteSecurityContext(sctx) != nil {
		t.Fatal("delete failed")
	}
}

func TestCompleteNeeded(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw", CompleteNeeded: true}, &scriptedCreds{Password: "pw"})
	out := []Buffer{{Type: BufferToken}}
	cctx, _, _ := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	sout := []Buffer{{Type: BufferToken}}
	sctx, _, _ := AcceptSecurityContext(scred, nil, ASCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: out[0].Data}}, sout)
	_, st, err := InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: sout[0].Data}}, out)
	if err != nil || st != CompleteNeeded {
		t.Fatal(st, err)
	}
	if cctx.Established() {
		t.Fatal("established before CompleteAuthToken")
	}
	if err := CompleteAuthToken(cctx, out); err != nil {
		t.Fatal(err)
	}
	if !cctx.Established() {
		t.Fatal("not established after CompleteAuthToken")
	}
	if _, _, err := AcceptSecurityContext(scred, sctx, 0, NativeDataRep, []Buffer{{Type: BufferToken, Data: out[0].Data}}, sout); err != nil {
		t.Fatal(err)
	}
}

func TestReauthentication(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	cctx, sctx := handshake(t, ccred, scred, 0, 0)
	if cctx.Attributes().Has(ISCRetReauthentication) {
		t.Fatal("first authentication marked as re-authentication")
	}
	out := []Buffer{{Type: BufferToken}}
	ctx2, st, err := InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	if err != nil || st != ContinueNeeded || ctx2 != cctx {
		t.Fatal(st, err)
	}
	if !cctx.Attributes().Has(ISCRetReauthentication) || cctx.Established() {
		t.Fatalf("re-authentication not started: %s", cctx.Attributes().Format(false))
	}
	sout := []Buffer{{Type: BufferToken}}
	if _, st, err = AcceptSecurityContext(scred, sctx, ASCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: out[0].Data}}, sout); err != nil || st != ContinueNeeded {
		t.Fatal(st, err)
	}
	if _, st, err = InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: sout[0].Data}}, out); err != nil || st != OK {
		t.Fatal(st, err)
	}
	if _, st, err = AcceptSecurityContext(scred, sctx, ASCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: out[0].Data}}, sout); err != nil || st != OK {
		t.Fatal(st, err)
	}
}

func TestCredentials(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cred, gotExp, err := AcquireCredentialsHandle("", "scripted", CredBoth, nil, &scriptedCreds{ExpiresAt: exp}, nil)
	if err != nil || !gotExp.Equal(exp) || !cred.Expiry().Equal(exp) || cred.Package() != scriptedName || cred.Use() != CredBoth {
		t.Fatal(err, gotExp)
	}
	for _, tt := range []struct {
		name     string
		pkg      string
		use      CredentialUse
		logon    []byte
		authData any
		want     Status
	}{
		{"unknown package", "Nope", CredOutbound, nil, nil, ErrSecPkgNotFound},
		{"no use", scriptedName, 0, nil, &scriptedCreds{}, ErrInvalidParameter},
		{"logon id", scriptedName, CredOutbound, []byte{1}, &scriptedCreds{}, ErrNotOwner},
		{"no default", scriptedName, CredOutbound, nil, nil, ErrNoCredentials},
		{"unknown auth data", scriptedName, CredOutbound, nil, 42, ErrUnknownCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := AcquireCredentialsHandle("", tt.pkg, tt.use, tt.logon, tt.authData, nil)
			if c != nil {
				t.Error("handle returned with an error")
			}
			wantStatus(t, err, tt.want)
		})
	}
	// Inbound credentials cannot initiate.
	in := mustCreds(t, CredInbound, &scriptedCreds{})
	_, _, err = InitializeSecurityContext(in, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}})
	wantStatus(t, err, ErrNoCredentials)
	var names CredentialNames
	wantStatus(t, QueryCredentialsAttributes(in, CredAttrNames, &names), ErrUnsupportedFunction)
}

func TestRegistry(t *testing.T) {
	info, err := QuerySecurityPackageInfo("SCRIPTED")
	if err != nil || info.Name != scriptedName || info.MaxToken != 256 || info.RPCID != RPCIDNone || !info.Capabilities.Has(CapIntegrity|CapPrivacy) {
		t.Fatal(info, err)
	}
	_, err = QuerySecurityPackageInfo("Kerberos-not-here")
	wantStatus(t, err, ErrSecPkgNotFound)
	found := false
	for _, p := range EnumerateSecurityPackages() {
		found = found || p.Name == scriptedName
	}
	if !found {
		t.Fatal("Scripted not enumerated")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate Register did not panic")
		}
	}()
	Register(scriptedPackage{})
}

func TestQueryContextAttributes(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	cctx, sctx := handshake(t, ccred, scred, ISCReqMutualAuth, ASCReqMutualAuth)
	var sizes Sizes
	if err := QueryContextAttributes(sctx, AttrSizes, &sizes); err != nil || sizes.MaxSignature != 16 || sizes.SecurityTrailer != 16 {
		t.Fatal(sizes, err)
	}
	var names Names
	if err := QueryContextAttributes(sctx, AttrNames, &names); err != nil || names.UserName != `SCRIPT\alice` {
		t.Fatal(names, err)
	}
	var native NativeNames
	if err := QueryContextAttributes(sctx, AttrNativeNames, &native); err != nil || native.ClientName != `SCRIPT\alice` {
		t.Fatal(native, err)
	}
	var ls Lifespan
	if err := QueryContextAttributes(sctx, AttrLifespan, &ls); err != nil || ls.Start.IsZero() {
		t.Fatal(ls, err)
	}
	var ck, sk SessionKey
	if err := QueryContextAttributes(cctx, AttrSessionKey, &ck); err != nil {
		t.Fatal(err)
	}
	if err := QueryContextAttributes(sctx, AttrSessionKey, &sk); err != nil || len(sk.Key) != 32 || !bytes.Equal(ck.Key, sk.Key) {
		t.Fatal("session keys differ", err)
	}
	var ni NegotiationInfo
	if err := QueryContextAttributes(sctx, AttrNegotiationInfo, &ni); err != nil || ni.PackageInfo.Name != scriptedName || ni.State != NegotiationComplete {
		t.Fatal(ni, err)
	}
	var pi PackageInfo
	if err := QueryContextAttributes(cctx, AttrPackageInfo, &pi); err != nil || pi.Name != scriptedName {
		t.Fatal(pi, err)
	}
	var flags ContextAttr
	if err := QueryContextAttributes(cctx, AttrFlags, &flags); err != nil || flags != cctx.Attributes() || !flags.Has(ISCRetMutualAuth) {
		t.Fatal(flags, err)
	}
	var ss StreamSizes
	wantStatus(t, QueryContextAttributes(cctx, AttrStreamSizes, &ss), ErrUnsupportedFunction)
	wantStatus(t, QueryContextAttributes(cctx, AttrSizes, &names), ErrInvalidParameter)
	wantStatus(t, QueryContextAttributes(cctx, AttrSizes, nil), ErrInvalidParameter)
	wantStatus(t, QueryContextAttributes(cctx, AttrDCEInfo, &names), ErrUnsupportedFunction)

	// Before establishment, names and keys are refused with ErrNoContext.
	out := []Buffer{{Type: BufferToken}}
	half, _, _ := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	wantStatus(t, QueryContextAttributes(half, AttrSessionKey, &ck), ErrNoContext)
	if err := QueryContextAttributes(half, AttrNegotiationInfo, &ni); err != nil || ni.State != NegotiationInProgress {
		t.Fatal(ni, err)
	}
}

func TestMessageProtection(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	cctx, sctx := handshake(t, ccred, scred, ISCReqConfidentiality, ASCReqConfidentiality)
	msg := []byte("attack at dawn")
	sig := make([]byte, 16)
	bufs := []Buffer{{Type: BufferData, Data: msg}, {Type: BufferToken, Data: sig}}
	if err := MakeSignature(cctx, 0, bufs, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignature(sctx, bufs, 0); err != nil {
		t.Fatal(err)
	}
	// Replay: the same message again is out of sequence.
	_, err := VerifySignature(sctx, bufs, 0)
	wantStatus(t, err, ErrOutOfSequence)
	// Tampered.
	if err := MakeSignature(cctx, 0, bufs, 0); err != nil {
		t.Fatal(err)
	}
	msg[0] ^= 1
	_, err = VerifySignature(sctx, bufs, 0)
	wantStatus(t, err, ErrMessageAltered)

	// Sealing in place, server to client.
	plain := []byte("the plaintext")
	data := append([]byte(nil), plain...)
	trailer := make([]byte, 16)
	eb := []Buffer{{Type: BufferToken, Data: trailer}, {Type: BufferData, Data: data}}
	if err := EncryptMessage(sctx, 0, eb, 0); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(data, plain) {
		t.Fatal("not sealed")
	}
	if _, _, err := DecryptMessage(cctx, eb, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, plain) {
		t.Fatalf("unsealed %q", data)
	}
	wantStatus(t, EncryptMessage(sctx, 7, eb, 0), ErrQOPNotSupported)
	wantStatus(t, MakeSignature(cctx, 0, []Buffer{{Type: BufferData, Data: msg}}, 0), ErrInvalidToken)

	// Not yet established.
	out := []Buffer{{Type: BufferToken}}
	half, _, _ := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	wantStatus(t, MakeSignature(half, 0, bufs, 0), ErrNoContext)
}

func TestHandles(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	cctx, sctx := handshake(t, ccred, scred, 0, 0)
	if err := DeleteSecurityContext(cctx); err != nil {
		t.Fatal(err)
	}
	if err := DeleteSecurityContext(cctx); err != nil {
		t.Fatal("second delete:", err)
	}
	if err := DeleteSecurityContext(nil); err != nil {
		t.Fatal(err)
	}
	bufs := []Buffer{{Type: BufferData, Data: []byte("m")}, {Type: BufferToken, Data: make([]byte, 16)}}
	wantStatus(t, MakeSignature(cctx, 0, bufs, 0), ErrInvalidHandle)
	_, _, err := InitializeSecurityContext(ccred, cctx, "x", 0, NativeDataRep, nil, nil)
	wantStatus(t, err, ErrInvalidHandle)
	var sz Sizes
	wantStatus(t, QueryContextAttributes(cctx, AttrSizes, &sz), ErrInvalidHandle)
	wantStatus(t, CompleteAuthToken(cctx, nil), ErrInvalidHandle)
	wantStatus(t, MakeSignature(nil, 0, bufs, 0), ErrInvalidHandle)

	// A freed credentials handle starts no context, but contexts made with it go on.
	if err := FreeCredentialsHandle(scred); err != nil {
		t.Fatal(err)
	}
	if err := FreeCredentialsHandle(scred); err != nil || FreeCredentialsHandle(nil) != nil {
		t.Fatal("free not idempotent")
	}
	_, _, err = AcceptSecurityContext(scred, nil, 0, NativeDataRep, []Buffer{{Type: BufferToken, Data: []byte("SCR")}}, nil)
	wantStatus(t, err, ErrInvalidHandle)
	var names Names
	if err := QueryContextAttributes(sctx, AttrNames, &names); err != nil {
		t.Fatal("context lost its freed credentials:", err)
	}
	// A client context passed to the server function, or other credentials, are refused.
	c2, _ := pair(t, &scriptedCreds{User: "bob", Password: "pw"}, &scriptedCreds{})
	out := []Buffer{{Type: BufferToken}}
	cc, _, _ := InitializeSecurityContext(c2, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	_, _, err = AcceptSecurityContext(nil, cc, 0, NativeDataRep, nil, out)
	wantStatus(t, err, ErrInvalidHandle)
	_, _, err = InitializeSecurityContext(ccred, cc, "x", 0, NativeDataRep, nil, out)
	wantStatus(t, err, ErrWrongCredentialHandle)
}

func TestConcurrentUseRefused(t *testing.T) {
	block := make(chan struct{})
	ccred := mustCreds(t, CredOutbound, &scriptedCreds{User: "alice", Password: "pw"})
	out := []Buffer{{Type: BufferToken}}
	ctx, _, err := InitializeSecurityContext(ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	// Make the next step block inside the package, then use the handle from here.
	ctx.cred.impl.(*scriptedCreds).Block = block
	ctx.impl.(*scriptedContext).creds = ctx.cred.impl.(*scriptedCreds)
	done := make(chan error)
	go func() {
		_, _, err := InitializeSecurityContext(ccred, ctx, "x", ISCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: []byte("SCR\x02\x00\x08abcdefgh")}}, []Buffer{{Type: BufferToken}})
		done <- err
	}()
	for ctx.h.v.Load() != handleBusy {
		time.Sleep(time.Millisecond)
	}
	_, _, err = InitializeSecurityContext(ccred, ctx, "x", 0, NativeDataRep, nil, nil)
	if !errors.Is(err, ErrHandleInUse) || !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("concurrent step: %v", err)
	}
	var sz Sizes
	if err := QueryContextAttributes(ctx, AttrSizes, &sz); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("concurrent query: %v", err)
	}
	if err := DeleteSecurityContext(ctx); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("concurrent delete: %v", err)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := DeleteSecurityContext(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsSharedByManyContexts(t *testing.T) {
	var steps atomic.Int64
	scred := mustCreds(t, CredInbound, &scriptedCreds{Password: "pw", Steps: &steps})
	ccred := mustCreds(t, CredOutbound, &scriptedCreds{User: "u", Password: "pw"})
	const n = 50
	errs := make(chan error, n)
	for range n {
		go func() {
			c, s := handshake(t, ccred, scred, 0, 0)
			errs <- errors.Join(DeleteSecurityContext(c), DeleteSecurityContext(s))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if steps.Load() != 2*n {
		t.Fatalf("%d server steps, want %d", steps.Load(), 2*n)
	}
}
