package nrpc

import (
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/gosspi/sspi/internal/dcerpc"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/ndr"
)

// Netlogon is the interface 12345678-1234-abcd-ef00-01234567cffb version 1.0 (MS-NRPC 1.9).
var Netlogon = dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("12345678-1234-abcd-ef00-01234567cffb"), Major: 1}

// Operation numbers (MS-NRPC 3.5.4).
const (
	OpServerReqChallenge     = 4
	OpServerAuthenticate3    = 26
	OpLogonSamLogonEx        = 39
	OpLogonSamLogonWithFlags = 45
)

// Secure channel types (MS-NRPC 2.2.1.3.13).
const (
	WorkstationSecureChannel = 2
	ServerSecureChannel      = 6
)

// Negotiate flags (MS-NRPC 3.1.4.2).
const (
	NegSupportsAES      = 0x01000000 // W: AES credentials and sealing
	NegAuthenticatedRPC = 0x40000000 // Z: the secure channel can be bound as an RPC security provider
	NegStrongKeys       = 0x00004000
	// NegClientFlags is what we ask for: the flags Samba's client sends (0x600fffff, a
	// Windows Server 2008 set) with AES.
	NegClientFlags = 0x610fffff
)

// wstring writes a [string] wchar_t* referent: a conformant varying array of UTF-16
// code units with the terminating NUL.
func wstring(e *ndr.Encoder, s string) {
	n := len(utf16.Encode([]rune(s))) + 1
	e.Uint32(uint32(n))
	e.Uint32(0)
	e.Uint32(uint32(n))
	e.UTF16(s)
	e.Uint16(0)
}

// uniqueWString writes a top-level [in, unique, string] wchar_t*: its referent follows it.
func uniqueWString(e *ndr.Encoder, s string) {
	e.Pointer(true, func(e *ndr.Encoder) { wstring(e, s) })
	e.Flush()
}

// ReqChallengeRequest marshals NetrServerReqChallenge (MS-NRPC 3.5.4.4.1).
func ReqChallengeRequest(server, computer string, clientChallenge [8]byte) []byte {
	var e ndr.Encoder
	uniqueWString(&e, server)
	wstring(&e, computer)
	e.Write(clientChallenge[:])
	return e.Bytes()
}

// ParseReqChallengeResponse returns the server challenge.
func ParseReqChallengeResponse(b []byte) ([8]byte, error) {
	d := ndr.NewDecoder(b)
	var ch [8]byte
	copy(ch[:], d.Bytes(8))
	st := d.Uint32()
	if err := d.Err(); err != nil {
		return ch, fmt.Errorf("nrpc: malformed NetrServerReqChallenge response: %w", err)
	}
	if st != 0 {
		return ch, Status(st)
	}
	return ch, nil
}

// Authenticate3Request marshals NetrServerAuthenticate3 (MS-NRPC 3.5.4.4.2).
func Authenticate3Request(server, account string, channelType uint16, computer string, clientCred [8]byte, flags uint32) []byte {
	var e ndr.Encoder
	uniqueWString(&e, server)
	wstring(&e, account)
	e.Uint16(channelType)
	wstring(&e, computer)
	e.Write(clientCred[:])
	e.Uint32(flags)
	return e.Bytes()
}

// Authenticate3Response is NetrServerAuthenticate3's answer.
type Authenticate3Response struct {
	ServerCredential [8]byte
	Flags            uint32
	AccountRID       uint32
}

// ParseAuthenticate3Response reads NetrServerAuthenticate3's answer.
func ParseAuthenticate3Response(b []byte) (*Authenticate3Response, error) {
	d := ndr.NewDecoder(b)
	r := &Authenticate3Response{}
	copy(r.ServerCredential[:], d.Bytes(8))
	r.Flags = d.Uint32()
	r.AccountRID = d.Uint32()
	st := d.Uint32()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("nrpc: malformed NetrServerAuthenticate3 response: %w", err)
	}
	if st != 0 {
		return nil, Status(st)
	}
	return r, nil
}

// Logon levels and validation levels (MS-NRPC 2.2.1.4.16, 2.2.1.4.17).
const (
	NetlogonNetworkInformation = 2
	ValidationSamInfo2         = 3
	ValidationSamInfo4         = 6
)

// ParameterControl bits (MS-NRPC 2.2.1.4.15) a member server sets for a network logon,
// as Samba's winbind does: machine accounts may log on over the network.
const (
	msv1AllowServerTrustAccount      = 0x00000020
	msv1AllowWorkstationTrustAccount = 0x00000800
)

