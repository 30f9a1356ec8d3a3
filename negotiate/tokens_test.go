package negotiate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
)

// readVector reads a token recorded in testdata (hex, '#' comments).
func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var h strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			h.WriteString(line)
		}
	}
	return unhex(t, h.String())
}

func oidList(oids []der.OID) string {
	var s []string
	for _, o := range oids {
		s = append(s, o.String())
	}
	return strings.Join(s, " ")
}

// TestRealInitTokens parses the recorded NegTokenInit and NegTokenInit2 of
// shared/spec/spnego-credssp.md §4 and re-encodes them byte for byte.
func TestRealInitTokens(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mechs     string
		mechToken string // hex prefix
		hints     bool
	}{
		{"init-negoex-ntlm-impacket", "1.3.6.1.4.1.311.2.2.30 1.3.6.1.4.1.311.2.2.10", "", false},
		{"init-ntlm-negotiate-impacket", "1.3.6.1.4.1.311.2.2.10", "4e544c4d5353500001000000158208600900090020000000", false},
		{"init2-neghints-pyspnego", "1.3.6.1.4.1.311.2.2.30 1.2.840.48018.1.2.2 1.2.840.113554.1.2.2 1.2.840.113554.1.2.2.3 1.3.6.1.4.1.311.2.2.10", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := readVector(t, tc.name)
			var ti negTokenInit
			if err := parseInitialToken(tok, &ti); err != nil {
				t.Fatal(err)
			}
			if got := oidList(ti.mechTypes); got != tc.mechs {
				t.Errorf("mechTypes %s, want %s", got, tc.mechs)
			}
			if tc.mechToken != "" && !bytes.HasPrefix(ti.mechToken, unhex(t, tc.mechToken)) {
				t.Errorf("mechToken %x", ti.mechToken)
			}
			if tc.mechToken == "" && ti.hasMechToken {
				t.Errorf("unexpected mechToken")
			}
			if ti.hasHints != tc.hints || (tc.hints && string(ti.hintName) != hintNameValue) {
				t.Errorf("hints %v %q", ti.hasHints, ti.hintName)
			}
			// The MechTypeList as received is what a mechListMIC covers.
			if want := appendMechTypeList(nil, ti.mechTypes); !bytes.Equal(ti.mechTypesDER, want) {
				t.Errorf("mechTypesDER %x, want %x", ti.mechTypesDER, want)
			}
			if out := appendInitialToken(nil, &ti); !bytes.Equal(out, tok) {
				t.Errorf("re-encoded\n%x\nwant\n%x", out, tok)
			}
		})
	}
}

// TestRealRespTokens does the same for the recorded NegTokenResps.
func TestRealRespTokens(t *testing.T) {
	for _, tc := range []struct {
		name     string
		state    negState
		mech     string
		respPref string
	}{
		{"resp-challenge-impacket", acceptIncomplete, "1.3.6.1.4.1.311.2.2.10", "4e544c4d53535000020000001e001e0038000000"},
		{"resp-authenticate-impacket", stateAbsent, "", "4e544c4d5353500003000000"},
		{"resp-accept-completed", acceptCompleted, "", ""},
		{"resp-request-mic-ntlm", requestMIC, "1.3.6.1.4.1.311.2.2.10", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := readVector(t, tc.name)
			var r negTokenResp
			if err := parseNegTokenResp(tok, &r); err != nil {
				t.Fatal(err)
			}
			if r.negState != tc.state {
				t.Errorf("negState %v, want %v", r.negState, tc.state)
			}
			if got := ""; r.supportedMech != nil {
				got = r.supportedMech.String()
				if got != tc.mech {
					t.Errorf("supportedMech %s, want %s", got, tc.mech)
				}
			} else if tc.mech != "" {
				t.Errorf("no supportedMech")
			}
			if tc.respPref != "" && !bytes.HasPrefix(r.responseToken, unhex(t, tc.respPref)) {
				t.Errorf("responseToken %x", r.responseToken[:min(len(r.responseToken), 24)])
			}
			if r.size() != len(tok) {
				t.Errorf("size() = %d, token is %d", r.size(), len(tok))
			}
			if out := appendNegTokenResp(nil, &r); !bytes.Equal(out, tok) {
				t.Errorf("re-encoded\n%x\nwant\n%x", out, tok)
			}
		})
	}
}

// TestKerberosRespPrefix: the recorded Kerberos accept-completed reply parses as far as
// it was recorded (its AP-REP is cut short, so the full parse must fail cleanly).
func TestKerberosRespPrefix(t *testing.T) {
	tok := unhex(t, "a181b73081b4a0030a0100a10b06092a864886f712010202a2819f04819c60819906092a864886f71201020202006f8189")
	var r negTokenResp
	err := parseNegTokenResp(tok, &r)
	wantErr(t, err, sspi.ErrInvalidToken, "malformed NegTokenResp")
	// Completed with the rest of a (fake) AP-REP it parses, naming the krb5 OID.
	full := append(append([]byte(nil), tok...), make([]byte, 0x89)...)
	if err := parseNegTokenResp(full, &r); err != nil {
		t.Fatal(err)
	}
	if !r.supportedMech.Equal(oidKRB5) || r.negState != acceptCompleted || mechByOID(r.supportedMech) != mechKerberos {
		t.Errorf("parsed %+v", r)
	}
}

