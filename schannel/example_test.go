package schannel_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
)

// A client and a server over the SSPI calls, the way a Windows Schannel program uses
// them: tokens go to the peer as they are, then one message is sealed and opened.
func Example() {
	cert, roots := selfSigned("server.example")
	scred, _, err := sspi.AcquireCredentialsHandle("", "Schannel", sspi.CredInbound, nil,
		&schannel.Config{Certificates: []tls.Certificate{cert}}, nil)
	if err != nil {
		panic(err)
	}
	defer sspi.FreeCredentialsHandle(scred)
	ccred, _, err := sspi.AcquireCredentialsHandle("", "Schannel", sspi.CredOutbound, nil,
		&schannel.Config{RootCAs: roots}, nil)
	if err != nil {
		panic(err)
	}
	defer sspi.FreeCredentialsHandle(ccred)

	var cctx, sctx *sspi.Context
	var cst, sst sspi.Status = sspi.ContinueNeeded, sspi.ContinueNeeded
	var toServer, toClient []byte
	defer func() { sspi.DeleteSecurityContext(cctx); sspi.DeleteSecurityContext(sctx) }()
	for cst != sspi.OK || sst != sspi.OK {
		if cst != sspi.OK {
			in := []sspi.Buffer{{Type: sspi.BufferToken, Data: toClient}, {Type: sspi.BufferEmpty}}
			out := []sspi.Buffer{{Type: sspi.BufferToken}}
			cctx, cst, err = sspi.InitializeSecurityContext(ccred, cctx, "server.example", sspi.ISCReqAllocateMemory, 0, in, out)
			if err != nil {
				panic(err)
			}
			toServer, toClient = out[0].Data, nil
			if in[1].Type == sspi.BufferExtra { // bytes after the handshake
				toClient = in[1].Data
			}
		}
		if sst != sspi.OK && len(toServer) > 0 {
			in := []sspi.Buffer{{Type: sspi.BufferToken, Data: toServer}, {Type: sspi.BufferEmpty}}
			out := []sspi.Buffer{{Type: sspi.BufferToken}}
			sctx, sst, err = sspi.AcceptSecurityContext(scred, sctx, sspi.ASCReqAllocateMemory, 0, in, out)
			if err != nil {
				panic(err)
			}
			toClient = append(toClient, out[0].Data...)
		}
	}

	// The server seals a message into one record.
	var sz sspi.StreamSizes
	if err := sspi.QueryContextAttributes(sctx, sspi.AttrStreamSizes, &sz); err != nil {
		panic(err)
	}
	msg := "hello over Schannel"
	buf := make([]byte, sz.Header+len(msg)+sz.Trailer)
	copy(buf[sz.Header:], msg)
	enc := []sspi.Buffer{
		{Type: sspi.BufferStreamHeader, Data: buf[:sz.Header]},
		{Type: sspi.BufferData, Data: buf[sz.Header : sz.Header+len(msg)]},
		{Type: sspi.BufferStreamTrailer, Data: buf[sz.Header+len(msg):]},
		{Type: sspi.BufferEmpty},
	}
	if err := sspi.EncryptMessage(sctx, 0, enc, 0); err != nil {
		panic(err)
	}
	toClient = append(toClient, buf[:len(enc[0].Data)+len(enc[1].Data)+len(enc[2].Data)]...)

	// The client opens what it received, passing post-handshake messages (a TLS 1.3
	// session ticket) back through InitializeSecurityContext.
	for len(toClient) > 0 {
		dec := []sspi.Buffer{{Type: sspi.BufferData, Data: toClient}, {}, {}, {}}
		_, st, err := sspi.DecryptMessage(cctx, dec, 0)
		if err != nil {
			panic(err)
		}
		toClient = nil
		if dec[3].Type == sspi.BufferExtra {
			toClient = dec[3].Data
		}
		if len(dec[1].Data) > 0 {
			fmt.Printf("client got %q\n", dec[1].Data)
		}
		if st == sspi.Renegotiate {
			in := []sspi.Buffer{{Type: sspi.BufferToken, Data: toClient}, {Type: sspi.BufferEmpty}}
			out := []sspi.Buffer{{Type: sspi.BufferToken}}
			if _, _, err := sspi.InitializeSecurityContext(ccred, cctx, "server.example", sspi.ISCReqAllocateMemory, 0, in, out); err != nil {
				panic(err)
			}
			toClient = nil
			if in[1].Type == sspi.BufferExtra {
				toClient = in[1].Data
			}
		}
	}
	var ci schannel.ConnectionInfo
	if err := sspi.QueryContextAttributes(cctx, sspi.AttrConnectionInfo, &ci); err != nil {
		panic(err)
	}
	fmt.Println(tls.VersionName(ci.Version))
	// Output:
	// client got "hello over Schannel"
	// TLS 1.3
}

// selfSigned makes a certificate for name and a pool that trusts it.
func selfSigned(name string) (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
