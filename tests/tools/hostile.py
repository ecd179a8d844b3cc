#!/usr/bin/env python3
"""hostile.py - clients for tests/integration/hostile.sh (issue 9): things curl cannot do.

  hostile.py forge KIT CREDS TOKEN OTHER_SUB
      Prints "name<TAB>token" lines: forged variants of TOKEN (a real token of the server
      whose credentials file is CREDS), some re-signed with the account kit's real
      token-signing key (KIT) so that only the claim under test is wrong. "ok-*" lines are
      controls that must be accepted.
  hostile.py raw PORT [TIMEOUT]
      Sends stdin as one raw request to 127.0.0.1:PORT and prints the status code (000 when
      the connection closed without an answer) on the first line, then the body.
  hostile.py slow PORT OUTFILE SECONDS TARGET TOKEN DRIBBLE IDLE NOREAD
      Slow clients for SECONDS: DRIBBLE clients send one header byte per second, IDLE
      clients connect and send nothing, NOREAD clients request TARGET (with TOKEN) and never
      read the answer. Writes "mode<TAB>seconds-until-the-server-closed-it" lines to OUTFILE
      ("open" when it still held the connection at the end).
  hostile.py flood PORT PID PER_IP TOTAL
      Idle-connection flood from 127.0.0.2... (1000 per address): first PER_IP + 64 from
      one address, then up to TOTAL overall; prints key=value lines (counts, probe times,
      VmRSS of PID before, during and after).
"""
import base64
import hashlib
import hmac
import json
import os
import resource
import select
import socket
import sys
import time


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def cjson(o):
    return json.dumps(o, separators=(",", ":")).encode()


