package credssp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hexdump strips the offsets of the spec file's dumps ("0000: 30 44 ...").
func hexdump(t testing.TB, dump string) []byte {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(dump, "\n") {
		if i := strings.IndexByte(line, ':'); i >= 0 {
			line = line[i+1:]
		}
		b.WriteString(line)
	}
	return unhex(t, b.String())
}

// Vectors from shared/spec/spnego-credssp.md §6.4.
var (
	vecTSRequestAll = `
0000: 30 44 a0 03 02 01 06 a1 0b 30 09 30 07 a0 05 04
0010: 03 31 32 33 a2 0b 04 09 61 75 74 68 20 69 6e 66
0020: 6f a3 0e 04 0c 70 75 62 20 6b 65 79 20 61 75 74
0030: 68 a4 03 02 01 0a a5 0e 04 0c 63 6c 69 65 6e 74
0040: 20 6e 6f 6e 63 65`
	vecPhase1 = `
0000: 30 5b a0 03 02 01 06 a1 30 30 2e 30 2c a0 2a 04
0010: 28 4e 54 4c 4d 53 53 50 00 01 00 00 00 b7 82 08
0020: e2 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0030: 00 06 01 b1 1d 00 00 00 0f a5 22 04 20 22 10 12
0040: ad 12 5c 7a 15 fe b6 4b 1f cb 94 83 3a c5 6f 66
0050: 4c f3 bc e7 54 8a 5d 9e 05 0a 46 91 db`
	vecPhase4 = `
0000: 30 5d a0 03 02 01 06 a3 32 04 30 01 00 00 00 ce
0010: 7a 5a f4 f7 e2 57 1b 00 00 00 00 da cc 16 8f b2
0020: 34 45 ed 02 67 31 c1 63 90 a8 5c 6b 01 bc 1f 8d
0030: 93 5e 34 de 66 b9 b3 d7 f5 a1 ab a5 22 04 20 22
0040: 10 12 ad 12 5c 7a 15 fe b6 4b 1f cb 94 83 3a c5
0050: 6f 66 4c f3 bc e7 54 8a 5d 9e 05 0a 46 91 db`
	vecPhase5 = `
0000: 30 5a a0 03 02 01 06 a2 2f 04 2d 01 00 00 00 e0
0010: ba e3 ba c2 72 54 e8 01 00 00 00 6e 03 7c 4c 9d
0020: 02 4e 5e eb a1 9f ab 60 32 97 cd 95 cf fe 8f 44
0030: 70 79 6e 6c cd ea 74 6a a5 22 04 20 22 10 12 ad
0040: 12 5c 7a 15 fe b6 4b 1f cb 94 83 3a c5 6f 66 4c
0050: f3 bc e7 54 8a 5d 9e 05 0a 46 91 db`
	vecPasswordCreds = `
0000: 30 4d a0 03 02 01 01 a1 46 04 44 30 42 a0 18 04
0010: 16 64 00 6f 00 6d 00 61 00 69 00 6e 00 20 00 6e
0020: 00 61 00 6d 00 65 00 a1 12 04 10 75 00 73 00 65
0030: 00 72 00 6e 00 61 00 6d 00 65 00 a2 12 04 10 70
0040: 00 61 00 73 00 73 00 77 00 6f 00 72 00 64 00`
	vecSmartCardCreds = `
0000: 30 82 01 0f a0 03 02 01 02 a1 82 01 06 04 82 01
0010: 02 30 81 ff a0 1a 04 18 62 00 62 00 62 00 62 00
0020: 62 00 62 00 62 00 62 00 62 00 62 00 62 00 62 00
0030: a1 81 e0 30 81 dd a0 03 02 01 01 a2 2e 04 2c 4f
0040: 00 4d 00 4e 00 49 00 4b 00 45 00 59 00 20 00 43
0050: 00 61 00 72 00 64 00 4d 00 61 00 6e 00 20 00 33
0060: 00 78 00 32 00 31 00 20 00 30 00 a3 50 04 4e 6c
0070: 00 65 00 2d 00 4d 00 53 00 53 00 6d 00 61 00 72
0080: 00 74 00 63 00 61 00 72 00 64 00 55 00 73 00 65
0090: 00 72 00 2d 00 38 00 62 00 64 00 61 00 30 00 31
00a0: 00 39 00 66 00 2d 00 31 00 32 00 36 00 36 00 2d
00b0: 00 2d 00 35 00 33 00 32 00 36 00 38 00 a4 54 04
00c0: 52 4d 00 69 00 63 00 72 00 6f 00 73 00 6f 00 66
00d0: 00 74 00 20 00 42 00 61 00 73 00 65 00 20 00 53
00e0: 00 6d 00 61 00 72 00 74 00 20 00 43 00 61 00 72
00f0: 00 64 00 20 00 43 00 72 00 79 00 70 00 74 00 6f
0100: 00 20 00 50 00 72 00 6f 00 76 00 69 00 64 00 65
0110: 00 72 00`
)

