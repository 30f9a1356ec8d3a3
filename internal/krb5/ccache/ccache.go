// Package ccache reads and writes MIT's FILE credential cache format: version 4 (0x0504,
// what MIT and Heimdal write today), and reads version 3 (0x0503).
//
// Format (MIT's ccache file format documentation): a two-byte version; in version 4 a
// header of tagged fields (tag 1, DeltaTime, holds the KDC time offset in seconds and
// microseconds; unknown tags are kept and written back); the default principal; then
// credentials to the end of the file. All integers are big-endian. A principal is a name
// type, a component count, the realm and the components, each string with a 32-bit length.
// A credential is client, server, key block (16-bit enctype, repeated in version 3, and the
// key), four 32-bit times (auth, start, end, renew-till), is_skey, the ticket flags,
// addresses, authorization data, the ticket and the second ticket (DER, kept as stored).
//
// Configuration entries (server realm "X-CACHECONF:", first component
// "krb5_ccache_conf_data") are ordinary credentials here: they are read, kept in order and
// written back unchanged; Credential.IsConfig and ConfigName tell them apart.
//
// Parsing is bounded and copies nothing but strings: keys and tickets alias the input.
// Writing is atomic (temporary file, sync, rename) with mode 0600.
package ccache

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/gosspi/sspi/internal/krb5/krbfile"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Bounds on what Parse accepts.
const (
	MaxFileSize    = 16 << 20
	MaxCredentials = 4096
	MaxDataLen     = wire.MaxMessageSize // one ticket, key or authorization-data element
	MaxHeaderLen   = 1024
)

// Versions of the format.
const (
	Version3 = 0x0503
	Version4 = 0x0504
)

// HeaderDeltaTime is the tag of the version 4 header field holding the KDC time offset.
const HeaderDeltaTime = 1

// ConfigRealm is the realm of a configuration entry's server principal.
const ConfigRealm = "X-CACHECONF:"

// Errors returned by Parse, wrapped in an *Error.
var (
	ErrMalformed = errors.New("malformed credential cache")
	ErrTooLarge  = errors.New("credential cache exceeds the size bounds")
	ErrVersion   = errors.New("unsupported credential cache version (want 0x504 or 0x503)")
)

// Error is a parsing or encoding failure: which credential (-1 for the header and default
// principal), which field, and the cause. It never contains bytes of the file.
type Error struct {
	Credential int
	Field      string
	Err        error
}

