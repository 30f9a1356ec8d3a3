package sockauth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
)

// RDP's Network Level Authentication on a connection: the X.224 Connection Request and
// Confirm that select PROTOCOL_HYBRID (or HYBRID_EX), then TLS records carrying the
// CredSSP exchange, read one record at a time. It is the "rdp" framing of the design: an
// NLA gate in front of nothing (AcceptRDP), useful to check an RDP client's credentials,
// and the client side (ConnectRDP) to check them against an RDP server. The credentials
// are a CredSSP package's ("CredSSP", github.com/gosspi/sspi/credssp).

// RDPOptions configure AcceptRDP and ConnectRDP. The zero value selects PROTOCOL_HYBRID
// and bounds the whole exchange by DefaultTimeout, as a Server bounds a handshake.
type RDPOptions struct {
	// HybridEx selects PROTOCOL_HYBRID_EX when the peer offers it: the server then sends
	// the Early User Authorization Result after CredSSP, so its CredSSP credentials need
	// credssp.Config.EarlyUserAuthResult, and the client's likewise.
	HybridEx bool
	// Req holds the ISC_REQ or ASC_REQ bits; zero means a delegating client
	// (ISC_REQ_DELEGATE, CONNECTION, STREAM, EXTENDED_ERROR) or a server with
	// CONNECTION, STREAM and EXTENDED_ERROR.
	Req sspi.ContextReq
	// Cookie is what a client puts in its Connection Request ("Cookie: mstshash=user");
	// empty sends none.
	Cookie string
	// Timeout bounds the whole exchange; zero means DefaultTimeout.
	Timeout time.Duration
}

const (
	defaultRDPServerReq = sspi.ASCReqConnection | sspi.ASCReqStream | sspi.ASCReqExtendedError
	defaultRDPClientReq = sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqStream | sspi.ISCReqExtendedError |
		sspi.ISCReqManualCredValidation | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect | sspi.ISCReqConfidentiality
	// maxTLSRecord is a TLS record's header and the largest ciphertext (RFC 8446 5.2).
	tlsHeaderLen = 5
	maxTLSRecord = tlsHeaderLen + 16384 + 2048
)

func (o *RDPOptions) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// AcceptRDP runs an RDP server's Network Level Authentication on nc: it answers the
// client's X.224 Connection Request, selecting PROTOCOL_HYBRID (or HYBRID_EX), then runs
// AcceptSecurityContext on the TLS records until CredSSP is established. It returns the
// established context (its Identity, and credssp.DelegatedCredentials on its Handle) and
// the protocol selected. A client that offers neither protocol gets an RDP_NEG_FAILURE
// and an error carrying SEC_E_UNSUPPORTED_FUNCTION.
func AcceptRDP(nc net.Conn, cred *sspi.Credentials, opts RDPOptions) (*sspi.ServerContext, uint32, error) {
	nc.SetDeadline(time.Now().Add(opts.timeout()))
	defer nc.SetDeadline(time.Time{})
	br := bufio.NewReaderSize(nc, readBufSize)
	proto, err := acceptRDPPrelude(br, nc, opts.HybridEx)
	if err != nil {
		return nil, 0, err
	}
	req := opts.Req
	if req == 0 {
		req = defaultRDPServerReq
	}
	sc := sspi.NewServerContext(cred, sspi.ServerOptions{Req: req})
	for !sc.Established() {
		rec, err := readTLSRecord(br)
		if err != nil {
			return nil, proto, err
		}
		out, err := sc.Step(rec)
		if len(out) > 0 {
			if _, werr := nc.Write(out); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return nil, proto, err
		}
	}
	return sc, proto, nil
}

func acceptRDPPrelude(r io.Reader, w io.Writer, hybridEx bool) (uint32, error) {
	pdu, err := rdp.ReadTPKT(r, rdp.MaxConnectionPDU)
	if err != nil {
		return 0, err
	}
	cr, err := rdp.ParseConnectionRequest(pdu)
	if err != nil {
		return 0, err
	}
	var proto uint32
	switch {
	case hybridEx && cr.RequestedProtocols&rdp.ProtocolHybridEx != 0:
		proto = rdp.ProtocolHybridEx
	case cr.RequestedProtocols&rdp.ProtocolHybrid != 0:
		proto = rdp.ProtocolHybrid
	default:
		w.Write((&rdp.ConnectionConfirm{Failure: true, Protocol: rdp.HybridRequiredByServer}).Marshal())
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "sockauth: the RDP client offers protocols %#x, not PROTOCOL_HYBRID: it does not do Network Level Authentication", cr.RequestedProtocols)
	}
	_, err = w.Write((&rdp.ConnectionConfirm{Flags: rdp.ExtendedClientDataSupported, Protocol: proto}).Marshal())
	return proto, err
}

