#!/usr/bin/python3
"""Impacket as an independent NTLM implementation for gosspi's tests (internal/testpeers).

One JSON request on stdin, one JSON answer on stdout; binary values are standard base64.

  {"op": "negotiate", "flags": int|null, "workstation": str, "domain": str, "version": bool,
   "ntlmv1": bool}
      -> {"ok": true, "negotiate": b64}
      impacket.ntlm.getNTLMSSPType1. flags null keeps impacket's own choice (with signing and
      sealing); version adds NTLMSSP_NEGOTIATE_VERSION and an 8-byte VERSION field (impacket
      itself refuses the flag without the field).

  {"op": "authenticate", ... the negotiate fields ..., "challenge": b64, "user": str,
   "domain": str, "password": str, "nthash": hex|null, "keep_version_bug": bool}
      -> {"ok": true, "negotiate": b64, "authenticate": b64, "exported_session_key": b64}
      impacket.ntlm.getNTLMSSPType3 against the CHALLENGE, from the same NEGOTIATE (rebuilt from
      the same fields: getNTLMSSPType1 is deterministic).

      Impacket 0.10.0 bug: with NTLMSSP_NEGOTIATE_VERSION in the flags, its AUTHENTICATE
      computes payload offsets that reserve room for the VERSION and MIC fields but writes
      neither, so every offset points 24 bytes past its data. Unless keep_version_bug is set,
      the script fills both fields (the VERSION bytes and a MIC over the three messages, as
      MS-NLMP 3.1.5.1.2 computes it), which makes the offsets right. No MsvAvFlags MIC bit is
      claimed (it would sit inside the NTLMv2 response, which impacket has already
      computed), so an acceptor may ignore that MIC.

  {"op": "verify", "negotiate": b64|null, "challenge": b64, "authenticate": b64,
   "password": str, "nthash": hex|null, "user": str|null, "domain": str|null}
      -> {"ok": true, "user", "domain", "workstation", "flags", "ntlmv2", "nt_proof_ok",
          "lmv2_ok", "session_base_key", "key_exchange_key", "exported_session_key",
          "mic_present", "mic_ok", "av_pairs": {id: b64}, "channel_bindings", "target_name"}
      Recomputes the NTLMv2 response (NTProofStr) with impacket's primitives (NTOWFv2,
      hmac_md5) from the password, independently of whoever produced the messages; decrypts
      the exported session key when KEY_EXCH is set; checks the MIC when MsvAvFlags says one
      is there. user/domain default to those in the AUTHENTICATE.

Errors: {"ok": false, "error": str}.
"""

import base64
import binascii
import hmac
import json
import struct
import sys

from impacket import ntlm
from Cryptodome.Cipher import ARC4

# MS-NLMP 2.2.2.10 VERSION: 6.1 build 7600, NTLMSSP_REVISION_W2K3 (15). Any value will do; this
# is Windows 7's.
VERSION_BYTES = b"\x06\x01\xb0\x1d\x00\x00\x00\x0f"


def b64(b):
    return None if b is None else base64.b64encode(bytes(b)).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def type1(req):
    t1 = ntlm.getNTLMSSPType1(
        req.get("workstation") or "",
        req.get("domain") or "",
        signingRequired=True,
        use_ntlmv2=not req.get("ntlmv1"),
    )
    if req.get("flags") is not None:
        t1["flags"] = int(req["flags"])
    if req.get("version"):
        t1["flags"] |= ntlm.NTLMSSP_NEGOTIATE_VERSION
        t1["os_version"] = VERSION_BYTES
    elif t1["flags"] & ntlm.NTLMSSP_NEGOTIATE_VERSION:
        t1["os_version"] = VERSION_BYTES
    return t1


def op_negotiate(req):
    return {"ok": True, "negotiate": b64(type1(req).getData())}


def op_authenticate(req):
    t1 = type1(req)
    negotiate = t1.getData()
    challenge = unb64(req["challenge"])
    nthash = binascii.unhexlify(req["nthash"]) if req.get("nthash") else ""
    t3, exported = ntlm.getNTLMSSPType3(
        t1,
        challenge,
        req.get("user") or "",
        req.get("password") or "",
        req.get("domain") or "",
        nthash=nthash,
        use_ntlmv2=not req.get("ntlmv1"),
    )
    has_version = bool(t3["flags"] & ntlm.NTLMSSP_NEGOTIATE_VERSION)
    if has_version and not req.get("keep_version_bug"):
        t3["Version"] = VERSION_BYTES
        t3["MIC"] = b"\x00" * 16
        blank = t3.getData()
        t3["MIC"] = ntlm.hmac_md5(exported, negotiate + challenge + blank)
    authenticate = t3.getData()
    return {
        "ok": True,
        "negotiate": b64(negotiate),
        "authenticate": b64(authenticate),
        "exported_session_key": b64(exported),
    }


