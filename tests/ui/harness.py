"""Drives `drover serve` and headless Chromium for the dashboard tests and benchmark.

Chromium is spoken to over the DevTools protocol on a websocket (python3-websocket from
Debian): one browser, one page, commands with ids, events buffered until asked for.
"""
import base64
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    import websocket
except ImportError:  # python3-websocket (scripts/packages/ui.txt)
    websocket = None

SKIP = 77


def find_chromium():
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if c and os.path.exists(c):
            return c
    return None


def chromium_or_exit():
    path = find_chromium()
    if path and websocket:
        return path
    missing = "chromium" if not path else "python3-websocket"
    if os.environ.get("CI"):
        print(f"FAIL: {missing} is missing (scripts/packages/ui.txt); CI must run the browser tests")
        raise SystemExit(1)
    print(f"SKIP: {missing} is not installed")
    raise SystemExit(SKIP)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def node_yaml(name, mac, ip, labels=None):
    y = f"  - name: {name}\n    mac: {mac}\n    ip: {ip}\n"
    if labels:
        y += "    labels: {" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}\n"
    return y


def write_site(root, nodes_yaml, images_yaml="", extra_yaml=""):
    """A declaration for `drover serve` on loopback; `images_yaml` adds entries under
    images:, `extra_yaml` top-level sections (both indented as in the file)."""
    write(f"{root}/images/vmlinuz", b"KERNEL-0123456789abcdef")
    write(f"{root}/images/initrd.img", b"i" * 100000)
    write(f"{root}/images/os.raw", b"o" * 4096)
    write(f"{root}/templates/server.yaml.mustache",
          "#cloud-config\nhostname: {{node.name}}\npassword: s3cret-pass\nruncmd:\n  - echo installed\n")
    os.makedirs(f"{root}/tftp", exist_ok=True)
    write(f"{root}/cluster.yaml", f"""server:
  advertise: 127.0.0.1
  tftp: {{ listen: "127.0.0.1:0", root: tftp }}
  http: {{ listen: "127.0.0.1:0" }}
  api: {{ listen: "127.0.0.1:0", tls: auto }}
  state: {{ backend: sqlite, path: state/state.db }}
networks:
  - name: lan
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
  - name: rack2
    subnet: 10.20.0.0/16
images:
  boot-env:
    kernel: {{ path: images/vmlinuz }}
    initrd: {{ path: images/initrd.img }}
  os:
    disk: {{ path: images/os.raw, sha256: "{'a' * 64}" }}
{images_yaml}profiles:
  server:
    install: {{ image: os, disk: /dev/vda }}
    cloud_config: templates/server.yaml.mustache
defaults:
  profile: server
  unknown: discover
{extra_yaml}nodes:
{nodes_yaml}""")
    return f"{root}/cluster.yaml"


class Upstream:
    """Image files on loopback HTTP (tests/images/image_server.py: ETag, Last-Modified),
    signed with a key made here; publish() swaps a file under it."""

    def __init__(self, root):
        self.root = root
        self.files = os.path.join(root, "files")
        os.makedirs(self.files, exist_ok=True)
        self.key = os.path.join(root, "release.key")
        self.pub = os.path.join(root, "release.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", self.key], check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub], check=True,
                       capture_output=True)
        server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "image_server.py")
        self.proc = subprocess.Popen([sys.executable, server, self.files], stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("image_server.py did not start")
        self.base = f"http://127.0.0.1:{line}"

    def publish(self, name, data):
        """`name` now holds `data`, signed (both written aside, then renamed into place)."""
        tmp = os.path.join(self.root, "next")
        write(tmp, data)
        subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key, "-out", tmp + ".sig", tmp], check=True)
        os.replace(tmp, os.path.join(self.files, name))
        os.replace(tmp + ".sig", os.path.join(self.files, name + ".sig"))

    def remove(self, name):
        os.remove(os.path.join(self.files, name))

    def image_yaml(self, image, name, update):
        return (f"  {image}:\n    disk: {{ url: \"{self.base}/{name}\", "
                f"signature: {{ url: \"{self.base}/{name}.sig\", key: release }} }}\n"
                f"    update: {{ {update} }}\n")

    def trust_yaml(self):
        return f"trust:\n  keys:\n    release: {self.pub}\n"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Serve:
    """`drover serve` on loopback ports, without DHCP and TFTP."""

    def __init__(self, drover, config, state_dir, session_ttl=3600):
        self.log_path = os.path.join(state_dir, "serve.log")
        os.makedirs(state_dir, exist_ok=True)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [drover, "--log-level", "info", "serve", "--config", config, "--state-dir", state_dir, "--no-dhcp", "--no-tftp",
             "--session-ttl", str(session_ttl)],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.state_dir = state_dir
        deadline = time.time() + 120
        while time.time() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"SERVE_STARTED .* http=(\S+) api=(\S+)", f.read())
            if m:
                self.http = "http://" + m.group(1)
                self.api = "https://" + m.group(2)
                break
            if self.proc.poll() is not None:
                raise RuntimeError("drover serve exited:\n" + open(self.log_path).read())
            time.sleep(0.1)
        else:
            raise RuntimeError("drover serve did not start:\n" + open(self.log_path).read())
        self.token = open(os.path.join(state_dir, "operator.token")).read().strip()
        self.ssl = ssl.create_default_context(cafile=os.path.join(state_dir, "tls/ca.crt"))

    def reload(self):
        """SIGHUP, then waits for the RELOADED line (a safety bound of 30 s)."""
        def count():
            with open(self.log_path) as f:
                return f.read().count("RELOADED ")
        before = count()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        while count() == before:
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("drover serve did not reload:\n" + open(self.log_path).read())
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def request(self, method, url, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl if url.startswith("https") else None, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def op(self, method, path, body=None):
        status, text = self.request(method, self.api + path, body, {"Authorization": "Bearer " + self.token})
        return status, json.loads(text) if text else None

    def agent(self, mac):
        """The node credential an agent gets for `mac`, by its script's boot token."""
        status, script = self.request("GET", f"{self.http}/boot.ipxe?mac={mac}&uuid=&arch=x86_64&platform=pcbios")
        m = re.search(r"drover\.token=([A-Za-z0-9_-]+)", script)
        assert m, script
        status, text = self.request("POST", self.api + "/v1/agent/exchange", {"token": m.group(1)})
        assert status == 200, text
        return Agent(self, json.loads(text)["credential"])

    def spki_hashes(self):
        out = []
        for f in ("tls/server.crt", "tls/ca.crt"):
            pem = subprocess.run(["openssl", "x509", "-in", os.path.join(self.state_dir, f), "-pubkey", "-noout"],
                                 check=True, capture_output=True).stdout
            der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pem, check=True,
                                 capture_output=True).stdout
            digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True,
                                    capture_output=True).stdout
            out.append(base64.b64encode(digest).decode())
        return out