func TestTSRequestVectors(t *testing.T) {
	nonce := unhex(t, "221012ad125c7a15feb64b1fcb94833ac56f664cf3bce7548a5d9e050a4691db")
	tests := []struct {
		name string
		dump string
		want tsRequest
	}{
		{"pyspnego every field", vecTSRequestAll, tsRequest{version: 6, negoToken: []byte("123"), authInfo: []byte("auth info"),
			pubKeyAuth: []byte("pub key auth"), errorCode: 10, hasErrorCode: true, clientNonce: nil}},
		{"sspi-rs phase 1", vecPhase1, tsRequest{version: 6, negoToken: unhex(t, "4e544c4d5353500001000000b78208e2000000000000000000000000000000000601b11d0000000f"), clientNonce: nonce}},
		{"sspi-rs phase 4", vecPhase4, tsRequest{version: 6, pubKeyAuth: unhex(t, "01000000ce7a5af4f7e2571b00000000dacc168fb23445ed026731c16390a85c6b01bc1f8d935e34de66b9b3d7f5a1ab"), clientNonce: nonce}},
		{"sspi-rs phase 5", vecPhase5, tsRequest{version: 6, authInfo: unhex(t, "01000000e0bae3bac27254e8010000006e037c4c9d024e5eeba19fab603297cd95cffe8f4470796e6ccdea746a"), clientNonce: nonce}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := hexdump(t, tt.dump)
			if tt.name == "pyspnego every field" {
				// Its clientNonce is the 12-byte text "client nonce": not a valid v5+ nonce,
				// which we refuse; the rest of the structure must parse.
				if _, err := parseTSRequest(msg); err == nil || !strings.Contains(err.Error(), "clientNonce of 12 bytes") {
					t.Fatalf("12-byte clientNonce: err = %v, want the nonce size refused", err)
				}
				tt.want.clientNonce = []byte("client nonce")
				if got := tt.want.marshal(); !bytes.Equal(got, msg) {
					t.Fatalf("marshal:\n got %x\nwant %x", got, msg)
				}
				return
			}
			got, err := parseTSRequest(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("parse:\n got %+v\nwant %+v", *got, tt.want)
			}
			if out := got.marshal(); !bytes.Equal(out, msg) {
				t.Fatalf("marshal:\n got %x\nwant %x", out, msg)
			}
		})
	}
}

func TestTSRequestErrorCodeForms(t *testing.T) {
	for _, code := range []uint32{0, 10, 0x7fffffff, statusLogonFailure, 0x80090302, 0xffffffff} {
		r := &tsRequest{version: 3, errorCode: code, hasErrorCode: true}
		got, err := parseTSRequest(r.marshal())
		if err != nil || !got.hasErrorCode || got.errorCode != code {
			t.Fatalf("errorCode %#x: got %+v, %v", code, got, err)
		}
	}
	// The signed form Windows sends: 02 04 c0 00 00 6d; and the unsigned 02 05 00 c0 00 00 6d.
	for _, enc := range []string{"a40602 04c000006d", "a407 0205 00c000006d"} {
		msg := append(unhex(t, "30"+"00"+"a003020103"), unhex(t, enc)...)
		msg[1] = byte(len(msg) - 2)
		got, err := parseTSRequest(msg)
		if err != nil || got.errorCode != statusLogonFailure {
			t.Fatalf("%s: %+v %v", enc, got, err)
		}
	}
}

