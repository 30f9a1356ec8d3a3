package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gosspi/sspi"
)

const packagesUsage = `Usage: sspi packages [--json]

Lists the security packages built into this binary, as EnumerateSecurityPackages reports
them (SecPkgInfo): name, RPC id, largest token, capabilities and description.
`

// capNames names the SECPKG_FLAG_* bits worth showing, in bit order.
var capNames = []struct {
	bit  sspi.Capabilities
	name string
}{
	{sspi.CapIntegrity, "INTEGRITY"},
	{sspi.CapPrivacy, "PRIVACY"},
	{sspi.CapTokenOnly, "TOKEN_ONLY"},
	{sspi.CapDatagram, "DATAGRAM"},
	{sspi.CapConnection, "CONNECTION"},
	{sspi.CapMultiRequired, "MULTI_REQUIRED"},
	{sspi.CapClientOnly, "CLIENT_ONLY"},
	{sspi.CapExtendedError, "EXTENDED_ERROR"},
	{sspi.CapImpersonation, "IMPERSONATION"},
	{sspi.CapAcceptWin32Name, "ACCEPT_WIN32_NAME"},
	{sspi.CapStream, "STREAM"},
	{sspi.CapNegotiable, "NEGOTIABLE"},
	{sspi.CapGSSCompatible, "GSS_COMPATIBLE"},
	{sspi.CapLogon, "LOGON"},
	{sspi.CapASCIIBuffers, "ASCII_BUFFERS"},
	{sspi.CapFragment, "FRAGMENT"},
	{sspi.CapMutualAuth, "MUTUAL_AUTH"},
	{sspi.CapDelegation, "DELEGATION"},
	{sspi.CapReadOnlyWithChecksum, "READONLY_WITH_CHECKSUM"},
	{sspi.CapRestrictedTokens, "RESTRICTED_TOKENS"},
	{sspi.CapNegoExtender, "NEGO_EXTENDER"},
	{sspi.CapNegotiable2, "NEGOTIABLE2"},
	{sspi.CapAppContainerPassthrough, "APPCONTAINER_PASSTHROUGH"},
	{sspi.CapAppContainerChecks, "APPCONTAINER_CHECKS"},
	{sspi.CapCredentialIsolationEnabled, "CREDENTIAL_ISOLATION_ENABLED"},
	{sspi.CapApplyLoopback, "APPLY_LOOPBACK"},
}

func capabilityNames(c sspi.Capabilities) []string {
	names := []string{}
	for _, n := range capNames {
		if c&n.bit != 0 {
			names = append(names, n.name)
			c &^= n.bit
		}
	}
	if c != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(c)))
	}
	return names
}

// textWidth is the width the text output of a command fits in.
const textWidth = 100

// wrapWords lays words out on lines of at most width columns once indent columns are
// taken, each line starting with a space; a word longer than a line has a line of its own.
func wrapWords(words []string, indent, width int) []string {
	var lines []string
	var b strings.Builder
	for _, w := range words {
		if b.Len() > 0 && indent+b.Len()+1+len(w) > width {
			lines = append(lines, b.String())
			b.Reset()
		}
		b.WriteString(" " + w)
	}
	if b.Len() > 0 || len(lines) == 0 {
		lines = append(lines, b.String())
	}
	return lines
}

func cmdPackages(args []string, e *env) int {
	fs := newFlags("packages")
	jsonOut := fs.Bool("json", false, "print the packages as JSON")
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, packagesUsage, fs)
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = usageErrorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return fail(e, "packages", err)
	}
	pkgs := sspi.EnumerateSecurityPackages()
	if *jsonOut {
		type pkgJSON struct {
			Name            string   `json:"name"`
			Comment         string   `json:"comment"`
			Version         uint16   `json:"version"`
			RPCID           uint16   `json:"rpc_id"`
			MaxToken        int      `json:"max_token"`
			Capabilities    uint32   `json:"capabilities"`
			CapabilityNames []string `json:"capability_names"`
		}
		out := make([]pkgJSON, 0, len(pkgs))
		for _, p := range pkgs {
			out = append(out, pkgJSON{p.Name, p.Comment, p.Version, p.RPCID, p.MaxToken, uint32(p.Capabilities), capabilityNames(p.Capabilities)})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return exitOK
	}
	// The capabilities are too many for a table column: each package's go on lines of
	// their own under its row, wrapped to fit a terminal.
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tRPC ID\tMAX TOKEN\tCOMMENT")
	for _, p := range pkgs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", p.Name, p.RPCID, p.MaxToken, p.Comment)
	}
	tw.Flush()
	rows := strings.SplitAfter(table.String(), "\n")
	fmt.Fprint(e.stdout, rows[0])
	for i, p := range pkgs {
		fmt.Fprint(e.stdout, rows[i+1])
		lead := fmt.Sprintf("  capabilities %#08x:", uint32(p.Capabilities))
		for _, line := range wrapWords(capabilityNames(p.Capabilities), len(lead), textWidth) {
			fmt.Fprintf(e.stdout, "%s%s\n", lead, line)
			lead = strings.Repeat(" ", len(lead))
		}
	}
	return exitOK
}
