package schannel

import (
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/gosspi/sspi"
)

// The benchmarks run side by side: Schannel (our client and server over SSPI calls) and
// crypto/tls over net.Pipe, with the same certificate and crypto/tls's default suites.
//
//	go test -run '^$' -bench . -benchmem ./schannel/

func BenchmarkHandshake(b *testing.B) {
	p := testPKI(b)
	for _, v := range versions {
		b.Run(v.name+"/schannel", func(b *testing.B) {
			scred := acquire(b, sspi.CredInbound, &Config{Certificates: []tls.Certificate{p.server}, MaxVersion: v.v})
			ccred := acquire(b, sspi.CredOutbound, &Config{RootCAs: p.roots, MaxVersion: v.v, DisableSessionCache: true})
			for b.Loop() {
				cli := &endpoint{cred: ccred, target: "server.test"}
				srv := &endpoint{server: true, cred: scred}
				runHandshake(b, cli, srv, whole)
				sspi.DeleteSecurityContext(cli.ctx)
				sspi.DeleteSecurityContext(srv.ctx)
			}
		})
		b.Run(v.name+"/crypto-tls", func(b *testing.B) {
			scfg := &tls.Config{Certificates: []tls.Certificate{p.server}, MaxVersion: v.v}
			ccfg := &tls.Config{RootCAs: p.roots, ServerName: "server.test", MaxVersion: v.v}
			for b.Loop() {
				x, y := net.Pipe()
				done := make(chan error, 1)
				go func() { done <- tls.Server(y, scfg).Handshake() }()
				if err := tls.Client(x, ccfg).Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				x.Close()
				y.Close()
			}
		})
	}
}

func BenchmarkThroughput(b *testing.B) {
	p := testPKI(b)
	for _, size := range []int{1024, 16384} {
		for _, v := range versions {
			name := v.name + "/" + map[int]string{1024: "1KiB", 16384: "16KiB"}[size]
			b.Run(name+"/schannel", func(b *testing.B) {
				cli, srv := pair(b, v.v, nil, nil)
				runHandshake(b, cli, srv, whole)
				openAll(b, cli, nil) // the TLS 1.3 ticket
				var sz sspi.StreamSizes
				sspi.QueryContextAttributes(cli.ctx, sspi.AttrStreamSizes, &sz)
				buf := make([]byte, sz.Header+size+sz.Trailer)
				enc := make([]sspi.Buffer, 4)
				dec := make([]sspi.Buffer, 4)
				b.SetBytes(int64(size))
				for b.Loop() {
					enc[0] = sspi.Buffer{Type: sspi.BufferStreamHeader, Data: buf[:sz.Header]}
					enc[1] = sspi.Buffer{Type: sspi.BufferData, Data: buf[sz.Header : sz.Header+size]}
					enc[2] = sspi.Buffer{Type: sspi.BufferStreamTrailer, Data: buf[sz.Header+size:]}
					enc[3] = sspi.Buffer{}
					if err := sspi.EncryptMessage(cli.ctx, 0, enc, 0); err != nil {
						b.Fatal(err)
					}
					n := len(enc[0].Data) + len(enc[1].Data) + len(enc[2].Data)
					dec[0] = sspi.Buffer{Type: sspi.BufferData, Data: buf[:n]}
					dec[1], dec[2], dec[3] = sspi.Buffer{}, sspi.Buffer{}, sspi.Buffer{}
					if _, st, err := sspi.DecryptMessage(srv.ctx, dec, 0); err != nil || st != sspi.OK || len(dec[1].Data) != size {
						b.Fatal(st, err)
					}
				}
			})
			b.Run(name+"/crypto-tls", func(b *testing.B) {
				x, y := net.Pipe()
				defer x.Close()
				defer y.Close()
				c := tls.Client(x, &tls.Config{RootCAs: p.roots, ServerName: "server.test", MaxVersion: v.v, DynamicRecordSizingDisabled: true})
				s := tls.Server(y, &tls.Config{Certificates: []tls.Certificate{p.server}, MaxVersion: v.v})
				go s.Handshake()
				if err := c.Handshake(); err != nil {
					b.Fatal(err)
				}
				msg := make([]byte, size)
				rbuf := make([]byte, size)
				errc := make(chan error, 1)
				b.SetBytes(int64(size))
				b.ResetTimer()
				go func() {
					for i := 0; i < b.N; i++ {
						if _, err := c.Write(msg); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				for i := 0; i < b.N; i++ {
					if _, err := io.ReadFull(s, rbuf); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
