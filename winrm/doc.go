// Package winrm is a transport for github.com/masterzen/winrm that authenticates with
// gosspi's Negotiate, NTLM, Kerberos or CredSSP packages and seals WinRM's messages with
// the security context (MS-WSMV 2.2.9.1: multipart/encrypted bodies, the framing of
// package httpauth), the combination masterzen/winrm's own transports lack (its NTLM
// transport does not encrypt, and it has no Kerberos or CredSSP encryption). It works from
// any platform against a Windows WinRM service with its default AllowUnencrypted=false.
//
// Import it under another name than masterzen's package:
//
//	import (
//		"github.com/masterzen/winrm"
//		sspiwinrm "github.com/gosspi/sspi/winrm"
//	)
//
//	params := winrm.DefaultParameters
//	params.TransportDecorator = func() winrm.Transporter {
//		return &sspiwinrm.Transport{Identity: &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: pw}}
//	}
//	client, err := winrm.NewClientWithParameters(winrm.NewEndpoint("host.example.com", 5985, false, false, nil, nil, nil, 0), "", "", params)
//	stdout, stderr, code, err := client.RunWithString("ipconfig", "")
//
// A Transport keeps one HTTP connection. Over plain HTTP it first authenticates with an
// empty request, as Windows' client and pywinrm do, then sends every message sealed and
// opens every answer, refusing one the server sent in the clear. Over HTTPS it leaves
// protection to TLS (Encryption chooses otherwise) and binds the authentication to the
// TLS channel (Extended Protection's tls-server-end-point bindings). The target name is
// HTTP/<host>, what Windows registers for WinRM, unless Transport.SPN says otherwise.
// A sealed body names the HTTP scheme in its protocol parameter, not the package:
// HTTP-SPNEGO-session-encrypted under Negotiate whether NTLM or Kerberos is inside (what
// Windows and pywinrm send), HTTP-CredSSP-session-encrypted under CredSSP.
//
// # What it needs
//
// Credentials of the chosen package: a user and password (Transport.Identity), or a
// handle (Transport.Credentials), or the environment's (KRB5CCNAME, NTLM_USER_FILE).
// masterzen/winrm v0.0.0-20211231115050 is the version the Go proxy serves here; its
// client has Run, RunWithString and RunWithInput (no RunWithContext yet).
//
// # Tests
//
// No Windows host runs where gosspi is tested. The tests serve a WinRM-shaped endpoint
// built on httpauth's server middleware (with Config.KeepSecurityContext, which hands the
// handler the connection's context for the message encryption): a WS-Management shell that
// answers Create, Command, Receive, Signal and Delete well enough for masterzen/winrm's
// RunWithString to print a command's output and exit code. masterzen/winrm through this
// Transport runs commands on it with NTLM and Negotiate (account file), with Kerberos and
// Negotiate-with-Kerberos (tickets from a throw-away MIT KDC, skipped or failed under
// SSPI_INTEROP=require without one), with CredSSP (NTLM inside, the password delegated
// under an explicit WSMAN/* policy, refused under Windows' default one), over HTTP with
// every message sealed and over HTTPS with channel bindings the endpoint requires; and
// Debian's python3-winrm, an independent client, runs commands on the same endpoint, so
// that the endpoint is not only checked against our own client: with NTLM, sealed over
// HTTP and with its channel bindings over HTTPS; and with Kerberos (requests-kerberos over
// MIT's GSSAPI, a ticket from MIT's kinit), sealed over HTTP, unsealed over HTTPS and
// sealed inside HTTPS. Debian's pykerberos lacks the WinRM wrap function requests-kerberos
// calls to seal, so that test supplies it from pykerberos's gss_wrap_iov binding (the
// layout Windows and later pywinrm use); nor can it pass channel bindings. pywinrm's
// CredSSP transport needs requests-credssp, which Debian does not package.
//
// This package lives in its own module (github.com/gosspi/sspi/winrm), so that programs
// that do not use it do not download masterzen/winrm.
package winrm
