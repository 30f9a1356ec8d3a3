package sspi

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The 4.3 vector of shared/spec/channel-bindings.md: tls-server-end-point of
// sspi-rs's pw11.cer as a SEC_CHANNEL_BINDINGS blob, verbatim.
const pw11BlobHex = "0000000000000000000000000000000000000000000000003500000020000000" +
	"746c732d7365727665722d656e642d706f696e743ace902bd566e4e1db4d6fb3b76cbdf4740c029c444e82ecb61a4b2d3ba6021b2b"

// TestChannelBindingsVectors checks Hash and the SEC_CHANNEL_BINDINGS round trip
// against the worked examples of channel-bindings.md section 4.
func TestChannelBindingsVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cb   ChannelBindings
		want string
	}{
		{"Microsoft EPA example (4.1)", ChannelBindings{ApplicationData: unhexT(t,
			"746c732d7365727665722d656e642d706f696e743aea05fefecc6b0bd571dbbc5baa3ed45386d0446835f7b74c85621b9983475f95")},
			"6586e99d81c2fc984e47172fd4dd0310"},
		{"addresses (4.2)", ChannelBindings{
			InitiatorAddrType: 2, InitiatorAddress: []byte{1, 2, 3, 4},
			AcceptorAddrType: 0, AcceptorAddress: []byte{5, 6, 7, 8},
			ApplicationData: []byte("caf\xc3\xa9"),
		}, "2640d8ebdc6ad357b5206fd6d639b25f"},
		{"pw11.cer (4.3)", ChannelBindings{ApplicationData: unhexT(t, pw11BlobHex)[32:]}, "abef37fed4b460a492f884e3cbeb4523"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.cb.Hash()
			if got := hex.EncodeToString(h[:]); got != tc.want {
				t.Errorf("Hash = %s, want %s", got, tc.want)
			}
			cb, err := ParseChannelBindings(tc.cb.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if h := cb.Hash(); hex.EncodeToString(h[:]) != tc.want {
				t.Errorf("Hash after Marshal and Parse = %x, want %s", h, tc.want)
			}
		})
	}
	blob := unhexT(t, pw11BlobHex)
	cb, err := ParseChannelBindings(blob)
	if err != nil {
		t.Fatal(err)
	}
	if h := cb.Hash(); hex.EncodeToString(h[:]) != "abef37fed4b460a492f884e3cbeb4523" {
		t.Errorf("hash of the 4.3 blob = %x", h)
	}
	if !bytes.Equal(cb.Marshal(), blob) {
		t.Errorf("the 4.3 blob marshals back as %x", cb.Marshal())
	}
	// "No bindings" is 16 zero bytes on the wire; the hash of an empty struct is not.
	if h := (&ChannelBindings{}).Hash(); hex.EncodeToString(h[:]) != "441018525208457705bf09a8ee3c1093" {
		t.Errorf("hash of the empty struct = %x", h)
	}
}

