package pac

import (
	"reflect"
	"testing"

	"github.com/gosspi/sspi/internal/ndr"
)

// samInfo4 is Netlogon's NETLOGON_VALIDATION_SAM_INFO4 (MS-NRPC 2.2.1.4.13) as a Netlogon
// client would decode it with ReadCommon: the shared fields, then its own tail.
type samInfo4 struct {
	ValidationInfo
	DNSLogonDomainName, UPN string
	Expansion               [10]string
}

func (s *samInfo4) read(d *ndr.Decoder) {
	s.ReadCommon(d)
	d.UnicodeString(&s.DNSLogonDomainName)
	d.UnicodeString(&s.UPN)
	for i := range s.Expansion {
		d.UnicodeString(&s.Expansion[i])
	}
}

func (s *samInfo4) write(e *ndr.Encoder) {
	s.WriteCommon(e)
	e.UnicodeString(s.DNSLogonDomainName)
	e.UnicodeString(s.UPN)
	for _, x := range s.Expansion {
		e.UnicodeString(x)
	}
}

// TestValidationCommonReuse: a structure that begins with KERB_VALIDATION_INFO's common
// fields and goes on with its own (with pointers of its own, whose referents NDR puts
// after the common fields' referents) round-trips through ReadCommon/WriteCommon.
func TestValidationCommonReuse(t *testing.T) {
	want := &samInfo4{DNSLogonDomainName: "samdom.test", UPN: "alice@samdom.test"}
	want.ValidationInfo = *sampleInfo(t)
	want.ResourceGroupDomainSID, want.ResourceGroupIDs = nil, nil // not in SAM_INFO4
	want.Expansion[9] = "last"
	var e ndr.Encoder
	e.Pointer(true, want.write)
	e.Flush()
	got := new(samInfo4)
	d := ndr.NewDecoder(e.Bytes())
	d.RefPointer(got.read)
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	if d.Remaining() != 0 {
		t.Fatalf("%d bytes left", d.Remaining())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
}
