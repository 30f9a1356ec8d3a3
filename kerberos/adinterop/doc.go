// Package adinterop is a test-only package: it holds no code, only the tests of package
// kerberos against a real Active Directory domain controller (Samba 4.17's, provisioned and
// started by internal/testpeers.SharedADDC, one per test binary). They run in a package of
// their own so that only one test binary of the tree waits for the DC to start and holds it
// (one DC runs on the machine at a time).
//
// What they cover: our client and acceptor with tickets of AES (default) and RC4-only
// service accounts, logons with a password (preauthentication with AD's salts), refusals
// (wrong password, disabled and expired accounts, expired passwords) and the status each
// gets, MIT's gss-client and gss-server with AD tickets against ours, names as Windows
// resolves them: DOMAIN\user, realms in any case, enterprise names (user@upn.suffix) and
// KDC discovery through the DC's DNS SRV records, and the PAC: the SIDs and groups our
// acceptor reads from it against what samba-tool says of the user, and its KDC signature
// against the exported krbtgt key.
//
// Without Samba's AD DC packages the tests skip, or fail under SSPI_INTEROP=require (see
// scripts/install-peers).
package adinterop
