package kdctest

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// recorder captures the requests our client sends, as fuzzing seeds.
type recorder struct {
	mu   sync.Mutex
	reqs [][]byte
}

// seedRequests returns real requests for k: AS-REQs with and without preauthentication
// and a TGS-REQ, as our client sends them (over TCP, to record them whole).
func seedRequests(f *testing.F, k *KDC) [][]byte {
	cfg, err := krbconf.Parse([]byte(k.Config() + "[libdefaults]\n\tudp_preference_limit = 1\n\tforwardable = true\n\trenew_lifetime = 1d\n"))
	if err != nil {
		f.Fatal(err)
	}
	rec := &recorder{}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &recordConn{Conn: c, rec: rec}, nil
	}
	c, err := krbclient.NewWithPassword(&krbclient.Options{Config: cfg, Dial: dial}, krbclient.Principal{Name: wire.PrincipalName{Type: 1, Components: []string{"alice"}}, Realm: k.Realm()}, "pw")
	if err != nil {
		f.Fatal(err)
	}
	defer c.Destroy()
	ctx := context.Background()
	if _, err := c.ServiceTicket(ctx, krbclient.Principal{Name: wire.PrincipalName{Type: 3, Components: []string{"host", "localhost"}}, Realm: k.Realm()}, nil); err != nil {
		f.Fatal(err)
	}
	if _, err := c.ForwardedTGT(ctx); err != nil {
		f.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.reqs
}

type recordConn struct {
	net.Conn
	rec *recorder
}

func (c *recordConn) Write(b []byte) (int, error) {
	if len(b) > 4 {
		c.rec.mu.Lock()
		c.rec.reqs = append(c.rec.reqs, bytes.Clone(b[4:]))
		c.rec.mu.Unlock()
	}
	return c.Conn.Write(b)
}

// FuzzHandle: whatever a client sends, the KDC answers with a reply that decodes (a
// KRB-ERROR, an AS-REP or a TGS-REP) or nothing, and never panics. Seeds: real requests
// from our client and MIT's recorded ones.
func FuzzHandle(f *testing.F) {
	k, err := New(&Options{Realm: "FUZZ.TEST", Time: func() time.Time { return time.Now() }})
	if err != nil {
		f.Fatal(err)
	}
	defer k.Close()
	if err := k.AddUser("alice", "pw"); err != nil {
		f.Fatal(err)
	}
	if _, err := k.AddService("host/localhost"); err != nil {
		f.Fatal(err)
	}
	for _, r := range seedRequests(f, k) {
		f.Add(r)
	}
	for _, name := range []string{"mit-as-req.der", "mit-as-req-nopreauth.der", "gokrb5-tgs-req.der", "mit-tgs-req-fast.der"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "krb5", "wire", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		reply := k.handle(b)
		if reply == nil {
			return
		}
		switch wire.MessageType(reply) {
		case wire.MsgKRBError:
			var ke wire.KRBError
			if err := ke.Unmarshal(reply); err != nil {
				t.Fatalf("the KDC's KRB-ERROR does not decode: %v", err)
			}
		case wire.MsgASRep, wire.MsgTGSRep:
			var rep wire.KDCRep
			if err := rep.Unmarshal(reply); err != nil {
				t.Fatalf("the KDC's reply does not decode: %v", err)
			}
		default:
			t.Fatalf("reply of type %d", wire.MessageType(reply))
		}
	})
}
