package sshgss

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedKDC()
	testkdc.StopShared()
	os.Exit(code)
}

// sshUser is the Kerberos user every test logs in as.
const sshUser = testpeers.KDCUser

// ownKDC is the package's in-process KDC (kerberos/kdctest), for our client against our
// server: alice, and host/localhost (plus host/otherhost, for a ticket the server has no key
// for) in its keytab. It needs nothing installed.
func ownKDC(t *testing.T) *testkdc.KDC {
	t.Helper()
	return testkdc.Shared(t, testpeers.KDCOptions{Services: []string{"host/localhost", "host/otherhost"}})
}

// sharedKDC is the package's MIT KDC, for OpenSSH (MIT's GSSAPI, MIT's kinit): alice, and
// host/localhost (plus host/otherhost, for a ticket the server has no key for) in its keytab.
func sharedKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an MIT KDC")
	}
	return testpeers.SharedKDC(t, testpeers.KDCOptions{
		Services: []string{"host/localhost", "host/otherhost"},
	})
}

func clientCred(t *testing.T, kdc *testpeers.KDC) *sspi.Credentials {
	t.Helper()
	return clientCredConf(t, kdc, kdc.Krb5Conf)
}

// delegatingCred is alice's credentials with a forwardable TGT (krb5.conf's forwardable =
// true), for delegation; the KDC marks host/localhost OK-AS-DELEGATE, so a client that
// delegates only to services the realm trusts (as Windows does) delegates to it.
func delegatingCred(t *testing.T, kdc *testpeers.KDC) *sspi.Credentials {
	t.Helper()
	conf, err := os.ReadFile(kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "krb5.conf")
	fwd := strings.Replace(string(conf), "[libdefaults]", "[libdefaults]\n\tforwardable = true", 1)
	if err := os.WriteFile(path, []byte(fwd), 0o644); err != nil {
		t.Fatal(err)
	}
	kdc.Kadmin(t, "modprinc +ok_as_delegate host/localhost")
	return clientCredConf(t, kdc, path)
}

func clientCredConf(t *testing.T, kdc *testpeers.KDC, conf string) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", Kerberos, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: kdc.Principal(sshUser), Password: testpeers.KDCPassword, Config: conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

func serverCred(t *testing.T, keytab string) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", Kerberos, sspi.CredInbound, nil,
		&kerberos.ServerConfig{Keytab: keytab}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

func newHostKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// goServer is an x/crypto/ssh server on a loopback port that authenticates with
// gssapi-with-mic only, through a fresh Server per connection, and answers an "exec"
// request with "<principal> ran <command>".
type goServer struct {
	addr    string
	hostKey ssh.Signer

	mu     sync.Mutex
	logins []string // srcName of every AllowLogin call
	// delegated says, for each AllowLogin call with a *Server, whether the client delegated.
	delegated []bool
	// afterLogin, when set before the first connection, runs in AllowLogin with the
	// connection's Server.
	afterLogin func(*Server) error
	// results receives NewServerConn's result of every connection (nil when it logged in).
	results chan error
}

// startGoServer starts the server; newServer makes the GSSAPIServer of each connection
// (nil: a fresh Server over cred each time).
func startGoServer(t *testing.T, cred *sspi.Credentials, newServer func() ssh.GSSAPIServer) *goServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &goServer{addr: ln.Addr().String(), hostKey: newHostKey(t), results: make(chan error, 100)}
	if newServer == nil {
		newServer = func() ssh.GSSAPIServer {
			srv, err := NewServer(cred)
			if err != nil {
				panic(err)
			}
			return srv
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			gss := newServer()
			config := &ssh.ServerConfig{GSSAPIWithMICConfig: &ssh.GSSAPIWithMICConfig{
				Server: gss,
				AllowLogin: func(conn ssh.ConnMetadata, srcName string) (*ssh.Permissions, error) {
					return s.allowLogin(conn, srcName, gss)
				},
			}}
			config.AddHostKey(s.hostKey)
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c, config)
			}()
		}
	}()
	return s
}

// allowLogin lets a principal in as the user of its name, and checks that the
// connection's Server still holds the established context then (x/crypto deletes it
// after AllowLogin).
func (s *goServer) allowLogin(conn ssh.ConnMetadata, srcName string, gss ssh.GSSAPIServer) (*ssh.Permissions, error) {
	s.mu.Lock()
	s.logins = append(s.logins, srcName)
	s.mu.Unlock()
	if srv, ok := gss.(*Server); ok {
		ctx := srv.Context()
		if ctx == nil || !ctx.Established() {
			return nil, errors.New("AllowLogin: the Server holds no established context")
		}
		s.mu.Lock()
		s.delegated = append(s.delegated, ctx.Attributes().Has(sspi.ASCRetDelegate))
		s.mu.Unlock()
		if s.afterLogin != nil {
			if err := s.afterLogin(srv); err != nil {
				return nil, err
			}
		}
	}
	if srcName != conn.User()+"@"+testpeers.KDCRealm {
		return nil, fmt.Errorf("%s may not log in as %s", srcName, conn.User())
	}
	return &ssh.Permissions{Extensions: map[string]string{"principal": srcName}}, nil
}

func (s *goServer) serve(c net.Conn, config *ssh.ServerConfig) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(testpeers.DefaultTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, config)
	s.results <- err
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go s.session(ch, creqs, conn.Permissions.Extensions["principal"])
	}
}

// session answers the first "exec" request and closes the channel with exit status 0.
func (s *goServer) session(ch ssh.Channel, reqs <-chan *ssh.Request, principal string) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		fmt.Fprintf(ch, "%s ran %s\n", principal, payload.Command)
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
		return
	}
}

// result waits for the outcome of the next connection's authentication.
func (s *goServer) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.results:
		return err
	case <-time.After(testpeers.DefaultTimeout):
		t.Fatal("the server reported no connection")
		return nil
	}
}

func (s *goServer) delegations() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.delegated...)
}

func (s *goServer) loginNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logins...)
}

// runCommand logs in to addr as user with auth and runs command, returning its output.
func runCommand(addr, user string, auth ssh.AuthMethod, hostKey ssh.PublicKey, command string) (string, error) {
	callback := ssh.InsecureIgnoreHostKey()
	if hostKey != nil {
		callback = ssh.FixedHostKey(hostKey)
	}
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{auth}, HostKeyCallback: callback, Timeout: testpeers.DefaultTimeout,
	})
	if err != nil {
		return "", err
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(command)
	return string(out), err
}
