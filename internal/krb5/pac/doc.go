// Package pac reads, verifies and writes the Privilege Attribute Certificate (MS-PAC) that
// Active Directory, Samba and MIT krb5 1.20 KDCs put in tickets: AD-WIN2K-PAC inside
// AD-IF-RELEVANT in the ticket's authorization data.
//
// Parse splits a PAC into its buffers and decodes the ones a service uses:
// KERB_VALIDATION_INFO (the user's and groups' SIDs, names, logon times, NDR through
// internal/ndr), UPN_DNS_INFO, PAC_CLIENT_INFO, PAC_REQUESTOR and the signatures; claims,
// device information and anything else are kept as the raw buffers. Nothing in a parsed
// PAC is to be trusted before VerifyServer succeeds (the service's key proves the KDC made
// the PAC for this service) and CheckClient ties it to the ticket it came in.
//
// Build does the KDC's part: it encodes a PAC and signs it with the service's and the
// KDC's keys, for test KDCs.
//
// ValidationInfo's ReadCommon and WriteCommon handle the fields KERB_VALIDATION_INFO shares
// with Netlogon's NETLOGON_VALIDATION_SAM_INFO4 (MS-NRPC 2.2.1.4.13), so a Netlogon client
// decodes that structure with them and its own tail.
package pac
