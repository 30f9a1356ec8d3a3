#!/usr/bin/python3
"""GSSAPI token driver for gosspi interop tests (internal/testpeers, GSSPeer).

Runs as a GSS initiator or acceptor on MIT krb5's mechglue through python3-gssapi, for any
mechanism it has loaded: NTLM through gss-ntlmssp (1.3.6.1.4.1.311.2.2.10), SPNEGO
(1.3.6.1.5.5.2), Kerberos (1.2.840.113554.1.2.2).

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout. Binary values are
standard base64 (what Go's encoding/json does with []byte), absent ones are null.

  first line: the configuration (see GSSPeerOptions on the Go side)
    {"role": "initiate"|"accept", "mech": OID, "target": str, "target_type": "hostbased"|"user"|
     "principal", "user": str|null, "password": str|null, "flags": int, "neg_mechs": [OID],
     "cb_app_data": b64|null, "request_mic": bool}
  reply:        {"ok": true} once credentials are acquired
  then          {"op": "step", "token": b64|null}     -> {"ok", "token", "done"}
                {"op": "wrap", "data": b64, "conf": bool} -> {"ok", "data", "conf"}
                {"op": "unwrap", "data": b64}          -> {"ok", "data", "conf", "qop"}
                {"op": "unwrap_iov", "token": b64, "data": b64, "hdr": b64|null, "trl": b64|null}
                    -> {"ok", "data", "conf"}: gss_unwrap_iov of a HEADER buffer (the token),
                    SIGN_ONLY hdr, DATA, SIGN_ONLY trl, as SSPI's DecryptMessage takes a
                    split token
                {"op": "wrap_iov", "data": b64, "conf": bool, "hdr": b64|null, "trl": b64|null}
                    -> {"ok", "token", "data", "conf"}: gss_wrap_iov into the same layout
                {"op": "get_mic", "data": b64}         -> {"ok", "data"}
                {"op": "verify_mic", "data": b64, "mic": b64} -> {"ok", "qop"}
                {"op": "info"} -> {"ok", "established", "peer_name", "local_name", "mech",
                                   "flags", "lifetime", "session_key"}
                {"op": "quit"} -> exits 0
  errors:       {"ok": false, "error": str, "major": int, "minor": int}

Nothing but these replies may reach stdout: the Go side parses every line. Diagnostics go to
stderr, which the Go side keeps for its error messages.
"""

import base64
import json
import sys
import traceback

import gssapi
import gssapi.raw as graw

# GSS_C_INQ_SSPI_SESSION_KEY: the mechanism's session key (gss-ntlmssp: ExportedSessionKey;
# krb5: the context's subkey). MIT krb5 and gss-ntlmssp both answer it.
INQ_SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")
# GSS_SPNEGO_REQUIRE_MIC_OID_STRING: MIT's SPNEGO inquires it of the inner mechanism after the
# first leg; gss-ntlmssp takes the inquiry as "put a MIC in the AUTHENTICATE" (and reports
# whether it will). Plain NTLM without it sends no MIC.
SPNEGO_REQUIRE_MIC = gssapi.OID.from_int_seq("1.3.6.1.4.1.7165.655.1.2")
SPNEGO = "1.3.6.1.5.5.2"


def b64(b):
    return None if b is None else base64.b64encode(bytes(b)).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def fail(e):
    if isinstance(e, gssapi.exceptions.GSSError):
        try:
            msg = e.gen_message()
        except Exception:  # gen_message itself can fail on odd minor codes
            msg = str(e)
        reply({"ok": False, "error": msg, "major": e.maj_code, "minor": e.min_code})
    else:
        reply({"ok": False, "error": "%s: %s" % (type(e).__name__, e), "major": 0, "minor": 0})
        traceback.print_exc(file=sys.stderr)


def oid(s):
    return gssapi.OID.from_int_seq(s)


def name_of(text, kind):
    types = {
        "hostbased": gssapi.NameType.hostbased_service,
        "user": gssapi.NameType.user,
        "principal": gssapi.NameType.kerberos_principal,
    }
    return gssapi.Name(text, types[kind or "hostbased"])


