package gss

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/testpeers"
)

// iovPeer is MIT's initiator in testdata/mit_iov.py.
type iovPeer struct {
	t   *testing.T
	in  *json.Encoder
	out *bufio.Scanner
}

type iovReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Key   []byte `json:"key"`
	Token []byte `json:"token"`
	Data  []byte `json:"data"`
	Conf  bool   `json:"conf"`
}

func (p *iovPeer) call(req map[string]any) iovReply {
	p.t.Helper()
	if err := p.in.Encode(req); err != nil {
		p.t.Fatal(err)
	}
	if !p.out.Scan() {
		p.t.Fatalf("mit_iov.py: no answer: %v", p.out.Err())
	}
	var r iovReply
	if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
		p.t.Fatalf("mit_iov.py: %v: %s", err, p.out.Bytes())
	}
	return r
}

func startIOVPeer(t *testing.T, k *testpeers.KDC, flags uint32) (*iovPeer, []byte) {
	py := testpeers.RequireGSSPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, py, "testdata/mit_iov.py")
	cmd.Env = testpeers.Environ(t, testpeers.NTLMEnv{}, k.ServerEnv()...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	p := &iovPeer{t: t, in: json.NewEncoder(stdin), out: bufio.NewScanner(stdout)}
	p.out.Buffer(nil, 1<<20)
	r := p.call(map[string]any{"user": testpeers.KDCUser + "@" + k.Realm, "password": testpeers.KDCPassword,
		"target": "host@localhost", "flags": flags})
	if !r.OK || len(r.Key) == 0 {
		t.Fatalf("mit_iov.py: %s\n%s", r.Error, stderr.String())
	}
	return p, r.Key
}

// TestMITSignOnly: DCE/RPC protects its PDU header and security trailer without encrypting
// them (SSPI's SECBUFFER_READONLY_WITH_CHECKSUM, GSS's SIGN_ONLY). MIT's gss_wrap_iov in
// a DCE-style context, with the trailer in the header buffer, makes exactly Windows'
// layout (EC 16, RRC 28, rotation RRC+EC), which UnwrapSSPI reads; MIT's gss_unwrap_iov
// reads ours in both conventions, sealed and integrity-only.
func TestMITSignOnly(t *testing.T) {
	k := testpeers.StartKDC(t, testpeers.KDCOptions{})
	p, kb := startIOVPeer(t, k, 0x1000|testpeers.GSSMutualFlag|testpeers.GSSIntegFlag|testpeers.GSSConfFlag)
	key, err := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, kb)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCFX(key, true, true)
	hdr, trl := []byte("RPC PDU header.."), []byte("sec_trailer")
	const signOnly = 0b101
	for _, n := range []int{16, 24, 1000} {
		msg := bytes.Repeat([]byte{0x5a}, n)
		for _, conf := range []bool{true, false} {
			r := p.call(map[string]any{"op": "wrap_iov", "hdr": hdr, "data": msg, "trl": trl, "conf": conf})
			if !r.OK {
				t.Fatalf("MIT wrap_iov: %s", r.Error)
			}
			// MIT's DCE-style IOV token is Windows' EncryptMessage layout: EC 16, RRC 28,
			// rotated by RRC+EC, 76 bytes; integrity-only EC = RRC = 12, 28 bytes.
			want := []byte{0, 12, 0, 12}
			if conf {
				want = []byte{0, 16, 0, 28}
			}
			if !bytes.Equal(r.Token[4:8], want) || len(r.Token) != c.SSPITokenSize(conf, true) {
				t.Errorf("n=%d conf=%v: MIT's header buffer %d bytes, EC/RRC % x", n, conf, len(r.Token), r.Token[4:8])
			}
			d := append([]byte(nil), r.Data...)
			seq, sealed, err := c.UnwrapSSPI(r.Token, [][]byte{append([]byte(nil), hdr...), d, append([]byte(nil), trl...)}, signOnly)
			if err != nil || sealed != conf || !bytes.Equal(d, msg) {
				t.Errorf("n=%d conf=%v: MIT's wrap_iov: %v (seq %d)", n, conf, err, seq)
			}
			// Ours to MIT, in both conventions.
			tb := make([]byte, 128)
			for _, win := range []bool{false, true} {
				d = append([]byte(nil), msg...)
				used, err := c.WrapSSPI(tb, [][]byte{hdr, d, trl}, 1, WrapOptions{Seal: conf, Windows: win, SignOnly: signOnly}, bytes.Repeat([]byte{3}, 16))
				if err != nil {
					t.Fatal(err)
				}
				r = p.call(map[string]any{"op": "unwrap_iov", "token": tb[:used], "hdr": hdr, "data": d, "trl": trl})
				if !r.OK || r.Conf != conf || !bytes.Equal(r.Data, msg) {
					t.Errorf("n=%d conf=%v windows=%v: MIT's unwrap_iov of ours: %s", n, conf, win, r.Error)
				}
			}
			// The header is protected: MIT refuses ours with an altered one.
			d = append([]byte(nil), msg...)
			used, _ := c.WrapSSPI(tb, [][]byte{hdr, d, trl}, 2, WrapOptions{Seal: conf, SignOnly: signOnly}, bytes.Repeat([]byte{3}, 16))
			if r := p.call(map[string]any{"op": "unwrap_iov", "token": tb[:used], "hdr": []byte("RPC PDU header!!"), "data": d, "trl": trl}); r.OK {
				t.Errorf("n=%d conf=%v: MIT accepted an altered sign-only header", n, conf)
			}
		}
	}
}