// TestMechListMICVector: the MIC of §3 over the NTLM-only MechTypeList, made by hand from
// MS-NLMP 4.2.4's keys, is what NTLM's MechListMICer would make; here we only check that
// our encoding of the list is the spec's input.
func TestMechTypeListEncoding(t *testing.T) {
	got := appendMechTypeList(nil, []der.OID{oidNTLM})
	if want := unhex(t, "300c060a2b06010401823702020a"); !bytes.Equal(got, want) {
		t.Fatalf("NTLM-only MechTypeList %x, want %x", got, want)
	}
	// Windows' order: MS-KRB5, KRB5, NTLM.
	got = appendMechTypeList(nil, []der.OID{oidMSKRB5, oidKRB5, oidNTLM})
	want := unhex(t, "3022"+"06092a864882f712010202"+"06092a864886f712010202"+"060a2b06010401823702020a")
	if !bytes.Equal(got, want) {
		t.Fatalf("Kerberos+NTLM MechTypeList %x, want %x", got, want)
	}
}

// TestMalformedTokens: everything that is not strict, bounded DER SPNEGO is
// SEC_E_INVALID_TOKEN, never a panic.
func TestMalformedTokens(t *testing.T) {
	init := func(inner string) []byte { // frame a NegotiationToken body
		b := unhex(t, inner)
		return der.AppendGSSToken(nil, oidSPNEGO, b)
	}
	for _, tc := range []struct {
		name string
		tok  []byte
		resp bool
	}{
		{"empty", nil, false},
		{"not framed", unhex(t, "a0023000"), false},
		{"kerberos framing", der.AppendGSSToken(nil, oidKRB5, unhex(t, "a0023000")), false},
		{"resp choice in init", init("a1023000"), false},
		{"trailing byte", append(init("a0023000"), 0), false},
		{"trailing inside", init("a00430000500"), false},
		{"non-minimal length", unhex(t, "608100"), false},
		{"indefinite length", unhex(t, "6080"), false},
		{"mechTypes not a sequence", init("a0063004a0020500"), false},
		{"bad OID", init("a00a3008a0063004060280ff"), false},
		{"OID ends mid-arc", init("a0093007a0053003060181"), false},
		{"fields out of order", init("a0103010a2040402aabba0083006060428060102"), false},
		{"mechListMIC not octets", init("a0093007a3050303000000"), false},
		{"reqFlags bad padding", init("a0093007a10503030701ff"), false},
		{"negHints trailing field", init("a00d300ba309300702010005000500"), false},
		{"resp: wrong choice", unhex(t, "a0023000"), true},
		{"resp: negState 4", unhex(t, "a1073005a0030a0104"), true},
		{"resp: negState 2 bytes", unhex(t, "a1083006a0040a020001"), true},
		{"resp: negState integer", unhex(t, "a1073005a003020101"), true},
		{"resp: truncated", unhex(t, "a1073005a0030a01"), true},
		{"resp: duplicate negState", unhex(t, "a10c300aa0030a0101a0030a0101"), true},
		{"resp: supportedMech not OID", unhex(t, "a1073005a1030401ff"), true},
		{"resp: trailing", unhex(t, "a10230000000"), true},
		{"resp: extension with low tag", unhex(t, "a1093007a0030a0100a000"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.resp {
				var r negTokenResp
				err = parseNegTokenResp(tc.tok, &r)
			} else {
				var ti negTokenInit
				err = parseInitialToken(tc.tok, &ti)
			}
			wantErr(t, err, sspi.ErrInvalidToken, "negotiate: malformed")
		})
	}

	// Bounds: the token size and the number of mechanisms.
	var ti negTokenInit
	wantErr(t, parseInitialToken(make([]byte, maxTokenSize+1), &ti), sspi.ErrInvalidToken, "larger than")
	many := make([]der.OID, maxMechTypes+1)
	for i := range many {
		many[i] = oidNTLM
	}
	big := appendInitialToken(nil, &negTokenInit{hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, many)})
	wantErr(t, parseInitialToken(big, &ti), sspi.ErrInvalidToken, "more than 32 mechanisms")

	// Extensions RFC 4178 allows (higher tags, in order) are skipped.
	ext := unhex(t, "a10e300ca0030a0100a5050403010203")
	var r negTokenResp
	if err := parseNegTokenResp(ext, &r); err != nil || r.negState != acceptCompleted {
		t.Errorf("extension field: %v", err)
	}
	// A ContextFlags BIT STRING with unused bits (delegFlag alone) is legal DER.
	flags := der.AppendGSSToken(nil, oidSPNEGO, unhex(t, "a0183016a00e300c060a2b06010401823702020aa10403020780"))
	if err := parseInitialToken(flags, &ti); err != nil || !bytes.Equal(ti.reqFlags, []byte{7, 0x80}) {
		t.Errorf("reqFlags: %v %x", err, ti.reqFlags)
	}
	if out := appendInitialToken(nil, &ti); !bytes.Equal(out, flags) {
		t.Errorf("reqFlags re-encoded %x, want %x", out, flags)
	}
}

// TestTruncatedVectors cuts every recorded token at every length: each cut fails cleanly.
func TestTruncatedVectors(t *testing.T) {
	for _, name := range vectorNames(t) {
		tok := readVector(t, name)
		for i := range tok {
			var ti negTokenInit
			var r negTokenResp
			if err := parseInitialToken(tok[:i], &ti); err == nil {
				t.Errorf("%s cut at %d parsed as NegTokenInit", name, i)
			}
			if err := parseNegTokenResp(tok[:i], &r); err == nil {
				t.Errorf("%s cut at %d parsed as NegTokenResp", name, i)
			}
		}
	}
}

func vectorNames(t testing.TB) []string {
	m, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	var names []string
	for _, f := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".hex"))
	}
	return names
}
