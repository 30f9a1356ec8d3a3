package testpeers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Mechanism OIDs, dotted, as the peers' command lines and python3-gssapi take them
// (shared/spec/spnego-credssp.md §1).
const (
	MechNTLM       = "1.3.6.1.4.1.311.2.2.10" // NTLMSSP; gss-ntlmssp registers it
	MechSPNEGO     = "1.3.6.1.5.5.2"
	MechKerberos   = "1.2.840.113554.1.2.2"
	MechMSKerberos = "1.2.840.48018.1.2.2" // the legacy Windows OID, accepted as Kerberos
)

// GSS-API request and return flags (RFC 2744 values, plus MIT's and gss-ntlmssp's
// extensions), for GSSPeerOptions.Flags and GSSContextInfo.Flags.
const (
	GSSDelegFlag     = 1
	GSSMutualFlag    = 2
	GSSReplayFlag    = 4
	GSSSequenceFlag  = 8
	GSSConfFlag      = 16
	GSSIntegFlag     = 32
	GSSAnonFlag      = 64
	GSSProtReadyFlag = 128
	GSSTransFlag     = 256
	GSSDCEStyleFlag  = 0x1000
	GSSIdentifyFlag  = 0x2000
	GSSDatagramFlag  = 0x10000 // gss-ntlmssp's GSS_C_DATAGRAM_FLAG: connectionless NTLM
)

// passedThrough are the only variables a child takes from the host: where to find programs.
// Everything else a peer reads is set by privateEnv, so that nothing on the host (a running
// winbindd, the developer's tickets, krb5.conf, users file or Python setup) changes a result.
var passedThrough = []string{"PATH"}

// baseKrb5Conf keeps MIT's library off the network and away from /etc/krb5.conf (Debian's
// stock one names ATHENA.MIT.EDU): no DNS lookups for realms or KDCs, a default realm that
// cannot resolve, and no reverse DNS on host names. A test with a real KDC passes its own
// KRB5_CONFIG in Env.
const baseKrb5Conf = `[libdefaults]
	default_realm = GOSSPI.INVALID
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
`

// privateEnv returns a child's whole environment: PATH from the host, then private settings
// rooted in dir, then extra (later entries win, as in exec.Cmd.Env). The private settings:
//
//   - _NO_WINBINDD=1 and WINBINDD_SOCKET_DIR naming a directory that does not exist: Samba's
//     libwbclient, which gss-ntlmssp and ntlm_auth load, then never asks a winbindd running
//     on the host, which would otherwise take over NTLM checks (and LM_COMPAT_LEVEL with
//     them);
//   - KRB5_CONFIG, an offline krb5.conf (baseKrb5Conf), and KRB5CCNAME, KRB5_KTNAME,
//     KRB5_CLIENT_KTNAME and KRB5RCACHEDIR in dir, none of which exist until a test makes
//     them; GSS_USE_PROXY=no, so no gssproxy daemon is asked;
//   - HOME and TMPDIR in dir, so no ~/.k5identity, ~/.k5login or user site directory
//     is read, and nothing is written outside dir;
//   - PYTHONDONTWRITEBYTECODE and PYTHONNOUSERSITE for the Python drivers.
func privateEnv(dir string, extra []string) ([]string, error) {
	conf := filepath.Join(dir, "offline-krb5.conf")
	if _, err := os.Stat(conf); err != nil {
		// Written beside and renamed, so a concurrent reader never sees half a file.
		tmp, err := os.CreateTemp(dir, ".krb5conf-*")
		if err != nil {
			return nil, fmt.Errorf("testpeers: %w", err)
		}
		_, err = tmp.WriteString(baseKrb5Conf)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), conf)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return nil, fmt.Errorf("testpeers: %w", err)
		}
	}
	var env []string
	for _, k := range passedThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env,
		"_NO_WINBINDD=1",
		"WINBINDD_SOCKET_DIR="+filepath.Join(dir, "no-winbindd"),
		"KRB5_CONFIG="+conf,
		"KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"),
		"KRB5_KTNAME=FILE:"+filepath.Join(dir, "no.keytab"),
		"KRB5_CLIENT_KTNAME=FILE:"+filepath.Join(dir, "no-client.keytab"),
		"KRB5RCACHEDIR="+dir,
		"GSS_USE_PROXY=no",
		"HOME="+dir,
		"TMPDIR="+dir,
		// Debian's python3 must not write __pycache__ next to the embedded scripts' copies or
		// pick up a user site directory.
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONNOUSERSITE=1",
	)
	return append(env, extra...), nil
}

