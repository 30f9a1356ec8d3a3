package credssp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/rdp"
)

var (
	certOnce sync.Once
	testCert tls.Certificate
)

// serverCert is a self-signed RSA-2048 certificate, as an RDP server's usually is, made
// once per test binary.
func serverCert(t testing.TB) tls.Certificate {
	t.Helper()
	certOnce.Do(func() { testCert = makeCert("rdp.example.com") })
	return testCert
}

func makeCert(cn string) tls.Certificate {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{cn, "localhost"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// rdpServerPrelude answers an X.224 Connection Request with PROTOCOL_HYBRID_EX when the
// client offers it and ex is set, PROTOCOL_HYBRID otherwise.
func rdpServerPrelude(conn net.Conn, ex bool) (uint32, error) {
	pdu, err := rdp.ReadTPKT(conn, rdp.MaxConnectionPDU)
	if err != nil {
		return 0, err
	}
	cr, err := rdp.ParseConnectionRequest(pdu)
	if err != nil {
		return 0, err
	}
	proto := rdp.ProtocolHybrid
	if ex && cr.RequestedProtocols&rdp.ProtocolHybridEx != 0 {
		proto = rdp.ProtocolHybridEx
	}
	cc := &rdp.ConnectionConfirm{Flags: rdp.ExtendedClientDataSupported, Protocol: proto}
	if cr.RequestedProtocols&proto == 0 {
		cc = &rdp.ConnectionConfirm{Failure: true, Protocol: rdp.HybridRequiredByServer}
	}
	_, err = conn.Write(cc.Marshal())
	return proto, err
}

// rdpClientPrelude asks for the given protocols and returns the one selected.
func rdpClientPrelude(conn net.Conn, user string, protos uint32) (uint32, error) {
	cr := &rdp.ConnectionRequest{Cookie: "Cookie: mstshash=" + user, NegReq: true, RequestedProtocols: protos}
	if _, err := conn.Write(cr.Marshal()); err != nil {
		return 0, err
	}
	pdu, err := rdp.ReadTPKT(conn, rdp.MaxConnectionPDU)
	if err != nil {
		return 0, err
	}
	cc, err := rdp.ParseConnectionConfirm(pdu)
	if err != nil {
		return 0, err
	}
	if cc.Failure {
		return 0, &net.OpError{Op: "rdp", Err: errString(rdp.FailureText(cc.Protocol))}
	}
	return cc.Protocol, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// serveMessageLayer runs our server's exchange over a TLS connection the test set up
// itself: the TSRequests as RDP sends them, DER back to back. It returns the server's
// handshake and its error.
func serveMessageLayer(conn *tls.Conn, h *serverHandshake, rec *[][]byte) error {
	for {
		msg, err := rdp.ReadDERMessage(conn, maxTSRequest)
		if err != nil {
			return err
		}
		if rec != nil {
			*rec = append(*rec, msg)
		}
		out, _, err := h.step(msg)
		if err != nil {
			if h.errToken != nil {
				conn.Write(h.errToken)
			}
			return err
		}
		if len(out) > 0 {
			if _, err := conn.Write(out); err != nil {
				return err
			}
		}
		if h.state == serverDone {
			return nil
		}
	}
}

// connectMessageLayer runs our client's exchange over a TLS connection.
func connectMessageLayer(conn *tls.Conn, h *clientHandshake, rec *[][]byte) error {
	var in []byte
	for {
		out, st, err := h.step(in)
		if err != nil {
			if h.errToken != nil {
				conn.Write(h.errToken)
			}
			return err
		}
		if len(out) > 0 {
			if _, err := conn.Write(out); err != nil {
				return err
			}
		}
		if st == 0 && h.state == clientDone {
			return nil
		}
		if h.state == clientEarlyAuth {
			v, err := rdp.ReadEarlyUserAuthResult(conn)
			if err != nil {
				return err
			}
			in = rdp.AppendEarlyUserAuthResult(nil, v)
			continue
		}
		if in, err = rdp.ReadDERMessage(conn, maxTSRequest); err != nil {
			return err
		}
		if rec != nil {
			*rec = append(*rec, in)
		}
	}
}
