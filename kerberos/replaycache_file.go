package kerberos

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The replay cache file format; see FileReplayCache.
const (
	replayFileMagic   = "gosspiRC"
	replayFileVersion = 1
	replayHeaderSize  = 16
	replayRecordSize  = 20
	// replayCompactMin is the fewest records worth compacting: a small file is cheap.
	replayCompactMin = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errReplayFileBusy is returned when another FileReplayCache holds the file's lock.
var errReplayFileBusy = errors.New("in use by another replay cache (this process or another)")

// FileReplayCacheConfig configures OpenFileReplayCache. The zero value is ready to use.
type FileReplayCacheConfig struct {
	// MaxEntries is the largest number of authenticators remembered;
	// DefaultReplayCacheSize when zero.
	MaxEntries int
	// NoSync skips the fsync after each record. Records are still written to the file
	// before Add returns, so a crash or restart of the process loses none, but a crash of
	// the operating system or a power loss may lose the last seconds of records: the
	// authenticators they held can then be replayed once after a reboot shorter than the
	// clock skew. Without NoSync, each accepted authenticator costs one fsync.
	NoSync bool
	// Time is the clock used when opening the file, to drop expired records; nil means
	// time.Now.
	Time func() time.Time
}

// FileReplayCache is a ReplayCache that keeps its entries in memory, as
// MemoryReplayCache does, and also appends each one to a file, so that a restarted server
// still refuses the authenticators it accepted before.
//
// The file (version 1; created with mode 0600; integers big-endian) is a 16-byte header,
// "gosspiRC" | version uint32 = 1 | record size uint32 = 20, followed by one 20-byte
// record per accepted authenticator, in the order they were accepted:
//
//	key   uint64  the first 64 bits of the ReplayKey (never 0)
//	until int64   the Unix second from which the key may be forgotten
//	crc   uint32  CRC-32C (Castagnoli) of the 16 bytes before it
//
// When the file is opened, records whose second has come are dropped, a record with a
// wrong checksum is skipped, and a shorter last record (a crash while it was being
// written) is ignored; the file is then rewritten with the live records only. It is also
// rewritten whenever it holds more than twice as many records as the cache remembers. A
// rewrite goes to a new file in the same directory, synced and renamed over the old one,
// so a crash leaves one or the other. Reading holds one record at a time, whatever the
// size of the file; a file holding more live records than MaxEntries is refused.
//
// Each record is written before Add returns, and synced unless NoSync is set; writes and
// syncs are serialised. A failed write refuses the authenticator.
//
// One FileReplayCache owns its file: on Linux, macOS and the BSDs, OpenFileReplayCache
// takes an exclusive lock (flock on path + ".lock", which stays behind) and fails while
// another process, or another FileReplayCache of this process, holds it. Several
// processes cannot share a file, because each would only see the authenticators it wrote:
// give each process its own file, or share one cache among processes and hosts through a
// ReplayCache over a shared store. On other systems the file is not locked.
type FileReplayCache struct {
	mu        sync.Mutex
	mem       *MemoryReplayCache
	path      string
	f         *os.File // nil once closed
	lock      *os.File
	size      int64 // bytes of whole records and header in f
	records   int   // records in f
	compactAt int   // compact once records reach this and exceed twice the live entries
	noSync    bool
	broken    error // a write failed and the file could not be restored
}

// OpenFileReplayCache opens the replay cache file at path, creating it if it does not
// exist. It refuses a path that is not a regular file, a file that others may write, a
// file that is not a replay cache file, and a file holding more live entries than
// cfg.MaxEntries. cfg may be nil.
func OpenFileReplayCache(path string, cfg *FileReplayCacheConfig) (*FileReplayCache, error) {
	if cfg == nil {
		cfg = &FileReplayCacheConfig{}
	}
	now := time.Now
	if cfg.Time != nil {
		now = cfg.Time
	}
	lock, err := lockReplayFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("kerberos: replay cache %s: %w", path, err)
	}
	c := &FileReplayCache{mem: NewMemoryReplayCache(cfg.MaxEntries), path: path, lock: lock, noSync: cfg.NoSync}
	if err := c.load(now().Unix()); err != nil {
		if c.f != nil {
			c.f.Close()
		}
		lock.Close()
		return nil, fmt.Errorf("kerberos: replay cache %s: %w", path, err)
	}
	return c, nil
}

