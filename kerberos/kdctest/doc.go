// Package kdctest is a Kerberos KDC that runs inside the process, for tests and demos, in
// the spirit of net/http/httptest: NewKDC starts it on loopback (TCP and UDP, one ephemeral
// port), AddUser and AddService create principals, Keytab and WriteKeytab export service
// keys, Config and WriteConfig give a krb5.conf that points at it, Close stops it.
//
//	kdc := kdctest.NewKDC("EXAMPLE.TEST")
//	defer kdc.Close()
//	kdc.AddUser("alice", "password")
//	kt, _ := kdc.AddService("host/localhost")
//	kdc.WriteConfig(filepath.Join(dir, "krb5.conf"))
//
// It is a test KDC: everything is in memory (no database, no kadmin, no password changes,
// no policies, no audit), the keys of its principals are made when they are added and are
// lost when it closes, and it serves one realm (no cross-realm trust, no referrals).
// Within that, it is a real KDC on the wire, the same protocol MIT's kinit, kvno and GSSAPI
// speak to MIT's krb5kdc:
//
//   - the AS exchange (RFC 4120 3.1) with PA-ENC-TIMESTAMP preauthentication, always
//     required: a request without it gets KDC_ERR_PREAUTH_REQUIRED with ETYPE-INFO2 naming
//     the salt of each of the client's keys;
//   - the TGS exchange (RFC 4120 3.3) with a TGT of its realm: service tickets, forwardable
//     and forwarded TGTs (delegation), renewable tickets and their renewal (the RENEW
//     option), the authenticator's subkey for the reply;
//   - AES with SHA-1 (RFC 3962) and SHA-2 (RFC 8009), and RC4-HMAC (RFC 4757) when asked
//     for in Options.Enctypes;
//   - ticket lifetimes bounded by Options.MaxTicketLife and renew-till by
//     Options.MaxRenewableLife;
//   - the canonicalize option (RFC 6806): the realm in any case, enterprise names, the
//     canonical names in the reply;
//   - KRB-ERROR codes as MIT's KDC sends them: KDC_ERR_C_PRINCIPAL_UNKNOWN,
//     KDC_ERR_S_PRINCIPAL_UNKNOWN, KDC_ERR_PREAUTH_FAILED (wrong password),
//     KRB_AP_ERR_SKEW, KDC_ERR_PREAUTH_REQUIRED, KDC_ERR_ETYPE_NOSUPP, KDC_ERR_BADOPTION,
//     KRB_AP_ERR_MODIFIED and the other ticket and authenticator checks;
//   - a PAC (MS-PAC) in service tickets when SetPAC asks for one: the user's SID, groups and
//     extra SIDs, signed with the service's key and the KDC's, so that PAC code can be
//     tested without a domain controller;
//   - TCP with its 4-byte length prefix, and UDP, where a reply longer than
//     Options.MaxUDPReply is replaced by KRB_ERR_RESPONSE_TOO_BIG so that the client asks
//     again over TCP (RFC 4120 7.2.1).
//
// Requests are decoded by the project's bounded DER decoders (internal/krb5/wire) and a
// TCP request is at most MaxRequestSize bytes; a hostile request gets a KRB-ERROR or is
// dropped, and never takes the KDC down.
//
// Not implemented: FAST (RFC 6113), PKINIT, S4U2Self and S4U2Proxy, user-to-user
// (ENC-TKT-IN-SKEY), postdated tickets, the VALIDATE option, and PACs in TGTs: the PAC
// is made when a service ticket is issued, and PA-PAC-REQUEST is not consulted.
package kdctest
