package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi/ntlm"
)

// serve's verifier flags: a misspelt verifier or a netlogon verifier without its
// settings is a usage error (exit 2) before anything is set up.
func TestServeVerifierFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ntlm-verifier", "ldap"}, `"ldap" is none of`},
		{[]string{"--ntlm-verifier", "netlogon", "--dc", "dc1"}, "needs --domain, --machine and --machine-password-file"},
		{[]string{"--ntlm-verifier", "netlogon", "--domain", "D", "--machine", "M", "--machine-password-file", "f"}, "needs --dc or --dns-domain"},
	} {
		code, _, errOut := runCmd(t, "", nil, append([]string{"serve", "--package", "NTLM", "--listen", "127.0.0.1:0"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want exit %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

// The verifiers are chained in the order given, the server takes the DC's names for its
// CHALLENGE, and the machine password is read from its file (first line only).
func TestVerifierSettings(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(pw, []byte("Machine-Pw\r\nignored\n"), 0o600)
	v := verifierSettings{kinds: "accounts, netlogon", dcs: "dc1,dc2", domain: "SAMDOM", machine: "WEB1$", machinePasswordFile: pw}
	cfg, desc, closeAll, err := v.serverConfig(&ntlm.FileAccountStore{}, "--accounts f")
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	chain, ok := cfg.Verifier.(ntlm.VerifierChain)
	if !ok || len(chain) != 2 {
		t.Fatalf("verifier %T %v", cfg.Verifier, cfg.Verifier)
	}
	if _, ok := chain[0].(ntlm.AccountVerifier); !ok {
		t.Errorf("first verifier %T, want the account file", chain[0])
	}
	if d, c := chain.TargetNames(); d != "SAMDOM" || c != "WEB1" {
		t.Errorf("target names %q %q", d, c)
	}
	if desc != "--accounts f, then netlogon (SAMDOM via dc1,dc2 as WEB1$)" {
		t.Errorf("description %q", desc)
	}
}
