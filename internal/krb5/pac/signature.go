package pac

import (
	"encoding/binary"
	"errors"
	"fmt"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// usageNonKerbChecksum is KERB_NON_KERB_CKSUM_SALT, the key usage of every PAC signature
// (MS-PAC 2.8.1).
const usageNonKerbChecksum = 17

// Signature is a PAC_SIGNATURE_DATA (MS-PAC 2.8): a checksum type, the checksum, and on a
// read-only DC's KDC signature the RODC's identifier.
type Signature struct {
	Type  int32
	Value []byte // aliases the PAC
	// RODCIdentifier follows the checksum in signatures made by a read-only DC.
	RODCIdentifier    uint16
	HasRODCIdentifier bool
	valueOffset       int // of Value in the PAC
}

// checksumSize returns the length of a checksum of type t, or 0 for a type this package
// does not know.
func checksumSize(t int32) int {
	switch t {
	case krbcrypto.ChecksumHMACSHA196AES128, krbcrypto.ChecksumHMACSHA196AES256:
		return 12
	case krbcrypto.ChecksumHMACMD5, krbcrypto.ChecksumHMACSHA256128AES128:
		return 16
	case krbcrypto.ChecksumHMACSHA384192AES256:
		return 24
	}
	return 0
}

func parseSignature(buf *Buffer) (*Signature, error) {
	b := buf.Data
	if len(b) < 4 {
		return nil, errors.New("PAC_SIGNATURE_DATA truncated")
	}
	s := &Signature{Type: int32(binary.LittleEndian.Uint32(b)), valueOffset: buf.Offset + 4}
	n := checksumSize(s.Type)
	switch {
	case n == 0:
		s.Value = b[4:] // unknown type: kept whole, never verifies
	case len(b) == 4+n:
		s.Value = b[4 : 4+n]
	case len(b) == 4+n+2:
		s.Value = b[4 : 4+n]
		s.RODCIdentifier, s.HasRODCIdentifier = binary.LittleEndian.Uint16(b[4+n:]), true
	default:
		return nil, fmt.Errorf("PAC_SIGNATURE_DATA of type %d is %d bytes, want %d", s.Type, len(b), 4+n)
	}
	return s, nil
}

// VerifyServer checks the server signature with the service's long-term key, the key that
// decrypted the ticket (MS-PAC 2.8.1): a keyed checksum of the key's own type over the
// whole PAC with the server and KDC signatures zeroed. Success proves that the KDC, which
// alone besides the service knows that key, made this PAC for this service.
func (p *PAC) VerifyServer(key *krbcrypto.Key) error {
	srv, kdc := p.ServerSignature, p.KDCSignature
	if srv == nil || kdc == nil {
		return errors.New("pac: the PAC lacks its server or KDC signature")
	}
	if want := key.EType().ChecksumType(); srv.Type != want {
		return fmt.Errorf("pac: the server signature has checksum type %d, the service key (%v) makes type %d", srv.Type, key.EType(), want)
	}
	buf := make([]byte, len(p.Raw))
	copy(buf, p.Raw)
	clear(buf[srv.valueOffset : srv.valueOffset+len(srv.Value)])
	clear(buf[kdc.valueOffset : kdc.valueOffset+len(kdc.Value)])
	if !key.Usage(usageNonKerbChecksum).VerifyChecksum(srv.Value, buf) {
		return errors.New("pac: the server signature does not match: the PAC was altered or not made for this service's key")
	}
	return nil
}

// VerifyKDC checks the KDC signature, a checksum over the server signature with the KDC's
// (krbtgt) key (MS-PAC 2.8.2). Only a KDC, or a service holding the krbtgt key, can.
func (p *PAC) VerifyKDC(key *krbcrypto.Key) error {
	srv, kdc := p.ServerSignature, p.KDCSignature
	if srv == nil || kdc == nil {
		return errors.New("pac: the PAC lacks its server or KDC signature")
	}
	if want := key.EType().ChecksumType(); kdc.Type != want {
		return fmt.Errorf("pac: the KDC signature has checksum type %d, the KDC key (%v) makes type %d", kdc.Type, key.EType(), want)
	}
	if !key.Usage(usageNonKerbChecksum).VerifyChecksum(kdc.Value, srv.Value) {
		return errors.New("pac: the KDC signature does not match the server signature")
	}
	return nil
}
