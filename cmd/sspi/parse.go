package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gosspi/sspi/internal/tokendump"
)

const parseUsage = `Usage: sspi parse [flags] [TOKEN | FILE | -]

Decodes an authentication token: NTLM NEGOTIATE/CHALLENGE/AUTHENTICATE (flags and AV pairs
by name, version, MIC), SPNEGO NegTokenInit/NegTokenInit2/NegTokenResp (mechanisms by name,
the inner token decoded in turn), Kerberos AP-REQ (bare or GSS-API framed), AP-REP,
KRB-ERROR (error code by name, e-text) and RFC 4121 MIC/Wrap tokens, CredSSP TSRequest
(version, fields present, the nested token), and TLS records (handshake messages, alerts).

The token is the argument, or the file it names, or standard input ("-" or no argument):
base64, hex or raw bytes, detected; an HTTP header such as "Authorization: Negotiate
YII..." is taken as is. With --keytab, or --password and --principal, a Kerberos ticket
is decrypted (client, flags, times, authorization data, the PAC decoded: the user's and
groups' SIDs, names, UPN and DNS info, client info, signature types, and whether the
server signature verifies with the key that decrypted the ticket) and with its session
key the authenticator (the RFC 4121 checksum's flags and channel-binding hash).

Examples:
  sspi parse TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==
  sspi parse --json token.bin
  sspi parse --keytab /etc/krb5.keytab - < apreq.b64
`

func cmdParse(args []string, e *env) int {
	fs := newFlags("parse")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	ktPath := fs.String("keytab", "", "a keytab whose keys decrypt the ticket")
	password := fs.String("password", "", "the service account's password, to decrypt the ticket (with --principal)")
	princ := fs.String("principal", "", `the service account the password is for ("HTTP/web.example.com@EXAMPLE.COM"): the key's salt`)
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, parseUsage, fs)
		return exitOK
	}
	if err != nil {
		return fail(e, "parse", err)
	}
	opts := &tokendump.Options{Password: *password, Principal: *princ}
	if *password != "" && *princ == "" {
		return fail(e, "parse", usageErrorf("--password needs --principal, the account whose password it is"))
	}
	if *ktPath != "" {
		kt, err := tokendump.LoadKeytab(*ktPath)
		if err != nil {
			return fail(e, "parse", fmt.Errorf("--keytab: %w", err))
		}
		opts.Keytab = kt
	}
	raw, err := parseInput(pos, e)
	if err != nil {
		return fail(e, "parse", err)
	}
	tok, _, err := tokendump.Input(raw)
	if err != nil {
		return fail(e, "parse", usageErrorf("%v", err))
	}
	node := tokendump.Decode(tok, opts)
	if *asJSON {
		err = node.WriteJSON(e.stdout)
	} else {
		err = node.WriteText(e.stdout)
	}
	if err != nil {
		return fail(e, "parse", err)
	}
	return exitOK
}

// parseInput reads the token: standard input for "-" or nothing, the file an argument
// names, or the arguments themselves ("Negotiate YII..." as two words).
func parseInput(pos []string, e *env) ([]byte, error) {
	limit := int64(4*tokendump.MaxInput + 1)
	switch {
	case len(pos) == 0 || (len(pos) == 1 && pos[0] == "-"):
		return io.ReadAll(io.LimitReader(e.stdin, limit))
	case len(pos) == 1:
		if st, err := os.Stat(pos[0]); err == nil && st.Mode().IsRegular() {
			f, err := os.Open(pos[0])
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return io.ReadAll(io.LimitReader(f, limit))
		}
	}
	return []byte(strings.Join(pos, " ")), nil
}
