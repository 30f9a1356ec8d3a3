package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/ntlm/netlogon"
	"github.com/gosspi/sspi/ntlm/winbind"
)

// verifierSettings are serve's flags that choose who checks NTLM responses: the account
// file, a domain controller over Netlogon, winbind, or several of them in turn.
type verifierSettings struct {
	kinds               string // --ntlm-verifier: accounts, netlogon, winbind, comma-separated
	dcs                 string // --dc: domain controllers, comma-separated
	domain, dnsDomain   string // --domain, --dns-domain
	machine             string // --machine: the machine account, without "$"
	machinePasswordFile string // --machine-password-file
	smbConf             string // --smb-conf: ntlm_auth's smb.conf
	winbindGroups       bool   // --winbind-groups
}

const verifierUsage = `
NTLM verification: --ntlm-verifier accounts (the default) checks NTLM clients against the
account file; netlogon passes each logon to a domain controller of --domain over a sealed
Netlogon secure channel set up with the machine account --machine, whose password is the
first line of --machine-password-file (never on the command line); the DCs are --dc
host[,host...] (or host:port of Netlogon itself), else found in DNS under --dns-domain.
winbind asks the host's winbindd through Samba's ntlm_auth (--smb-conf names its smb.conf;
--winbind-groups also fetches the user's groups; --domain and --machine name the host's
workgroup and netbios name, which a DC binds the responses to). A list, "accounts,netlogon", asks each in
turn while the previous one does not know the user. With a domain verifier, the identity
logged carries the user's SID and groups where the verifier gives them.
  sspi serve --package NTLM --ntlm-verifier netlogon --domain SAMDOM --dc dc1.samdom.test \
    --machine WEB1 --machine-password-file web1.secret
`

func (v *verifierSettings) flags(fs *flag.FlagSet) {
	fs.StringVar(&v.kinds, "ntlm-verifier", "accounts", "who checks NTLM responses: `list` of accounts, netlogon, winbind, asked in turn")
	fs.StringVar(&v.dcs, "dc", "", "netlogon: domain controller `hosts`, comma-separated (default: DNS SRV records of --dns-domain)")
	fs.StringVar(&v.domain, "domain", "", "netlogon: the domain's NetBIOS `name`")
	fs.StringVar(&v.dnsDomain, "dns-domain", "", "netlogon: the domain's DNS `name`, to find its DCs")
	fs.StringVar(&v.machine, "machine", "", "netlogon: the machine `account` of this server, without its $")
	fs.StringVar(&v.machinePasswordFile, "machine-password-file", "", "netlogon: `file` whose first line is the machine account's password")
	fs.StringVar(&v.smbConf, "smb-conf", "", "winbind: the smb.conf `file` ntlm_auth reads (default: Samba's)")
	fs.BoolVar(&v.winbindGroups, "winbind-groups", false, "winbind: also fetch the user's SID and groups (two more processes per logon)")
}

// list returns the verifier kinds, checked; none (the demo's settings) means the
// account file.
func (v *verifierSettings) list() ([]string, error) {
	if strings.TrimSpace(v.kinds) == "" {
		return []string{"accounts"}, nil
	}
	var out []string
	for _, k := range strings.Split(v.kinds, ",") {
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "accounts", "netlogon", "winbind":
			out = append(out, k)
		default:
			return nil, usageErrorf("--ntlm-verifier: %q is none of accounts, netlogon, winbind", k)
		}
	}
	return out, nil
}

// usesAccounts reports whether the account file is among the verifiers.
func (v *verifierSettings) usesAccounts() bool {
	kinds, err := v.list()
	if err != nil {
		return true
	}
	for _, k := range kinds {
		if k == "accounts" {
			return true
		}
	}
	return false
}

// serverConfig returns the NTLM acceptor's configuration over store, with the verifiers
// chosen, a description of them for the start-up line, and a function that closes them.
func (v *verifierSettings) serverConfig(store ntlm.AccountStore, source string) (*ntlm.ServerConfig, string, func(), error) {
	kinds, err := v.list()
	if err != nil {
		return nil, "", nil, err
	}
	cfg := &ntlm.ServerConfig{Accounts: store, NetBIOSDomain: v.domain}
	var chain ntlm.VerifierChain
	var names []string
	var closers []func() error
	for _, k := range kinds {
		switch k {
		case "accounts":
			chain = append(chain, ntlm.AccountVerifier{Accounts: store})
			names = append(names, source)
		case "netlogon":
			nv, desc, err := v.netlogon()
			if err != nil {
				return nil, "", nil, err
			}
			chain, names, closers = append(chain, nv), append(names, desc), append(closers, nv.Close)
		case "winbind":
			wv, err := winbind.New(winbind.Config{ConfigFile: v.smbConf, LookupGroups: v.winbindGroups, Domain: v.domain, Computer: v.machine})
			if err != nil {
				return nil, "", nil, err
			}
			chain, names, closers = append(chain, wv), append(names, "winbind"), append(closers, wv.Close)
		}
	}
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if len(chain) == 1 {
		cfg.Verifier = chain[0]
	} else {
		cfg.Verifier = chain
	}
	return cfg, strings.Join(names, ", then "), closeAll, nil
}

func (v *verifierSettings) netlogon() (*netlogon.Verifier, string, error) {
	if v.domain == "" || v.machine == "" || v.machinePasswordFile == "" {
		return nil, "", usageErrorf("--ntlm-verifier netlogon needs --domain, --machine and --machine-password-file")
	}
	if v.dcs == "" && v.dnsDomain == "" {
		return nil, "", usageErrorf("--ntlm-verifier netlogon needs --dc or --dns-domain")
	}
	b, err := os.ReadFile(v.machinePasswordFile)
	if err != nil {
		return nil, "", fmt.Errorf("--machine-password-file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	clear(b)
	var dcs []string
	if v.dcs != "" {
		dcs = strings.Split(v.dcs, ",")
	}
	nv, err := netlogon.New(netlogon.Config{DomainControllers: dcs, DNSDomain: v.dnsDomain, Domain: v.domain, Computer: v.machine, Password: pw})
	if err != nil {
		return nil, "", err
	}
	where := v.dcs
	if where == "" {
		where = "DCs of " + v.dnsDomain
	}
	return nv, fmt.Sprintf("netlogon (%s via %s as %s$)", v.domain, where, strings.TrimSuffix(v.machine, "$")), nil
}
