#!/usr/bin/env python3
"""Fake Drover server for the agent's tests: serves image files (with Range) and scripted
API answers on 127.0.0.1, port chosen by the kernel and printed as "PORT <n>".

  fake_server.py --root DIR --routes routes.json --log requests.jsonl [--cert chain.pem --key key.pem]

File paths take query parameters that make the server misbehave on purpose:
  fail_first=K   the first K requests for this URL get HTTP 500
  drop_after=N   the first `drops` (default 1) requests send the headers for the whole body,
                 then N bytes, then close the connection
  stall_first=S  the first request sends the headers, then nothing for S seconds, then closes
  no_range=1     Range headers are ignored (always 200 with the whole file)
  stall_mid=S    the first request sends half the body, then nothing for S seconds, then closes
  cl_extra=N     Content-Length claims N bytes more than are sent, then the connection closes
  endless=1      no Content-Length: the file is sent over and over until the client leaves
                 (at most 1 GiB or 60 s)
routes.json may hold "FILES": {"param": "value", ...}: query parameters added to every file
request of this server (one of several servers misbehaving, e.g. dying after N bytes).
routes.json maps "METHOD /path" to a list of answers used in turn (the last one repeats):
  {"status": 200, "json": {...}} or {"status": 200, "text": "...", "type": "text/cloud-config"}
  optional: "headers": {"Location": "..."}, "repeat": N (the payload N times),
  "stall": S (half the payload, then S seconds of silence, then close),
  "cl_extra": N (Content-Length N bytes larger than the payload, then close)
It is read again on every request, so a test can change the script while the server runs.
Every request is appended to the log as one JSON line: method, path, authorization, body.
"""
import argparse
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

COUNTS = {}
LOCK = threading.Lock()


def bump(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, body):
        entry = {"method": self.command, "path": self.path,
                 "authorization": self.headers.get("Authorization", ""),
                 "range": self.headers.get("Range", ""),
                 "body": body.decode("utf-8", "replace")}
        with LOCK, open(self.server.opts.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send_plain(self, status, payload, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def routes(self):
        try:
            with open(self.server.opts.routes) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def route(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.record(body)
        path = urlsplit(self.path).path
        key = f"{method} {path}"
        routes = self.routes()
        if key in routes:
            answers = routes[key]
            n = bump(key)
            a = answers[min(n, len(answers)) - 1]
            if "json" in a:
                payload = json.dumps(a["json"]).encode()
            else:
                payload = a.get("text", "").encode()
            payload *= int(a.get("repeat", 1))
            self.send_response(a.get("status", 200))
            self.send_header("Content-Type", a.get("type", "application/json"))
            for name, value in a.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload) + int(a.get("cl_extra", 0))))
            self.end_headers()
            if "stall" in a:
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                time.sleep(float(a["stall"]))
                self.close_connection = True
                return True
            self.wfile.write(payload)
            if a.get("cl_extra"):
                self.close_connection = True
            return True
        return False

    def do_POST(self):
        if not self.route("POST"):
            self.send_plain(404, b'{"error":"not_found","message":"no route"}')

    def do_GET(self):
        if self.route("GET"):
            return
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        q.update({k: str(v) for k, v in self.routes().get("FILES", {}).items()})
        fpath = os.path.join(self.server.opts.root, parts.path.lstrip("/"))
        if ".." in parts.path or not os.path.isfile(fpath):
            self.send_plain(404, b'{"error":"not_found","message":"no file"}')
            return
        n = bump(self.path)
        if n <= int(q.get("fail_first", 0)):
            self.send_plain(500, b'{"error":"internal","message":"injected failure"}')
            return
        with open(fpath, "rb") as f:
            data = f.read()
        start, status = 0, 200
        m = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
        if m and not q.get("no_range"):
            start, status = int(m.group(1)), 206
            if start >= len(data):
                self.send_plain(416, b"")
                return
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if q.get("endless"):
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            sent, deadline = 0, time.monotonic() + 60
            while sent < (1 << 30) and time.monotonic() < deadline and data:
                try:
                    self.wfile.write(data)
                except OSError:
                    return
                sent += len(data)
            return
        self.send_header("Content-Length", str(len(body) + int(q.get("cl_extra", 0))))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if "stall_mid" in q and n == 1:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(float(q["stall_mid"]))
            self.close_connection = True
            return
        if "cl_extra" in q:
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        if "stall_first" in q and n == 1:
            time.sleep(float(q["stall_first"]))
            self.close_connection = True
            return
        if "drop_after" in q and n <= int(q.get("drops", 1)):
            self.wfile.write(body[: int(q["drop_after"])])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--routes", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    opts = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda request, address: None  # dropped clients are expected here
    srv.opts = opts
    if opts.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.cert, opts.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"PORT {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
