# MIT krb5's gss_wrap_iov/gss_unwrap_iov with SIGN_ONLY buffers, for mit_iov_test.go.
# One process holds both ends of a context (initiator with a password, acceptor from
# KRB5_KTNAME), prints the session key, then answers one JSON request per line, always
# on the initiator's side (the Go test plays the acceptor).
import base64
import json
import sys

import gssapi
import gssapi.raw as graw
from gssapi.raw import IOV, IOVBufferType as T

KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
INQ_SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")


def b64(b):
    return base64.b64encode(b or b"").decode()


def unb64(s):
    return base64.b64decode(s or "")


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.stdin.readline())
    user = gssapi.Name(cfg["user"], gssapi.NameType.kerberos_principal)
    icred = graw.acquire_cred_with_password(user, cfg["password"].encode(), mechs=[KRB5], usage="initiate").creds
    ini = gssapi.SecurityContext(name=gssapi.Name(cfg["target"], gssapi.NameType.hostbased_service),
                                 creds=gssapi.Credentials(base=icred), usage="initiate", mech=KRB5,
                                 flags=cfg["flags"])
    acc = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept", mechs=[KRB5]), usage="accept")
    tok = ini.step()
    side = acc
    for _ in range(6):
        if ini.complete and acc.complete:
            break
        tok = side.step(tok)
        side = ini if side is acc else acc
    key = graw.inquire_sec_context_by_oid(ini, INQ_SSPI_SESSION_KEY)[0]
    reply({"ok": True, "key": b64(key), "flags": int(ini.actual_flags)})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "wrap_iov":
                iov = IOV((T.header, True), (T.sign_only, unb64(req["hdr"])), (T.data, unb64(req["data"])),
                          (T.sign_only, unb64(req["trl"])), std_layout=False)
                conf = graw.wrap_iov(ini, iov, confidential=req["conf"])
                reply({"ok": True, "token": b64(iov[0].value), "data": b64(iov[2].value), "conf": bool(conf)})
            elif req["op"] == "unwrap_iov":
                iov = IOV((T.header, False, unb64(req["token"])), (T.sign_only, unb64(req["hdr"])),
                          (T.data, unb64(req["data"])), (T.sign_only, unb64(req["trl"])), std_layout=False)
                res = graw.unwrap_iov(ini, iov)
                reply({"ok": True, "data": b64(iov[2].value), "conf": bool(res.encrypted)})
        except gssapi.exceptions.GSSError as e:
            reply({"ok": False, "error": str(e)})


main()
