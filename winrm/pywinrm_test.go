package winrm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// openSSLLegacyConf makes OpenSSL 3 load its legacy provider, where python3-ntlm-auth
// finds MD4.
const openSSLLegacyConf = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`

// pywinrmScript runs echo and whoami through python3-winrm with NTLM and the message
// encryption policy of its second argument, and prints what they returned.
const pywinrmScript = `import sys, winrm
s = winrm.Session(sys.argv[1], auth=('EXAMPLE\\alice', 'Passw0rd!'), transport='ntlm',
                  message_encryption=sys.argv[2], server_cert_validation='ignore')
for cmd, args in (('echo', ['from', 'pywinrm']), ('whoami', [])):
    r = s.run_cmd(cmd, args)
    print('%s|%d|%s' % (cmd, r.status_code, r.std_out.decode().strip()))
`

// TestPywinrm: Debian's python3-winrm, an independent WinRM client, runs commands on the
// same endpoint masterzen/winrm does, NTLM-authenticated: over HTTP sealed (the endpoint,
// our middleware and WinRM framing, opens its messages and it opens the endpoint's), and
// over HTTPS unsealed with the channel bindings requests-ntlm computes, which the
// endpoint requires.
func TestPywinrm(t *testing.T) {
	py := testpeers.RequirePython(t, "python3-winrm", "winrm", "requests_ntlm")
	dir := t.TempDir()
	conf := filepath.Join(dir, "openssl.cnf")
	if err := os.WriteFile(conf, []byte(openSSLLegacyConf), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		tls        bool
		encryption string
	}{
		{name: "HTTP sealed", encryption: "always"},
		{name: "HTTPS with channel bindings", tls: true, encryption: "auto"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := httpauth.Config{NTLM: ntlmServerConfig(t)}
			if tt.tls {
				cfg.ChannelBindings = sspi.BindingsRequired // refuses a client that sends none
			}
			ts, h := startEndpoint(t, cfg, tt.tls)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, "-c", pywinrmScript, ts.URL+"/wsman", tt.encryption)
			cmd.Env = testpeers.Environ(t, testpeers.NTLMEnv{}, "OPENSSL_CONF="+conf)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pywinrm: %v\n%s", err, out)
			}
			for _, want := range []string{"echo|0|from pywinrm", `whoami|0|EXAMPLE\alice`} {
				if !strings.Contains(string(out), want) {
					t.Fatalf("pywinrm printed %q, want a line %q", out, want)
				}
			}
			checkSealed(t, h, !tt.tls)
		})
	}
}

// pywinrmKerberosScript runs echo and whoami through python3-winrm with Kerberos (a ticket
// from KRB5CCNAME) and the message encryption policy of its second argument.
//
// pywinrm seals Kerberos messages through requests-kerberos's wrap_winrm, which calls
// pykerberos's authGSSWinRMEncryptMessage; Debian's pykerberos (1.1.14) does not have
// it, so requests-kerberos reports no WinRM encryption and pywinrm refuses
// message_encryption='always'. The script supplies the two functions from what Debian's
// pykerberos does have, authGSSClientWrapIov and authGSSClientUnwrapIov: MIT's
// gss_wrap_iov with header, data and padding buffers, whose output is the header's
// 4-byte little-endian length, the header (the RFC 4121 Wrap token header with the
// rotated encrypted header and checksum), and the sealed data — the same layout pywinrm
// then writes into the part. Everything else (requests-kerberos's handshake and mutual
// authentication, pywinrm's framing and parsing) is the packages' own.
const pywinrmKerberosScript = `import sys, struct, base64, kerberos, winrm

def wrap(ctx, message):
    kerberos.authGSSClientWrapIov(ctx, base64.b64encode(message).decode(), 1)
    out = base64.b64decode(kerberos.authGSSClientResponse(ctx))
    n = struct.unpack('<I', out[:4])[0]
    return out[4 + n:], out[4:4 + n]

def unwrap(ctx, message, header):
    kerberos.authGSSClientUnwrapIov(ctx, base64.b64encode(struct.pack('<I', len(header)) + header + message).decode())
    if not kerberos.authGSSClientResponseConf(ctx):
        raise Exception('the answer was not sealed')
    return base64.b64decode(kerberos.authGSSClientResponse(ctx))

if not hasattr(kerberos, 'authGSSWinRMEncryptMessage'):
    kerberos.authGSSWinRMEncryptMessage = wrap
    kerberos.authGSSWinRMDecryptMessage = unwrap

s = winrm.Session(sys.argv[1], auth=(None, None), transport='kerberos',
                  message_encryption=sys.argv[2], server_cert_validation='ignore')
for cmd, args in (('echo', ['from', 'pywinrm']), ('whoami', [])):
    r = s.run_cmd(cmd, args)
    print('%s|%d|%s' % (cmd, r.status_code, r.std_out.decode().strip()))
# A request and an answer over 16 KiB: Kerberos seals each whole in one Wrap token.
big = 'k' * 40000
r = s.run_cmd('echo', [big])
print('big|%d|%s' % (r.status_code, r.std_out.decode().strip() == big))
`

// TestPywinrmKerberos: python3-winrm with transport='kerberos' (requests-kerberos over
// MIT's GSSAPI, a ticket MIT's kinit got from the MIT KDC) runs commands on the endpoint:
// over HTTP with every message sealed under HTTP-SPNEGO-session-encrypted (MIT's
// gss_wrap_iov on the client, our RFC 4121 Wrap tokens on the endpoint, each opening the
// other's), over HTTPS unsealed, and over HTTPS sealed inside TLS. Debian's pykerberos
// cannot pass channel bindings, so the HTTPS endpoint does not require them here.
func TestPywinrmKerberos(t *testing.T) {
	py := testpeers.RequirePython(t, "python3-winrm", "winrm", "requests_kerberos", "kerberos")
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{Services: []string{"HTTP/localhost"}})
	cc := kdc.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	for _, tt := range []struct {
		name       string
		tls        bool
		encryption string
		sealed     bool
	}{
		{name: "HTTP sealed", encryption: "always", sealed: true},
		{name: "HTTPS", tls: true, encryption: "auto"},
		{name: "HTTPS sealed", tls: true, encryption: "always", sealed: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts, h := startEndpoint(t, httpauth.Config{Kerberos: &kerberos.ServerConfig{Keytab: kdc.Keytab}}, tt.tls)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// requests-kerberos asks for HTTP@ and the URL's host: the keytab's HTTP/localhost.
			url := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/wsman"
			cmd := exec.CommandContext(ctx, py, "-c", pywinrmKerberosScript, url, tt.encryption)
			cmd.Env = testpeers.Environ(t, testpeers.NTLMEnv{}, "KRB5_CONFIG="+kdc.Krb5Conf, "KRB5CCNAME=FILE:"+cc)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pywinrm: %v\n%s", err, out)
			}
			for _, want := range []string{"echo|0|from pywinrm", "whoami|0|" + kdc.Principal(testpeers.KDCUser), "big|0|True"} {
				if !strings.Contains(string(out), want) {
					t.Fatalf("pywinrm printed %q, want a line %q", out, want)
				}
			}
			checkSealed(t, h, tt.sealed)
			if tt.sealed {
				checkProtocol(t, h, httpauth.WinRMProtocolSPNEGO)
			}
		})
	}
}
