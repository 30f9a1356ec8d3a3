package sspi

// This file is the SEC_CHANNEL_BINDINGS structure (sspi.h), the RFC 5929
// tls-server-end-point value an application puts in it, and the MD5 hash that
// NTLM and Kerberos carry on the wire. The hash is here, not in a package,
// because both packages must compute it byte for byte alike.

import (
	"crypto"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"hash"
)

// ChannelBindings ties an authentication to the secure channel it runs over
// (RFC 5056): Windows' Extended Protection for Authentication. It is the
// GSS-API gss_channel_bindings_struct (RFC 2744 3.11), which SSPI passes as a
// SEC_CHANNEL_BINDINGS structure in a BufferChannelBindings input buffer (or
// ClientOptions.ChannelBindings and ServerOptions.ChannelBindings). Client and
// server must build the same value: for TLS, only ApplicationData is set,
// usually to the tls-server-end-point value TLSServerEndPoint returns.
type ChannelBindings struct {
	InitiatorAddrType uint32 // a GSS_C_AF_* address type; 0 (unspecified) for TLS
	InitiatorAddress  []byte
	AcceptorAddrType  uint32
	AcceptorAddress   []byte
	// ApplicationData is, for TLS, a channel-binding type prefix and its value,
	// such as "tls-server-end-point:" followed by a certificate hash.
	ApplicationData []byte
}

// secChannelBindingsHeaderLen is the fixed SEC_CHANNEL_BINDINGS header: eight uint32s.
const secChannelBindingsHeaderLen = 32

// ParseChannelBindings reads a SEC_CHANNEL_BINDINGS structure: a 32-byte header
// of little-endian (type, length, offset) for the initiator and the acceptor
// address and (length, offset) for the application data, offsets counted from
// the start of b, then the data. Every range is checked against b; bytes the
// header does not point at are ignored. The returned slices alias b. A
// malformed structure is an error with status ErrInvalidParameter: the
// structure comes from the application, never from the peer.
func ParseChannelBindings(b []byte) (*ChannelBindings, error) {
	if len(b) < secChannelBindingsHeaderLen {
		return nil, Errorf(ErrInvalidParameter, "sspi: channel bindings of %d bytes are not a SEC_CHANNEL_BINDINGS structure, which needs a 32-byte header (build one with ChannelBindings.Marshal)", len(b))
	}
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	part := func(name string, n, off uint32) ([]byte, error) {
		if n == 0 {
			return nil, nil
		}
		if uint64(off)+uint64(n) > uint64(len(b)) {
			return nil, Errorf(ErrInvalidParameter, "sspi: SEC_CHANNEL_BINDINGS %s of %d bytes at offset %d runs past the end of the %d-byte structure (build one with ChannelBindings.Marshal)", name, n, off, len(b))
		}
		return b[off : off+n : off+n], nil
	}
	cb := &ChannelBindings{InitiatorAddrType: u32(0), AcceptorAddrType: u32(3)}
	var err error
	if cb.InitiatorAddress, err = part("initiator address", u32(1), u32(2)); err != nil {
		return nil, err
	}
	if cb.AcceptorAddress, err = part("acceptor address", u32(4), u32(5)); err != nil {
		return nil, err
	}
	if cb.ApplicationData, err = part("application data", u32(6), u32(7)); err != nil {
		return nil, err
	}
	return cb, nil
}

// Marshal returns cb as a SEC_CHANNEL_BINDINGS structure, the form a
// BufferChannelBindings buffer holds: the header, then the initiator address,
// the acceptor address and the application data. An empty part has length and
// offset 0, as Schannel leaves them.
func (cb *ChannelBindings) Marshal() []byte {
	b := make([]byte, secChannelBindingsHeaderLen,
		secChannelBindingsHeaderLen+len(cb.InitiatorAddress)+len(cb.AcceptorAddress)+len(cb.ApplicationData))
	put := func(i int, v uint32) { binary.LittleEndian.PutUint32(b[4*i:], v) }
	add := func(lenIdx int, data []byte) {
		if len(data) == 0 {
			return
		}
		put(lenIdx, uint32(len(data)))
		put(lenIdx+1, uint32(len(b)))
		b = append(b, data...)
	}
	put(0, cb.InitiatorAddrType)
	put(3, cb.AcceptorAddrType)
	add(1, cb.InitiatorAddress)
	add(4, cb.AcceptorAddress)
	add(6, cb.ApplicationData)
	return b
}