def field(msg, off):
    """An MS-NLMP payload field: (len u16, maxlen u16, offset u32) at off."""
    ln, _, o = struct.unpack_from("<HHI", msg, off)
    return msg[o : o + ln]


def av_pairs(blob):
    out = {}
    i = 0
    while i + 4 <= len(blob):
        aid, ln = struct.unpack_from("<HH", blob, i)
        if aid == ntlm.NTLMSSP_AV_EOL:
            break
        out[aid] = blob[i + 4 : i + 4 + ln]
        i += 4 + ln
    return out


def op_verify(req):
    challenge = unb64(req["challenge"])
    auth = unb64(req["authenticate"])
    negotiate = unb64(req.get("negotiate"))
    if challenge[:8] != b"NTLMSSP\x00" or auth[:8] != b"NTLMSSP\x00":
        raise ValueError("not NTLMSSP messages")
    server_challenge = challenge[24:32]
    flags = struct.unpack_from("<I", auth, 60)[0]
    unicode = bool(flags & ntlm.NTLMSSP_NEGOTIATE_UNICODE)

    def text(b):
        return b.decode("utf-16le") if unicode else b.decode("latin-1")

    # Read the fields straight from their offsets (MS-NLMP 2.2.1.3), not through impacket's
    # parser, so a message with impacket's own offset bug is not silently "fixed" here.
    lm = field(auth, 12)
    nt = field(auth, 20)
    a_domain = text(field(auth, 28))
    a_user = text(field(auth, 36))
    workstation = text(field(auth, 44))
    enc_key = field(auth, 52)
    user = req.get("user") if req.get("user") is not None else a_user
    domain = req.get("domain") if req.get("domain") is not None else a_domain
    nthash = binascii.unhexlify(req["nthash"]) if req.get("nthash") else ""

    res = {
        "ok": True,
        "user": a_user,
        "domain": a_domain,
        "workstation": workstation,
        "flags": flags,
        "ntlmv2": len(nt) > 24,
    }
    if len(nt) <= 24:
        # NTLMv1 is not what this verifier is for; report what is there.
        res.update(nt_proof_ok=False, lmv2_ok=False, mic_present=False, mic_ok=False)
        return res

    response_key_nt = ntlm.NTOWFv2(user, req.get("password") or "", domain, nthash)
    nt_proof = nt[:16]
    blob = nt[16:]
    expect = ntlm.hmac_md5(response_key_nt, server_challenge + blob)
    res["nt_proof_ok"] = hmac.compare_digest(expect, nt_proof)
    if len(lm) == 24 and lm != b"\x00" * 24:
        res["lmv2_ok"] = hmac.compare_digest(
            ntlm.hmac_md5(response_key_nt, server_challenge + lm[16:24]), lm[:16]
        )
    else:
        res["lmv2_ok"] = None  # an all-zero LMv2 response (sent when MsvAvTimestamp is set)
    session_base_key = ntlm.hmac_md5(response_key_nt, nt_proof)
    key_exchange_key = session_base_key  # NTLMv2: KXKEY is the session base key
    if flags & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH and len(enc_key) == 16:
        exported = ARC4.new(key_exchange_key).decrypt(enc_key)
    else:
        exported = key_exchange_key
    res["session_base_key"] = b64(session_base_key)
    res["key_exchange_key"] = b64(key_exchange_key)
    res["exported_session_key"] = b64(exported)

    # The NTLMv2 blob: RespType, HiRespType, 6 reserved, timestamp (8), client challenge (8),
    # 4 reserved, AV pairs.
    pairs = av_pairs(blob[28:])
    res["av_pairs"] = {str(k): b64(v) for k, v in pairs.items()}
    res["channel_bindings"] = b64(pairs.get(ntlm.NTLMSSP_AV_CHANNEL_BINDINGS))
    tn = pairs.get(ntlm.NTLMSSP_AV_TARGET_NAME)
    res["target_name"] = tn.decode("utf-16le") if tn is not None else None
    av_flags = struct.unpack("<I", pairs[ntlm.NTLMSSP_AV_FLAGS])[0] if ntlm.NTLMSSP_AV_FLAGS in pairs else 0
    res["mic_present"] = bool(av_flags & 0x2)
    res["mic_ok"] = None
    if res["mic_present"]:
        # MIC sits at offset 72, after the 8-byte VERSION (MS-NLMP 2.2.1.3).
        if negotiate is None:
            raise ValueError("the MIC needs the NEGOTIATE message")
        mic = auth[72:88]
        blank = auth[:72] + b"\x00" * 16 + auth[88:]
        res["mic_ok"] = hmac.compare_digest(ntlm.hmac_md5(exported, negotiate + challenge + blank), mic)
    return res


def main():
    try:
        req = json.loads(sys.stdin.read())
        op = {"negotiate": op_negotiate, "authenticate": op_authenticate, "verify": op_verify}[req["op"]]
        out = op(req)
    except Exception as e:  # reported to the Go side, which fails the test with it
        import traceback

        traceback.print_exc(file=sys.stderr)
        out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
