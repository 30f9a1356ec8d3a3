package domaininterop

import (
	"context"
	"net"
)

// netResolver sends every DNS query to one server (the DC's).
type netResolver struct{ addr string }

func (r *netResolver) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, r.addr)
	}}
}
