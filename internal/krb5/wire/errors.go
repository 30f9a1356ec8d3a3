package wire

import "errors"

// Sentinel causes, for errors.Is on an *Error.
var (
	// ErrMalformed: the bytes are not the DER encoding of the expected type (wrong tag,
	// non-minimal length or integer, missing field, trailing bytes, value out of range).
	ErrMalformed = errors.New("malformed DER")
	// ErrTooLarge: a message, string or SEQUENCE OF exceeds this package's bounds (see the
	// package documentation).
	ErrTooLarge = errors.New("exceeds the size bounds")
	// ErrVersion: pvno (or tkt-vno, authenticator-vno) is not 5, or msg-type does not match.
	ErrVersion = errors.New("not a Kerberos 5 message of this type")
	// ErrInvalid: a value given to an encoder cannot be encoded (a time before year 0 or
	// after 9999, negative microseconds, an empty name, a bound exceeded).
	ErrInvalid = errors.New("value cannot be encoded")
)

// Error is a decoding or encoding failure. It names the message being decoded, the ASN.1
// type and the field where the problem was found, never any bytes of the input, so it is
// safe to log and to put into a status text.
type Error struct {
	// Message is the outermost type being decoded or encoded ("AP-REQ", "Ticket").
	Message string
	// Type is the ASN.1 type where the problem was found ("PrincipalName"), and Field the
	// field of it ("name-string"); either may be empty.
	Type, Field string
	// Err is one of ErrMalformed, ErrTooLarge, ErrVersion, ErrInvalid.
	Err error
}

func (e *Error) Error() string {
	s := "krb5: " + e.Err.Error()
	if e.Message != "" {
		s += " in " + e.Message
	}
	if e.Type != "" && e.Type != e.Message {
		s += ", " + e.Type
	}
	if e.Field != "" {
		s += "." + e.Field
	}
	return s
}

// Unwrap returns the sentinel cause.
func (e *Error) Unwrap() error { return e.Err }

func malformed(typ, field string) error {
	return &Error{Type: typ, Field: field, Err: ErrMalformed}
}

func tooLarge(typ, field string) error {
	return &Error{Type: typ, Field: field, Err: ErrTooLarge}
}

func invalid(typ, field string) error {
	return &Error{Type: typ, Field: field, Err: ErrInvalid}
}

// inMessage sets the outermost message name of err, which is always one of ours.
func inMessage(err error, msg string) error {
	if e, ok := err.(*Error); ok && e.Message == "" {
		e.Message = msg
	}
	return err
}
