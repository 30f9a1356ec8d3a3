package pac

import (
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// BenchmarkAcceptPAC is what the acceptor adds per ticket with a PAC: parse it (the NDR
// logon information included), verify the server signature and check the client info.
// "ad" is a Windows AD PAC (5 groups, 2 extra SIDs); "mit" MIT 1.20's (no logon info).
func BenchmarkAcceptPAC(b *testing.B) {
	ad := readFile(b, "ad-pac.bin")
	adKey := keytabKey(b, "ad-syshttp.keytab", krbcrypto.AES256CTSHMACSHA196)
	mitKey := keytabKey(b, "mit-service.keytab", krbcrypto.AES256CTSHMACSHA196)
	var mitPart = readMITPart(b)
	mit, _, _ := Find(mitPart.AuthData)
	for _, c := range []struct {
		name  string
		raw   []byte
		key   *krbcrypto.Key
		cname string
		at    time.Time
	}{
		{"ad", ad, adKey, "testuser1", time.Date(2017, 5, 6, 15, 53, 11, 0, time.UTC)},
		{"mit", mit, mitKey, mitPart.CName.Components[0], mitPart.AuthTime},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				p, err := Parse(c.raw)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.VerifyServer(c.key); err != nil {
					b.Fatal(err)
				}
				if err := p.CheckClient([]string{c.cname}, "R", c.at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