func TestParseChannelBindingsMalformed(t *testing.T) {
	blob := unhexT(t, pw11BlobHex)
	bad := map[string][]byte{"empty": nil}
	for n := 1; n < len(blob); n++ {
		bad["truncated to "+itoa(n)] = blob[:n]
	}
	for _, field := range []int{2, 5, 7} { // the offset fields
		b := bytes.Clone(blob)
		binary.LittleEndian.PutUint32(b[4*field-4:], 1)
		binary.LittleEndian.PutUint32(b[4*field:], 0xffffffff) // off+len overflows 32 bits
		bad["offset field "+itoa(field)] = b
	}
	b := bytes.Clone(blob)
	binary.LittleEndian.PutUint32(b[24:], 0xffffffff)
	bad["huge application data length"] = b
	for name, b := range bad {
		cb, err := ParseChannelBindings(b)
		if err == nil || !errors.Is(err, ErrInvalidParameter) || cb != nil {
			t.Errorf("%s: got %v, %v; want SEC_E_INVALID_PARAMETER", name, cb, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "SEC_E_INVALID_PARAMETER: sspi: ") {
			t.Errorf("%s: error text %q", name, err)
		}
	}
	// Parts the header does not point at are ignored; parts may point into each other.
	ok := append(bytes.Clone(blob), "trailing"...)
	if cb, err := ParseChannelBindings(ok); err != nil || len(cb.ApplicationData) != 53 {
		t.Errorf("trailing bytes: %v %v", cb, err)
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func FuzzParseChannelBindings(f *testing.F) {
	f.Add(unhexT(f, pw11BlobHex))
	f.Add((&ChannelBindings{InitiatorAddrType: 2, InitiatorAddress: []byte{1, 2, 3, 4}, AcceptorAddress: []byte{5, 6, 7, 8}, ApplicationData: []byte("x")}).Marshal())
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		cb, err := ParseChannelBindings(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameter) || cb != nil {
				t.Fatalf("error %v with status %v, result %v", err, StatusOf(err), cb)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error text of %d bytes", len(err.Error()))
			}
			return
		}
		cb2, err := ParseChannelBindings(cb.Marshal())
		if err != nil || cb2.Hash() != cb.Hash() || cb2.InitiatorAddrType != cb.InitiatorAddrType ||
			cb2.AcceptorAddrType != cb.AcceptorAddrType || !bytes.Equal(cb2.ApplicationData, cb.ApplicationData) ||
			!bytes.Equal(cb2.InitiatorAddress, cb.InitiatorAddress) || !bytes.Equal(cb2.AcceptorAddress, cb.AcceptorAddress) {
			t.Fatalf("round trip: %+v -> %+v, %v", cb, cb2, err)
		}
	})
}

// TestTLSServerEndPointHash: RFC 5929 4.1's choice of hash for each signature
// algorithm, computed here independently over the certificate's DER.
func TestTLSServerEndPointHash(t *testing.T) {
	raw := []byte("stands in for a certificate's DER encoding")
	s256, s384, s512 := sha256.Sum256(raw), sha512.Sum384(raw), sha512.Sum512(raw)
	for _, tc := range []struct {
		alg  x509.SignatureAlgorithm
		want []byte
	}{
		{x509.MD5WithRSA, s256[:]}, {x509.SHA1WithRSA, s256[:]}, {x509.ECDSAWithSHA1, s256[:]}, {x509.DSAWithSHA1, s256[:]},
		{x509.SHA256WithRSA, s256[:]}, {x509.ECDSAWithSHA256, s256[:]}, {x509.SHA256WithRSAPSS, s256[:]},
		{x509.SHA384WithRSA, s384[:]}, {x509.ECDSAWithSHA384, s384[:]}, {x509.SHA384WithRSAPSS, s384[:]},
		{x509.SHA512WithRSA, s512[:]}, {x509.ECDSAWithSHA512, s512[:]}, {x509.SHA512WithRSAPSS, s512[:]},
		{x509.PureEd25519, s256[:]},
		{x509.UnknownSignatureAlgorithm, nil}, {x509.MD2WithRSA, nil},
	} {
		cb, err := TLSServerEndPoint(&x509.Certificate{Raw: raw, SignatureAlgorithm: tc.alg})
		if tc.want == nil {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("%v: got %v, %v; want SEC_E_INVALID_PARAMETER", tc.alg, cb, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.alg, err)
			continue
		}
		if want := append([]byte("tls-server-end-point:"), tc.want...); !bytes.Equal(cb.ApplicationData, want) ||
			cb.InitiatorAddrType != 0 || cb.AcceptorAddrType != 0 || cb.InitiatorAddress != nil || cb.AcceptorAddress != nil {
			t.Errorf("%v: got %+v, want application data %x", tc.alg, cb, want)
		}
	}
	for _, c := range []*x509.Certificate{nil, {SignatureAlgorithm: x509.SHA256WithRSA}} {
		if _, err := TLSServerEndPoint(c); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("no certificate: %v", err)
		}
	}
}

