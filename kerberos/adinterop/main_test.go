package adinterop

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	_ "github.com/gosspi/sspi/kerberos"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedADDC()
	os.Exit(code)
}

// Accounts every test of the binary shares, added once to the DC.
const (
	userName = "aduser"
	userPass = "User-Passw0rd1!"

	// mixedName's salt is "SAMDOM.TEST" + "AdMixed": AD keeps the case the account was
	// created with, whatever case the user logs on with.
	mixedName = "AdMixed"
	mixedPass = "Mixed-Passw0rd1!"

	svcName = "adsvc"
	svcPass = "Svc-Passw0rd1!"
	svcSPN  = "host/adsvc.samdom.test"

	rc4Name = "adrc4"
	rc4Pass = "Rc4-Passw0rd1!"
	rc4SPN  = "host/adrc4.samdom.test"

	disabledName = "addisabled"
	expiredName  = "adexpired"
	mustChgName  = "admustchange"
	otherPass    = "Other-Passw0rd1!"

	// upnName logs on with an enterprise name in another UPN suffix.
	upnName   = "adupn"
	upnSuffix = "upn.example"
)

var (
	setupOnce sync.Once
	setupErr  string
	keytabs   map[string]string
)

// domain returns the test binary's DC with the shared accounts added (on the first call).
func domain(t *testing.T) *testpeers.ADDC {
	t.Helper()
	d := testpeers.SharedADDC(t)
	setupOnce.Do(func() {
		setupErr = "setting up the accounts failed in an earlier test"
		begin := time.Now()
		defer func() {
			t.Logf("AD DC: template provisioning %v (0: cached), waited for another binary's DC %v, start %v, accounts %v",
				d.Provisioned, d.Waited, d.Started, time.Since(begin))
		}()
		d.AddAccounts(t,
			testpeers.ADAccount{Name: userName, Password: userPass},
			testpeers.ADAccount{Name: mixedName, Password: mixedPass},
			testpeers.ADAccount{Name: svcName, Password: svcPass, SPNs: []string{svcSPN}},
			testpeers.ADAccount{Name: rc4Name, Password: rc4Pass, SPNs: []string{rc4SPN}, EncTypes: testpeers.EncTypeRC4},
			testpeers.ADAccount{Name: disabledName, Password: otherPass, Disabled: true},
			// accountExpires is a FILETIME; 1 is the first tick of 1601.
			testpeers.ADAccount{Name: expiredName, Password: otherPass, Attrs: []string{"accountExpires: 1"}},
			// pwdLastSet 0: the password must be changed at the next logon.
			testpeers.ADAccount{Name: mustChgName, Password: otherPass, Attrs: []string{"pwdLastSet: 0"}},
			testpeers.ADAccount{Name: upnName, Password: otherPass, UPN: upnName + "@" + upnSuffix},
		)
		kt := d.ExportKeytab(t, svcSPN, rc4SPN)
		keytabs = map[string]string{svcSPN: kt, rc4SPN: kt}
		setupErr = ""
	})
	if setupErr != "" {
		t.Fatal(setupErr)
	}
	return d
}

func acquire(t *testing.T, use sspi.CredentialUse, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", use, nil, authData, nil)
	if err != nil {
		t.Fatalf("AcquireCredentialsHandle(%T): %v", authData, err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// connect runs a client context with cc and opts against our acceptor with sc to the end;
// both contexts close when the test ends.
func connect(t *testing.T, cc, sc *sspi.Credentials, opts sspi.ClientOptions) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	cli := sspi.NewClientContext(cc, opts)
	t.Cleanup(func() { cli.Close() })
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	t.Cleanup(func() { srv.Close() })
	var in []byte
	for i := 0; i < 4 && !(cli.Established() && srv.Established()); i++ {
		out, err := cli.Step(in)
		if err != nil {
			t.Fatalf("InitializeSecurityContext: %v", err)
		}
		if len(out) == 0 {
			break
		}
		if in, err = srv.Step(out); err != nil {
			t.Fatalf("AcceptSecurityContext: %v", err)
		}
	}
	if !cli.Established() || !srv.Established() {
		t.Fatalf("handshake incomplete: client %v, server %v", cli.Established(), srv.Established())
	}
	return cli, srv
}

type session interface {
	Wrap([]byte) ([]byte, error)
	Unwrap([]byte) ([]byte, error)
	Sign([]byte) ([]byte, error)
	Verify(msg, sig []byte) error
}

// exchange seals and signs a message each way and returns the client's sealed token.
func exchange(t *testing.T, cli, srv session) []byte {
	t.Helper()
	var first []byte
	for i, pair := range [][2]session{{cli, srv}, {srv, cli}} {
		msg := []byte("a message over an AD ticket, direction " + string(rune('0'+i)))
		w, err := pair[0].Wrap(msg)
		if err != nil {
			t.Fatalf("Wrap: %v", err)
		}
		if first == nil {
			first = w
		}
		got, err := pair[1].Unwrap(w)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Unwrap: %q, %v", got, err)
		}
		sig, err := pair[0].Sign(msg)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if err := pair[1].Verify(msg, sig); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		w[len(w)-1] ^= 1
		if _, err := pair[1].Unwrap(w); !errors.Is(err, sspi.ErrMessageAltered) && !errors.Is(err, sspi.ErrOutOfSequence) {
			t.Fatalf("a flipped bit: %v, want SEC_E_MESSAGE_ALTERED", err)
		}
	}
	return first
}

// wantStatus checks that err carries status and that its text says every one of causes.
func wantStatus(t *testing.T, err error, status sspi.Status, causes ...string) {
	t.Helper()
	if !errors.Is(err, status) {
		t.Fatalf("got %v, want %v", err, status)
	}
	for _, c := range causes {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c)) {
			t.Errorf("%q does not say %q", err, c)
		}
	}
}