func (e *Error) Error() string {
	s := "ccache: " + e.Err.Error()
	if e.Credential >= 0 {
		s += " in credential " + strconv.Itoa(e.Credential)
	}
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Principal is a principal name with its realm.
type Principal struct {
	Name  wire.PrincipalName
	Realm string
}

// HeaderField is one tagged field of a version 4 header.
type HeaderField struct {
	Tag   uint16
	Value []byte
}

// Credential is one entry of the cache. Times are zero when the file holds 0.
type Credential struct {
	Client, Server Principal
	Key            wire.EncryptionKey
	AuthTime       time.Time
	StartTime      time.Time
	EndTime        time.Time
	RenewTill      time.Time
	IsSKey         bool
	Flags          uint32 // ticket flags, wire.Flag* masks
	Addresses      []wire.HostAddress
	AuthData       []wire.AuthorizationData
	// Ticket is the ticket's DER as the KDC sent it (a configuration entry's value for
	// configuration entries), SecondTicket the one for user-to-user, usually empty.
	Ticket       []byte
	SecondTicket []byte
}

// IsConfig reports whether c is a configuration entry rather than a ticket.
func (c *Credential) IsConfig() bool {
	return c.Server.Realm == ConfigRealm && len(c.Server.Name.Components) >= 2 &&
		c.Server.Name.Components[0] == "krb5_ccache_conf_data"
}

// ConfigName returns a configuration entry's key ("fast_avail", "pa_type", ...) and the
// principal it is about (empty when none); ok is false for tickets.
func (c *Credential) ConfigName() (key, principal string, ok bool) {
	if !c.IsConfig() {
		return "", "", false
	}
	key = c.Server.Name.Components[1]
	if len(c.Server.Name.Components) > 2 {
		principal = c.Server.Name.Components[2]
	}
	return key, principal, true
}

// CCache is a parsed credential cache.
type CCache struct {
	// Version is the version read (Version3 or Version4); Marshal writes Version4.
	Version int
	// Header holds a version 4 header's fields as read (TimeOffset and SetTimeOffset handle
	// DeltaTime).
	Header           []HeaderField
	DefaultPrincipal Principal
	Credentials      []Credential
}

// TimeOffset returns the KDC time offset of the DeltaTime header field, if there is one.
func (c *CCache) TimeOffset() (d time.Duration, ok bool) {
	for _, h := range c.Header {
		if h.Tag == HeaderDeltaTime && len(h.Value) == 8 {
			sec := int32(binary.BigEndian.Uint32(h.Value))
			usec := int32(binary.BigEndian.Uint32(h.Value[4:]))
			return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, true
		}
	}
	return 0, false
}

// SetTimeOffset sets (replaces) the DeltaTime header field.
func (c *CCache) SetTimeOffset(d time.Duration) {
	v := make([]byte, 8)
	binary.BigEndian.PutUint32(v, uint32(int32(d/time.Second)))
	binary.BigEndian.PutUint32(v[4:], uint32(int32((d%time.Second)/time.Microsecond)))
	for i := range c.Header {
		if c.Header[i].Tag == HeaderDeltaTime {
			c.Header[i].Value = v
			return
		}
	}
	c.Header = append(c.Header, HeaderField{Tag: HeaderDeltaTime, Value: v})
}

// reader reads the credential cache's big-endian fields.
type reader struct{ krbfile.Reader }

// data reads a 32-bit-length string of at most max bytes.
func (r *reader) data(max int) []byte {
	n := r.U32()
	if n > uint32(max) {
		r.OK = false
		return nil
	}
	return r.Bytes(int(n))
}

func (r *reader) principal() (p Principal) {
	p.Name.Type = int32(r.U32())
	n := r.U32()
	if n > wire.MaxNameComponents {
		r.OK = false
		return
	}
	p.Realm = string(r.data(wire.MaxStringLen))
	if n > 0 {
		p.Name.Components = make([]string, n)
	}
	for i := range p.Name.Components {
		p.Name.Components[i] = string(r.data(wire.MaxStringLen))
	}
	return
}

// Parse parses a credential cache file's contents. Keys and tickets alias b.
func Parse(b []byte) (*CCache, error) {
	if len(b) > MaxFileSize {
		return nil, &Error{Credential: -1, Err: ErrTooLarge}
	}
	if len(b) < 2 || b[0] != 5 || (b[1] != 3 && b[1] != 4) {
		return nil, &Error{Credential: -1, Err: ErrVersion}
	}
	c := &CCache{Version: int(b[0])<<8 | int(b[1])}
	r := reader{krbfile.NewReader(b[2:], binary.BigEndian)}
	if c.Version == Version4 {
		n := int(r.U16())
		if n > MaxHeaderLen {
			return nil, &Error{Credential: -1, Field: "header", Err: ErrTooLarge}
		}
		h := reader{krbfile.NewReader(r.Bytes(n), binary.BigEndian)}
		h.OK = r.OK
		for h.OK && len(h.B) > 0 {
			tag := h.U16()
			v := h.Bytes(int(h.U16()))
			c.Header = append(c.Header, HeaderField{Tag: tag, Value: v})
		}
		if !h.OK {
			return nil, &Error{Credential: -1, Field: "header", Err: ErrMalformed}
		}
	}
	c.DefaultPrincipal = r.principal()
	if !r.OK {
		return nil, &Error{Credential: -1, Field: "default principal", Err: ErrMalformed}
	}
	for i := 0; len(r.B) > 0; i++ {
		if i == MaxCredentials {
			return nil, &Error{Credential: i, Err: ErrTooLarge}
		}
		cred, field := r.credential(c.Version)
		if !r.OK {
			return nil, &Error{Credential: i, Field: field, Err: ErrMalformed}
		}
		c.Credentials = append(c.Credentials, cred)
	}
	return c, nil
}

// credential reads one credential; when r.OK turns false, field names where.
func (r *reader) credential(version int) (c Credential, field string) {
	if c.Client = r.principal(); !r.OK {
		return c, "client"
	}
	if c.Server = r.principal(); !r.OK {
		return c, "server"
	}
	c.Key.Type = int32(int16(r.U16()))
	if version == Version3 && r.U16() != uint16(c.Key.Type) {
		r.OK = false
	}
	if c.Key.Value = r.data(MaxDataLen); !r.OK {
		return c, "key"
	}
	c.AuthTime, c.StartTime, c.EndTime, c.RenewTill = krbfile.UnixTime(r.U32()), krbfile.UnixTime(r.U32()), krbfile.UnixTime(r.U32()), krbfile.UnixTime(r.U32())
	switch r.U8() {
	case 0:
	case 1:
		c.IsSKey = true
	default:
		r.OK = false
	}
	c.Flags = r.U32()
	if !r.OK {
		return c, "times and flags"
	}
	n := r.U32()
	if n > wire.MaxSequence {
		r.OK = false
		return c, "addresses"
	}
	for i := uint32(0); i < n && r.OK; i++ {
		c.Addresses = append(c.Addresses, wire.HostAddress{Type: int32(int16(r.U16())), Address: r.data(MaxDataLen)})
	}
	if !r.OK {
		return c, "addresses"
	}
	if n = r.U32(); n > wire.MaxSequence {
		r.OK = false
		return c, "authdata"
	}
	for i := uint32(0); i < n && r.OK; i++ {
		c.AuthData = append(c.AuthData, wire.AuthorizationData{Type: int32(int16(r.U16())), Data: r.data(MaxDataLen)})
	}
	if !r.OK {
		return c, "authdata"
	}
	if c.Ticket = r.data(MaxDataLen); !r.OK {
		return c, "ticket"
	}
	c.SecondTicket = r.data(MaxDataLen)
	return c, "second ticket"
}

// Marshal encodes c in version 4.
func (c *CCache) Marshal() ([]byte, error) {
	if len(c.Credentials) > MaxCredentials {
		return nil, &Error{Credential: -1, Err: ErrTooLarge}
	}
	b := []byte{5, 4}
	hl := 0
	for _, h := range c.Header {
		hl += 4 + len(h.Value)
	}
	if hl > MaxHeaderLen {
		return nil, &Error{Credential: -1, Field: "header", Err: ErrTooLarge}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(hl))
	for _, h := range c.Header {
		b = binary.BigEndian.AppendUint16(b, h.Tag)
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.Value)))
		b = append(b, h.Value...)
	}
	var err error
	if b, err = appendPrincipal(b, &c.DefaultPrincipal); err != nil {
		return nil, &Error{Credential: -1, Field: "default principal", Err: err}
	}
	for i := range c.Credentials {
		if b, err = appendCredential(b, &c.Credentials[i]); err != nil {
			return nil, &Error{Credential: i, Err: err}
		}
	}
	return b, nil
}

