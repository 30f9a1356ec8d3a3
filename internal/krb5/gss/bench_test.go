package gss

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"testing"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	gokrb5 "github.com/jcmturner/gokrb5/v8/crypto"
)

// Message protection against the "Go crypto floor": the same AES-CBC and HMAC work done
// with the standard library alone, with key schedule and HMAC keys prepared once and no
// token framing, and against gokrb5's per-call path (what package kerberos uses today).
//
//	go test -run=X -bench=. -benchmem ./internal/krb5/gss/

var benchETypes = []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128}

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1024}, {"16KiB", 16384}}

func benchKey(b *testing.B, e krbcrypto.EType) (*krbcrypto.Key, []byte) {
	kb := make([]byte, e.KeySize())
	rand.Read(kb)
	k, err := krbcrypto.NewKey(e, kb)
	if err != nil {
		b.Fatal(err)
	}
	return k, kb
}

func BenchmarkWrapUnwrap(b *testing.B) {
	for _, e := range benchETypes {
		for _, sz := range benchSizes {
			prefix := e.String() + "/" + sz.name
			b.Run(prefix+"/gosspi-sspi", func(b *testing.B) {
				k, _ := benchKey(b, e)
				ini, acc := pair(b, k, true)
				data := make([]byte, sz.n)
				tok := make([]byte, 128)
				var conf [16]byte
				var bufs [1][]byte
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					rand.Read(conf[:])
					bufs[0] = data
					n, err := ini.WrapSSPI(tok, bufs[:], uint64(i), true, false, conf[:])
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := acc.UnwrapSSPI(tok[:n], bufs[:]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(prefix+"/gosspi-whole", func(b *testing.B) {
				k, _ := benchKey(b, e)
				ini, acc := pair(b, k, true)
				data := make([]byte, sz.n)
				buf := make([]byte, 0, sz.n+128)
				var conf [16]byte
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					rand.Read(conf[:])
					tok, err := ini.AppendWrap(buf[:0], uint64(i), data, true, conf[:])
					if err != nil {
						b.Fatal(err)
					}
					if _, _, _, err := acc.UnwrapInPlace(tok); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(prefix+"/floor", func(b *testing.B) {
				fl := newFloor(b, e)
				// confounder | data | header copy, as many whole blocks as CTS touches
				buf := make([]byte, 16+sz.n+16+15&^15)
				mac := make([]byte, 0, 64)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					rand.Read(buf[:16])
					mac = fl.seal(buf, mac)
					if !fl.open(buf, mac) {
						b.Fatal("floor MAC")
					}
				}
			})
			b.Run(prefix+"/gokrb5", func(b *testing.B) {
				_, kb := benchKey(b, e)
				et, _ := gokrb5.GetEtype(int32(e))
				msg := make([]byte, sz.n+16)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					_, ct, err := et.EncryptMessage(kb, msg, UsageInitiatorSeal)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := et.DecryptMessage(kb, ct, UsageInitiatorSeal); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkMICVerify(b *testing.B) {
	for _, e := range benchETypes {
		for _, sz := range benchSizes {
			prefix := e.String() + "/" + sz.name
			b.Run(prefix+"/gosspi", func(b *testing.B) {
				k, _ := benchKey(b, e)
				ini, acc := pair(b, k, true)
				data := make([]byte, sz.n)
				tok := make([]byte, 0, 64)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					tok = ini.AppendMIC(tok[:0], uint64(i), data)
					if _, err := acc.VerifyMIC(tok, data); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(prefix+"/floor", func(b *testing.B) {
				fl := newFloor(b, e)
				data := make([]byte, sz.n)
				var hdr [16]byte
				mac := make([]byte, 0, 64)
				want := make([]byte, 0, 64)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					fl.kc.Reset()
					fl.kc.Write(data)
					fl.kc.Write(hdr[:])
					mac = fl.kc.Sum(mac[:0])
					fl.kc.Reset()
					fl.kc.Write(data)
					fl.kc.Write(hdr[:])
					want = fl.kc.Sum(want[:0])
					if subtle.ConstantTimeCompare(mac[:fl.macLen], want[:fl.macLen]) != 1 {
						b.Fatal("floor MIC")
					}
				}
			})
			b.Run(prefix+"/gokrb5", func(b *testing.B) {
				_, kb := benchKey(b, e)
				et, _ := gokrb5.GetEtype(int32(e))
				msg := make([]byte, sz.n+16)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					ck, err := et.GetChecksumHash(kb, msg, UsageInitiatorSign)
					if err != nil {
						b.Fatal(err)
					}
					if !et.VerifyChecksum(kb, msg, ck, UsageInitiatorSign) {
						b.Fatal("gokrb5 MIC")
					}
				}
			})
		}
	}
}

// floor is the stdlib-only work of one Wrap: CBC over whole blocks (CTS's extra block
// swap is free) and the profile's HMAC, everything keyed once.
type floor struct {
	enc, dec cipher.BlockMode
	ki, kc   hash.Hash
	macLen   int
	sha2     bool
	iv       [16]byte
	sum      []byte
}

func newFloor(b *testing.B, e krbcrypto.EType) *floor {
	key := make([]byte, e.KeySize())
	rand.Read(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	f := &floor{macLen: e.MACSize(), sha2: e == krbcrypto.AES128CTSHMACSHA256128, sum: make([]byte, 0, 64)}
	f.enc = cipher.NewCBCEncrypter(blk, f.iv[:])
	f.dec = cipher.NewCBCDecrypter(blk, f.iv[:])
	h := sha1.New
	if f.sha2 {
		h = sha256.New
	}
	f.ki, f.kc = hmac.New(h, key), hmac.New(h, key)
	return f
}

type ivSetter interface{ SetIV([]byte) }

func (f *floor) seal(buf, mac []byte) []byte {
	f.enc.(ivSetter).SetIV(f.iv[:])
	f.ki.Reset()
	if !f.sha2 {
		f.ki.Write(buf)
	}
	f.enc.CryptBlocks(buf, buf)
	if f.sha2 {
		f.ki.Write(f.iv[:])
		f.ki.Write(buf)
	}
	return f.ki.Sum(mac[:0])
}

func (f *floor) open(buf, mac []byte) bool {
	f.dec.(ivSetter).SetIV(f.iv[:])
	f.ki.Reset()
	if f.sha2 {
		f.ki.Write(f.iv[:])
		f.ki.Write(buf)
	}
	f.dec.CryptBlocks(buf, buf)
	if !f.sha2 {
		f.ki.Write(buf)
	}
	return subtle.ConstantTimeCompare(f.ki.Sum(f.sum[:0])[:f.macLen], mac[:f.macLen]) == 1
}
