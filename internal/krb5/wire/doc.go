// Package wire encodes and decodes the Kerberos 5 messages of RFC 4120 (and the PA-DATA types
// of RFC 4120, RFC 6806 and MS-KILE that gosspi uses) in strict, bounded DER, with
// golang.org/x/crypto/cryptobyte for reading and an append-only encoder for writing, and no
// reflection.
//
// # Received bytes are kept
//
// A decoded Ticket keeps its DER in Ticket.Raw, and every encoder that embeds a Ticket (AP-REQ,
// TGS-REQ additional-tickets, KRB-CRED, KDC-REP) writes Raw back when it is set, so a ticket
// from a KDC or a ccache is forwarded byte for byte and never re-encoded. A decoded
// KDC-REQ-BODY keeps its DER in Raw for the checksums computed over it. Every OCTET STRING
// (ciphertexts, key values, checksums, PA-DATA and authorization-data values, addresses)
// aliases the input; only strings (realms, name components, e-text) are copied. Decoding an
// AP-REQ allocates three times: the ticket's realm, and its server name's components (which
// share one string) and their slice.
//
// # Strictness
//
//   - DER: definite, minimal lengths; single-octet identifiers with the right class
//     (APPLICATION, context-specific, universal) and form; minimal INTEGERs; BOOLEAN 0x00 or
//     0xff; KerberosTime exactly "YYYYMMDDHHMMSSZ" with valid fields; no trailing bytes at
//     any level.
//   - Ranges: Int32 fields must fit 32 bits and Microseconds 0..999999. UInt32 fields (nonce,
//     kvno, seq-number) accept -2^31..2^32-1 and read negatives as two's complement, because
//     RFC 4120 5.2.4 records implementations that send them signed; encoders write them
//     unsigned.
//   - KerberosFlags (RFC 4120 5.2.8) are read from a BIT STRING of any length up to 128 bits
//     (bits after the 32nd ignored, shorter strings padded with zeros) and written as MIT and
//     Windows do: 32 bits, no unused bits.
//   - Unknown fields: RFC 4120's module has no extension markers, so an unknown context tag
//     is refused everywhere; RFC 6806's encrypted-pa-data [12] in EncKDCRepPart is known.
//     EncKDCRepPart is accepted with either APPLICATION 25 or 26 in either reply (RFC 4120
//     5.4.2's note on KDCs that send 25 in TGS replies; MIT's KDC sends 26 in AS replies),
//     and the tag is kept so that it re-encodes unchanged.
//   - KerberosString: any octets but NUL (MIT and Windows send UTF-8; RFC 4120 asks for IA5).
//   - An OPTIONAL KerberosTime is represented by the zero time.Time when absent; a present
//     value equal to it (0001-01-01T00:00:00Z) is refused rather than silently lost.
//
// # Bounds
//
// MaxMessageSize (1 MiB) for a message, MaxStringLen (4 KiB) for a string,
// MaxNameComponents (16) for a name and MaxSequence (64) for every other SEQUENCE OF. A
// decoder refuses more with ErrTooLarge, an encoder with the same.
//
// # Errors
//
// Every failure is an *Error naming the message, type and field, and one of ErrMalformed,
// ErrTooLarge, ErrVersion or ErrInvalid; none ever contains bytes of the input.
package wire
