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