// load reads the file (if any) into c.mem, then rewrites it when it held anything that is
// not a live record.
func (c *FileReplayCache) load(now int64) error {
	fi, err := os.Lstat(c.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c.compact()
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("others may write it (mode %v): chmod 600 it", fi.Mode().Perm())
	}
	f, err := os.Open(c.path)
	if err != nil {
		return err
	}
	st, err := readReplayFile(bufio.NewReaderSize(f, 64<<10), func(k uint64, until int64) error {
		if until <= now {
			return nil
		}
		_, _, err := c.mem.add(k, now, until)
		return err
	})
	f.Close()
	if errors.Is(err, ErrReplayCacheFull) {
		return fmt.Errorf("it holds more live authenticators than MaxEntries allows; raise MaxEntries: %w", err)
	}
	if err != nil {
		return err
	}
	if live := c.mem.keys.n; st.records != live || st.bad > 0 || st.tail > 0 || st.empty {
		return c.compact()
	}
	return c.reopen()
}

// Add implements ReplayCache. A fresh key is written to the file (and, unless NoSync,
// synced) before Add returns; if that fails the authenticator is refused.
func (c *FileReplayCache) Add(key ReplayKey, now, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.broken != nil:
		return false, c.broken
	case c.f == nil:
		return false, errors.New("kerberos: the replay cache file is closed")
	}
	c.mem.mu.Lock()
	k, until := keyBits(key), forgetAt(expires)
	fresh, stored, err := c.mem.add(k, now.Unix(), until)
	live := c.mem.keys.n
	c.mem.mu.Unlock()
	if !stored {
		return fresh, err
	}
	if err := c.append(k, until); err != nil {
		return false, err
	}
	if c.records >= c.compactAt && c.records > 2*live {
		// The record is written: a compaction that fails leaves a valid, longer file, and
		// is tried again once the file has doubled.
		if err := c.compact(); err != nil {
			c.compactAt = 2 * c.records
		}
	}
	if c.broken != nil {
		return false, c.broken
	}
	return true, nil
}

// append writes one record. A partly written record would shift every later one, so on
// failure the file is cut back to its last whole record, and when even that fails the
// cache refuses everything until it is reopened.
func (c *FileReplayCache) append(k uint64, until int64) error {
	var r [replayRecordSize]byte
	putReplayRecord(r[:], k, until)
	_, err := c.f.Write(r[:])
	if err == nil && !c.noSync {
		err = c.f.Sync()
	}
	if err != nil {
		if terr := c.f.Truncate(c.size); terr != nil {
			c.broken = fmt.Errorf("kerberos: replay cache %s: writing failed (%v) and so did cutting the partial record: %w", c.path, err, terr)
			return c.broken
		}
		return fmt.Errorf("kerberos: replay cache %s: writing a record: %w", c.path, err)
	}
	c.size += replayRecordSize
	c.records++
	return nil
}

