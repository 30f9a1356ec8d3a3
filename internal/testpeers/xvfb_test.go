package testpeers

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// x11Conn is a minimal X11 client (the core protocol's connection setup, ChangeProperty and
// GetProperty), enough to check what StartXvfb promises without X client programs.
type x11Conn struct {
	c    net.Conn
	root uint32
}

// dialX connects to display (":N") with the cookie of authority (none when empty). It
// returns the server's refusal as an error.
func dialX(t *testing.T, display, authority string) (*x11Conn, error) {
	t.Helper()
	c, err := net.DialTimeout("unix", "/tmp/.X11-unix/X"+strings.TrimPrefix(display, ":"), 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var name, data []byte
	if authority != "" {
		b, err := os.ReadFile(authority)
		if err != nil {
			t.Fatal(err)
		}
		// writeXAuthority's one entry: family, address, number, name, data.
		name, data = b[8:8+18], b[8+18+2:]
	}
	req := []byte{'l', 0, 11, 0, 0, 0, byte(len(name)), 0, byte(len(data)), 0, 0, 0}
	req = append(append(req, pad4(name)...), pad4(data)...)
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		c.Close()
		return nil, err
	}
	more := make([]byte, 4*int(binary.LittleEndian.Uint16(head[6:])))
	if _, err := io.ReadFull(c, more); err != nil {
		c.Close()
		return nil, err
	}
	if head[0] != 1 {
		c.Close()
		return nil, &xRefusal{string(more[:min(int(head[1]), len(more))])}
	}
	vendorLen, formats := int(binary.LittleEndian.Uint16(more[16:])), int(more[21])
	off := 32 + (vendorLen+3)&^3 + 8*formats
	return &x11Conn{c: c, root: binary.LittleEndian.Uint32(more[off:])}, nil
}

type xRefusal struct{ reason string }

func (e *xRefusal) Error() string { return "X server refused the connection: " + e.reason }

func pad4(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }

const (
	atomWMName = 39 // predefined atoms
	atomString = 31
)

// setRootName sets the root window's WM_NAME (ChangeProperty, Replace, format 8).
func (x *x11Conn) setRootName(v string) error {
	d := pad4([]byte(v))
	req := make([]byte, 24, 24+len(d))
	req[0] = 18
	binary.LittleEndian.PutUint16(req[2:], uint16(6+len(d)/4))
	binary.LittleEndian.PutUint32(req[4:], x.root)
	binary.LittleEndian.PutUint32(req[8:], atomWMName)
	binary.LittleEndian.PutUint32(req[12:], atomString)
	req[16] = 8
	binary.LittleEndian.PutUint32(req[20:], uint32(len(v)))
	_, err := x.c.Write(append(req, d...))
	return err
}

// rootName reads the root window's WM_NAME (GetProperty); a round trip, so a request sent
// before it has been handled when it returns.
func (x *x11Conn) rootName() (string, error) {
	req := make([]byte, 24)
	req[0] = 20
	binary.LittleEndian.PutUint16(req[2:], 6)
	binary.LittleEndian.PutUint32(req[4:], x.root)
	binary.LittleEndian.PutUint32(req[8:], atomWMName)
	binary.LittleEndian.PutUint32(req[20:], 64)
	if _, err := x.c.Write(req); err != nil {
		return "", err
	}
	rep := make([]byte, 32)
	if _, err := io.ReadFull(x.c, rep); err != nil {
		return "", err
	}
	if rep[0] != 1 {
		return "", &xRefusal{"X error " + string(rune('0'+rep[1]))}
	}
	val := make([]byte, 4*binary.LittleEndian.Uint32(rep[4:]))
	if _, err := io.ReadFull(x.c, val); err != nil {
		return "", err
	}
	return string(val[:binary.LittleEndian.Uint32(rep[16:])]), nil
}

// TestXvfbPrivateAndNoReset: StartXvfb's display refuses a client without its cookie (an
// -auth file that does not exist would let any local client in), and does not reset when
// its last client leaves (what a root window property outliving its client shows): a
// reset closes the connections arriving meanwhile, which made freerdp-shadow-cli fail
// with "failed to open display" under load.
func TestXvfbPrivateAndNoReset(t *testing.T) {
	x := StartXvfb(t)
	if c, err := dialX(t, x.Display, ""); err == nil {
		c.c.Close()
		t.Fatal("a client without the cookie was let in")
	} else if _, ok := err.(*xRefusal); !ok {
		t.Fatalf("without the cookie: %v, want a refusal", err)
	}
	first, err := dialX(t, x.Display, x.Authority)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.setRootName("kept"); err != nil {
		t.Fatal(err)
	}
	if v, err := first.rootName(); err != nil || v != "kept" {
		t.Fatalf("WM_NAME %q, %v", v, err)
	}
	first.c.Close()
	// The server sees the close in its own time; the next client looks until it has.
	deadline := time.Now().Add(2 * time.Second)
	for {
		second, err := dialX(t, x.Display, x.Authority)
		if err != nil {
			t.Fatalf("second client: %v", err)
		}
		v, err := second.rootName()
		second.c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if v != "kept" {
			t.Fatalf("the root window's WM_NAME is %q after the only client left: the server reset", v)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
