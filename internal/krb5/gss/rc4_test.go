package gss

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os/exec"
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/testpeers"
)

func rc4Pair(t testing.TB, kb []byte) (ini, acc *RC4) {
	k, err := krbcrypto.NewKey(krbcrypto.RC4HMAC, kb)
	if err != nil {
		t.Fatal(err)
	}
	ini, _ = NewRC4(k, false)
	acc, _ = NewRC4(k, true)
	return ini, acc
}

// TestRC4RoundTrip checks RFC 4757 tokens between our own initiator and acceptor: the
// MIC, then Wrap sealed and not, each as one token and as the SSPI split.
func TestRC4RoundTrip(t *testing.T) {
	kb := make([]byte, 16)
	rand.Read(kb)
	ini, acc := rc4Pair(t, kb)
	msg := []byte("the quick brown fox jumps")
	t.Run("mic", func(t *testing.T) { testRC4MIC(t, ini, acc, msg) })
	for _, seal := range []bool{true, false} {
		name := "wrap-integ"
		if seal {
			name = "wrap-sealed"
		}
		t.Run(name, func(t *testing.T) {
			conf := []byte("ABCDEFGH")
			testRC4Wrap(t, ini, acc, msg, seal, conf)
			testRC4WrapSSPI(t, ini, acc, msg, seal, conf)
		})
	}
}

func testRC4MIC(t *testing.T, ini, acc *RC4, msg []byte) {
	mic := ini.AppendMIC(nil, 42, msg[:3], msg[3:])
	if len(mic) != ini.MICSize() || !bytes.HasPrefix(mic, []byte{0x60, 0x23, 0x06, 0x09}) {
		t.Fatalf("MIC token %x", mic)
	}
	if seq, err := acc.VerifyMIC(mic, msg); err != nil || seq != 42 {
		t.Errorf("VerifyMIC = %d, %v", seq, err)
	}
	if _, err := ini.VerifyMIC(mic, msg); !errors.Is(err, ErrDirection) {
		t.Errorf("reflected MIC: %v", err)
	}
	for i := 13; i < len(mic); i++ {
		bad := append([]byte(nil), mic...)
		bad[i] ^= 4
		// SND_SEQ is outside the checksum (RFC 4757 7.2): an altered sequence number
		// decrypts to another number, which the caller's sequence check refuses.
		if seq, err := acc.VerifyMIC(bad, msg); err == nil && seq == 42 {
			t.Errorf("MIC byte %d altered, accepted", i)
		}
	}
}

func testRC4Wrap(t *testing.T, ini, acc *RC4, msg []byte, seal bool, conf []byte) {
	tok, err := acc.AppendWrap(nil, 7, msg, seal, conf)
	if err != nil {
		t.Fatal(err)
	}
	if seal == bytes.Contains(tok, msg) {
		t.Errorf("seal=%v: plaintext visible = %v", seal, !seal)
	}
	m, seq, sealed, err := ini.UnwrapInPlace(append([]byte(nil), tok...))
	if err != nil || seq != 7 || sealed != seal || !bytes.Equal(m, msg) {
		t.Errorf("seal=%v: Unwrap = %q %d %v %v", seal, m, seq, sealed, err)
	}
	if _, _, _, err := acc.UnwrapInPlace(append([]byte(nil), tok...)); !errors.Is(err, ErrDirection) {
		t.Errorf("reflected Wrap: %v", err)
	}
	for i := 13; i < len(tok); i++ {
		bad := append([]byte(nil), tok...)
		bad[i] ^= 2
		if _, seq, _, err := ini.UnwrapInPlace(bad); err == nil && seq == 7 {
			t.Errorf("seal=%v: Wrap byte %d altered, accepted", seal, i)
		}
	}
}

func testRC4WrapSSPI(t *testing.T, ini, acc *RC4, msg []byte, seal bool, conf []byte) {
	d := append([]byte(nil), msg...)
	tb := make([]byte, ini.SSPITokenSize())
	n, err := ini.WrapSSPI(tb, [][]byte{d[:5], d[5:]}, 9, WrapOptions{Seal: seal}, conf)
	if err != nil || n != 45 || tb[1] != 0x2b {
		t.Fatalf("WrapSSPI = %d %v %x", n, err, tb[:2])
	}
	if seq, sealed, err := acc.UnwrapSSPI(tb[:n], [][]byte{d}, 0); err != nil || seq != 9 || sealed != seal || !bytes.Equal(d, msg) {
		t.Errorf("seal=%v: UnwrapSSPI = %d %v %v %q", seal, seq, sealed, err, d)
	}
}