// compact rewrites the file with the live entries only: into a new file in the same
// directory, synced, then renamed over the old one, so a crash leaves one or the other.
func (c *FileReplayCache) compact() error {
	tmp, err := os.CreateTemp(filepath.Dir(c.path), filepath.Base(c.path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	w := bufio.NewWriterSize(tmp, 64<<10)
	w.Write(replayFileHeader())
	c.mem.mu.Lock()
	err = c.mem.each(func(k uint64, until int64) error {
		var r [replayRecordSize]byte
		putReplayRecord(r[:], k, until)
		_, err := w.Write(r[:])
		return err
	})
	c.mem.mu.Unlock()
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return err
	}
	if c.f != nil {
		c.f.Close() // some systems (Windows) cannot rename over an open file
		c.f = nil
	}
	err = os.Rename(tmp.Name(), c.path)
	if err == nil {
		syncDir(filepath.Dir(c.path))
	}
	if rerr := c.reopen(); rerr != nil {
		c.broken = fmt.Errorf("kerberos: replay cache %s: reopening after a rewrite: %w", c.path, rerr)
		return c.broken
	}
	return err
}

// reopen opens the file for appending, replacing the handle in use.
func (c *FileReplayCache) reopen() error {
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if c.f != nil {
		c.f.Close()
	}
	c.f, c.size = f, fi.Size()
	c.records = int((c.size - replayHeaderSize) / replayRecordSize)
	c.compactAt = max(2*c.records, replayCompactMin)
	return nil
}

// Len reports how many authenticators the cache remembers.
func (c *FileReplayCache) Len() int { return c.mem.Len() }

// Close closes the file and releases its lock. Add fails afterwards.
func (c *FileReplayCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock == nil {
		return nil
	}
	var err error
	if c.f != nil {
		err = c.f.Close()
		c.f = nil
	}
	if lerr := c.lock.Close(); err == nil {
		err = lerr
	}
	c.lock = nil
	c.broken = errors.New("kerberos: the replay cache file is closed")
	return err
}

// syncDir makes a rename in dir durable; some systems cannot sync a directory, and then
// the rename is as durable as they make it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func replayFileHeader() []byte {
	h := make([]byte, replayHeaderSize)
	copy(h, replayFileMagic)
	binary.BigEndian.PutUint32(h[8:], replayFileVersion)
	binary.BigEndian.PutUint32(h[12:], replayRecordSize)
	return h
}

func putReplayRecord(r []byte, k uint64, until int64) {
	binary.BigEndian.PutUint64(r[0:], k)
	binary.BigEndian.PutUint64(r[8:], uint64(until))
	binary.BigEndian.PutUint32(r[16:], crc32.Checksum(r[:16], castagnoli))
}

// replayFileStats describes what readReplayFile found.
type replayFileStats struct {
	empty   bool // no header: an empty file
	records int  // records with a right checksum
	bad     int  // records with a wrong checksum
	tail    int  // bytes of a partial last record
}

// readReplayFile reads a replay cache file from r and calls fn for every record with a
// right checksum; an error from fn stops it. It holds one record at a time, whatever the
// size of the file.
func readReplayFile(r io.Reader, fn func(k uint64, until int64) error) (replayFileStats, error) {
	var st replayFileStats
	var h [replayHeaderSize]byte
	switch n, err := io.ReadFull(r, h[:]); {
	case err == io.EOF:
		st.empty = true
		return st, nil
	case err == io.ErrUnexpectedEOF:
		return st, fmt.Errorf("not a replay cache file: %d bytes, shorter than the header", n)
	case err != nil:
		return st, err
	}
	if string(h[:8]) != replayFileMagic {
		return st, errors.New("not a replay cache file (wrong magic number): refusing to overwrite it")
	}
	if v, rs := binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:]); v != replayFileVersion || rs != replayRecordSize {
		return st, fmt.Errorf("replay cache file version %d with %d-byte records; this version reads version %d", v, rs, replayFileVersion)
	}
	var rec [replayRecordSize]byte
	for {
		n, err := io.ReadFull(r, rec[:])
		switch {
		case err == io.EOF:
			return st, nil
		case err == io.ErrUnexpectedEOF:
			st.tail = n
			return st, nil
		case err != nil:
			return st, err
		}
		k := binary.BigEndian.Uint64(rec[0:])
		if crc32.Checksum(rec[:16], castagnoli) != binary.BigEndian.Uint32(rec[16:]) || k == 0 {
			st.bad++
			continue
		}
		st.records++
		if err := fn(k, int64(binary.BigEndian.Uint64(rec[8:]))); err != nil {
			return st, err
		}
	}
}
