package domaininterop

import (
	"testing"
	"time"

	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/ntlm/winbind"
)

// BenchmarkDomainLogon measures whole NTLM logons (our client, our server, the verifier
// asking the DC) through Netlogon and through winbind:
//
//	go test -run XXX -bench DomainLogon -benchtime 200x ./ntlm/domaininterop
//
// "parallel" runs 4 logons at a time (b.SetParallelism over GOMAXPROCS).
func BenchmarkDomainLogon(b *testing.B) {
	d := setUpB(b)
	cases := []struct {
		name     string
		v        func(b *testing.B) ntlm.Verifier
		parallel bool
	}{
		{"netlogon", func(b *testing.B) ntlm.Verifier { return d.netlogon(b, 1) }, false},
		{"netlogon-4conns-parallel", func(b *testing.B) ntlm.Verifier { return d.netlogon(b, 4) }, true},
		{"winbind-pool", func(b *testing.B) ntlm.Verifier { return d.winbind(b, winbind.Config{Helpers: 1}) }, false},
		{"winbind-4helpers-parallel", func(b *testing.B) ntlm.Verifier { return d.winbind(b, winbind.Config{Helpers: 4}) }, true},
		{"winbind-groups", func(b *testing.B) ntlm.Verifier { return d.winbind(b, winbind.Config{Helpers: 1, LookupGroups: true}) }, false},
		{"winbind-oneshot", func(b *testing.B) ntlm.Verifier { return d.winbind(b, winbind.Config{OneShot: true}) }, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			scred := serverCreds(b, d, c.v(b))
			ccred := clientCreds(b, `SAMDOM\alice`, userPassword)
			if _, _, err := logon(b, ccred, scred, nil); err != nil { // warm up: channel, helpers
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if c.parallel {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, _, err := logon(b, ccred, scred, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					if _, _, err := logon(b, ccred, scred, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logons/s")
		})
	}
}
