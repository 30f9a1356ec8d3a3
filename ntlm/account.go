package ntlm

import "github.com/gosspi/sspi/internal/ntlmssp"

// AccountFromPassword returns the account domain\user whose NT hash is NTOWFv1 of
// password (MD4 of its UTF-16LE encoding), ready for FileAccountStore.Add or an
// AccountStoreFunc. An empty domain matches any domain, as in an accounts file.
//
// The password itself is not kept. The hash is a password equivalent: see Account.
// A blank password gives NTOWFv1(""), which Add, WriteAccountFile and
// AccountStoreFunc refuse, since anybody can compute the responses for it.
func AccountFromPassword(domain, user, password string) Account {
	return Account{Domain: domain, User: user, NTHash: ntlmssp.NTOWFv1(password)}
}