# ---- forge -------------------------------------------------------------------------------------
def forge(kit_path, creds_path, token, other_sub):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    kit = json.load(open(kit_path))
    creds = json.load(open(creds_path))
    tsk = kit["keys"]["tokenSigningKeys"][-1]
    jwk = tsk["key"]
    key = ec.derive_private_key(int.from_bytes(b64d(jwk["d"]), "big"), ec.SECP256R1())
    other_key = ec.generate_private_key(ec.SECP256R1())
    h64, p64, s64 = token.split(".")
    header = json.loads(b64d(h64))
    claims = json.loads(b64d(p64))
    now = int(time.time())
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order

    def es256(hdr, cl, k=key, raw_payload=None):
        si = b64u(cjson(hdr)) + "." + (raw_payload or b64u(cjson(cl)))
        r, s = decode_dss_signature(k.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
        return si + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def hs256(secret, alg="HS256"):
        hdr = dict(header, alg=alg)
        si = b64u(cjson(hdr)) + "." + p64
        return si + "." + b64u(hmac.new(secret, si.encode(), hashlib.sha256).digest())

    def with_claims(**kw):
        c = dict(claims)
        for k, v in kw.items():
            k = k.replace("__", "/").replace("_dot_", ".")
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    out = []
    out.append(("ok-resigned", es256(header, claims)))
    out.append(("ok-exp-within-leeway", es256(header, with_claims(exp=now - 20))))
    out.append(("ok-nbf-within-leeway", es256(header, with_claims(nbf=now + 20))))
    # truncated
    out.append(("truncated-last-char", token[:-1]))
    out.append(("truncated-half", token[: len(token) // 2]))
    out.append(("truncated-no-signature", h64 + "." + p64))
    out.append(("truncated-empty-signature", h64 + "." + p64 + "."))
    out.append(("truncated-header-only", h64))
    # HS256 with the public key as the secret (the classic algorithm confusion)
    pub = creds["signingKeys"][0]
    pubkey = key.public_key()
    out.append(("hs256-jwk-text", hs256(cjson(pub))))
    out.append(("hs256-jwk-text-sorted", hs256(json.dumps(pub, sort_keys=True).encode())))
    out.append(("hs256-pem", hs256(pubkey.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))))
    out.append(("hs256-der", hs256(pubkey.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))))
    out.append(("hs256-raw-point", hs256(pubkey.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))))
    out.append(("hs256-x-coordinate", hs256(b64d(pub["x"]))))
    out.append(("hs512-jwk-text", hs256(cjson(pub), alg="HS512")))
    # alg none
    for alg in ("none", "None", "NONE", "nOnE"):
        hn = b64u(cjson(dict(header, alg=alg)))
        out.append(("alg-%s-empty-signature" % alg, hn + "." + p64 + "."))
    out.append(("alg-none-kept-signature", b64u(cjson(dict(header, alg="none"))) + "." + p64 +
                "." + s64))
    out.append(("alg-none-no-dot", b64u(cjson(dict(header, alg="none"))) + "." + p64))
    out.append(("alg-missing", es256({k: v for k, v in header.items() if k != "alg"}, claims)))
    out.append(("alg-ES384-label", es256(dict(header, alg="ES384"), claims)))
    # times
    out.append(("expired-1h", es256(header, with_claims(exp=now - 3600))))
    out.append(("expired-past-leeway", es256(header, with_claims(exp=now - 90))))
    out.append(("nbf-future-1h", es256(header, with_claims(nbf=now + 3600))))
    out.append(("nbf-past-leeway", es256(header, with_claims(nbf=now + 120))))
    out.append(("iat-future-1h", es256(header, with_claims(iat=now + 3600))))
    out.append(("iat-missing", es256(header, with_claims(iat=None))))
    out.append(("exp-string", es256(header, with_claims(exp=str(now + 3600)))))
    out.append(("exp-float", es256(header, with_claims(exp=now + 3600.5))))
    # another server, issuer, audience, secret, access bits
    out.append(("sub-other-server", es256(header, with_claims(sub=other_sub))))
    out.append(("sub-lowercase", es256(header, with_claims(sub=claims["sub"].lower()))))
    out.append(("sub-missing", es256(header, with_claims(sub=None))))
    out.append(("iss-1password", es256(header, with_claims(iss="com.1password.b5"))))
    out.append(("aud-other", es256(header, with_claims(aud=["com.1password.other"]))))
    out.append(("aud-missing", es256(header, with_claims(aud=None))))
    sec = bytearray(b64d(claims["1password.com/token"]))
    sec[0] ^= 1
    out.append(("secret-other", es256(header, {**claims, "1password.com/token": b64u(bytes(sec))})))
    out.append(("secret-missing", es256(header, {k: v for k, v in claims.items()
                                                 if k != "1password.com/token"})))
    vts = [dict(v, a=15) for v in claims.get("1password.com/vts", [])]
    out.append(("access-bits-15", es256(header, {**claims, "1password.com/vts": vts})))
    # a payload naming sub twice (the second being this server): duplicate keys refused
    dup = cjson(dict(claims, sub=other_sub))[:-1] + b',"sub":"' + claims["sub"].encode() + b'"}'
    out.append(("duplicate-sub-claim", es256(header, None, raw_payload=b64u(dup))))
    # signatures
    sig = bytearray(b64d(s64))
    for bit, byte in ((0, 0), (7, 31), (0, 32), (3, 63)):
        f = bytearray(sig)
        f[byte] ^= 1 << bit
        out.append(("flipped-bit-%d-of-byte-%d" % (bit, byte), h64 + "." + p64 + "." + b64u(bytes(f))))
    last = s64[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    idx = alphabet.index(last)
    out.append(("signature-non-canonical-base64", h64 + "." + p64 + "." + s64[:-1] +
                alphabet[idx ^ 1]))
    out.append(("signature-padded-base64", token + "=="))
    std = base64.b64encode(bytes(sig)).decode().rstrip("=")
    if std != s64:  # a signature with no '-' or '_' is the same text in both alphabets
        out.append(("signature-std-base64", h64 + "." + p64 + "." + std))
    out.append(("signature-zero-r-s", h64 + "." + p64 + "." + b64u(bytes(64))))
    out.append(("signature-r-s-equal-n", h64 + "." + p64 + "." + b64u(n.to_bytes(32, "big") * 2)))
    out.append(("signature-der-encoded", h64 + "." + p64 + "." + b64u(key.sign(
        (h64 + "." + p64).encode(), ec.ECDSA(hashes.SHA256())))))
    out.append(("signature-other-key", es256(header, claims, k=other_key)))
    out.append(("signature-of-other-payload", h64 + "." + es256(header, with_claims(
        jti=claims["jti"])).split(".")[1] + "." + es256(header, with_claims(iat=now - 1)).split(".")[2]))
    # kid
    out.append(("kid-unknown", es256(dict(header, kid="zzzzzzzzzzzzzzzzzzzzzzzzzz"), claims)))
    out.append(("kid-missing", es256({k: v for k, v in header.items() if k != "kid"}, claims)))
    out.append(("kid-empty", es256(dict(header, kid=""), claims)))
    out.append(("kid-traversal", es256(dict(header, kid="../../../../etc/passwd"), claims)))
    out.append(("kid-65-bytes", es256(dict(header, kid="k" * 65), claims)))
    out.append(("kid-right-other-key", es256(header, claims, k=other_key)))
    ojwk = other_key.public_key().public_numbers()
    emb = {"kty": "EC", "crv": "P-256", "x": b64u(ojwk.x.to_bytes(32, "big")),
           "y": b64u(ojwk.y.to_bytes(32, "big"))}
    out.append(("header-embedded-jwk", es256(dict(header, jwk=emb), claims, k=other_key)))
    out.append(("header-jku", es256(dict(header, jku="http://127.0.0.1:1/jwks"), claims,
                                    k=other_key)))
    out.append(("header-crit", es256(dict(header, crit=["exp"]), claims)))
    # shape
    out.append(("four-parts", token + "." + s64))
    out.append(("whitespace-inside", h64 + ". " + p64 + "." + s64))
    out.append(("oversized-8193", token + "A" * (8193 - len(token))))
    for name, tok in out:
        print("%s\t%s" % (name, tok))


# ---- raw ---------------------------------------------------------------------------------------
def raw_request(port, data, timeout=10.0, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    buf = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
        head, sep, body = buf.partition(b"\r\n\r\n")
        if sep:
            cl = None
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    cl = int(v.strip())
            if cl is not None and len(body) >= cl:
                break
    s.close()
    head, sep, body = buf.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    code = parts[1].decode() if len(parts) > 1 and buf.startswith(b"HTTP/") else "000"
    return code, head, body


def raw(port, timeout):
    data = sys.stdin.buffer.read()
    code, _, body = raw_request(port, data, timeout)
    sys.stdout.write(code + "\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(body)


# ---- server-side connection state --------------------------------------------------------------
def server_states(port):
    """{client port: state} for the server side of connections to 127.0.0.1:port."""
    st = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fl = line.split()
            la, ra, state = fl[1], fl[2], fl[3]
            if int(la.split(":")[1], 16) == port and ra != "00000000:0000":
                st[(ra.split(":")[0], int(ra.split(":")[1], 16))] = state
    return st


def closed_by_server(states, sock):
    ip, cport = sock.getsockname()
    key = ("%08X" % int.from_bytes(socket.inet_aton(ip), "little"), cport)
    return states.get(key, "gone") != "01"  # 01 = ESTABLISHED


# ---- slow --------------------------------------------------------------------------------------
def slow(port, outfile, seconds, target, token, ndribble, nidle, nnoread):
    clients = []
    t0 = time.time()
    for i in range(ndribble):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        clients.append(["dribble", s, None])
    for i in range(nidle):
        s = socket.create_connection(("127.0.0.1", port))
        clients.append(["idle", s, None])
    for i in range(nnoread):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (target, token)).encode())
        clients.append(["noread", s, None])
    while time.time() - t0 < seconds and any(c[2] is None for c in clients):
        time.sleep(1.0)
        states = server_states(port)
        for c in clients:
            if c[2] is not None:
                continue
            if c[0] == "dribble":
                try:
                    c[1].send(b"a")
                except OSError:
                    c[2] = time.time() - t0
                    continue
            if closed_by_server(states, c[1]):
                c[2] = time.time() - t0
    with open(outfile + ".tmp", "w") as f:
        for c in clients:
            f.write("%s\t%s\n" % (c[0], "open" if c[2] is None else "%.1f" % c[2]))
            c[1].close()
    os.rename(outfile + ".tmp", outfile)


# ---- flood -------------------------------------------------------------------------------------
def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def api_sockets(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def probe(port, src="127.0.0.1"):
    """Times GET /heartbeat on a new connection: (status, milliseconds)."""
    t = time.time()
    try:
        s = socket.socket()
        s.settimeout(5)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /heartbeat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        code = data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "refused"
    except socket.timeout:
        code = "000"
    except OSError:
        code = "refused"
    return code, int((time.time() - t) * 1000)


def open_many(port, src, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.bind((src, 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def count_closed(port, socks, settle):
    """Waits settle seconds, then counts the sockets the server closed (FIN or RST)."""
    time.sleep(settle)
    states = server_states(port)
    n = 0
    for s in socks:
        try:
            if closed_by_server(states, s):
                n += 1
        except OSError:
            n += 1
    return n


def flood(port, pid, per_ip, total):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, total + 2000)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print("fd_limit=%d" % want)
    if want < total + 1200:
        total = max(0, want - 1200)
    print("rss_before=%d" % vmrss(pid))
    # one address, the per-address limit and 64 more
    a = open_many(port, "127.0.0.2", per_ip + 64)
    closed = count_closed(port, a, 1.0)
    print("per_ip_opened=%d" % len(a))
    print("per_ip_refused=%d" % closed)
    print("per_ip_probe_same_address=%s" % probe(port, "127.0.0.2")[0])
    code, ms = probe(port)
    print("per_ip_probe_other_address=%s %d" % (code, ms))
    # then the rest of the total from other addresses, 1000 each
    socks = list(a)
    held = len(a) - closed
    addr = 3
    while held + 1000 <= total - 100 and addr < 250:
        more = open_many(port, "127.0.0.%d" % addr, 1000)
        socks += more
        held += 1000 - count_closed(port, more, 0.3)
        addr += 1
    states = server_states(port)
    alive = [s for s in socks if not closed_by_server(states, s)]
    print("held_below_limit=%d" % len(alive))
    code, ms = probe(port)
    print("probe_below_limit=%s %d" % (code, ms))
    print("rss_during=%d" % vmrss(pid))
    # up to the limit and 200 beyond it
    extra = open_many(port, "127.0.0.%d" % addr, total - len(alive) + 200)
    socks += extra
    refused = count_closed(port, extra, 1.0)
    states = server_states(port)
    alive = [s for s in socks if not closed_by_server(states, s)]
    print("over_limit_opened=%d" % len(extra))
    print("over_limit_refused=%d" % refused)
    print("held_at_limit=%d" % len(alive))
    print("api_sockets_at_limit=%d" % api_sockets(pid))
    print("probe_at_limit=%s" % probe(port)[0])
    print("rss_at_limit=%d" % vmrss(pid))
    for s in alive[:300]:
        s.close()
    time.sleep(0.5)
    code, ms = probe(port)
    print("probe_after_300_closed=%s %d" % (code, ms))
    for s in socks:
        s.close()
    deadline = time.time() + 10
    while time.time() < deadline and sum(1 for v in server_states(port).values() if v == "01") > 20:
        time.sleep(0.2)
    left = sum(1 for v in server_states(port).values() if v == "01")
    print("server_established_after_close=%d" % left)
    code, ms = probe(port)
    print("probe_after=%s %d" % (code, ms))
    time.sleep(1.0)
    print("rss_after=%d" % vmrss(pid))


def main():
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "forge":
        forge(a[0], a[1], a[2], a[3])
    elif cmd == "raw":
        raw(int(a[0]), float(a[1]) if len(a) > 1 else 10.0)
    elif cmd == "slow":
        slow(int(a[0]), a[1], float(a[2]), a[3], a[4], int(a[5]), int(a[6]), int(a[7]))
    elif cmd == "flood":
        flood(int(a[0]), int(a[1]), int(a[2]), int(a[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