func appendData(b, d []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(d)))
	return append(b, d...)
}

func appendPrincipal(b []byte, p *Principal) ([]byte, error) {
	if len(p.Name.Components) > wire.MaxNameComponents || len(p.Realm) > wire.MaxStringLen {
		return nil, ErrTooLarge
	}
	b = binary.BigEndian.AppendUint32(b, uint32(p.Name.Type))
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Name.Components)))
	b = appendData(b, []byte(p.Realm))
	for _, s := range p.Name.Components {
		if len(s) > wire.MaxStringLen {
			return nil, ErrTooLarge
		}
		b = appendData(b, []byte(s))
	}
	return b, nil
}

func appendCredential(b []byte, c *Credential) ([]byte, error) {
	var err error
	if b, err = appendPrincipal(b, &c.Client); err != nil {
		return nil, err
	}
	if b, err = appendPrincipal(b, &c.Server); err != nil {
		return nil, err
	}
	if c.Key.Type != int32(int16(c.Key.Type)) || len(c.Addresses) > wire.MaxSequence || len(c.AuthData) > wire.MaxSequence ||
		len(c.Ticket) > MaxDataLen || len(c.SecondTicket) > MaxDataLen || len(c.Key.Value) > MaxDataLen {
		return nil, ErrMalformed
	}
	b = binary.BigEndian.AppendUint16(b, uint16(c.Key.Type))
	b = appendData(b, c.Key.Value)
	for _, t := range []time.Time{c.AuthTime, c.StartTime, c.EndTime, c.RenewTill} {
		b = binary.BigEndian.AppendUint32(b, krbfile.UnixSeconds(t))
	}
	skey := byte(0)
	if c.IsSKey {
		skey = 1
	}
	b = append(b, skey)
	b = binary.BigEndian.AppendUint32(b, c.Flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Addresses)))
	for _, a := range c.Addresses {
		if a.Type != int32(int16(a.Type)) || len(a.Address) > MaxDataLen {
			return nil, ErrMalformed
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = appendData(b, a.Address)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.AuthData)))
	for _, a := range c.AuthData {
		if a.Type != int32(int16(a.Type)) || len(a.Data) > MaxDataLen {
			return nil, ErrMalformed
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = appendData(b, a.Data)
	}
	b = appendData(b, c.Ticket)
	return appendData(b, c.SecondTicket), nil
}