class Agent:
    def __init__(self, serve, credential):
        self.serve = serve
        self.credential = credential

    def call(self, path, body):
        status, text = self.serve.request("POST", self.serve.api + path, body,
                                          {"Authorization": "Bearer " + self.credential})
        assert status == 200, f"{path}: {status} {text}"
        return json.loads(text)

    def register(self, facts):
        return self.call("/v1/agent/register", facts)

    def event(self, phase, message="", progress=None):
        body = {"phase": phase, "message": message}
        if progress is not None:
            body["progress"] = progress
        return self.call("/v1/agent/events", body)


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, chromium, spki=(), width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="drover-chromium-")
        args = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        if spki:
            args.append("--ignore-certificate-errors-spki-list=" + ",".join(spki))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not os.path.exists(port_file) or len(open(port_file).read().split()) < 2:
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        port, path = open(port_file).read().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def close(self):
        try:
            self.send("Browser.close", browser=True)
        except Exception:
            pass
        try:
            self.ws.close()
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method, params=None, browser=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def pump(self, seconds=0.0):
        """Reads events that arrived (waiting up to `seconds`)."""
        self.ws.settimeout(max(seconds, 0.01))
        try:
            while True:
                msg = json.loads(self.ws.recv())
                if "method" in msg:
                    self.events.append(msg)
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.ws.settimeout(60)

    def eval(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def goto(self, url):
        self.send("Page.navigate", {"url": url})

    def wait(self, expression, timeout=20, what=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                value = self.eval(expression)
                if value:
                    return value
            except RuntimeError:
                pass
            self.pump(0.1)
        raise AssertionError(f"timed out waiting for {what or expression}")

    def screenshot(self, path, down_to=None):
        """The viewport; with `down_to` (a CSS selector), the page from its top to the bottom
        of that element, however far below the viewport it ends."""
        params = {"format": "png", "captureBeyondViewport": False}
        if down_to:
            box = self.eval(f"(() => {{ const r = document.querySelector({json.dumps(down_to)})"
                            ".getBoundingClientRect(); return [document.documentElement.clientWidth, "
                            "r.bottom + window.scrollY + 16]; })()")
            params.update({"captureBeyondViewport": True,
                           "clip": {"x": 0, "y": 0, "width": box[0], "height": box[1], "scale": 1}})
        data = self.send("Page.captureScreenshot", params)["data"]
        write(path, base64.b64decode(data))

    def problems(self):
        """Console errors, uncaught exceptions and dialogs seen so far (and forgets them)."""
        self.pump(0.2)
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p["exceptionDetails"])[:400])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console." + p["type"] + ": " + json.dumps(p.get("args"))[:400])
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
            elif m == "Page.javascriptDialogOpening":
                out.append("dialog: " + p.get("message", ""))
                self.send("Page.handleJavaScriptDialog", {"accept": False})
        self.events = []
        return out
