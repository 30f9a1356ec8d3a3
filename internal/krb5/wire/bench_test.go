package wire

import (
	"testing"

	gkmessages "github.com/jcmturner/gokrb5/v8/messages"
)

// TestAPReqDecodeAllocs pins the allocation count of decoding an AP-REQ (issue 12: at most
// ~10): the ticket's realm, and its server name's components and their slice.
func TestAPReqDecodeAllocs(t *testing.T) {
	b := readRecording(t, "mit-ap-req.der")
	var r APReq
	n := testing.AllocsPerRun(100, func() {
		if err := r.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
	})
	if n > 3 {
		t.Fatalf("%v allocations per AP-REQ decode, want at most 3", n)
	}
	buf := make([]byte, 0, 4096)
	n = testing.AllocsPerRun(100, func() {
		if _, err := r.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per AP-REQ encode into a buffer, want 0", n)
	}
}

func BenchmarkAPReqDecode(b *testing.B) {
	in := readRecording(b, "mit-ap-req.der")
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var r APReq
			if err := r.Unmarshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gokrb5", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			var r gkmessages.APReq
			if err := r.Unmarshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAPReqEncode(b *testing.B) {
	in := readRecording(b, "mit-ap-req.der")
	var ours APReq
	if err := ours.Unmarshal(in); err != nil {
		b.Fatal(err)
	}
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := ours.Marshal(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wire-append", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			if _, err := ours.Append(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	var theirs gkmessages.APReq
	if err := theirs.Unmarshal(in); err != nil {
		b.Fatal(err)
	}
	b.Run("gokrb5", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := theirs.Marshal(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTGSRepDecode(b *testing.B) {
	in := readRecording(b, "mit-tgs-rep.der")
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r KDCRep
			if err := r.Unmarshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gokrb5", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r gkmessages.TGSRep
			if err := r.Unmarshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAuthenticatorDecode(b *testing.B) {
	in := readRecording(b, "mit-authenticator.der")
	b.ReportAllocs()
	for b.Loop() {
		var a Authenticator
		if err := a.Unmarshal(in); err != nil {
			b.Fatal(err)
		}
	}
}
