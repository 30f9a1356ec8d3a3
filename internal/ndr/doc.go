// Package ndr is the subset of DCE/RPC's Network Data Representation (C706 chapter 14,
// NDR20, little-endian integers, IEEE floats, ASCII characters) that Windows structures
// carried in Kerberos and Netlogon need: primitive types with their alignment, conformant
// and varying arrays, unique, full and embedded reference pointers with their referents
// deferred as MIDL lays them out, RPC_UNICODE_STRING, RPC_SID, FILETIME, and the version 1
// type serialization header (MS-RPCE 2.2.6) that wraps a PAC's KERB_VALIDATION_INFO.
//
// A Decoder reads one buffer with a sticky error, in the manner of cryptobyte: every read
// past the end, misaligned count or inconsistent array header sets the error and makes
// later reads return zero values, so a structure decoder reads all its fields and checks
// Err once. Every length comes from the input and is checked against what remains of it
// before anything is allocated, so a decoder never allocates more than a small multiple
// of its input and never panics.
//
// Pointers: NDR writes an embedded pointer as a 4-byte referent ID where it appears and
// the thing it points to (its referent) later, after the whole construct that holds the
// pointer; a referent's own pointers follow it in turn. Decoder.Pointer and
// Encoder.Pointer take the referent's decoder or encoder as a function, queue it, and
// Flush runs the queue in that order. A structure shared by several RPC types (the
// KERB_VALIDATION_INFO of a PAC and Netlogon's NETLOGON_VALIDATION_SAM_INFO4 begin
// alike) can thus be read in parts: its common fields by one function, the rest by
// another, and the referents of both by one Flush.
package ndr
