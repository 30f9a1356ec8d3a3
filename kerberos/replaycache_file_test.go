package kerberos

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

func openFileCache(t *testing.T, path string, cfg *FileReplayCacheConfig) *FileReplayCache {
	t.Helper()
	c, err := OpenFileReplayCache(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustAdd(t *testing.T, c ReplayCache, k ReplayKey, now time.Time, want bool) {
	t.Helper()
	fresh, err := c.Add(k, now, now.Add(5*time.Minute))
	if err != nil || fresh != want {
		t.Fatalf("Add: fresh %v, %v; want %v", fresh, err, want)
	}
}

// A server restarted over the same replay cache file refuses an AP-REQ accepted before.
func TestFileReplayCacheRestartKDC(t *testing.T) {
	k := getKDC(t)
	path := filepath.Join(t.TempDir(), "rcache")
	cli := sspi.NewClientContext(testClientCreds(t, k, testPassword), sspi.ClientOptions{Target: testSPN})
	defer cli.Close()
	apreq, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := openFileCache(t, path, nil)
	srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{ReplayCache: fc}), sspi.ServerOptions{})
	defer srv.Close()
	if _, err := srv.Step(apreq); err != nil {
		t.Fatal(err)
	}
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	// The restarted server: a new cache over the same file, a new handle.
	fc2 := openFileCache(t, path, nil)
	srv2 := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{ReplayCache: fc2}), sspi.ServerOptions{})
	defer srv2.Close()
	if _, err := srv2.Step(apreq); !errors.Is(err, sspi.ErrLogonDenied) || !errors.Is(err, ErrReplay) {
		t.Fatalf("replay after restart: got %v, want ErrReplay", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestFileReplayCacheReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcache")
	c := openFileCache(t, path, nil)
	mustAdd(t, c, testKey(1), fixedTime, true)
	mustAdd(t, c, testKey(1), fixedTime, false)
	mustAdd(t, c, testKey(2), fixedTime, true)
	c.Close()
	if _, err := c.Add(testKey(3), fixedTime, fixedTime.Add(time.Minute)); err == nil {
		t.Error("Add after Close succeeded")
	}
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: fixedNow})
	mustAdd(t, c, testKey(1), fixedTime, false)
	mustAdd(t, c, testKey(2), fixedTime, false)
	mustAdd(t, c, testKey(3), fixedTime, true)
	c.Close()
	// Ten minutes later every record has expired; the file is rewritten empty.
	later := fixedTime.Add(10 * time.Minute)
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: func() time.Time { return later }})
	if n := c.Len(); n != 0 {
		t.Errorf("%d entries after expiry", n)
	}
	if fi, _ := os.Stat(path); fi.Size() != replayHeaderSize {
		t.Errorf("file of %d bytes after dropping expired records", fi.Size())
	}
	mustAdd(t, c, testKey(1), later, true)
}

// A crash while a record was being written leaves a partial last record: it is ignored,
// the file is cut back, and later records line up.
func TestFileReplayCacheTruncatedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcache")
	c := openFileCache(t, path, &FileReplayCacheConfig{NoSync: true})
	for i := range uint64(3) {
		mustAdd(t, c, testKey(i), fixedTime, true)
	}
	c.Close()
	b, _ := os.ReadFile(path)
	if len(b) != replayHeaderSize+3*replayRecordSize {
		t.Fatalf("file of %d bytes", len(b))
	}
	var r [replayRecordSize]byte
	putReplayRecord(r[:], keyBits(testKey(9)), fixedTime.Unix()+600)
	writeFile(t, path, string(append(b, r[:7]...))) // record 9 cut short by the crash
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: fixedNow})
	for i := range uint64(3) {
		mustAdd(t, c, testKey(i), fixedTime, false)
	}
	mustAdd(t, c, testKey(9), fixedTime, true)
	c.Close()
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: fixedNow})
	mustAdd(t, c, testKey(9), fixedTime, false)
	if n := c.Len(); n != 4 {
		t.Errorf("%d entries, want 4", n)
	}
}

// A record with a wrong checksum is skipped; the others are kept.
func TestFileReplayCacheDamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcache")
	c := openFileCache(t, path, nil)
	for i := range uint64(3) {
		mustAdd(t, c, testKey(i), fixedTime, true)
	}
	c.Close()
	b, _ := os.ReadFile(path)
	b[replayHeaderSize+replayRecordSize+3] ^= 0x40 // record of key 1
	writeFile(t, path, string(b))
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: fixedNow})
	mustAdd(t, c, testKey(0), fixedTime, false)
	mustAdd(t, c, testKey(2), fixedTime, false)
	mustAdd(t, c, testKey(1), fixedTime, true)
}