// ConnectRDP runs an RDP client's Network Level Authentication on nc: an X.224
// Connection Request offering PROTOCOL_HYBRID (and HYBRID_EX with opts.HybridEx), then
// InitializeSecurityContext on the TLS records until CredSSP is established. target is
// the server's SPN, TERMSRV/host.
func ConnectRDP(nc net.Conn, cred *sspi.Credentials, target string, opts RDPOptions) (*sspi.ClientContext, uint32, error) {
	nc.SetDeadline(time.Now().Add(opts.timeout()))
	defer nc.SetDeadline(time.Time{})
	br := bufio.NewReaderSize(nc, readBufSize)
	proto, err := connectRDPPrelude(br, nc, opts.Cookie, opts.HybridEx)
	if err != nil {
		return nil, 0, err
	}
	req := opts.Req
	if req == 0 {
		req = defaultRDPClientReq
	}
	c := sspi.NewClientContext(cred, sspi.ClientOptions{Target: target, Req: req})
	var in []byte
	for {
		out, err := c.Step(in)
		if len(out) > 0 {
			if _, werr := nc.Write(out); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return nil, proto, err
		}
		if c.Established() {
			return c, proto, nil
		}
		if in, err = readTLSRecord(br); err != nil {
			if errors.Is(err, io.EOF) {
				err = errRDPClosed
			}
			return nil, proto, err
		}
	}
}

// errRDPClosed: an RDP server that refuses a logon closes the connection without a
// CredSSP errorCode (FreeRDP does).
var errRDPClosed = sspi.Errorf(sspi.ErrLogonDenied, "sockauth: the RDP server closed the connection during CredSSP without saying why (FreeRDP does so when the logon fails; its log says why)")

// connectRDPPrelude sends the X.224 Connection Request offering PROTOCOL_HYBRID (and
// HYBRID_EX with hybridEx) and reads the Confirm: the protocol the server selected, or
// SEC_E_UNSUPPORTED_FUNCTION when it does not do Network Level Authentication.
func connectRDPPrelude(r io.Reader, w io.Writer, cookie string, hybridEx bool) (uint32, error) {
	protos := rdp.ProtocolSSL | rdp.ProtocolHybrid
	if hybridEx {
		protos |= rdp.ProtocolHybridEx
	}
	cr := &rdp.ConnectionRequest{Cookie: cookie, NegReq: true, RequestedProtocols: protos}
	if _, err := w.Write(cr.Marshal()); err != nil {
		return 0, err
	}
	pdu, err := rdp.ReadTPKT(r, rdp.MaxConnectionPDU)
	if err != nil {
		return 0, err
	}
	cc, err := rdp.ParseConnectionConfirm(pdu)
	if err != nil {
		return 0, err
	}
	if cc.Failure || cc.NoNegotiation || cc.Protocol&(rdp.ProtocolHybrid|rdp.ProtocolHybridEx) == 0 {
		why := "selected protocol " + fmt.Sprint(cc.Protocol)
		if cc.Failure {
			why = rdp.FailureText(cc.Protocol)
		}
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "sockauth: the RDP server does not do Network Level Authentication (%s)", why)
	}
	return cc.Protocol, nil
}

// readTLSRecord reads one whole TLS record (RFC 8446 5.1), bounded by the largest a
// peer may send.
func readTLSRecord(r io.Reader) ([]byte, error) {
	var hdr [tlsHeaderLen]byte
	if err := readHeader(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] < 20 || hdr[0] > 24 || hdr[1] != 3 {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a TLS record, got bytes %x", hdr[:3])
	}
	n := int(binary.BigEndian.Uint16(hdr[3:]))
	if tlsHeaderLen+n > maxTLSRecord {
		return nil, errTooLarge("TLS record", uint64(n), maxTLSRecord-tlsHeaderLen)
	}
	body, err := readBody(r, n)
	if err != nil {
		return nil, err
	}
	return append(hdr[:], body...), nil
}
