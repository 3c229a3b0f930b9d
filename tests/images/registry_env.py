#!/usr/bin/python3
"""A registry for the pull tests, on 127.0.0.1 only, everything under DIR:

  registry_env.py DIR

- a CA, a TLS certificate for 127.0.0.1 signed by it (DIR/ca.crt), and a token signing key;
- a token service (https, threaded): Basic drover:s3cret gets a JWT (ES256, signed by the
  key the registry trusts) for the scope asked; anything else gets 401;
- docker-registry with `auth: token` on TLS, and a second one on the same storage with
  `auth: htpasswd` (Basic, same user);
- images pushed with skopeo from OCI layouts made here (node:v1 and node:v2 share their
  base layer, multi:latest is an index of linux/amd64 and linux/arm64, big:v1 has a 3 MiB
  layer, bad:v1 has a layer overwritten in the registry's storage after the push);
- a plain-HTTP proxy in front of the token registry that cuts the first transfer of any blob
  over 1 MiB after 1 MiB, and counts blob GETs (GET /_stats).

Prints one JSON line (ports, digests) when ready; SIGTERM stops everything.
"""
import base64, datetime, gzip, hashlib, http.client, http.server, io, json, os, signal
import socket, ssl, subprocess, sys, tarfile, threading, time, uuid, ctypes

import bcrypt, jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

D = sys.argv[1]
USER, PASSWORD = "drover", "s3cret"
SERVICE, ISSUER = "drover-test-registry", "drover-test-issuer"
children = []


def pem(path, data):
    with open(os.path.join(D, path), "wb") as f:
        f.write(data)


def cert(name, key, issuer_name, issuer_key, ca=False, ip=None):
    now = datetime.datetime.utcnow()
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def key_pem(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                           serialization.NoEncryption())


ca_key = ec.generate_private_key(ec.SECP256R1())
ca = cert("drover test CA", ca_key, "drover test CA", ca_key, ca=True)
srv_key = ec.generate_private_key(ec.SECP256R1())
srv = cert("127.0.0.1", srv_key, "drover test CA", ca_key, ip="127.0.0.1")
tok_key = ec.generate_private_key(ec.SECP256R1())
tok = cert("token signer", tok_key, "token signer", tok_key)
pem("ca.crt", ca.public_bytes(serialization.Encoding.PEM))
pem("server.crt", srv.public_bytes(serialization.Encoding.PEM))
pem("server.key", key_pem(srv_key))
pem("token.crt", tok.public_bytes(serialization.Encoding.PEM))

# The key id the registry computes for a trusted key (libtrust): sha256 of the DER public
# key, 240 bits in base32, groups of four.
spki = tok_key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode()
KID = ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))

stats = {"tokens": 0, "token_refusals": 0, "blob_gets": {}, "ranges": 0, "cuts": 0}
lock = threading.Lock()


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Token(Quiet):
    def do_GET(self):
        from urllib.parse import urlparse, parse_qs
        q = parse_qs(urlparse(self.path).query)
        want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != want:
            with lock:
                stats["token_refusals"] += 1
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
        access = []
        for s in q.get("scope", []):
            for one in s.split(" "):
                parts = one.split(":")
                if len(parts) >= 3:
                    access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                                   "actions": parts[-1].split(",")})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": USER, "aud": q.get("service", [""])[0], "exp": now + 600,
                  "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
        token = jwt.encode(claims, key_pem(tok_key), algorithm="ES256", headers={"kid": KID})
        with lock:
            stats["tokens"] += 1
        self.reply(200, json.dumps({"token": token, "expires_in": 600}).encode())


def serve(handler, tls):
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    s.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(D, "server.crt"), os.path.join(D, "server.key"))
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s.server_address[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


token_port = serve(Token, True)
reg_port, basic_port = free_port(), free_port()
with open(os.path.join(D, "htpasswd"), "wb") as f:
    f.write(USER.encode() + b":" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)) + b"\n")


def registry(name, port, auth):
    conf = f"""version: 0.1
log: {{level: error, accesslog: {{disabled: true}}}}
storage:
  filesystem: {{rootdirectory: {D}/storage}}
  delete: {{enabled: true}}
http:
  addr: 127.0.0.1:{port}
  tls: {{certificate: {D}/server.crt, key: {D}/server.key}}
auth:
{auth}
"""
    path = os.path.join(D, name + ".yml")
    with open(path, "w") as f:
        f.write(conf)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    log = open(os.path.join(D, name + ".log"), "wb")
    p = subprocess.Popen(["/usr/bin/docker-registry", "serve", path], stdout=log, stderr=log,
                         preexec_fn=lambda: libc.prctl(1, signal.SIGKILL))
    children.append(p)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(name + " did not start")


registry("token-registry", reg_port,
         f"  token: {{realm: 'https://127.0.0.1:{token_port}/token', service: {SERVICE}, "
         f"issuer: {ISSUER}, rootcertbundle: {D}/token.crt}}")
