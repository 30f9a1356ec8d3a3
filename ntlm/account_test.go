package ntlm

import (
	"context"
	"encoding/hex"
	"testing"
)

// TestAccountFromPassword checks the hash against MS-NLMP 4.2.1's known NTOWFv1 value
// and that the account authenticates through a store under the names given.
func TestAccountFromPassword(t *testing.T) {
	a := AccountFromPassword("Domain", "User", "Password")
	// MS-NLMP 4.2.2.1.2: NTOWFv1("Password") = a4f49c406510bdcab6824ee7c30fd852.
	if got := hex.EncodeToString(a.NTHash[:]); got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Fatalf("NTHash = %s", got)
	}
	if a.Domain != "Domain" || a.User != "User" {
		t.Fatalf("names = %q %q", a.Domain, a.User)
	}
	var s FileAccountStore
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupAccount(context.Background(), "DOMAIN", "user")
	if err != nil || got.NTHash != a.NTHash {
		t.Fatalf("lookup = %v, %v", got, err)
	}
	// A blank password must never become a usable account.
	if err := s.Add(AccountFromPassword("Domain", "blank", "")); err == nil {
		t.Fatal("Add accepted an account with a blank password")
	}
}
