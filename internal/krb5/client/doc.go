// Package krbclient is the client side of the Kerberos exchanges: the AS exchange (RFC 4120
// 3.1) with a password (PA-ENC-TIMESTAMP after KDC_ERR_PREAUTH_REQUIRED, with the salt and
// s2kparams of ETYPE-INFO2) or a keytab, the TGS exchange (RFC 4120 3.3) with PA-TGS-REQ,
// referrals and the canonicalize option (RFC 6806), cross-realm TGTs, forwarded TGTs for
// delegation, renewal, and the KDC transport (RFC 4120 7.2: UDP, then TCP with its 4-byte
// length prefix).
//
// A Client holds one client principal's credentials (a password, a keytab, or the tickets
// of an MIT credential cache) and caches the tickets it gets, in memory; CCache and
// WriteCCache export them in MIT's format, LoadCCache imports one.
//
// # KDC location and transport
//
// The KDCs of a realm are its [realms] kdc entries (host, host:port, [v6]:port, with MIT
// 1.20's tcp/ and udp/ prefixes); when there are none and dns_lookup_kdc allows it, the
// SRV records _kerberos._udp and _kerberos._tcp (Options.Resolver). As MIT's sendto_kdc
// does, every KDC is tried over the preferred transport, then every KDC over the other:
// UDP is preferred unless the request is longer than udp_preference_limit. A
// KRB_ERR_RESPONSE_TOO_BIG over UDP moves that KDC to TCP at once. Each attempt has its
// own time-out (Options.AttemptTimeout); the context bounds and cancels the whole. UDP
// sockets are connected, so datagrams from another address are dropped by the kernel; a
// TCP reply length with the reserved bit or above 1 MiB is refused before any allocation.
// A reply that is not the expected message or a KRB-ERROR counts as no answer.
//
// # Checks
//
// Replies are checked as RFC 4120 3.1.5 and 3.3.4 ask: the nonce, the client and server
// names (relaxed only under canonicalize, where RFC 6806 lets the KDC rename), that the
// ticket and the encrypted part agree, the encryption types asked for, the session key
// type against permitted_enctypes, and the times (the AS reply's start within clockskew
// of the local clock, no expired ticket, no end time past the one asked for). A KRB-ERROR
// becomes an *sspi.Error whose status says what it means (SEC_E_LOGON_DENIED for a wrong
// password or unknown user, SEC_E_TIME_SKEW, SEC_E_KDC_UNKNOWN_ETYPE, ...) wrapping a
// *KDCError with the code and the KDC's bounded text.
//
// # FAST
//
// With Options.Armor (a TGT of the client's realm, such as a host's from its keytab;
// ArmorTGT reads one from a credential cache), the AS exchange is armored as RFC 6113
// and MIT's kinit -T do it, in fast.go: the request travels in PA-FX-FAST, encrypted in
// the armor key that KRB-FX-CF2 makes of the armor AP-REQ's subkey and the armor ticket's
// session key; preauthentication is PA-ENCRYPTED-CHALLENGE instead of PA-ENC-TIMESTAMP;
// the KDC's cookie is echoed across KDC_ERR_PREAUTH_REQUIRED; the reply's KrbFastFinished
// must vouch for the ticket, the KDC's encrypted challenge must decrypt, and the reply
// key is strengthened with the KDC's strengthen key. An armored AS exchange never falls
// back: a reply or error without FAST fails it, since an attacker could strip FAST. TGS
// requests with the TGT of an armored logon are armored with that TGT (implicit armor,
// 5.4.1.1); as MIT does, a TGS reply without FAST is read as an ordinary one (Heimdal
// 7.8's KDC sends such), while a FAST reply must verify.
//
// S4U2Self and S4U2Proxy (MS-SFU: a service asking for a ticket to itself in a user's
// name, and for a ticket to another service with a client's ticket as evidence, with
// PA-PAC-OPTIONS for resource-based constrained delegation) are in s4u.go.
//
// # Not done
//
// FAST without explicit armor for the AS exchange (anonymous PKINIT armor), FAST
// negotiation (RFC 6806 11's enc-pa-rep announcing FAST), PKINIT, user-to-user, KKDCP over HTTPS and KDC time
// synchronisation (MIT's kdc_timesync) are not implemented. MIT's retry without
// canonicalize after a KDC of an explicitly named realm refuses a referral request (for
// KDCs that reject the option) is not done either; the fallback realm of a host-based name
// is (ServiceTicket, FallbackHostRealm).
package krbclient