// impacket runs Impacket's RC4 GSS code (a real peer that talks to Windows over DCE/RPC).
func impacket(t *testing.T, req map[string]any) map[string]string {
	t.Helper()
	py := testpeers.RequirePython(t, "python3-impacket", "impacket.krb5.gssapi")
	in, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/impacket_rc4.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("impacket_rc4.py: %v: %s", err, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("impacket_rc4.py: %v: %s", err, out)
	}
	m := map[string]string{}
	for k, v := range res {
		if s, ok := v.(string); ok {
			m[k] = s
		}
	}
	return m
}

// TestRC4AgainstImpacket: our tokens are byte for byte Impacket's (same key, sequence
// number, direction and confounder), Impacket's verify and decrypt here, and ours
// decrypt there. Data lengths are multiples of 8: Impacket pads MIC data to 4 and Wrap
// data to 8 bytes (DCE/RPC alignment), which neither MIT nor this package does.
func TestRC4AgainstImpacket(t *testing.T) {
	kb := make([]byte, 16)
	rand.Read(kb)
	ini, acc := rc4Pair(t, kb)
	key := hex.EncodeToString(kb)
	for _, n := range []int{16, 64, 1000} {
		msg := make([]byte, n)
		rand.Read(msg)
		// MIC, initiator → acceptor, both ways.
		theirs := impacket(t, map[string]any{"op": "mic", "key": key, "data": hex.EncodeToString(msg), "seq": 5, "direction": "init"})
		if ours := hex.EncodeToString(ini.AppendMIC(nil, 5, msg)); ours != theirs["token"] {
			t.Errorf("n=%d MIC = %s, Impacket %s", n, ours, theirs["token"])
		}
		tokB, _ := hex.DecodeString(theirs["token"])
		if seq, err := acc.VerifyMIC(tokB, msg); err != nil || seq != 5 {
			t.Errorf("n=%d: Impacket's MIC: %d %v", n, seq, err)
		}
		// Acceptor → initiator direction.
		theirs = impacket(t, map[string]any{"op": "mic", "key": key, "data": hex.EncodeToString(msg), "seq": 6, "direction": "accept"})
		if ours := hex.EncodeToString(acc.AppendMIC(nil, 6, msg)); ours != theirs["token"] {
			t.Errorf("n=%d acceptor MIC = %s, Impacket %s", n, ours, theirs["token"])
		}
		// Sealed Wrap, DCE style.
		const conf = "QwErTyUi"
		theirs = impacket(t, map[string]any{"op": "wrap", "key": key, "data": hex.EncodeToString(msg), "seq": 11, "direction": "init", "confounder": conf})
		d := append([]byte(nil), msg...)
		tb := make([]byte, ini.SSPITokenSize())
		k, err := ini.WrapSSPI(tb, [][]byte{d}, 11, WrapOptions{Seal: true}, []byte(conf))
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(tb[:k]) != theirs["token"] || hex.EncodeToString(d) != theirs["data"] {
			t.Errorf("n=%d Wrap = %x | %x..., Impacket %s | %.32s...", n, tb[:k], d[:16], theirs["token"], theirs["data"])
		}
		back := impacket(t, map[string]any{"op": "unwrap", "key": key, "data": hex.EncodeToString(d), "token": hex.EncodeToString(tb[:k]), "seq": 11, "direction": "init"})
		if back["data"] != hex.EncodeToString(msg) {
			t.Errorf("n=%d: Impacket decrypts our Wrap to %.32s...", n, back["data"])
		}
		tokB, _ = hex.DecodeString(theirs["token"])
		dataB, _ := hex.DecodeString(theirs["data"])
		if seq, sealed, err := acc.UnwrapSSPI(tokB, [][]byte{dataB}, 0); err != nil || seq != 11 || !sealed || !bytes.Equal(dataB, msg) {
			t.Errorf("n=%d: Impacket's Wrap: %d %v %v", n, seq, sealed, err)
		}
	}
}

func FuzzRC4Unwrap(f *testing.F) {
	ini, acc := rc4Pair(f, make([]byte, 16))
	tok, _ := ini.AppendWrap(nil, 1, []byte("hello"), true, []byte("12345678"))
	f.Add(tok, 45)
	f.Add(ini.AppendMIC(nil, 1, []byte("x")), 37)
	f.Fuzz(func(t *testing.T, tok []byte, cut int) {
		c := append([]byte(nil), tok...)
		_, _, _, _ = acc.UnwrapInPlace(c)
		if cut < 0 || cut > len(tok) {
			cut = len(tok)
		}
		c = append(c[:0], tok...)
		_, _, _ = acc.UnwrapSSPI(c[:cut], [][]byte{c[cut:]}, 0)
		_, _ = acc.VerifyMIC(tok, tok)
	})
}
