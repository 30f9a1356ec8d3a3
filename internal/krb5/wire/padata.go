package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// PAEncTSEnc is RFC 4120 5.2.7.2's PA-ENC-TS-ENC, the plaintext of PA-ENC-TIMESTAMP.
type PAEncTSEnc struct {
	Timestamp time.Time
	Usec      int32
	HasUsec   bool
}

// Unmarshal decodes a PA-ENC-TS-ENC from b, which it must fill exactly.
func (p *PAEncTSEnc) Unmarshal(b []byte) error {
	const typ = "PA-ENC-TS-ENC"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var seq cryptobyte.String
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() || !timeField(&seq, 0, &p.Timestamp) {
		return inMessage(malformed(typ, "patimestamp"), typ)
	}
	if p.HasUsec = seq.PeekASN1Tag(ctx(1)); p.HasUsec && (!int32Field(&seq, 1, &p.Usec) || !microseconds(p.Usec)) {
		return inMessage(malformed(typ, "pausec"), typ)
	}
	if !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return nil
}

// Marshal encodes p.
func (p *PAEncTSEnc) Marshal() ([]byte, error) {
	const typ = "PA-ENC-TS-ENC"
	var e encoder
	if p.HasUsec && !microseconds(p.Usec) {
		e.fail(invalid(typ, "pausec"))
	}
	q := e.open(tagSequence)
	e.timeField(typ, "patimestamp", 0, p.Timestamp)
	if p.HasUsec {
		e.intField(1, int64(p.Usec))
	}
	e.close(q)
	return e.b, inMessage(e.err, typ)
}

// ETypeInfo2Entry is one element of RFC 4120 5.2.7.5's ETYPE-INFO2. S2KParams aliases the
// input.
type ETypeInfo2Entry struct {
	EType     int32
	Salt      string
	HasSalt   bool
	S2KParams []byte // nil when absent
}

// ParseETypeInfo2 decodes ETYPE-INFO2 (SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY).
func ParseETypeInfo2(b []byte) ([]ETypeInfo2Entry, error) {
	const typ = "ETYPE-INFO2"
	s, err := top(b, typ)
	if err != nil {
		return nil, err
	}
	var list []ETypeInfo2Entry
	ok, tooMany := seqOf(&s, MaxSequence, func(s *cryptobyte.String) bool {
		var seq cryptobyte.String
		var x ETypeInfo2Entry
		if !readASN1(s, &seq, tagSequence) || !int32Field(&seq, 0, &x.EType) {
			return false
		}
		if x.HasSalt = seq.PeekASN1Tag(ctx(1)); x.HasSalt && !stringField(&seq, 1, &x.Salt) {
			return false
		}
		if seq.PeekASN1Tag(ctx(2)) && !octetsField(&seq, 2, &x.S2KParams) {
			return false
		}
		list = append(list, x)
		return seq.Empty()
	})
	if tooMany {
		return nil, inMessage(tooLarge(typ, ""), typ)
	}
	if !ok || !s.Empty() || len(list) == 0 {
		return nil, inMessage(malformed(typ, ""), typ)
	}
	return list, nil
}

// MarshalETypeInfo2 encodes ETYPE-INFO2.
func MarshalETypeInfo2(list []ETypeInfo2Entry) ([]byte, error) {
	const typ = "ETYPE-INFO2"
	var e encoder
	if len(list) == 0 || len(list) > MaxSequence {
		e.fail(invalid(typ, ""))
	}
	p := e.open(tagSequence)
	for i := range list {
		q := e.open(tagSequence)
		e.intField(0, int64(list[i].EType))
		if list[i].HasSalt {
			e.stringField(typ, "salt", 1, list[i].Salt)
		}
		if list[i].S2KParams != nil {
			e.octetsField(2, list[i].S2KParams)
		}
		e.close(q)
	}
	e.close(p)
	return e.b, inMessage(e.err, typ)
}

// ETypeInfoEntry is one element of RFC 4120 5.2.7.4's older ETYPE-INFO, whose salt is an
// OCTET STRING. Salt aliases the input.
type ETypeInfoEntry struct {
	EType int32
	Salt  []byte // nil when absent
}

// ParseETypeInfo decodes ETYPE-INFO.
func ParseETypeInfo(b []byte) ([]ETypeInfoEntry, error) {
	const typ = "ETYPE-INFO"
	s, err := top(b, typ)
	if err != nil {
		return nil, err
	}
	var list []ETypeInfoEntry
	ok, tooMany := seqOf(&s, MaxSequence, func(s *cryptobyte.String) bool {
		var seq cryptobyte.String
		var x ETypeInfoEntry
		if !readASN1(s, &seq, tagSequence) || !int32Field(&seq, 0, &x.EType) {
			return false
		}
		if seq.PeekASN1Tag(ctx(1)) && !octetsField(&seq, 1, &x.Salt) {
			return false
		}
		list = append(list, x)
		return seq.Empty()
	})
	if tooMany {
		return nil, inMessage(tooLarge(typ, ""), typ)
	}
	if !ok || !s.Empty() {
		return nil, inMessage(malformed(typ, ""), typ)
	}
	return list, nil
}

// MarshalETypeInfo encodes ETYPE-INFO.
func MarshalETypeInfo(list []ETypeInfoEntry) ([]byte, error) {
	var e encoder
	if len(list) > MaxSequence {
		e.fail(tooLarge("ETYPE-INFO", ""))
	}
	p := e.open(tagSequence)
	for i := range list {
		q := e.open(tagSequence)
		e.intField(0, int64(list[i].EType))
		if list[i].Salt != nil {
			e.octetsField(1, list[i].Salt)
		}
		e.close(q)
	}
	e.close(p)
	return e.b, inMessage(e.err, "ETYPE-INFO")
}

// ParsePACRequest decodes MS-KILE 2.2.3's KERB-PA-PAC-REQUEST and returns include-pac.
func ParsePACRequest(b []byte) (includePAC bool, err error) {
	const typ = "KERB-PA-PAC-REQUEST"
	s, err := top(b, typ)
	if err != nil {
		return false, err
	}
	var seq cryptobyte.String
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() || !boolField(&seq, 0, &includePAC) || !seq.Empty() {
		return false, inMessage(malformed(typ, "include-pac"), typ)
	}
	return includePAC, nil
}

// MarshalPACRequest encodes KERB-PA-PAC-REQUEST.
func MarshalPACRequest(includePAC bool) []byte {
	var e encoder
	p := e.open(tagSequence)
	e.boolField(0, includePAC)
	e.close(p)
	return e.b
}