registry("basic-registry", basic_port, f"  htpasswd: {{realm: drover-test, path: {D}/htpasswd}}")


# --- images ----------------------------------------------------------------------------------
def layer(files, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.mtime, info.size, info.mode = 1700000000, len(data), 0o644
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    diff = "sha256:" + hashlib.sha256(raw).hexdigest()
    if compress:
        return gzip.compress(raw, mtime=0), diff, "application/vnd.oci.image.layer.v1.tar+gzip"
    return raw, diff, "application/vnd.oci.image.layer.v1.tar"


def blob(out, data, media):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"mediaType": media, "digest": "sha256:" + digest, "size": len(data)}


def manifest(out, layers, arch):
    descs, diffs = [], []
    for data, diff, media in layers:
        descs.append(blob(out, data, media))
        diffs.append(diff)
    config = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs},
              "config": {}}
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": blob(out, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
         "layers": descs}
    return blob(out, json.dumps(m).encode(), m["mediaType"])


def layout(name, top):
    out = os.path.join(D, "layouts", name)
    top = top(out)
    top["annotations"] = {"org.opencontainers.image.ref.name": "t"}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return out


base = layer([("etc/os-release", b"ID=drover-test\n")], compress=True)
images = {
    "node:v1": layout("v1", lambda o: manifest(o, [base, layer([("app/one", b"one\n")])], "amd64")),
    "node:v2": layout("v2", lambda o: manifest(o, [base, layer([("app/two", b"two\n")])], "amd64")),
    "big:v1": layout("big", lambda o: manifest(o, [layer([("data/big", os.urandom(3 << 20))])], "amd64")),
    "bad:v1": layout("bad", lambda o: manifest(o, [layer([("bad/file", b"x" * 4096)])], "amd64")),
}


def multi(out):
    entries = []
    for arch in ("amd64", "arm64"):
        m = manifest(out, [base, layer([("etc/arch", arch.encode() + b"\n")])], arch)
        m["platform"] = {"os": "linux", "architecture": arch}
        entries.append(m)
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": entries}
    return blob(out, json.dumps(idx).encode(), idx["mediaType"])


images["multi:latest"] = layout("multi", multi)
digests = {}
creds = ["--tls-verify=false", "--creds", f"{USER}:{PASSWORD}"]
for ref, path in images.items():
    dfile = os.path.join(D, "digest")
    subprocess.run(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false",
                    "--dest-creds", f"{USER}:{PASSWORD}", "--digestfile", dfile, f"oci:{path}:t",
                    f"docker://127.0.0.1:{reg_port}/{ref}"], check=True, timeout=120)
    with open(dfile) as f:
        digests[ref] = f.read().strip()

# bad:v1: its layer's bytes changed in the registry's storage (same size).
raw = subprocess.run(["skopeo", "inspect", "--raw", *creds, f"docker://127.0.0.1:{reg_port}/bad:v1"],
                     check=True, capture_output=True, timeout=60).stdout
bad_layer = json.loads(raw)["layers"][0]["digest"].split(":")[1]
data = os.path.join(D, "storage", "docker", "registry", "v2", "blobs", "sha256", bad_layer[:2],
                    bad_layer, "data")
with open(data, "r+b") as f:
    f.write(b"tampered")


# --- the proxy -------------------------------------------------------------------------------
class Proxy(Quiet):
    def do_GET(self):
        if self.path == "/_stats":
            with lock:
                return self.reply(200, json.dumps(stats).encode())
        ctx = ssl.create_default_context(cafile=os.path.join(D, "ca.crt"))
        up = http.client.HTTPSConnection("127.0.0.1", reg_port, context=ctx, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept", "range")}
        up.request("GET", self.path, headers=headers)
        r = up.getresponse()
        body = r.read()
        is_blob = "/blobs/" in self.path and r.status in (200, 206)
        cut = False
        with lock:
            if is_blob:
                d = self.path.rsplit("/", 1)[1]
                stats["blob_gets"][d] = stats["blob_gets"].get(d, 0) + 1
                if "Range" in self.headers:
                    stats["ranges"] += 1
                elif len(body) > (1 << 20) and stats["blob_gets"][d] == 1:
                    cut = True
                    stats["cuts"] += 1
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if cut:
            self.wfile.write(body[:1 << 20])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


proxy_port = serve(Proxy, False)


def stop(*_):
    for p in children:
        p.kill()
        p.wait()
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print(json.dumps({"registry": f"127.0.0.1:{reg_port}", "basic": f"127.0.0.1:{basic_port}",
                  "proxy": f"127.0.0.1:{proxy_port}", "token": f"127.0.0.1:{token_port}",
                  "digests": digests, "bad_layer": bad_layer}), flush=True)
while True:
    signal.pause()
