package credssp

import "testing"

func TestMatchSPN(t *testing.T) {
	for _, tt := range []struct {
		target   string
		patterns []string
		want     bool
	}{
		{"TERMSRV/rdp.example.com", []string{"TERMSRV/*"}, true},
		{"termsrv/RDP.example.com", []string{"TERMSRV/*"}, true},
		{"TERMSRV/rdp.example.com:3389", []string{"TERMSRV/rdp.example.com"}, true},
		{"TERMSRV/rdp.example.com@EXAMPLE.COM", []string{"TERMSRV/rdp.example.com"}, true},
		{"HTTP/rdp.example.com", []string{"TERMSRV/*"}, false},
		{"TERMSRV/rdp.example.com", []string{"TERMSRV/*.example.com"}, true},
		{"TERMSRV/example.com", []string{"TERMSRV/*.example.com"}, false},
		{"TERMSRV/rdp.example.org", []string{"TERMSRV/*.example.com"}, false},
		{"TERMSRV/evil-example.com", []string{"TERMSRV/*.example.com"}, false},
		{"HTTP/web", []string{"*/web"}, true},
		{"anything/at.all", []string{"*"}, true},
		{"rdp.example.com", []string{"TERMSRV/*"}, false},
		{"rdp.example.com", []string{"*/rdp.example.com"}, true},
		{"TERMSRV/", []string{"TERMSRV/*"}, false},
		{"TERMSRV/x", nil, false},
		{"TERMSRV/x", []string{}, false},
		{"TERMSRV/x", []string{"garbage"}, false},
	} {
		if got := matchSPN(tt.target, tt.patterns); got != tt.want {
			t.Errorf("matchSPN(%q, %q) = %v, want %v", tt.target, tt.patterns, got, tt.want)
		}
	}
}

func TestSamePrincipal(t *testing.T) {
	for _, tt := range []struct {
		proved, target string
		want           bool
	}{
		{"TERMSRV/localhost@GOSSPI.TEST", "TERMSRV/localhost", true},
		{"TERMSRV/localhost@GOSSPI.TEST", "termsrv/LOCALHOST:3389", true},
		{"TERMSRV/other@GOSSPI.TEST", "TERMSRV/localhost", false},
		{"HTTP/localhost@GOSSPI.TEST", "TERMSRV/localhost", false},
		{"TERMSRV/localhost@GOSSPI.TEST", "localhost", true},
	} {
		if got := samePrincipal(tt.proved, tt.target); got != tt.want {
			t.Errorf("samePrincipal(%q, %q) = %v, want %v", tt.proved, tt.target, got, tt.want)
		}
	}
}
