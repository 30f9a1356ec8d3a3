package testpeers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envMap resolves an exec.Cmd.Env list as exec does: the last entry for a key wins.
func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// TestPeerEnvIsPrivate runs with a hostile host environment, as left by a machine with a
// winbindd, the developer's tickets and NTLM setup: none of it may reach a peer. Every peer
// starter builds its environment with privateEnv (peerEnv, Environ, the KDC's adminEnv).
func TestPeerEnvIsPrivate(t *testing.T) {
	const hostile = "/hostile-host-value"
	for _, k := range []string{
		"KRB5_CONFIG", "KRB5CCNAME", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME", "KRB5RCACHEDIR", "KRB5_TRACE",
		"KRB5_KDC_PROFILE", "NTLM_USER_FILE", "NTLMUSER", "LM_COMPAT_LEVEL", "NETBIOS_COMPUTER_NAME",
		"NETBIOS_DOMAIN_NAME", "GSSNTLMSSP_DEBUG", "WINBINDD_SOCKET_DIR", "GSS_MECH_CONFIG",
		"HOME", "PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "USER", "GOSSPI_SOMETHING",
	} {
		t.Setenv(k, hostile)
	}
	t.Setenv("_NO_WINBINDD", "0")
	t.Setenv("GSS_USE_PROXY", "yes")

	dir := t.TempDir()
	withNTLM := peerEnv(t, dir, NTLMEnv{Users: []NTLMUser{{"D", "u", "p"}}, LMCompatLevel: "5"}, nil)
	adminEnv, err := (&KDC{Dir: dir, Krb5Conf: filepath.Join(dir, "krb5.conf"), KDCConf: filepath.Join(dir, "kdc.conf")}).adminEnv()
	if err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string][]string{
		"Environ":   Environ(t, NTLMEnv{}),
		"peerEnv":   withNTLM,
		"adminEnv":  adminEnv,
		"bare":      mustPrivateEnv(t, dir),
		"overrides": peerEnv(t, dir, NTLMEnv{}, []string{"KRB5_CONFIG=/test/own.conf"}),
	} {
		m := envMap(env)
		if m["_NO_WINBINDD"] != "1" {
			t.Errorf("%s: _NO_WINBINDD=%q, want 1: gss-ntlmssp would hand NTLM to a host winbindd", name, m["_NO_WINBINDD"])
		}
		if m["GSS_USE_PROXY"] != "no" {
			t.Errorf("%s: GSS_USE_PROXY=%q", name, m["GSS_USE_PROXY"])
		}
		for k, v := range m {
			if strings.Contains(v, hostile) {
				t.Errorf("%s: %s=%s comes from the host", name, k, v)
			}
		}
		for _, k := range []string{"KRB5_CONFIG", "KRB5CCNAME", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME", "KRB5RCACHEDIR", "WINBINDD_SOCKET_DIR", "HOME", "TMPDIR"} {
			if m[k] == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		if len(m) > 0 && m["PATH"] != os.Getenv("PATH") {
			t.Errorf("%s: PATH not passed through", name)
		}
	}
	// Where a caller asks for something, it wins; the rest stays private.
	if m := envMap(withNTLM); m["LM_COMPAT_LEVEL"] != "5" || !strings.HasPrefix(m["NTLM_USER_FILE"], dir) {
		t.Errorf("peerEnv lost the caller's NTLM knobs: %v", m)
	}
	if m := envMap(adminEnv); m["KRB5_KDC_PROFILE"] != filepath.Join(dir, "kdc.conf") || m["KRB5_CONFIG"] != filepath.Join(dir, "krb5.conf") {
		t.Errorf("adminEnv: %v", m)
	}
	// The offline krb5.conf really is offline.
	conf, err := os.ReadFile(envMap(mustPrivateEnv(t, dir))["KRB5_CONFIG"])
	if err != nil || !strings.Contains(string(conf), "dns_lookup_kdc = false") {
		t.Errorf("private krb5.conf: %v\n%s", err, conf)
	}
}

func mustPrivateEnv(t *testing.T, dir string) []string {
	t.Helper()
	env, err := privateEnv(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