// Hash returns what a package sends in place of the bindings: MD5 over the
// gss_channel_bindings_struct serialization, that is each address as uint32
// type, uint32 length and its bytes, then the uint32 length and bytes of the
// application data, all little-endian (the offsets of SEC_CHANNEL_BINDINGS are
// not hashed). NTLM carries it in MsvAvChannelBindings (MS-NLMP 2.2.2.1),
// Kerberos in the Bnd field of the authenticator checksum (RFC 4121 4.1.1.2).
// A client with no bindings at all sends 16 zero bytes instead, which is not
// the Hash of an empty ChannelBindings.
func (cb *ChannelBindings) Hash() [16]byte {
	h := md5.New()
	var w [8]byte
	field := func(typ uint32, data []byte) {
		binary.LittleEndian.PutUint32(w[0:], typ)
		binary.LittleEndian.PutUint32(w[4:], uint32(len(data)))
		h.Write(w[:])
		h.Write(data)
	}
	field(cb.InitiatorAddrType, cb.InitiatorAddress)
	field(cb.AcceptorAddrType, cb.AcceptorAddress)
	binary.LittleEndian.PutUint32(w[0:], uint32(len(cb.ApplicationData)))
	h.Write(w[:4])
	h.Write(cb.ApplicationData)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// tlsServerEndPointPrefix starts the application data of a tls-server-end-point
// binding (RFC 5929 4.2).
const tlsServerEndPointPrefix = "tls-server-end-point:"

// TLSServerEndPoint returns the RFC 5929 tls-server-end-point channel bindings
// of a TLS server certificate: application data "tls-server-end-point:"
// followed by a hash of the certificate's DER encoding. This is what IIS,
// Windows clients, curl and requests-ntlm bind to. The hash is that of the
// certificate's signature algorithm, except that MD5 and SHA-1 become SHA-256
// (RFC 5929 4.1). RFC 5929 leaves Ed25519, which hashes nothing separately,
// undefined; SHA-256 is used, the common choice (not checked against Windows,
// whose TLS stack offers no Ed25519 certificates). An unknown signature
// algorithm is an ErrInvalidParameter error.
//
// A server passes its own leaf certificate (tls.Certificate.Leaf, or
// x509.ParseCertificate of tls.Certificate.Certificate[0]); a client the
// certificate the server presented, for which see TLSServerEndPointFromState.
func TLSServerEndPoint(cert *x509.Certificate) (*ChannelBindings, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return nil, Errorf(ErrInvalidParameter, "sspi: tls-server-end-point needs the server's certificate as parsed by crypto/x509, and got none")
	}
	var h hash.Hash
	switch endPointHash(cert.SignatureAlgorithm) {
	case crypto.SHA256:
		h = sha256.New()
	case crypto.SHA384:
		h = sha512.New384()
	case crypto.SHA512:
		h = sha512.New()
	default:
		return nil, Errorf(ErrInvalidParameter, "sspi: tls-server-end-point is undefined for a certificate signed with %v (RFC 5929 4.1 needs one known hash)", cert.SignatureAlgorithm)
	}
	h.Write(cert.Raw)
	data := make([]byte, 0, len(tlsServerEndPointPrefix)+h.Size())
	data = append(data, tlsServerEndPointPrefix...)
	return &ChannelBindings{ApplicationData: h.Sum(data)}, nil
}

// endPointHash is RFC 5929 4.1's choice of hash for a signature algorithm; 0
// when there is none.
func endPointHash(a x509.SignatureAlgorithm) crypto.Hash {
	switch a {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1, // weak: SHA-256
		x509.SHA256WithRSA, x509.DSAWithSHA256, x509.ECDSAWithSHA256, x509.SHA256WithRSAPSS,
		x509.PureEd25519:
		return crypto.SHA256
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return crypto.SHA512
	}
	return 0
}

// TLSServerEndPointFromState returns the tls-server-end-point channel bindings
// of a client's TLS connection, from the certificate the server presented
// (cs.PeerCertificates[0]); see TLSServerEndPoint. Call it after the handshake:
//
//	cb, err := sspi.TLSServerEndPointFromState(conn.ConnectionState())
//
// It is for the client side only. A server's ConnectionState does not hold the
// server's own certificate (its PeerCertificates are the client's, if any): a
// server calls TLSServerEndPoint with its certificate instead. A state with no
// completed handshake or no peer certificate is an ErrInvalidParameter error.
func TLSServerEndPointFromState(cs tls.ConnectionState) (*ChannelBindings, error) {
	if !cs.HandshakeComplete {
		return nil, Errorf(ErrInvalidParameter, "sspi: the TLS handshake is not complete, so there is no server certificate to bind to yet (call Handshake first)")
	}
	if len(cs.PeerCertificates) == 0 {
		return nil, Errorf(ErrInvalidParameter, "sspi: the TLS connection has no peer certificate: on a server, call TLSServerEndPoint with the server's own certificate")
	}
	return TLSServerEndPoint(cs.PeerCertificates[0])
}
