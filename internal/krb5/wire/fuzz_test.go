package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzMessage checks, for any input, that decoding never panics, and that whatever decodes
// encodes, decodes again and encodes to the same bytes (the encoding is a fixed point). For
// the DER this package accepts without normalizing (all but KerberosFlags of other than 32
// bits, negative UInt32s and present-but-empty optional strings), the first encoding is the
// input itself.
func fuzzMessage(f *testing.F, kind string, seeds ...string) {
	for _, r := range recordings {
		if r.kind == kind || kindOf(r.kind) == kind {
			f.Add(readFile(f, r.file))
		}
	}
	for _, s := range seeds {
		f.Add(readFile(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := newMessage(kind)
		if m.Unmarshal(b) != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			return // a decoded value the encoder refuses (e.g. too many elements) is fine
		}
		m2 := newMessage(kind)
		if err := m2.Unmarshal(out); err != nil {
			t.Fatalf("re-decoding our own encoding: %v\n%x", err, out)
		}
		again, err := m2.Marshal()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("encoding not stable (%v):\n%x\n%x", err, out, again)
		}
	})
}

func kindOf(k string) string {
	switch k {
	case "AS-REQ", "TGS-REQ":
		return "KDC-REQ"
	case "AS-REP", "TGS-REP":
		return "KDC-REP"
	}
	return k
}

func readFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzAPReq(f *testing.F)          { fuzzMessage(f, "AP-REQ") }
func FuzzAPRep(f *testing.F)          { fuzzMessage(f, "AP-REP") }
func FuzzEncAPRepPart(f *testing.F)   { fuzzMessage(f, "EncAPRepPart") }
func FuzzAuthenticator(f *testing.F)  { fuzzMessage(f, "Authenticator") }
func FuzzTicket(f *testing.F)         { fuzzMessage(f, "Ticket") }
func FuzzEncTicketPart(f *testing.F)  { fuzzMessage(f, "EncTicketPart") }
func FuzzKRBError(f *testing.F)       { fuzzMessage(f, "KRB-ERROR") }
func FuzzKRBCred(f *testing.F)        { fuzzMessage(f, "KRB-CRED") }
func FuzzEncKrbCredPart(f *testing.F) { fuzzMessage(f, "EncKrbCredPart") }
func FuzzKDCReq(f *testing.F)         { fuzzMessage(f, "KDC-REQ") }
func FuzzKDCRep(f *testing.F)         { fuzzMessage(f, "KDC-REP") }
func FuzzEncKDCRepPart(f *testing.F)  { fuzzMessage(f, "EncKDCRepPart") }
func FuzzPAEncTSEnc(f *testing.F)     { fuzzMessage(f, "PA-ENC-TS-ENC") }

// FuzzPAData covers the PA-DATA and e-data decoders that return slices.
func FuzzPAData(f *testing.F) {
	var kerr KRBError
	if err := kerr.Unmarshal(readFile(f, "mit-krb-error-preauth-required.der")); err != nil {
		f.Fatal(err)
	}
	f.Add(kerr.EData)
	if md, err := ParseMethodData(kerr.EData); err == nil {
		for _, pa := range md {
			f.Add(pa.Value)
		}
	}
	f.Add(MarshalPACRequest(true))
	f.Add([]byte{0x30, 0x0b, 0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x17, 0xa1, 0x02, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if md, err := ParseMethodData(b); err == nil {
			if out, err := MarshalMethodData(md); err == nil && !bytes.Equal(out, b) {
				t.Fatalf("METHOD-DATA not re-encoded as received")
			}
		}
		if e2, err := ParseETypeInfo2(b); err == nil {
			if out, err := MarshalETypeInfo2(e2); err == nil {
				if again, err := ParseETypeInfo2(out); err != nil || len(again) != len(e2) {
					t.Fatalf("ETYPE-INFO2 does not round-trip: %v", err)
				}
			}
		}
		if e1, err := ParseETypeInfo(b); err == nil {
			if out, err := MarshalETypeInfo(e1); err == nil && !bytes.Equal(out, b) {
				t.Fatalf("ETYPE-INFO not re-encoded as received")
			}
		}
		if v, err := ParsePACRequest(b); err == nil && !bytes.Equal(MarshalPACRequest(v), b) {
			t.Fatalf("PAC-REQUEST not re-encoded as received")
		}
		if td, err := ParseTypedData(b); err == nil {
			if out, err := MarshalTypedData(td); err == nil && !bytes.Equal(out, b) {
				t.Fatalf("TYPED-DATA not re-encoded as received")
			}
		}
		if ad, err := ParseAuthorizationData(b); err == nil {
			if out, err := MarshalAuthorizationData(ad); err == nil && !bytes.Equal(out, b) {
				t.Fatalf("AuthorizationData not re-encoded as received")
			}
		}
	})
}

// FuzzS4U covers the MS-SFU and MS-KILE pre-authentication values: whatever decodes
// encodes to a fixed point.
func FuzzS4U(f *testing.F) {
	for _, s := range s4uSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fu PAForUserData
		if fu.Unmarshal(b) == nil {
			out, err := fu.Marshal()
			if err == nil && !bytes.Equal(out, b) {
				t.Fatalf("PA-FOR-USER not re-encoded as received:\n%x\n%x", b, out)
			}
		}
		var xu PAS4UX509UserData
		if xu.Unmarshal(b) == nil {
			out, err := xu.Marshal()
			if err == nil {
				var again PAS4UX509UserData
				if err := again.Unmarshal(out); err != nil {
					t.Fatalf("PA-S4U-X509-USER: re-decoding our encoding: %v", err)
				}
				if o2, err := again.Marshal(); err != nil || !bytes.Equal(o2, out) {
					t.Fatalf("PA-S4U-X509-USER encoding not stable: %v", err)
				}
			}
		}
		if v, err := ParsePACOptions(b); err == nil {
			if w, err := ParsePACOptions(MarshalPACOptions(v)); err != nil || w != v {
				t.Fatalf("PA-PAC-OPTIONS does not round-trip: %v", err)
			}
		}
	})
}
