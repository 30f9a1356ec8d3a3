package dcerpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/gosspi/sspi/internal/ndr"
)

// The endpoint mapper (C706 appendix O; MS-RPCE 2.2.1.2): interface
// e1af8308-5d1f-11c9-91a4-08002b14a0fa version 3.0 on TCP port 135.
var epmapper = SyntaxID{UUID: MustParseUUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), Major: 3}

const (
	opEptMap = 3
	// maxTowers is how many towers we ask ept_map for.
	maxTowers = 4
)

// Protocol identifiers of tower floors (C706 appendix I; MS-RPCE 2.2.1.2.1).
const (
	floorUUID   = 0x0d
	floorNCACN  = 0x0b // connection-oriented RPC
	floorTCP    = 0x07
	floorIP     = 0x09
	towerFloors = 5
)

// EptMap asks the endpoint mapper at host (port 135) on which TCP port iface listens.
func EptMap(ctx context.Context, host string, iface SyntaxID) (int, error) {
	c, err := Dial(ctx, net.JoinHostPort(host, "135"))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.Bind(ctx, epmapper, nil); err != nil {
		return 0, fmt.Errorf("dcerpc: binding to the endpoint mapper: %w", err)
	}
	resp, err := c.Call(ctx, opEptMap, eptMapRequest(iface))
	if err != nil {
		return 0, fmt.Errorf("dcerpc: ept_map: %w", err)
	}
	return parseEptMapResponse(resp)
}

// tower is the protocol tower of iface over NDR20, ncacn_ip_tcp, with port and address
// left zero, as a client asks (C706 appendix L).
func tower(iface SyntaxID) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint16(b, towerFloors)
	floor := func(lhs, rhs []byte) {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(lhs)))
		b = append(b, lhs...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(rhs)))
		b = append(b, rhs...)
	}
	syntaxFloor := func(s SyntaxID) {
		lhs := append([]byte{floorUUID}, s.UUID[:]...)
		lhs = binary.LittleEndian.AppendUint16(lhs, s.Major)
		floor(lhs, binary.LittleEndian.AppendUint16(nil, s.Minor))
	}
	syntaxFloor(iface)
	syntaxFloor(NDR20)
	floor([]byte{floorNCACN}, []byte{0, 0})
	floor([]byte{floorTCP}, []byte{0, 0})
	floor([]byte{floorIP}, []byte{0, 0, 0, 0})
	return b
}

func eptMapRequest(iface SyntaxID) []byte {
	var e ndr.Encoder
	e.Uint32(0) // object: null
	t := tower(iface)
	e.Pointer(true, func(e *ndr.Encoder) {
		e.Uint32(uint32(len(t))) // twr_t's conformance
		e.Uint32(uint32(len(t))) // tower_length
		e.Write(t)
	})
	e.Flush()
	e.Align(4)
	e.Write(make([]byte, 20)) // entry_handle: a null context handle
	e.Uint32(maxTowers)
	return e.Bytes()
}

// parseEptMapResponse reads ept_map's answer and returns the TCP port of its first tower.
func parseEptMapResponse(b []byte) (int, error) {
	d := ndr.NewDecoder(b)
	d.Bytes(20) // entry_handle
	n := d.Uint32()
	max := d.Count(4)
	_, actual := d.Varying(max, 4)
	if d.Err() == nil && (actual != int(n) || actual > maxTowers) {
		d.Failf("ept_map returned %d towers and says %d", actual, n)
	}
	var towers [][]byte
	for range actual {
		d.Pointer(func(d *ndr.Decoder) {
			size := d.Count(1)
			l := d.Uint32()
			if d.Err() == nil && int(l) != size {
				d.Failf("tower length %d, array %d", l, size)
			}
			towers = append(towers, d.Bytes(size))
		})
	}
	d.Flush()
	status := d.Uint32()
	if err := d.Err(); err != nil {
		return 0, fmt.Errorf("dcerpc: malformed ept_map response: %w", err)
	}
	if status != 0 {
		return 0, fmt.Errorf("dcerpc: the endpoint mapper has no endpoint for the interface (status 0x%08x)", status)
	}
	for _, t := range towers {
		if port, ok := towerPort(t); ok {
			return port, nil
		}
	}
	return 0, errors.New("dcerpc: the endpoint mapper returned no TCP endpoint")
}

// towerPort finds the TCP floor of a tower.
func towerPort(t []byte) (int, bool) {
	if len(t) < 2 {
		return 0, false
	}
	floors := int(binary.LittleEndian.Uint16(t))
	t = t[2:]
	for range floors {
		if len(t) < 2 {
			return 0, false
		}
		ll := int(binary.LittleEndian.Uint16(t))
		if len(t) < 2+ll+2 {
			return 0, false
		}
		lhs := t[2 : 2+ll]
		rl := int(binary.LittleEndian.Uint16(t[2+ll:]))
		if len(t) < 4+ll+rl {
			return 0, false
		}
		rhs := t[4+ll : 4+ll+rl]
		t = t[4+ll+rl:]
		if len(lhs) == 1 && lhs[0] == floorTCP && len(rhs) == 2 {
			port := int(binary.BigEndian.Uint16(rhs))
			return port, port != 0
		}
	}
	return 0, false
}
