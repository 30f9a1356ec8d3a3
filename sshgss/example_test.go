package sshgss_test

import (
	"fmt"
	"log"
	"net"

	"golang.org/x/crypto/ssh"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/sshgss"
)

// A Go SSH client logging in to OpenSSH's sshd with a Kerberos ticket: the password
// gets a TGT from the realm's KDC, the Client gets a ticket for host/server.example.com.
func Example_client() {
	cred, _, err := sspi.AcquireCredentialsHandle("", sshgss.Kerberos, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: "alice@EXAMPLE.COM", Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	gss, err := sshgss.NewClient(cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	client, err := ssh.Dial("tcp", "server.example.com:22", &ssh.ClientConfig{
		User:            "alice",
		Auth:            []ssh.AuthMethod{ssh.GSSAPIWithMICAuthMethod(gss, "server.example.com")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // use ssh.FixedHostKey or known_hosts in real code
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	out, err := sess.Output("id")
	fmt.Printf("%s %v\n", out, err)
}

// A Go SSH server that lets Kerberos users in (ssh -K, PuTTY, Windows' OpenSSH): the
// keytab holds host/server.example.com's key; each connection gets its own Server.
func Example_server() {
	cred, _, err := sspi.AcquireCredentialsHandle("", sshgss.Kerberos, sspi.CredInbound, nil,
		&kerberos.ServerConfig{Keytab: "/etc/krb5.keytab"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	hostKey, err := ssh.ParsePrivateKey(loadHostKey())
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", ":2222")
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		gss, err := sshgss.NewServer(cred)
		if err != nil {
			log.Fatal(err)
		}
		config := &ssh.ServerConfig{GSSAPIWithMICConfig: &ssh.GSSAPIWithMICConfig{
			Server: gss,
			// GSSAPI says who the user is; this says which account they may use.
			AllowLogin: func(conn ssh.ConnMetadata, srcName string) (*ssh.Permissions, error) {
				if srcName != conn.User()+"@EXAMPLE.COM" {
					return nil, fmt.Errorf("%s may not log in as %s", srcName, conn.User())
				}
				return nil, nil
			},
		}}
		config.AddHostKey(hostKey)
		go func() {
			conn, chans, reqs, err := ssh.NewServerConn(c, config)
			if err != nil {
				c.Close()
				return
			}
			defer conn.Close()
			go ssh.DiscardRequests(reqs)
			for nc := range chans {
				nc.Reject(ssh.Prohibited, "this example serves no channels")
			}
		}()
	}
}

func loadHostKey() []byte { return nil }