func TestTSRequestRejects(t *testing.T) {
	good := (&tsRequest{version: 6, negoToken: []byte("tok"), clientNonce: make([]byte, 32)}).marshal()
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"empty", nil, "malformed"},
		{"trailing byte", append(append([]byte{}, good...), 0), "malformed"},
		{"no version", unhex(t, "3000"), "no version"},
		{"negative version", unhex(t, "3005a0030201ff"), "negative version"},
		{"non-minimal version", unhex(t, "3006a00402020006"), "no version"},
		{"BER indefinite length", unhex(t, "3080a0030201060000"), "malformed"},
		{"two negoTokens", unhex(t, "3018a003020106a111300f3005a003040161"+"3006a0040402ab00"), "more than one"},
		{"empty NegoData", unhex(t, "3009a003020106a1023000"), "empty negoTokens"},
		{"fields out of order", unhex(t, "300fa003020106a303040100a203040100"), "out-of-order"},
		{"short nonce", unhex(t, "300aa003020106a503040100"), "clientNonce of 1 bytes"},
		{"errorCode not minimal", unhex(t, "300ba003020103a4040202000a"), "not a 32-bit"},
		{"errorCode over 32 bits", unhex(t, "300ea003020103a40702050 1c000006d"), "not a 32-bit"},
		{"too long", make([]byte, maxTSRequest+1), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTSRequest(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTSCredentialsVectors(t *testing.T) {
	tests := []struct {
		name string
		dump string
		want Delegated
	}{
		{"password", vecPasswordCreds, &PasswordCredentials{Domain: "domain name", User: "username", Password: "password"}},
		{"smart card", vecSmartCardCreds, &SmartCardCredentials{PIN: strings.Repeat("b", 12), CSPData: CSPDataDetail{
			KeySpec: 1, ReaderName: "OMNIKEY CardMan 3x21 0", ContainerName: "le-MSSmartcardUser-8bda019f-1266--53268",
			CSPName: "Microsoft Base Smart Card Crypto Provider"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := hexdump(t, tt.dump)
			got, err := parseTSCredentials(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parse: got %+v, want %+v", got, tt.want)
			}
			if out := marshalTSCredentials(tt.want); !bytes.Equal(out, msg) {
				t.Fatalf("marshal:\n got %x\nwant %x", out, msg)
			}
		})
	}
}

func TestTSCredentialsRoundTrip(t *testing.T) {
	for _, c := range []Delegated{
		&PasswordCredentials{},
		&PasswordCredentials{Domain: "EXAMPLE", User: "ålice", Password: "pä𝄞ss"},
		&SmartCardCredentials{PIN: "1234", CSPData: CSPDataDetail{KeySpec: 2, CardName: "c", ReaderName: "r", ContainerName: "k", CSPName: "p"}, UserHint: "u", DomainHint: "d"},
		&RemoteGuardCredentials{Logon: RemoteGuardPackageCredential{Package: "Kerberos", Credential: []byte{1, 2, 3}}},
		&RemoteGuardCredentials{Logon: RemoteGuardPackageCredential{Package: "Kerberos", Credential: []byte{}},
			Supplemental: []RemoteGuardPackageCredential{{Package: "NTLM", Credential: []byte{9}}, {Package: "CredSSP", Credential: []byte{}}}},
	} {
		msg := marshalTSCredentials(c)
		got, err := parseTSCredentials(msg)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
	}
}

func TestTSCredentialsRejects(t *testing.T) {
	pw := hexdump(t, vecPasswordCreds)
	odd := append([]byte{}, pw...)
	odd[0x10] = 0x15 // domainName length 0x16 -> 0x15 breaks the inner DER
	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"unknown credType", unhex(t, "3009a003020105a1020400")},
		{"credType 1 with empty body", unhex(t, "3009a003020101a1020400")},
		{"trailing", append(append([]byte{}, pw...), 0)},
		{"inner length broken", odd},
		{"odd-length UTF-16", unhex(t, "3018a003020101a111040f300da003040141a1020400a2020400")},
		{"too long", make([]byte, maxTSCredentials+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := parseTSCredentials(tt.msg); err == nil {
				t.Fatalf("parsed %+v", c)
			}
		})
	}
}

func TestBindingVectors(t *testing.T) {
	// pyspnego test_pub_key_auth (shared/spec/spnego-credssp.md §6.3): public key 00 01.
	spk := []byte{0x00, 0x01}
	nonce := []byte{0x00, 0x00}
	tests := []struct {
		name    string
		version int64
		f       func(int64, []byte, []byte) []byte
		want    string
	}{
		{"client v2", 2, clientBinding, "0001"},
		{"client v4", 4, clientBinding, "0001"},
		{"client v5", 5, clientBinding, "4590c26c837dacdf3da8fae578264d9e45486afc3951f21ef357064cd55fbbb5"},
		{"client v6", 6, clientBinding, "4590c26c837dacdf3da8fae578264d9e45486afc3951f21ef357064cd55fbbb5"},
		{"server v3", 3, serverBinding, "0101"},
		{"server v6", 6, serverBinding, "cdf4ffee6cb6395e5b692c2da397386f6a1eab2d3a6271816a04c7a2914d333f"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.version, nonce, spk); hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: got %x, want %s", tt.name, got, tt.want)
		}
	}
	if spk[0] != 0 {
		t.Fatal("serverBinding changed its input")
	}
	// The +1 echo wraps around as Windows' byte arithmetic does.
	if got := serverBinding(2, nil, []byte{0xff, 7}); !bytes.Equal(got, []byte{0x00, 7}) {
		t.Fatalf("0xff+1 = %x", got)
	}
	if len(clientMagic) != 38 || len(serverMagic) != 38 {
		t.Fatal("magic strings must be 38 bytes with their NUL")
	}
}

