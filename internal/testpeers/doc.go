// Package testpeers runs the real peers that gosspi's interop tests and benchmark comparisons
// talk to: MIT krb5's GSSAPI with gss-ntlmssp (driven token by token through python3-gssapi),
// MIT's gss-sample client and server, Samba's ntlm_auth as NTLM client and acceptor, Impacket's
// NTLM code as an independent implementation and verifier, and a C program that times
// gss-ntlmssp in process.
//
// It is a test helper: it takes a testing.TB everywhere, and every peer it starts listens on
// 127.0.0.1 only, runs under a time-out, and is stopped by the test's Cleanup. Peers come from
// Debian's packages (scripts/install-peers installs them all). When one is missing the test is
// skipped with the name of the package to install, or fails when SSPI_INTEROP=require, as in CI,
// so a missing peer can never pass silently there. SSPI_INTEROP=none reports every peer
// missing, as on a machine without them. A test that needs a KDC but not MIT's uses
// internal/testkdc's in-process one, which is always there.
//
// StartKDC (and SharedKDC, one per test binary) runs a throw-away MIT KDC on a loopback port
// with a fresh database: users with passwords, service principals in a keytab, kinit into a
// private ccache, and the KRB5_CONFIG/KRB5CCNAME/KRB5_KTNAME entries a peer needs (KDC.Env,
// KDC.ServerEnv) to use it.
//
// StartHeimdalKDC (and SharedHeimdalKDC) does the same with Heimdal 7.8's kdc and kadmin -l,
// and HeimdalKDC gives Heimdal's kinit, kgetcred, klist and ktutil; NewHeimdalGSSClient and
// NewHeimdalGSSServer are a GSS-API initiator and acceptor in Heimdal's libgssapi (one C
// driver built against the tree, since Debian ships no Heimdal gss-client or gss-server). Heimdal's packages conflict with MIT's, so scripts/install-
// peers unpacks their .debs into DefaultHeimdalRoot (or $GOSSPI_HEIMDAL_ROOT) and the
// programs run from there with LD_LIBRARY_PATH naming its library directory. Heimdal 7.8
// facts: kdc forks one worker (num-kdc-processes) that exits with the master; keys of the
// RFC 8009 enctypes get a random salt, so a client must take the salt from ETYPE-INFO2;
// ktutil writes a 32-bit flags word after the 32-bit kvno of each keytab entry.
//
// SharedADDC runs a Samba 4.17 Active Directory domain controller (realm SAMDOM.TEST,
// NetBIOS domain SAMDOM) on 127.0.0.2, one per test binary: the domain is provisioned once
// per machine into a cached template under os.TempDir() (keyed by Samba's version and the
// provisioning parameters, built under a lock and renamed into place), and each binary runs
// `samba -i -M single` on a private copy. One DC runs on the machine at a time (a flock held
// from start to Stop), because it needs 127.0.0.2 on lo (added, and removed again, by the
// peer) and its winbindd takes the machine-wide /run/samba/winbindd. ADDC's methods add
// users and service accounts, export keytabs (an SPN's keytab holds its account's AES and
// RC4 keys, as ktpass makes them), set msDS-SupportedEncryptionTypes and run samba-tool and
// ldbmodify. Test packages that use it call StopSharedADDC in TestMain.
//
// Each child process gets a private environment, built from nothing but the host's PATH:
// _NO_WINBINDD=1 and a winbindd socket directory that does not exist (so gss-ntlmssp and
// ntlm_auth never hand NTLM to a winbindd running on the host), a private krb5.conf (no DNS
// lookups, an invalid default realm), credential cache, keytab names, replay cache, HOME and
// TMPDIR, GSS_USE_PROXY=no, and for ntlm_auth a private smb.conf. So a winbindd, the
// developer's own Kerberos tickets, users file or Python installation never change a
// result. Options.Env puts back what a test really wants; Environ gives a test the same
// environment for a peer it runs itself.
//
// # Facts about the peers (Debian 12), as seen here; the tests pin most of them
//
// gss-ntlmssp 1.2.0 (through python3-gssapi 1.8.2 and MIT krb5 1.20.1):
//   - Initiator credentials work both ways: gss_acquire_cred_with_password with a
//     "DOMAIN\user" GSS_C_NT_USER_NAME (no users file needed in the initiator's process), or
//     default credentials with NTLMUSER naming the user and NTLM_USER_FILE holding the
//     password. The acceptor needs NTLM_USER_FILE ("DOMAIN:USER:PASSWORD" lines); it re-reads
//     the file on every AUTHENTICATE.
//   - NEGOTIATE is 40 bytes (with VERSION); the 32-byte form is refused.
//   - gss_wrap ignores conf_req_flag and always seals; the token is the 16-byte signature
//     followed by the sealed message (sspi's Wrap layout). Empty messages are refused
//     (GSS_S_CALL_INACCESSIBLE_READ).
//   - No MIC in the AUTHENTICATE unless asked, as MIT's SPNEGO does, by inquiring
//     1.3.6.1.4.1.7165.655.1.2 (GSSPeerOptions.RequestMIC). MsvAvTargetName is the target
//     name as "host/localhost".
//   - The acceptor refuses NTLMv1 at LM_COMPAT_LEVEL 3 and above (its default), not only at
//     5 as Windows does. A wrong password fails with GSS_S_FAILURE, minor EINVAL; mismatched
//     channel bindings with GSS_S_DEFECTIVE_TOKEN, minor EACCES; bindings on one side only
//     are accepted.
//   - gss_display_name includes the C string's NUL in the length ("TESTDOM\alice\x00"); the
//     driver strips it. python3-gssapi segfaults reading target_name on a gss-ntlmssp
//     acceptor context; the driver does not ask.
//   - Its CPU time goes mostly to OpenSSL 3's EVP_MD_fetch (about half the instructions of a
//     handshake under callgrind), not to the cryptography itself.
//
// MIT gss-sample: gss-client -mech '{ 1 3 6 1 4 1 311 2 2 10 }' with -user/-pass, and -q, or
// it exits 1 after a good NTLM handshake (gss-ntlmssp lacks gss_inquire_names_for_mech) before
// sending its message. gss-server needs -verbose for the tokens and "Accepted connection using
// mechanism" in its log. Behind socat, gss-server is not exec'd directly: socat SIGTERMs its
// child when the connection ends, and gss-server closes the socket before it logs a refusal.
//
// Samba 4.17 ntlm_auth: the client answers TT with "AF <AUTHENTICATE>" (not KK); the
// squid-2.5-ntlmssp acceptor with --password accepts that password for any user and domain
// and answers "AF DOMAIN\user" or "NA NT_STATUS_LOGON_FAILURE"; GK after a refusal is
// "BH No session key". It takes 32- and 40-byte NEGOTIATEs.
//
// Impacket 0.10.0: NEGOTIATE is 32 bytes unless VERSION is asked for; with VERSION its
// AUTHENTICATE offsets are 24 bytes off (ImpacketNTLMOptions.KeepVersionBug keeps the bug,
// the default repairs it). It adds MsvAvTargetName "cifs/<server>" on its own.
package testpeers