// selfSigned makes a certificate for key, signed with alg (0: Go's default for the key).
func selfSigned(t testing.TB, key any, pub any, alg x509.SignatureAlgorithm) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "server.test"}, DNSNames: []string{"server.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true, SignatureAlgorithm: alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestTLSServerEndPointFromState: over real TLS handshakes, the client's view of
// the connection gives the bindings the server computes from its own certificate,
// with the hash the certificate's signature calls for.
func TestTLSServerEndPointFromState(t *testing.T) {
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name    string
		cert    tls.Certificate
		hashLen int
	}{
		{"ECDSA P-256 SHA-256", selfSigned(t, ec256, &ec256.PublicKey, 0), 32},
		{"ECDSA P-384 SHA-384", selfSigned(t, ec384, &ec384.PublicKey, 0), 48},
		{"RSA SHA-512", selfSigned(t, rsaKey, &rsaKey.PublicKey, x509.SHA512WithRSA), 64},
		{"RSA-PSS SHA-384", selfSigned(t, rsaKey, &rsaKey.PublicKey, x509.SHA384WithRSAPSS), 48},
		{"Ed25519", selfSigned(t, edKey, edPub, 0), 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := net.Pipe()
			defer c.Close()
			defer s.Close()
			pool := x509.NewCertPool()
			pool.AddCert(tc.cert.Leaf)
			client := tls.Client(c, &tls.Config{ServerName: "server.test", RootCAs: pool})
			server := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{tc.cert}})
			if _, err := TLSServerEndPointFromState(client.ConnectionState()); !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("before the handshake: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- server.Handshake() }()
			if err := client.Handshake(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got, err := TLSServerEndPointFromState(client.ConnectionState())
			if err != nil {
				t.Fatal(err)
			}
			want, err := TLSServerEndPoint(tc.cert.Leaf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Marshal(), want.Marshal()) || len(got.ApplicationData) != 21+tc.hashLen {
				t.Errorf("client sees %x, server has %x", got.ApplicationData, want.ApplicationData)
			}
			// A server has no peer certificate here: it must use its own.
			if _, err := TLSServerEndPointFromState(server.ConnectionState()); !errors.Is(err, ErrInvalidParameter) ||
				!strings.Contains(err.Error(), "TLSServerEndPoint") {
				t.Errorf("server side: %v", err)
			}
		})
	}
}

// TestInternalPackagesKeepToTheirOwners (issue 9 items 18 and 19): a package's wire
// internals are imported by that package alone; channel bindings, which NTLM and
// Kerberos share, are the core's; and the programs under cmd/, the library's first users,
// import nothing under internal/ at all. One exception each way (issue 16 item 5): the
// token inspector behind `sspi parse` (internal/tokendump) reads every package's wire
// format with that package's own read-only parsers, and the CLI imports it alone.
func TestInternalPackagesKeepToTheirOwners(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the packages with")
	}
	out, err := exec.Command(goTool, "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/gosspi/sspi/"
	owners := map[string][]string{
		mod + "internal/ntlmssp": {mod + "ntlm", mod + "internal/tokendump"},
		mod + "internal/der":     {mod + "negotiate", mod + "internal/tokendump"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(f[0], mod+"cmd/") && strings.Contains(imp, "/internal/") &&
				(f[0] != mod+"cmd/sspi" || imp != mod+"internal/tokendump") {
				t.Errorf("%s imports %s, which users of the library cannot import", f[0], imp)
			}
			if allowed, owned := owners[imp]; owned && !contains(allowed, f[0]) {
				t.Errorf("%s imports %s, which belongs to %v", f[0], imp, allowed)
			}
		}
	}
	// Kerberos shares channel bindings with NTLM through the core, not NTLM's wire package;
	// its tests may use package ntlm, whose API is public.
	for _, args := range [][]string{
		{"list", "-deps", "./kerberos"},
		{"list", "-f", `{{range .TestImports}}{{.}}{{"\n"}}{{end}}{{range .XTestImports}}{{.}}{{"\n"}}{{end}}`, "./kerberos"},
	} {
		deps, err := exec.Command(goTool, args...).Output()
		if err != nil {
			t.Fatalf("go %v: %v", args, err)
		}
		if bytes.Contains(deps, []byte(mod+"internal/ntlmssp\n")) {
			t.Errorf("go %v: kerberos reaches into internal/ntlmssp", strings.Join(args, " "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