class Driver:
    def __init__(self, cfg):
        self.cfg = cfg
        self.role = cfg["role"]
        self.mech = oid(cfg["mech"])
        self.ctx = None
        cb = unb64(cfg.get("cb_app_data"))
        # Channel bindings carried as application data only, the way SSPI/TLS users pass
        # "tls-server-end-point:..." or "tls-unique:..." (RFC 5929). gss-ntlmssp hashes the whole
        # gss_channel_bindings_struct into MsvAvChannelBindings; krb5 does the same into the
        # authenticator checksum.
        self.cb = graw.ChannelBindings(application_data=cb) if cb is not None else None
        self.creds = self._creds()

    def _creds(self):
        cfg = self.cfg
        usage = "initiate" if self.role == "initiate" else "accept"
        mech = self.mech
        # For SPNEGO, credentials are acquired for SPNEGO itself and then narrowed with
        # gss_set_neg_mechs, exactly as gss-client -spnego -mech does: otherwise MIT's SPNEGO
        # also offers krb5 and, given a password, would try to reach a KDC.
        want = [mech]
        user = cfg.get("user")
        password = cfg.get("password")
        if usage == "initiate" and password is not None:
            # gss_acquire_cred_with_password: credentials from a password in memory, no
            # NTLM_USER_FILE or ccache needed in this process.
            name = name_of(user or "", cfg.get("user_type") or "user")
            creds = graw.acquire_cred_with_password(name, password.encode("utf-8"), mechs=want, usage=usage).creds
            creds = gssapi.Credentials(base=creds)
        elif usage == "initiate" and user:
            creds = gssapi.Credentials(name=name_of(user, cfg.get("user_type") or "user"), usage=usage, mechs=want)
        elif usage == "initiate":
            # Default credentials: gss-ntlmssp takes NTLMUSER (else USER) and looks the
            # password up in NTLM_USER_FILE; krb5 takes the ccache in KRB5CCNAME.
            creds = gssapi.Credentials(usage=usage, mechs=want)
        else:
            acc = cfg.get("acceptor_name")
            if acc:
                creds = gssapi.Credentials(name=name_of(acc, "hostbased"), usage=usage, mechs=want)
            else:
                creds = gssapi.Credentials(usage=usage, mechs=want)
        neg = cfg.get("neg_mechs")
        if mech.dotted_form == SPNEGO and neg:
            graw.set_neg_mechs(creds, [oid(m) for m in neg])
        return creds

    def step(self, token):
        if self.ctx is None:
            if self.role == "initiate":
                target = name_of(self.cfg["target"], self.cfg.get("target_type"))
                self.ctx = gssapi.SecurityContext(
                    name=target,
                    mech=self.mech,
                    usage="initiate",
                    creds=self.creds,
                    flags=self.cfg.get("flags") or 0,
                    channel_bindings=self.cb,
                )
            else:
                self.ctx = gssapi.SecurityContext(usage="accept", creds=self.creds, channel_bindings=self.cb)
        first = token is None and self.role == "initiate"
        out = self.ctx.step(token)
        if first and self.cfg.get("request_mic"):
            graw.inquire_sec_context_by_oid(self.ctx, SPNEGO_REQUIRE_MIC)
        return {"ok": True, "token": b64(out), "done": bool(self.ctx.complete)}

    def need_ctx(self):
        if self.ctx is None or not self.ctx.complete:
            raise RuntimeError("security context is not established")
        return self.ctx

    def info(self):
        ctx = self.ctx
        res = {"ok": True, "established": bool(ctx is not None and ctx.complete)}
        if ctx is None:
            return res

        def s(n):
            try:
                # gss-ntlmssp 1.2's gss_display_name counts the C string's NUL in the buffer
                # length ("TESTDOM\\alice\x00"); strip it so names compare as text.
                return None if n is None else str(n).rstrip("\x00")
            except Exception:
                return None

        if self.role == "accept":
            # Not ctx.target_name: python3-gssapi 1.8 segfaults reading the target name of a
            # gss-ntlmssp acceptor context (gss_inquire_context gives no name back there).
            res["peer_name"], res["local_name"] = s(ctx.initiator_name), self.cfg.get("acceptor_name")
        else:
            res["peer_name"], res["local_name"] = s(ctx.target_name), s(ctx.initiator_name)
        try:
            res["mech"] = ctx.mech.dotted_form if ctx.mech is not None else None
        except Exception:
            res["mech"] = None
        res["flags"] = int(ctx.actual_flags)
        try:
            res["lifetime"] = ctx.lifetime
        except Exception:
            res["lifetime"] = None
        res["session_key"] = None
        if ctx.complete:
            try:
                vals = graw.inquire_sec_context_by_oid(ctx, INQ_SSPI_SESSION_KEY)
                if vals:
                    res["session_key"] = b64(vals[0])
            except gssapi.exceptions.GSSError:
                pass
        return res

    def handle(self, req):
        op = req.get("op")
        if op == "step":
            return self.step(unb64(req.get("token")))
        if op == "info":
            return self.info()
        ctx = self.need_ctx()
        if op == "wrap":
            r = ctx.wrap(unb64(req["data"]), bool(req.get("conf")))
            return {"ok": True, "data": b64(r.message), "conf": bool(r.encrypted)}
        if op == "unwrap":
            r = ctx.unwrap(unb64(req["data"]))
            return {"ok": True, "data": b64(r.message), "conf": bool(r.encrypted), "qop": int(r.qop)}
        if op in ("wrap_iov", "unwrap_iov"):
            # HEADER, then SIGN_ONLY hdr, DATA, SIGN_ONLY trl (the two only when given), as
            # DCE/RPC lays out a PDU; no TRAILER buffer, so the trailer goes in the header.
            T = graw.IOVBufferType
            wrap = op == "wrap_iov"
            bufs = [(T.header, True) if wrap else (T.header, False, unb64(req.get("token")))]
            hdr, trl = req.get("hdr"), req.get("trl")
            if hdr is not None:
                bufs.append((T.sign_only, unb64(hdr)))
            bufs.append((T.data, unb64(req["data"])))
            if trl is not None:
                bufs.append((T.sign_only, unb64(trl)))
            iov = graw.IOV(*bufs, std_layout=False)
            data_at = 2 if hdr is not None else 1
            if wrap:
                conf = graw.wrap_iov(ctx, iov, confidential=bool(req.get("conf")))
                return {"ok": True, "token": b64(iov[0].value), "data": b64(iov[data_at].value), "conf": bool(conf)}
            res = graw.unwrap_iov(ctx, iov)
            return {"ok": True, "data": b64(iov[data_at].value), "conf": bool(res.encrypted)}
        if op == "get_mic":
            return {"ok": True, "data": b64(ctx.get_signature(unb64(req["data"])))}
        if op == "verify_mic":
            qop = ctx.verify_signature(unb64(req["data"]), unb64(req["mic"]))
            return {"ok": True, "qop": int(qop or 0)}
        raise RuntimeError("unknown op %r" % op)


def main():
    line = sys.stdin.readline()
    if not line:
        return 2
    try:
        drv = Driver(json.loads(line))
    except Exception as e:
        fail(e)
        return 1
    reply({"ok": True})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if req.get("op") == "quit":
                reply({"ok": True})
                return 0
            reply(drv.handle(req))
        except Exception as e:
            fail(e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