// peerEnv builds a child's environment: privateEnv's, then the NTLM knobs, then the caller's
// extra entries (which override all the above).
func peerEnv(tb testing.TB, dir string, ntlm NTLMEnv, extra []string) []string {
	tb.Helper()
	env, err := privateEnv(dir, append(ntlm.Environ(tb, dir), extra...))
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

// Environ returns the environment every peer gets (see privateEnv), in a fresh temporary
// directory of tb, with ntlm's knobs and then extra: for a test that runs a peer, or a
// script that does, itself.
func Environ(tb testing.TB, ntlm NTLMEnv, extra ...string) []string {
	tb.Helper()
	return peerEnv(tb, tb.TempDir(), ntlm, extra)
}

// NTLMUser is one account for gss-ntlmssp's NTLM_USER_FILE.
type NTLMUser struct {
	Domain, User, Password string
}

// NTLMEnv holds gss-ntlmssp's environment knobs (gssntlmssp(8)). gss-ntlmssp reads them in the
// process that loads it, so they are given per peer. The zero value sets nothing, which leaves
// gss-ntlmssp's defaults.
type NTLMEnv struct {
	// Users are written, one "DOMAIN:USER:PASSWORD" line each, to a fresh file in the test's
	// temporary directory that becomes NTLM_USER_FILE. The acceptor looks accounts up there;
	// an initiator without a password looks its own password up there by NTLMUSER.
	Users []NTLMUser
	// UserFile is an existing NTLM_USER_FILE (lines DOMAIN:USER:PASSWORD, or smbpasswd lines),
	// used when Users is empty.
	UserFile string
	// User is NTLMUSER, the initiator's default user name when no credentials are given (gss-
	// ntlmssp falls back to USER). "DOMAIN\user" or "user@DOMAIN" both parse.
	User string
	// ComputerName is NETBIOS_COMPUTER_NAME, the name gss-ntlmssp puts in its messages
	// (workstation in AUTHENTICATE, MsvAvNbComputerName in CHALLENGE). Default: the host name,
	// upper-cased.
	ComputerName string
	// DomainName is NETBIOS_DOMAIN_NAME (TargetName and MsvAvNbDomainName in CHALLENGE).
	// Default: WORKSTATION.
	DomainName string
	// LMCompatLevel is LM_COMPAT_LEVEL: "0"–"2" make the initiator send NTLMv1 (LM and NT
	// responses), "3"–"5" NTLMv2; on the acceptor 5 refuses LM and NTLMv1. Empty leaves the
	// default, 3. A string, so that the zero value cannot mean the insecure level 0.
	LMCompatLevel string
	// DebugFile is GSSNTLMSSP_DEBUG: gss-ntlmssp appends its debug log there.
	DebugFile string
}

// Environ returns the KEY=VALUE entries for e, writing the users file into dir when Users is
// set. dir must outlive the peer (a t.TempDir()).
func (e NTLMEnv) Environ(tb testing.TB, dir string) []string {
	tb.Helper()
	var env []string
	file := e.UserFile
	if len(e.Users) > 0 {
		var b strings.Builder
		for _, u := range e.Users {
			// gss-ntlmssp splits the line on ':', so none of the three fields may contain one.
			for _, f := range []string{u.Domain, u.User, u.Password} {
				if strings.ContainsAny(f, ":\n") {
					tb.Fatalf("testpeers: NTLM user field %q contains ':' or a newline", f)
				}
			}
			fmt.Fprintf(&b, "%s:%s:%s\n", u.Domain, u.User, u.Password)
		}
		f, err := os.CreateTemp(dir, "ntlm-users-*")
		if err != nil {
			tb.Fatalf("testpeers: %v", err)
		}
		if _, err := f.WriteString(b.String()); err != nil {
			tb.Fatalf("testpeers: %v", err)
		}
		if err := f.Close(); err != nil {
			tb.Fatalf("testpeers: %v", err)
		}
		file = f.Name()
	}
	if file != "" {
		env = append(env, "NTLM_USER_FILE="+file)
	}
	if e.User != "" {
		env = append(env, "NTLMUSER="+e.User)
	}
	if e.ComputerName != "" {
		env = append(env, "NETBIOS_COMPUTER_NAME="+e.ComputerName)
	}
	if e.DomainName != "" {
		env = append(env, "NETBIOS_DOMAIN_NAME="+e.DomainName)
	}
	if e.LMCompatLevel != "" {
		env = append(env, "LM_COMPAT_LEVEL="+e.LMCompatLevel)
	}
	if e.DebugFile != "" {
		env = append(env, "GSSNTLMSSP_DEBUG="+e.DebugFile)
	}
	return env
}
