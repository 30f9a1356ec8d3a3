package sspi

// BufferType is SecBuffer.BufferType: a SECBUFFER_* type, possibly with the
// BufferReadOnly or BufferReadOnlyWithChecksum attribute bits set.
type BufferType uint32

// Base returns t without its attribute bits (SECBUFFER_ATTRMASK), for switching on the type.
func (t BufferType) Base() BufferType { return t &^ BufferAttrMask }

// ReadOnly reports whether the package must leave the buffer unchanged (SECBUFFER_READONLY
// or SECBUFFER_READONLY_WITH_CHECKSUM).
func (t BufferType) ReadOnly() bool { return t&(BufferReadOnly|BufferReadOnlyWithChecksum) != 0 }

// Buffer is a SecBuffer. A list of them is a SecBufferDesc.
//
// For an output token, Data's length is the room the caller gives (cbBuffer on input);
// after the call Data is re-sliced to the bytes written. With ISCReqAllocateMemory (or
// ASCReqAllocateMemory) the package allocates Data itself.
//
// On input, a buffer the package did not consume is reported in a BufferExtra buffer whose
// Data is the unconsumed tail of the input, and a short message is reported with
// ErrIncompleteMessage and a BufferMissing buffer whose Size says how many bytes are
// still needed.
type Buffer struct {
	Type BufferType
	Data []byte
	// Size is cbBuffer for the buffer types that carry a count and no data:
	// BufferMissing (bytes still needed) and BufferExtra (bytes not consumed, also in Data).
	Size int
}

// FindBuffer returns the first buffer of the given base type in bufs, or nil.
func FindBuffer(bufs []Buffer, t BufferType) *Buffer {
	for i := range bufs {
		if bufs[i].Type.Base() == t {
			return &bufs[i]
		}
	}
	return nil
}
