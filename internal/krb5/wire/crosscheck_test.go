package wire

import (
	"testing"
	"time"

	gkmessages "github.com/jcmturner/gokrb5/v8/messages"
	gktypes "github.com/jcmturner/gokrb5/v8/types"
)

// TestCrossCheckGokrb5 decodes the MIT recordings with gokrb5's (reflection) decoders too and
// compares the fields both read, so that this package and an independent decoder agree on
// where every field is.
func TestCrossCheckGokrb5(t *testing.T) {
	t.Run("AP-REQ", crossCheckAPReq)
	t.Run("AS-REQ", crossCheckASReq)
	t.Run("TGS-REQ", crossCheckTGSReq)
	for _, f := range []string{"mit-as-rep.der", "mit-tgs-rep.der"} {
		t.Run(f, func(t *testing.T) { crossCheckKDCRep(t, f) })
	}
	t.Run("EncTGSRepPart", crossCheckEncTGSRepPart)
	t.Run("KRB-ERROR", crossCheckKRBError)
	t.Run("Authenticator", crossCheckAuthenticator)
	t.Run("EncTicketPart", crossCheckEncTicketPart)
	t.Run("KRB-CRED", crossCheckKRBCred)
}

func crossCheckAPReq(t *testing.T) {
	var ours APReq
	var theirs gkmessages.APReq
	decodeBoth(t, "mit-ap-req.der", &ours, &theirs)
	if got := flagsOf(theirs.APOptions.Bytes); got != ours.Options {
		t.Errorf("ap-options %#x vs %#x", ours.Options, got)
	}
	sameTicket(t, "ticket", ours.Ticket, theirs.Ticket)
	sameEnc(t, "authenticator", ours.Authenticator, theirs.EncryptedAuthenticator)
}

func crossCheckASReq(t *testing.T) {
	var ours KDCReq
	var theirs gkmessages.ASReq
	decodeBoth(t, "mit-as-req.der", &ours, &theirs)
	if ours.Body.Nonce != uint32(theirs.ReqBody.Nonce) || ours.Body.Realm != theirs.ReqBody.Realm ||
		len(ours.Body.ETypes) != len(theirs.ReqBody.EType) || len(ours.PAData) != len(theirs.PAData) {
		t.Errorf("AS-REQ body differs")
	}
	for i := range ours.PAData {
		if ours.PAData[i].Type != theirs.PAData[i].PADataType || string(ours.PAData[i].Value) != string(theirs.PAData[i].PADataValue) {
			t.Errorf("PA-DATA %d differs", i)
		}
	}
	sameName(t, "cname", *ours.Body.CName, theirs.ReqBody.CName)
	sameName(t, "sname", *ours.Body.SName, theirs.ReqBody.SName)
	sameTime(t, "till", ours.Body.Till, theirs.ReqBody.Till)
	if flagsOf(theirs.ReqBody.KDCOptions.Bytes) != ours.Body.Options {
		t.Errorf("kdc-options differ")
	}
}

func crossCheckTGSReq(t *testing.T) {
	var ours KDCReq
	var theirs gkmessages.TGSReq
	decodeBoth(t, "gokrb5-tgs-req.der", &ours, &theirs)
	if ours.Body.Nonce != uint32(theirs.ReqBody.Nonce) {
		t.Errorf("nonce differs")
	}
	sameName(t, "sname", *ours.Body.SName, theirs.ReqBody.SName)
}

func crossCheckEncTGSRepPart(t *testing.T) {
	var ours EncKDCRepPart
	var theirs gkmessages.EncKDCRepPart
	decodeBoth(t, "mit-enc-tgs-rep-part.der", &ours, &theirs)
	if ours.Nonce != uint32(theirs.Nonce) || ours.Key.Type != theirs.Key.KeyType || string(ours.Key.Value) != string(theirs.Key.KeyValue) ||
		ours.Flags != flagsOf(theirs.Flags.Bytes) || ours.SRealm != theirs.SRealm {
		t.Errorf("EncTGSRepPart differs")
	}
	sameName(t, "sname", ours.SName, theirs.SName)
	sameTime(t, "authtime", ours.AuthTime, theirs.AuthTime)
	sameTime(t, "endtime", ours.EndTime, theirs.EndTime)
}

func crossCheckKRBError(t *testing.T) {
	var ours KRBError
	var theirs gkmessages.KRBError
	decodeBoth(t, "mit-krb-error-preauth-required.der", &ours, &theirs)
	if ours.Code != theirs.ErrorCode || string(ours.EData) != string(theirs.EData) || ours.Realm != theirs.Realm || int(ours.SUsec) != theirs.Susec {
		t.Errorf("KRB-ERROR differs")
	}
	sameTime(t, "stime", ours.STime, theirs.STime)
}

