package schannel

import (
	"crypto/tls"
	"testing"

	"github.com/gosspi/sspi"
)

// FuzzSplitRecord: the record reader never panics, and a complete record's length is
// what its header says.
func FuzzSplitRecord(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 2, 1, 0})
	f.Add([]byte{23, 3, 3, 0x40, 0x01})
	f.Add([]byte{21})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := splitRecord(b)
		if err != nil {
			return
		}
		if rs.length > 0 && (rs.length > len(b) || rs.length != recordHeaderLen+(int(b[3])<<8|int(b[4]))) {
			t.Fatalf("length %d for % x", rs.length, b[:5])
		}
		if rs.length == 0 && rs.missing < 0 {
			t.Fatal("negative missing count")
		}
	})
}

// FuzzApplicationProtocols: the SEC_APPLICATION_PROTOCOLS reader never panics and reads
// back what ApplicationProtocols wrote.
func FuzzApplicationProtocols(f *testing.F) {
	seed, _ := ApplicationProtocols("h2", "http/1.1")
	f.Add(seed)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		protos, err := parseApplicationProtocols(b)
		if err != nil {
			return
		}
		for _, p := range protos {
			if len(p) == 0 || len(p) > 255 {
				t.Fatalf("protocol of %d bytes", len(p))
			}
		}
	})
}

// FuzzHandshakeInput: any bytes given to a server's AcceptSecurityContext, and to an
// established context's DecryptMessage, give a status and never a panic.
func FuzzHandshakeInput(f *testing.F) {
	cli, _ := pair(f, 0, nil, nil)
	hello, _ := cli.step()
	f.Add(hello, []byte{23, 3, 3, 0, 17})
	f.Add([]byte{22, 3, 1, 0, 0}, []byte{21, 3, 3, 0, 2, 1, 0})
	p := testPKI(f)
	scred := acquire(f, sspi.CredInbound, &Config{Certificates: []tls.Certificate{p.server}})
	ccred := acquire(f, sspi.CredOutbound, &Config{RootCAs: p.roots})
	f.Fuzz(func(t *testing.T, hs, rec []byte) {
		srv := &endpoint{server: true, cred: scred, buf: hs}
		srv.step()
		sspi.DeleteSecurityContext(srv.ctx)

		c := &endpoint{cred: ccred, target: "server.test"}
		s := &endpoint{server: true, cred: scred}
		runHandshake(t, c, s, whole)
		for _, buf := range [][]sspi.Buffer{
			{{Type: sspi.BufferData, Data: rec}, {}, {}, {}},
			{{Type: sspi.BufferData, Data: rec}},
			{{Type: sspi.BufferEmpty}, {Type: sspi.BufferData, Data: append([]byte(nil), rec...)}, {}, {}},
		} {
			sspi.DecryptMessage(s.ctx, buf, 0)
		}
		sspi.DeleteSecurityContext(c.ctx)
		sspi.DeleteSecurityContext(s.ctx)
	})
}
