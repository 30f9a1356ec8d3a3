package schannel

import (
	"github.com/gosspi/sspi"
)

// This file reads TLS record headers (RFC 8446 5.1, RFC 5246 6.2): the package cuts the
// caller's bytes into whole records itself, so that crypto/tls only ever sees complete
// records and a short read becomes SEC_E_INCOMPLETE_MESSAGE with the count still needed.

const (
	recordHeaderLen = 5
	// maxRecordBody is the largest record body any version allows: 2^14 plaintext plus
	// 2048 bytes of expansion (RFC 5246 6.2.3). A header announcing more is refused at
	// once, before the caller is asked for that many bytes.
	maxRecordBody = 16384 + 2048

	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23
)

// recordSplit is the outcome of looking at the start of b.
type recordSplit struct {
	typ     byte
	length  int // header plus body, when complete
	missing int // bytes still needed when incomplete; 0 when unknown (header incomplete)
}

// splitRecord reads the record at the start of b. It reports a complete record's type
// and length, or how many bytes are missing, or an ErrIllegalMessage error for a header
// no TLS peer sends.
func splitRecord(b []byte) (recordSplit, error) {
	if len(b) < recordHeaderLen {
		// Windows reports 0 while even the header is incomplete.
		return recordSplit{missing: 0}, nil
	}
	typ := b[0]
	if typ < recordChangeCipherSpec || typ > recordApplicationData {
		return recordSplit{}, sspi.Errorf(sspi.ErrIllegalMessage, "schannel: record of content type %d is not TLS (a TLS record starts with 20-23)", typ)
	}
	if b[1] != 3 {
		return recordSplit{}, sspi.Errorf(sspi.ErrIllegalMessage, "schannel: record of version %d.%d is not TLS (major version 3 expected)", b[1], b[2])
	}
	n := int(b[3])<<8 | int(b[4])
	if n > maxRecordBody {
		return recordSplit{}, sspi.Errorf(sspi.ErrIllegalMessage, "schannel: record header announces %d bytes, more than the %d TLS allows", n, maxRecordBody)
	}
	if len(b) < recordHeaderLen+n {
		return recordSplit{typ: typ, missing: recordHeaderLen + n - len(b)}, nil
	}
	return recordSplit{typ: typ, length: recordHeaderLen + n}, nil
}
