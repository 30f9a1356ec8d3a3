package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"fmt"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// zeroReader makes the server's challenge fixed, so one recorded AUTHENTICATE is valid for
// every server context and a benchmark can time the server alone.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

var benchTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func fixedServer(b *testing.B) *sspi.Credentials {
	return serverCreds(b, ServerConfig{Rand: zeroReader{}, Time: func() time.Time { return benchTime }})
}

// recorded returns NEGOTIATE, CHALLENGE and AUTHENTICATE from one real exchange against
// the fixed-challenge server.
func recorded(b *testing.B, scred *sspi.Credentials) (neg, chal, auth []byte) {
	ccred := clientCredsFor(b, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	x, err := run(b, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return x.negotiate, x.challenge, x.authMsg
}

// BenchmarkServerHandshake is a full NTLMv2 acceptance: NEGOTIATE in, CHALLENGE out,
// AUTHENTICATE verified (account look-up, NTProofStr, MIC, keys), as a server does per
// connection.
func BenchmarkServerHandshake(b *testing.B) {
	scred := fixedServer(b)
	neg, _, auth := recorded(b, scred)
	in := []sspi.Buffer{{Type: sspi.BufferToken}}
	out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	b.ReportAllocs()
	for b.Loop() {
		in[0].Data = neg
		out[0].Data = out[0].Data[:MaxToken]
		ctx, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
		if err != nil {
			b.Fatal(err)
		}
		in[0].Data = auth
		out[0].Data = out[0].Data[:MaxToken]
		if _, st, err := sspi.AcceptSecurityContext(scred, ctx, sspi.DefaultServerReq, sspi.NativeDataRep, in, out); err != nil || st != sspi.OK {
			b.Fatal(st, err)
		}
		sspi.DeleteSecurityContext(ctx)
	}
}

// BenchmarkServerCryptoFloor is the work an NTLMv2 server check cannot avoid, timed with
// the standard library: NTOWFv2 (one HMAC-MD5), NTProofStr (HMAC-MD5 over the blob), the
// session base key, the RC4 key exchange and the MIC over the three messages.
func BenchmarkServerCryptoFloor(b *testing.B) {
	scred := fixedServer(b)
	neg, chal, auth := recorded(b, scred)
	ntHash := ntlmssp.NTOWFv1("Passw0rd!")
	blob := auth[len(auth)-200:] // about the size of a real NTLMv2 blob
	var sum [16]byte
	b.ReportAllocs()
	for b.Loop() {
		h := hmac.New(md5.New, ntHash[:])
		h.Write([]byte("ALICEEXAMPLE")) // UTF-16 in reality: twice the bytes, same block count
		k := h.Sum(sum[:0])
		h = hmac.New(md5.New, k)
		h.Write(blob)
		proof := h.Sum(nil)
		h = hmac.New(md5.New, k)
		h.Write(proof)
		base := h.Sum(nil)
		c, _ := rc4.NewCipher(base)
		var key [16]byte
		c.XORKeyStream(key[:], key[:])
		h = hmac.New(md5.New, key[:])
		h.Write(neg)
		h.Write(chal)
		h.Write(auth)
		h.Sum(sum[:0])
	}
}

// BenchmarkClientHandshake is the client's two legs against a recorded CHALLENGE.
func BenchmarkClientHandshake(b *testing.B) {
	scred := fixedServer(b)
	_, chal, _ := recorded(b, scred)
	ccred := clientCredsFor(b, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	in := []sspi.Buffer{{Type: sspi.BufferToken, Data: chal}}
	b.ReportAllocs()
	for b.Loop() {
		out[0].Data = out[0].Data[:MaxToken]
		ctx, _, err := sspi.InitializeSecurityContext(ccred, nil, "host/server", sspi.DefaultClientReq, sspi.NativeDataRep, nil, out)
		if err != nil {
			b.Fatal(err)
		}
		out[0].Data = out[0].Data[:MaxToken]
		if _, st, err := sspi.InitializeSecurityContext(ccred, ctx, "host/server", sspi.DefaultClientReq, sspi.NativeDataRep, in, out); err != nil || st != sspi.OK {
			b.Fatal(st, err)
		}
		sspi.DeleteSecurityContext(ctx)
	}
}

func establishedPair(b *testing.B) (*sspi.Context, *sspi.Context) {
	scred := serverCreds(b, ServerConfig{})
	ccred := clientCredsFor(b, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	x, err := run(b, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return x.client.Handle(), x.server.Handle()
}

// BenchmarkSealUnseal is EncryptMessage at the client and DecryptMessage at the server,
// in place, through the SSPI-shaped API.
func BenchmarkSealUnseal(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			c, s := establishedPair(b)
			data := make([]byte, size)
			sig := make([]byte, 16)
			bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: sig}, {Type: sspi.BufferData, Data: data}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				bufs[0].Data = sig
				if err := sspi.EncryptMessage(c, 0, bufs, 0); err != nil {
					b.Fatal(err)
				}
				if _, _, err := sspi.DecryptMessage(s, bufs, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealFloor is the RC4 and HMAC-MD5 work seal+unseal cannot avoid: RC4 over the
// data twice and HMAC-MD5 over it twice, plus the RC4 of two checksums.
func BenchmarkSealFloor(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			key := bytes.Repeat([]byte{7}, 16)
			enc, _ := rc4.NewCipher(key)
			dec, _ := rc4.NewCipher(key)
			mac := hmac.New(md5.New, key)
			data := make([]byte, size)
			var sum [16]byte
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for range 2 {
					mac.Reset()
					mac.Write(sum[:4])
					mac.Write(data)
					mac.Sum(sum[:0])
				}
				enc.XORKeyStream(data, data)
				enc.XORKeyStream(sum[:8], sum[:8])
				dec.XORKeyStream(data, data)
				dec.XORKeyStream(sum[:8], sum[:8])
			}
		})
	}
}

// BenchmarkSignVerify is MakeSignature and VerifySignature through the SSPI-shaped API.
func BenchmarkSignVerify(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			c, s := establishedPair(b)
			data := make([]byte, size)
			sig := make([]byte, 16)
			bufs := []sspi.Buffer{{Type: sspi.BufferData, Data: data}, {Type: sspi.BufferToken, Data: sig}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				bufs[1].Data = sig
				if err := sspi.MakeSignature(c, 0, bufs, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := sspi.VerifySignature(s, bufs, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
