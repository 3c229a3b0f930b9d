#!/usr/bin/env python3
"""Writes an OCI image layout exercising what layer application must get right.

  make_oci_layout.py OUT_DIR [ARCHIVE.tar]

Layers (bottom first):
  1  etc/os-release, bin/tool (0755), bin/tool-hard (hard link to bin/tool),
     usr/lib/a, usr/lib/b, opt/keep/x, opt/gone/y, data/f1, link-to-tool -> bin/tool,
     abs-link -> /etc/os-release
  2  opt/.wh.gone (whiteout), usr/lib/.wh..wh..opq + usr/lib/c (opaque: a and b go),
     data/f1 replaced
  3  (gzip) etc/.wh.os-release, newdir/file
With ARCHIVE, the layout is also packed as an oci-archive tar.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

out = sys.argv[1]
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)


def blob(data, media):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"mediaType": media, "digest": "sha256:" + digest, "size": len(data)}


def layer(entries, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            kind, name = e[0], e[1]
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif kind == "file":
                data = e[2].encode()
                info.size, info.mode = len(data), e[3] if len(e) > 3 else 0o644
                t.addfile(info, io.BytesIO(data))
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, e[2]
                t.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, e[2]
                t.addfile(info)
    data = buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    if compress:
        data = gzip.compress(data, mtime=0)
        return blob(data, "application/vnd.oci.image.layer.v1.tar+gzip"), diff_id
    return blob(data, "application/vnd.oci.image.layer.v1.tar"), diff_id


l1 = layer([
    ("dir", "etc"), ("file", "etc/os-release", "ID=test\n"),
    ("dir", "bin"), ("file", "bin/tool", "#!/bin/sh\necho tool\n", 0o755), ("hard", "bin/tool-hard", "bin/tool"),
    ("dir", "usr"), ("dir", "usr/lib"), ("file", "usr/lib/a", "a"), ("file", "usr/lib/b", "b"),
    ("dir", "opt"), ("dir", "opt/keep"), ("file", "opt/keep/x", "x"), ("dir", "opt/gone"), ("file", "opt/gone/y", "y"),
    ("dir", "data"), ("file", "data/f1", "old"),
    ("sym", "link-to-tool", "bin/tool"), ("sym", "abs-link", "/etc/os-release"),
])
l2 = layer([
    ("file", "opt/.wh.gone", ""),
    ("file", "usr/lib/c", "c"), ("file", "usr/lib/.wh..wh..opq", ""),
    ("file", "data/f1", "new"),
])
l3 = layer([("file", "etc/.wh.os-release", ""), ("dir", "newdir"), ("file", "newdir/file", "fresh")], compress=True)
layers = [l1, l2, l3]
config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
    "config": {},
}).encode()
manifest = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": blob(config, "application/vnd.oci.image.config.v1+json"),
    "layers": [b for b, _ in layers],
}).encode()
m = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
m["platform"] = {"os": "linux", "architecture": "amd64"}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [m]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
if len(sys.argv) > 2:
    with tarfile.open(sys.argv[2], "w") as t:
        for name in ("oci-layout", "index.json", "blobs"):
            t.add(os.path.join(out, name), arcname=name)
print(json.dumps({"layers": [b["digest"] for b, _ in layers]}))
