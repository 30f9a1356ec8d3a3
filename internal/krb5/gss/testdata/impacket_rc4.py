# Runs Impacket's RFC 4757 (RC4-HMAC) GSS code for rc4_test.go: reads one JSON request
# on stdin, writes one JSON answer. Impacket draws Wrap confounders from gssapi.rand; the
# request's confounder replaces it so tokens can be compared byte for byte.
import json
import sys

from impacket.krb5 import constants, crypto, gssapi


class FixedRand:
    def __init__(self, chars):
        self.chars = list(chars)

    def choice(self, _):
        return self.chars.pop(0)


def main():
    req = json.load(sys.stdin)
    key = crypto.Key(constants.EncryptionTypes.rc4_hmac.value, bytes.fromhex(req["key"]))
    g = gssapi.GSSAPI_RC4()
    data = bytes.fromhex(req["data"])
    out = {"ok": True}
    if req["op"] == "mic":
        out["token"] = g.GSS_GetMIC(key, data, req["seq"], req["direction"]).hex()
    elif req["op"] == "wrap":
        gssapi.rand = FixedRand(req["confounder"])
        ct, tok = g.GSS_Wrap(key, data, req["seq"], req["direction"], req.get("encrypt", True))
        out["token"], out["data"] = tok.hex(), ct.hex()
    elif req["op"] == "unwrap":
        tok = bytes.fromhex(req["token"])
        pt, _ = g.GSS_Unwrap(key, data, req["seq"], req["direction"], authData=b"\0" * 8 + tok)
        out["data"] = pt[: len(data)].hex()
    json.dump(out, sys.stdout)


main()
