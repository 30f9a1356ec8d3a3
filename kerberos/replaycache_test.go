package kerberos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// An attacker who captured an AP-REQ sends it to a second credentials handle of the same
// process (another listener, or a handle acquired per connection): it must be refused.
func TestReplayAcrossHandles(t *testing.T) {
	k := getKDC(t)
	cli := sspi.NewClientContext(testClientCreds(t, k, testPassword), sspi.ClientOptions{Target: testSPN})
	defer cli.Close()
	apreq, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	first := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
	defer first.Close()
	if _, err := first.Step(apreq); err != nil {
		t.Fatal(err)
	}
	second := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
	defer second.Close()
	_, err = second.Step(apreq)
	if !errors.Is(err, sspi.ErrLogonDenied) || !errors.Is(err, ErrReplay) {
		t.Fatalf("replay to a second handle: got %v, want SEC_E_LOGON_DENIED and ErrReplay", err)
	}
	if !strings.Contains(err.Error(), "alice@"+testRealm) || !strings.Contains(err.Error(), testSPN+"@"+testRealm) {
		t.Errorf("the cause does not name the client and the service: %v", err)
	}
}

// A server whose cache is full refuses new logons with SEC_E_INSUFFICIENT_MEMORY and a
// cause naming the replay cache, yet still reports a replay as a replay.
func TestReplayCacheFullRefusal(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{ReplayCache: NewMemoryReplayCache(1)})
	apreq := func() []byte {
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
		t.Cleanup(func() { cli.Close() })
		tok, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	step := func(tok []byte) error {
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer srv.Close()
		_, err := srv.Step(tok)
		return err
	}
	first := apreq()
	if err := step(first); err != nil {
		t.Fatal(err)
	}
	err := step(apreq())
	if !errors.Is(err, sspi.ErrInsufficientMemory) || !errors.Is(err, ErrReplayCacheFull) || !strings.Contains(err.Error(), "replay cache is full") {
		t.Errorf("full cache: got %v, want SEC_E_INSUFFICIENT_MEMORY naming the replay cache", err)
	}
	if err := step(first); !errors.Is(err, ErrReplay) {
		t.Errorf("replay into a full cache: got %v, want ErrReplay", err)
	}
}

