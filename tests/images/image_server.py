#!/usr/bin/env python3
"""Upstream image server for the catalog tests: serves files of a directory on loopback.

Supports Range (bytes=N-) with If-Range, ETag / If-None-Match and Last-Modified /
If-Modified-Since.
Paths with special behaviour:
  /drop-once/NAME  the first GET sends half of NAME then closes the connection
  /slow/NAME       waits a little before answering (so concurrent requests overlap)
  /stats           JSON: GET count per path and the Range (and If-Range) headers seen
  /blobs/sha256/H  the file H (a replica's blob endpoint over a store's blobs/sha256/)
  /peer/ID/blobs/sha256/H  the file ID/blobs/sha256/H (several replicas' stores, one server)
Prints the bound port on stdout, then serves until killed.
"""
import email.utils
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
LOCK = threading.Lock()
GETS = {}
RANGES = []
DROPPED = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/stats":
            with LOCK:
                body = json.dumps({"gets": GETS, "ranges": RANGES}).encode()
            return self.reply(200, body, {"Content-Type": "application/json"})
        with LOCK:
            GETS[path] = GETS.get(path, 0) + 1
            if self.headers.get("Range"):
                seen = path + " " + self.headers["Range"]
                if self.headers.get("If-Range"):
                    seen += " if-range=" + self.headers["If-Range"]
                RANGES.append(seen)
        mode, name = "", path.lstrip("/")
        for prefix in ("drop-once/", "slow/"):
            if name.startswith(prefix):
                mode, name = prefix[:-1], name[len(prefix):]
        if name.startswith("blobs/sha256/"):
            name = name[len("blobs/sha256/"):]
        parts = name.split("/")
        if len(parts) == 5 and parts[0] == "peer" and parts[1].isalnum() and parts[2:4] == ["blobs", "sha256"]:
            name = parts[4]
            root = os.path.join(ROOT, parts[1], "blobs", "sha256")
        else:
            root = ROOT
        file = os.path.join(root, name)
        if "/" in name or not os.path.isfile(file):
            return self.reply(404, b"not found\n", {})
        with open(file, "rb") as f:
            data = f.read()
        if mode == "slow":
            time.sleep(0.5)
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        mtime = os.stat(file).st_mtime
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if (inm and inm == etag) or (not inm and ims and email.utils.parsedate_to_datetime(ims).timestamp() >= int(mtime)):
            return self.reply(304, b"", headers)
        start = 0
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and if_range and if_range not in (etag, last_modified):
            rng = None  # changed since the client's partial copy: the whole file, 200
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.reply(416, b"", {"Content-Range": "bytes */%d" % len(data)})
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        if mode == "drop-once":
            with LOCK:
                first = name not in DROPPED
                DROPPED.add(name)
            if first:
                self.send_response(206 if start else 200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
        self.reply(206 if start else 200, body, headers)

    def reply(self, status, body, headers):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