// NetworkLogon is a NETLOGON_NETWORK_INFO (MS-NRPC 2.2.1.4.6): an NTLM logon as the
// client sent it.
type NetworkLogon struct {
	Domain, User, Workstation string
	Challenge                 [8]byte
	NTResponse, LMResponse    []byte
}

// ansiString writes a STRING (MS-NRPC 2.2.1.1? MS-DTYP 2.3.3): counted bytes.
func ansiString(e *ndr.Encoder, b []byte) {
	e.Uint16(uint16(len(b)))
	e.Uint16(uint16(len(b)))
	e.Pointer(len(b) > 0, func(e *ndr.Encoder) {
		e.Uint32(uint32(len(b)))
		e.Uint32(0)
		e.Uint32(uint32(len(b)))
		e.Write(b)
	})
}

// SamLogonExRequest marshals NetrLogonSamLogonEx (MS-NRPC 3.5.4.5.1) with a network logon.
func SamLogonExRequest(server, computer string, l *NetworkLogon, validationLevel uint16) ([]byte, error) {
	if len(l.NTResponse) > 0xffff || len(l.LMResponse) > 0xffff {
		return nil, errors.New("nrpc: response too long for a network logon")
	}
	var e ndr.Encoder
	uniqueWString(&e, server)
	uniqueWString(&e, computer)
	e.Uint16(NetlogonNetworkInformation)
	// The NETLOGON_LEVEL union: its discriminant (a short, aligned as one: NDR20 does
	// not align a union to its arms before the discriminant), then the arm, a unique
	// pointer to the NETLOGON_NETWORK_INFO.
	e.Uint16(NetlogonNetworkInformation)
	e.Pointer(true, func(e *ndr.Encoder) {
		e.UnicodeString(l.Domain)
		e.Uint32(msv1AllowServerTrustAccount | msv1AllowWorkstationTrustAccount)
		e.Uint32(0) // Reserved (OLD_LARGE_INTEGER)
		e.Uint32(0)
		e.UnicodeString(l.User)
		e.UnicodeString(l.Workstation)
		e.Write(l.Challenge[:])
		ansiString(e, l.NTResponse)
		ansiString(e, l.LMResponse)
	})
	e.Flush()
	e.Uint16(validationLevel)
	e.Uint32(0) // ExtraFlags
	return e.Bytes(), nil
}

// Validation is NETLOGON_VALIDATION_SAM_INFO4 (MS-NRPC 2.2.1.4.13): the fields it
// shares with a PAC's KERB_VALIDATION_INFO, read by the PAC decoder, then the DNS
// domain name and the user principal name.
type Validation struct {
	pac.ValidationInfo
	DNSLogonDomainName, UPN string
}

// SamLogonResponse is NetrLogonSamLogonEx's answer.
type SamLogonResponse struct {
	Validation    *Validation
	Authoritative uint8
}

// ParseSamLogonExResponse reads NetrLogonSamLogonEx's answer; a refusal is a Status.
func ParseSamLogonExResponse(b []byte) (*SamLogonResponse, error) {
	d := ndr.NewDecoder(b)
	r := &SamLogonResponse{}
	level := d.Uint16()
	if d.Err() == nil && level != ValidationSamInfo2 && level != ValidationSamInfo4 {
		d.Failf("validation level %d", level)
	}
	d.Pointer(func(d *ndr.Decoder) {
		r.Validation = decodeValidation(d, level == ValidationSamInfo4)
	})
	d.Flush()
	r.Authoritative = d.Uint8()
	d.Uint32() // ExtraFlags
	st := d.Uint32()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("nrpc: malformed NetrLogonSamLogonEx response: %w", err)
	}
	if st != 0 {
		return r, Status(st)
	}
	if r.Validation == nil {
		return nil, errors.New("nrpc: NetrLogonSamLogonEx succeeded without validation information")
	}
	return r, nil
}

// decodeValidation reads NETLOGON_VALIDATION_SAM_INFO2 (the common fields alone) or
// _INFO4 (then DNS names, the UPN and ten expansion strings); the referents follow at
// the caller's Flush.
func decodeValidation(d *ndr.Decoder, info4 bool) *Validation {
	v := &Validation{}
	v.ReadCommon(d)
	if info4 {
		var ignore string
		d.UnicodeString(&v.DNSLogonDomainName)
		d.UnicodeString(&v.UPN)
		for range 10 { // ExpansionString1..10
			d.UnicodeString(&ignore)
		}
	}
	return v
}

// Status is an NTSTATUS a Netlogon call returned.
type Status uint32

func (s Status) Error() string { return fmt.Sprintf("nrpc: NTSTATUS 0x%08X", uint32(s)) }