// Handles with different clock skews share the process's cache: an authenticator accepted
// by a 5-minute handle must still be refused by a 1-hour handle 30 minutes later.
func TestReplayCacheKeepsForLargestSkew(t *testing.T) {
	kt := keytab.New()
	if err := kt.AddEntry("host/localhost", testRealm, "pw", fixedTime, 1, 18); err != nil {
		t.Fatal(err)
	}
	ktData, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok := validAPReq(t, kt)
	step := func(skew, later time.Duration) error {
		sc := acquire(t, sspi.CredInbound, &ServerConfig{KeytabData: ktData, MaxClockSkew: skew,
			Time: func() time.Time { return fixedTime.Add(later) }})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer srv.Close()
		_, err := srv.Step(tok)
		return err
	}
	_ = acquire(t, sspi.CredInbound, &ServerConfig{KeytabData: ktData, MaxClockSkew: time.Hour})
	if err := step(5*time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if err := step(time.Hour, 30*time.Minute); !errors.Is(err, ErrReplay) {
		t.Errorf("replay to a handle with a larger skew: %v", err)
	}
}

// The open-addressing set agrees with a Go map through inserts and removals that wrap
// around the table, grow it and shrink it.
func TestKeySet(t *testing.T) {
	s := newKeySet()
	s.mul, s.xor = 1<<58|1, 0 // keys 1..63 land on their own slots: runs wrap around the end
	ref := map[uint64]bool{}
	rng := uint64(1)
	for i := range 200000 {
		rng = rng*6364136223846793005 + 1442695040888963407
		k := rng>>40 | 1
		if i < 2000 {
			k = uint64(i%80) + 1
		}
		if rng>>20&3 == 0 || len(ref) > 5000 {
			for r := range ref {
				s.remove(r)
				delete(ref, r)
				break
			}
			s.remove(k)
			delete(ref, k)
		} else if slot, ok := s.find(k); ok != ref[k] {
			t.Fatalf("step %d: key %d present %v, want %v", i, k, ok, ref[k])
		} else if !ok {
			s.put(slot, k)
			ref[k] = true
		}
		if i%997 == 0 {
			s.shrink()
		}
		if s.n != len(ref) {
			t.Fatalf("step %d: %d keys, want %d", i, s.n, len(ref))
		}
	}
	for k := range ref {
		if _, ok := s.find(k); !ok {
			t.Fatalf("key %d lost", k)
		}
	}
	for k := range ref {
		s.remove(k)
	}
	s.shrink()
	if s.n != 0 || len(s.slots) > 1<<14 {
		t.Errorf("%d keys in %d slots after removing all", s.n, len(s.slots))
	}
}

func testKey(i uint64) ReplayKey {
	var k ReplayKey
	binary.BigEndian.PutUint64(k[:], i*0x9e3779b97f4a7c15+1)
	return k
}

func TestMemoryReplayCacheExpiry(t *testing.T) {
	c := NewMemoryReplayCache(0)
	t0 := fixedTime.Add(123 * time.Millisecond)
	exp := t0.Add(5 * time.Minute)
	steps := []struct {
		at, expires time.Time
		key         ReplayKey
		fresh       bool
	}{
		{t0, exp, testKey(1), true},
		{t0, exp, testKey(1), false},
		{t0.Add(time.Minute), exp, testKey(1), false},
		{exp, exp, testKey(1), false}, // still within the skew at exactly ctime+skew
		{exp, exp.Add(time.Minute), testKey(2), true},
		{exp.Add(time.Second), exp.Add(time.Second), testKey(1), true}, // forgotten, recorded again
		{exp.Add(time.Second), exp.Add(time.Second), testKey(2), false},
		{exp.Add(time.Minute), exp.Add(time.Minute), testKey(2), false},
		{exp.Add(time.Minute + time.Second), exp.Add(2 * time.Minute), testKey(2), true},
	}
	for i, s := range steps {
		if fresh, err := c.Add(s.key, s.at, s.expires); err != nil || fresh != s.fresh {
			t.Errorf("step %d: fresh %v, %v; want %v", i, fresh, err, s.fresh)
		}
	}
	// Everything is gone after the window, even after a long pause.
	if _, err := c.Add(testKey(3), fixedTime.Add(24*time.Hour), fixedTime.Add(24*time.Hour+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := c.Len(); n != 1 {
		t.Errorf("%d entries after a day, want 1", n)
	}
	// An entry that has already expired is not stored.
	if fresh, _ := c.Add(testKey(4), fixedTime.Add(48*time.Hour), fixedTime); !fresh || c.Len() != 0 {
		t.Errorf("expired entry: fresh %v, %d entries", fresh, c.Len())
	}
}

// After the clock goes back, an entry is remembered until its expiry by that clock.
func TestMemoryReplayCacheClockBack(t *testing.T) {
	c := NewMemoryReplayCache(0)
	if _, err := c.Add(testKey(1), fixedTime.Add(time.Hour), fixedTime.Add(time.Hour+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := c.Add(testKey(2), fixedTime, fixedTime.Add(time.Minute)); !fresh {
		t.Fatal("not fresh")
	}
	if fresh, _ := c.Add(testKey(2), fixedTime.Add(30*time.Second), fixedTime.Add(2*time.Minute)); fresh {
		t.Error("an entry filed after the clock went back was forgotten early")
	}
	if fresh, _ := c.Add(testKey(1), fixedTime.Add(30*time.Second), fixedTime.Add(2*time.Minute)); fresh {
		t.Error("an entry filed before the clock went back was forgotten early")
	}
}

func TestMemoryReplayCacheCap(t *testing.T) {
	c := NewMemoryReplayCache(3)
	now := fixedTime
	for i := range uint64(3) {
		if fresh, err := c.Add(testKey(i), now, now.Add(time.Minute)); !fresh || err != nil {
			t.Fatalf("%d: %v %v", i, fresh, err)
		}
	}
	fresh, err := c.Add(testKey(3), now, now.Add(time.Minute))
	if fresh || !errors.Is(err, ErrReplayCacheFull) || !strings.Contains(err.Error(), "limit of 3") {
		t.Errorf("full: %v, %v", fresh, err)
	}
	if fresh, err := c.Add(testKey(0), now, now.Add(time.Minute)); fresh || err != nil {
		t.Errorf("replay into a full cache: %v, %v", fresh, err)
	}
	later := now.Add(2 * time.Minute)
	if fresh, err := c.Add(testKey(3), later, later.Add(time.Minute)); !fresh || err != nil {
		t.Errorf("after expiry: %v, %v", fresh, err)
	}
}

// Many goroutines record overlapping keys: each key is fresh exactly once.
func TestReplayCacheConcurrent(t *testing.T) {
	fc, err := OpenFileReplayCache(t.TempDir()+"/rcache", &FileReplayCacheConfig{NoSync: true, Time: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	for name, c := range map[string]ReplayCache{"memory": NewMemoryReplayCache(0), "file": fc} {
		t.Run(name, func(t *testing.T) {
			const keys, workers = 2000, 8
			var fresh [keys]atomic.Int32
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range keys {
						j := (i*7 + w*131) % keys
						now := fixedTime.Add(time.Duration(i) * time.Millisecond)
						ok, err := c.Add(testKey(uint64(j)), now, now.Add(time.Hour))
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							fresh[j].Add(1)
						}
					}
				}()
			}
			wg.Wait()
			for i := range fresh {
				if n := fresh[i].Load(); n != 1 {
					t.Fatalf("key %d fresh %d times", i, n)
				}
			}
		})
	}
}

// BenchmarkReplayCacheAdd measures one insert into a cache holding `live` authenticators
// in a steady state: the clock advances window/live per insert, so about one entry
// expires per insert, as on a server taking live/window logons a second.
func BenchmarkReplayCacheAdd(b *testing.B) {
	const window = 10 * time.Minute
	for _, live := range []int{1, 1000, 10000, 60000, 1000000} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := NewMemoryReplayCache(2 * live)
			step := window / time.Duration(live)
			now := fixedTime
			for i := range live {
				t := now.Add(time.Duration(i) * step)
				if _, err := c.Add(testKey(uint64(i)), now, t); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ResetTimer()
			for i := range b.N {
				now = now.Add(step)
				if fresh, err := c.Add(testKey(uint64(live+i)), now, now.Add(window)); !fresh || err != nil {
					b.Fatal(fresh, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(live), "heapB/entry")
			if n := c.Len(); n < live*9/10 || n > live*11/10+2 {
				b.Fatalf("%d live entries, want about %d", n, live)
			}
		})
	}
}