func TestFileReplayCacheRefusals(t *testing.T) {
	dir := t.TempDir()
	notOurs := filepath.Join(dir, "notours")
	writeFile(t, notOurs, "# a configuration file, not a replay cache\n")
	groupWritable := filepath.Join(dir, "gw")
	writeFile(t, groupWritable, "")
	if err := os.Chmod(groupWritable, 0o620); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	writeFile(t, short, replayFileMagic)
	newer := filepath.Join(dir, "newer")
	h := replayFileHeader()
	h[11] = 2
	writeFile(t, newer, string(h))
	full := filepath.Join(dir, "full")
	c := openFileCache(t, full, nil)
	for i := range uint64(3) {
		mustAdd(t, c, testKey(i), fixedTime, true)
	}
	c.Close()
	for _, tc := range []struct {
		path string
		cfg  *FileReplayCacheConfig
		want string
	}{
		{notOurs, nil, "not a replay cache file"},
		{groupWritable, nil, "others may write it"},
		{fifo, nil, "not a regular file"},
		{short, nil, "shorter than the header"},
		{newer, nil, "version 2"},
		{full, &FileReplayCacheConfig{MaxEntries: 2, Time: fixedNow}, "replay cache is full"},
	} {
		c, err := OpenFileReplayCache(tc.path, tc.cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: opened", filepath.Base(tc.path))
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
	if b, _ := os.ReadFile(notOurs); !bytes.HasPrefix(b, []byte("# a configuration")) {
		t.Error("a file that is not a replay cache was overwritten")
	}
}

// One file, one owner: a second cache over the same file is refused until the first closes.
func TestFileReplayCacheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcache")
	c := openFileCache(t, path, nil)
	if c2, err := OpenFileReplayCache(path, nil); err == nil {
		c2.Close()
		t.Fatal("a second cache opened the same file")
	} else if !errors.Is(err, errReplayFileBusy) {
		t.Errorf("second open: %v", err)
	}
	c.Close()
	openFileCache(t, path, nil)
}

// The file is compacted once it holds more than twice the live entries.
func TestFileReplayCacheCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcache")
	c := openFileCache(t, path, &FileReplayCacheConfig{NoSync: true})
	now := fixedTime
	n := 3 * replayCompactMin
	for i := range n {
		now = now.Add(100 * time.Millisecond) // 5-minute entries: about 3,000 live
		mustAdd(t, c, testKey(uint64(i)), now, true)
	}
	fi, _ := os.Stat(path)
	if recs := (fi.Size() - replayHeaderSize) / replayRecordSize; recs >= int64(2*replayCompactMin) || recs < int64(c.Len()) {
		t.Errorf("%d records in the file after %d adds with %d live", recs, n, c.Len())
	}
	c.Close()
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: func() time.Time { return now }})
	mustAdd(t, c, testKey(uint64(n-1)), now, false)
	mustAdd(t, c, testKey(0), now, true)
}

// FuzzReadReplayFile: the file parser never panics, reads whole records only, and reads
// back what was written.
func FuzzReadReplayFile(f *testing.F) {
	valid := replayFileHeader()
	for i := range uint64(3) {
		var r [replayRecordSize]byte
		putReplayRecord(r[:], i+1, int64(i)*1000)
		valid = append(valid, r[:]...)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	f.Add(valid[:10])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		st, err := readReplayFile(bytes.NewReader(b), func(k uint64, until int64) error {
			n++
			if k == 0 {
				t.Fatal("key 0 returned")
			}
			return nil
		})
		if err != nil {
			return
		}
		if n != st.records || st.records+st.bad > (len(b)-replayHeaderSize)/replayRecordSize+1 {
			t.Fatalf("%+v from %d bytes", st, len(b))
		}
		if !st.empty && replayHeaderSize+(st.records+st.bad)*replayRecordSize+st.tail != len(b) {
			t.Fatalf("%+v does not account for %d bytes", st, len(b))
		}
		if bytes.Equal(b, valid) && (n != 3 || st.bad != 0 || st.tail != 0) {
			t.Fatalf("valid file read as %+v", st)
		}
	})
}

// A record that cannot be written refuses the authenticator (the server then reports
// SEC_E_INTERNAL_ERROR), and the file stays whole.
func TestFileReplayCacheWriteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcache")
	c := openFileCache(t, path, nil)
	mustAdd(t, c, testKey(1), fixedTime, true)
	c.f.Close()
	ro, err := os.Open(path) // a handle that cannot write, as on a full or failing disk
	if err != nil {
		t.Fatal(err)
	}
	c.f = ro
	if fresh, err := c.Add(testKey(2), fixedTime, fixedTime.Add(time.Minute)); fresh || err == nil {
		t.Fatalf("unwritable file: fresh %v, %v", fresh, err)
	}
	cr := &serverCreds{skew: 5 * time.Minute, replays: c}
	err = cr.checkReplay(testSPN, testRealm, []byte("ciphertext"), fixedTime, fixedTime, "alice@"+testRealm)
	if !errors.Is(err, sspi.ErrInternalError) || !strings.Contains(err.Error(), "replay cache") {
		t.Errorf("server: %v, want SEC_E_INTERNAL_ERROR naming the replay cache", err)
	}
	c.Close()
	c = openFileCache(t, path, &FileReplayCacheConfig{Time: fixedNow})
	mustAdd(t, c, testKey(1), fixedTime, false)
	if n := c.Len(); n != 1 {
		t.Errorf("%d entries after reopening, want 1", n)
	}
}

// BenchmarkFileReplayCacheAdd: the cost of a record with and without an fsync each.
func BenchmarkFileReplayCacheAdd(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		b.Run(map[bool]string{true: "nosync", false: "fsync"}[noSync], func(b *testing.B) {
			c, err := OpenFileReplayCache(filepath.Join(b.TempDir(), "rcache"), &FileReplayCacheConfig{NoSync: noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			now := time.Now()
			for i := range b.N {
				if fresh, err := c.Add(testKey(uint64(i)), now, now.Add(5*time.Minute)); !fresh || err != nil {
					b.Fatal(fresh, err)
				}
			}
		})
	}
}