func TestNTStatusMapping(t *testing.T) {
	from := []struct {
		code uint32
		want sspi.Status
	}{
		{statusLogonFailure, sspi.ErrLogonDenied},
		{statusWrongPassword, sspi.ErrLogonDenied},
		{statusNoSuchUser, sspi.ErrLogonDenied},
		{statusAccountLockedOut, sspi.ErrLogonDenied},
		{statusPasswordMustChange, sspi.ErrLogonDenied},
		{statusAccessDenied, sspi.ErrLogonDenied},
		{statusNoLogonServers, sspi.ErrNoAuthenticatingAuthority},
		{statusTimeDifferenceAtDC, sspi.ErrTimeSkew},
		{statusNotSupported, sspi.ErrUnsupportedFunction},
		{statusNoMemory, sspi.ErrInsufficientMemory},
		{statusInternalError, sspi.ErrInternalError},
		{statusInvalidParameter, sspi.ErrInvalidToken},
		{uint32(sspi.ErrWrongPrincipal), sspi.ErrWrongPrincipal},
		{uint32(sspi.ErrDelegationPolicy), sspi.ErrDelegationPolicy},
		{0xC0001234, sspi.ErrLogonDenied},
	}
	for _, tt := range from {
		if got := fromNTStatus(tt.code); got != tt.want {
			t.Errorf("fromNTStatus(%#x) = %v, want %v", tt.code, got, tt.want)
		}
	}
	to := []struct {
		s    sspi.Status
		want uint32
	}{
		{sspi.ErrLogonDenied, statusLogonFailure},
		{sspi.ErrNoAuthenticatingAuthority, statusNoLogonServers},
		{sspi.ErrTimeSkew, statusTimeDifferenceAtDC},
		{sspi.ErrUnsupportedFunction, statusNotSupported},
		{sspi.ErrInsufficientMemory, statusNoMemory},
		{sspi.ErrInternalError, statusInternalError},
		{sspi.ErrInvalidToken, statusInvalidParameter},
		{sspi.ErrMessageAltered, uint32(sspi.ErrMessageAltered)},
		{sspi.ErrBadBindings, uint32(sspi.ErrBadBindings)},
		{sspi.OK, statusUnsuccessful},
	}
	for _, tt := range to {
		got := toNTStatus(tt.s)
		if got != tt.want {
			t.Errorf("toNTStatus(%v) = %#x, want %#x", tt.s, got, tt.want)
		}
		// Every failure survives the round trip to a client.
		if tt.s.Failed() {
			if back := fromNTStatus(got); back != tt.s {
				t.Errorf("round trip of %v gave %v", tt.s, back)
			}
		}
	}
}

func TestSubjectPublicKey(t *testing.T) {
	// SEQUENCE { SEQUENCE { OID rsaEncryption, NULL }, BIT STRING 00 30 03 02 01 05 }
	spki := unhex(t, "3017300d06092a864886f70d010101050003060030030201 05")
	got, err := subjectPublicKeyFromSPKI(spki)
	if err != nil || !bytes.Equal(got, unhex(t, "3003020105")) {
		t.Fatalf("got %x, %v", got, err)
	}
	bad := append([]byte{}, spki...)
	bad[len(bad)-6] = 1 // unused bits
	if _, err := subjectPublicKeyFromSPKI(bad); !errors.Is(err, errNoSubjectPublicKey) {
		t.Fatalf("unused bits: %v", err)
	}
}
