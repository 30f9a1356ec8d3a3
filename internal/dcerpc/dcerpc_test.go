package dcerpc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

func TestUUIDWireOrder(t *testing.T) {
	u := MustParseUUID("12345678-1234-abcd-ef00-01234567cffb")
	want, _ := hex.DecodeString("785634123412cdabef0001234567cffb")
	if !bytes.Equal(u[:], want) {
		t.Fatalf("%x, want %x", u[:], want)
	}
	for _, bad := range []string{"", "12345678-1234-abcd-ef00-01234567cffg", "123456781234-abcd-ef00-01234567cffb0"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

// bindAckBody is a bind_ack body as Samba sends it: a secondary address "49152\0", the
// result list 4-aligned in the PDU, one accepted NDR20 context.
func bindAckBody(result uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 4280)
	b = binary.LittleEndian.AppendUint16(b, 4280)
	b = binary.LittleEndian.AppendUint32(b, 0x1234)
	b = binary.LittleEndian.AppendUint16(b, 6)
	b = append(b, "49152\x00"...)
	for (headerLen+len(b))%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, 1, 0, 0, 0)
	b = binary.LittleEndian.AppendUint16(b, result)
	b = binary.LittleEndian.AppendUint16(b, 0)
	return NDR20.append(b)
}

func TestParseBindAck(t *testing.T) {
	a, err := parseBindAck(bindAckBody(0))
	if err != nil || a.maxRecv != 4280 || a.result != 0 || a.transfer != NDR20 {
		t.Fatalf("%+v, %v", a, err)
	}
	b := bindAckBody(2)
	for n := 0; n < len(b); n++ {
		if _, err := parseBindAck(b[:n]); err == nil {
			t.Fatalf("bind_ack truncated to %d bytes accepted", n)
		}
	}
}

func TestParseHeaderBounds(t *testing.T) {
	h := header{ptype: ptypeResponse, flags: pfcFirstFrag | pfcLastFrag, fragLength: 100, callID: 7}.append(nil)
	got, err := parseHeader(h)
	if err != nil || got.fragLength != 100 || got.callID != 7 {
		t.Fatalf("%+v %v", got, err)
	}
	big := header{fragLength: MaxFragment + 1}.append(nil)
	if _, err := parseHeader(big); err == nil {
		t.Fatal("a fragment longer than MaxFragment accepted")
	}
	bigEndian := append([]byte(nil), h...)
	bigEndian[4] = 0
	if _, err := parseHeader(bigEndian); err == nil {
		t.Fatal("big-endian data representation accepted")
	}
}

func TestSplitAuth(t *testing.T) {
	body := append(bytes.Repeat([]byte{1}, 16), 0x44, 6, 4, 0, 1, 0, 0, 0)
	body = append(body, bytes.Repeat([]byte{9}, 56)...)
	data, tr, err := splitAuth(body, 56)
	if err != nil || len(data) != 16 || tr.authType != 0x44 || tr.padLength != 4 || len(tr.value) != 56 {
		t.Fatalf("%v %+v %v", data, tr, err)
	}
	if _, _, err := splitAuth(body, len(body)); err == nil {
		t.Fatal("auth length beyond the body accepted")
	}
}

// An ept_map answer as Samba's endpoint mapper gives it for Netlogon.
func TestParseEptMapResponse(t *testing.T) {
	tw := tower(SyntaxID{UUID: MustParseUUID("12345678-1234-abcd-ef00-01234567cffb"), Major: 1})
	binary.BigEndian.PutUint16(tw[len(tw)-4-2-2-1-2:], 49152) // the TCP floor's port
	resp := eptMapResponse(tw)
	port, err := parseEptMapResponse(resp)
	if err != nil || port != 49152 {
		t.Fatalf("port %d, %v", port, err)
	}
	for n := 0; n < len(resp); n++ {
		if _, err := parseEptMapResponse(resp[:n]); err == nil {
			t.Fatalf("truncated to %d bytes accepted", n)
		}
	}
}

func eptMapResponse(tw []byte) []byte {
	b := make([]byte, 20)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 0x20000)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tw)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tw)))
	b = append(b, tw...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return binary.LittleEndian.AppendUint32(b, 0)
}

func FuzzParsers(f *testing.F) {
	f.Add(bindAckBody(0))
	tw := tower(NDR20)
	f.Add(eptMapResponse(tw))
	f.Add(tw)
	f.Fuzz(func(t *testing.T, b []byte) {
		parseBindAck(b)
		parseEptMapResponse(b)
		towerPort(b)
		parseHeader(b)
		splitAuth(b, len(b)/2)
		bindNakError(b)
	})
}