func crossCheckAuthenticator(t *testing.T) {
	var ours Authenticator
	var theirs gktypes.Authenticator
	decodeBoth(t, "mit-authenticator.der", &ours, &theirs)
	if ours.CRealm != theirs.CRealm || int(ours.CUsec) != theirs.Cusec || ours.SeqNumber != uint32(theirs.SeqNumber) ||
		ours.Checksum.Type != theirs.Cksum.CksumType || string(ours.Checksum.Value) != string(theirs.Cksum.Checksum) ||
		string(ours.SubKey.Value) != string(theirs.SubKey.KeyValue) {
		t.Errorf("Authenticator differs")
	}
	sameTime(t, "ctime", ours.CTime, theirs.CTime)
}

func crossCheckEncTicketPart(t *testing.T) {
	var ours EncTicketPart
	var theirs gkmessages.EncTicketPart
	decodeBoth(t, "mit-enc-ticket-part.der", &ours, &theirs)
	if ours.Flags != flagsOf(theirs.Flags.Bytes) || string(ours.Key.Value) != string(theirs.Key.KeyValue) ||
		ours.CRealm != theirs.CRealm || len(ours.AuthData) != len(theirs.AuthorizationData) {
		t.Errorf("EncTicketPart differs")
	}
	sameName(t, "cname", ours.CName, theirs.CName)
}

func crossCheckKRBCred(t *testing.T) {
	var ours KRBCred
	var theirs gkmessages.KRBCred
	decodeBoth(t, "mit-krb-cred.der", &ours, &theirs)
	if len(ours.Tickets) != len(theirs.Tickets) {
		t.Fatalf("tickets differ")
	}
	sameTicket(t, "ticket", ours.Tickets[0], theirs.Tickets[0])
	sameEnc(t, "enc-part", ours.EncPart, theirs.EncPart)
}

func crossCheckKDCRep(t *testing.T, f string) {
	b := readRecording(t, f)
	var ours KDCRep
	must(t, ours.Unmarshal(b))
	var crealm string
	var cname gktypes.PrincipalName
	var tkt gkmessages.Ticket
	var enc gktypes.EncryptedData
	if ours.MsgType == MsgASRep {
		var theirs gkmessages.ASRep
		must(t, theirs.Unmarshal(b))
		crealm, cname, tkt, enc = theirs.CRealm, theirs.CName, theirs.Ticket, theirs.EncPart
	} else {
		var theirs gkmessages.TGSRep
		must(t, theirs.Unmarshal(b))
		crealm, cname, tkt, enc = theirs.CRealm, theirs.CName, theirs.Ticket, theirs.EncPart
	}
	if ours.CRealm != crealm {
		t.Errorf("crealm differs")
	}
	sameName(t, "cname", ours.CName, cname)
	sameTicket(t, "ticket", ours.Ticket, tkt)
	sameEnc(t, "enc-part", ours.EncPart, enc)
}

func sameName(t *testing.T, what string, ours PrincipalName, theirs gktypes.PrincipalName) {
	t.Helper()
	if ours.Type != theirs.NameType || ours.String() != theirs.PrincipalNameString() {
		t.Errorf("%s: ours %d %q, gokrb5 %d %q", what, ours.Type, ours.String(), theirs.NameType, theirs.PrincipalNameString())
	}
}

func sameEnc(t *testing.T, what string, ours EncryptedData, theirs gktypes.EncryptedData) {
	t.Helper()
	if ours.EType != theirs.EType || int(ours.KVNO) != theirs.KVNO || string(ours.Cipher) != string(theirs.Cipher) {
		t.Errorf("%s: EncryptedData differs", what)
	}
}

func sameTime(t *testing.T, what string, ours, theirs time.Time) {
	t.Helper()
	if !ours.Equal(theirs) {
		t.Errorf("%s: ours %v, gokrb5 %v", what, ours, theirs)
	}
}

func sameTicket(t *testing.T, what string, ours Ticket, theirs gkmessages.Ticket) {
	t.Helper()
	if ours.Realm != theirs.Realm {
		t.Errorf("%s realm: %q vs %q", what, ours.Realm, theirs.Realm)
	}
	sameName(t, what+" sname", ours.SName, theirs.SName)
	sameEnc(t, what+" enc-part", ours.EncPart, theirs.EncPart)
}

// decodeBoth decodes the recording file with our decoder and gokrb5's.
func decodeBoth(t *testing.T, file string, ours message, theirs interface{ Unmarshal([]byte) error }) {
	t.Helper()
	b := readRecording(t, file)
	must(t, ours.Unmarshal(b))
	must(t, theirs.Unmarshal(b))
}

func flagsOf(b []byte) uint32 {
	var v uint32
	for i := 0; i < 4; i++ {
		v <<= 8
		if i < len(b) {
			v |= uint32(b[i])
		}
	}
	return v
}
