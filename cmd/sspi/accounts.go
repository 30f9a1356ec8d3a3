package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gosspi/sspi/ntlm"
)

const accountsUsage = `Usage:
  sspi accounts add    --file FILE [DOMAIN\]USER
  sspi accounts remove --file FILE [DOMAIN\]USER
  sspi accounts list   --file FILE [--json]

Manages the account file "sspi serve --accounts FILE" authenticates NTLM clients
against. The file holds NT hashes, never passwords, and is written with mode 0600,
atomically (a reader sees the old file or the new one). Without a DOMAIN the account
matches a client of any domain. USER@DOMAIN is read as DOMAIN\USER.

"add" reads the password from standard input (its first line), or asks for it twice on
the terminal without showing it. Adding an account that exists changes its password.
A file in gss-ntlmssp's DOMAIN:USER:PASSWORD format is read too, and rewritten hashed.

--file defaults to the file the NTLM_USER_FILE variable names.

Examples:
  sspi accounts add --file users.ntlm 'EXAMPLE\alice'
  printf '%s\n' "$PW" | sspi accounts add --file users.ntlm bob
  sspi accounts list --file users.ntlm
`

func cmdAccounts(args []string, e *env) int {
	fs := newFlags("accounts")
	file := fs.String("file", e.getenv("NTLM_USER_FILE"), "the account `file`")
	jsonOut := fs.Bool("json", false, "list: print the accounts as JSON")
	pos, help, err := parseFlags(fs, args)
	if help || (err == nil && len(pos) == 0) {
		if help {
			printHelp(e.stdout, accountsUsage, fs)
			return exitOK
		}
		err = usageErrorf("want add, remove or list")
	}
	if err == nil && *file == "" {
		err = usageErrorf("--file is required (or set NTLM_USER_FILE)")
	}
	if err != nil {
		return fail(e, "accounts", err)
	}
	verb, rest := pos[0], pos[1:]
	switch verb {
	case "list":
		if len(rest) != 0 {
			return fail(e, "accounts", usageErrorf("list takes no account name"))
		}
		err = accountsList(e, *file, *jsonOut)
	case "add", "remove":
		if len(rest) != 1 {
			return fail(e, "accounts", usageErrorf("%s takes one account name, [DOMAIN\\]USER", verb))
		}
		domain, user := splitAccount(rest[0])
		if user == "" {
			return fail(e, "accounts", usageErrorf("empty user name in %q", rest[0]))
		}
		if verb == "add" {
			err = accountsAdd(e, *file, domain, user)
		} else {
			err = accountsRemove(e, *file, domain, user)
		}
	default:
		err = usageErrorf("unknown action %q: want add, remove or list", verb)
	}
	if err != nil {
		return fail(e, "accounts", err)
	}
	return exitOK
}

// loadOrEmpty loads the file, or starts an empty store when there is none yet.
func loadOrEmpty(e *env, path string) (*ntlm.FileAccountStore, error) {
	s, err := ntlm.LoadAccountFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &ntlm.FileAccountStore{}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings() {
		fmt.Fprintf(e.stderr, "sspi accounts: %s\n", w)
	}
	return s, nil
}

func accountName(domain, user string) string {
	if domain == "" {
		return user + " (any domain)"
	}
	return domain + `\` + user
}

func accountsAdd(e *env, path, domain, user string) error {
	s, err := loadOrEmpty(e, path)
	if err != nil {
		return err
	}
	pw, err := readPassword(e, "Password for "+accountName(domain, user)+": ", true)
	if err != nil {
		return err
	}
	if pw == "" {
		return errors.New("an empty password would let anyone in; refused")
	}
	if err := s.Add(ntlm.AccountFromPassword(domain, user, pw)); err != nil {
		return err
	}
	if err := ntlm.WriteAccountFile(path, s.List()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %s to %s\n", accountName(domain, user), path)
	return nil
}

func accountsRemove(e *env, path, domain, user string) error {
	s, err := ntlm.LoadAccountFile(path)
	if err != nil {
		return err
	}
	if !s.Remove(domain, user) {
		return fmt.Errorf("%s has no account %s", path, accountName(domain, user))
	}
	left := s.List()
	if len(left) == 0 {
		// An account file with no account fails to load, by design: remove it instead.
		if err := os.Remove(path); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed %s; %s held no other account and was deleted\n", accountName(domain, user), path)
		return nil
	}
	if err := ntlm.WriteAccountFile(path, left); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s from %s\n", accountName(domain, user), path)
	return nil
}

func accountsList(e *env, path string, jsonOut bool) error {
	s, err := ntlm.LoadAccountFile(path)
	if err != nil {
		return err
	}
	for _, w := range s.Warnings() {
		fmt.Fprintf(e.stderr, "sspi accounts: %s\n", w)
	}
	list := s.List()
	if jsonOut {
		type acct struct {
			Domain string `json:"domain"`
			User   string `json:"user"`
		}
		out := make([]acct, 0, len(list))
		for _, a := range list {
			out = append(out, acct{a.Domain, a.User})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, a := range list {
		fmt.Fprintln(e.stdout, accountName(a.Domain, a.User))
	}
	return nil
}
