#!/usr/bin/env python3
"""Writes a one-layer OCI image archive (for `ctr images import`) from host files.

  make_oci.py OUT.tar NAME HOST_PATH:IMAGE_PATH...
  make_oci.py OUT.tar NAME --tree DIR      (DIR is the image's root, links kept as links)

The image is named by the io.containerd.image.name annotation. Used by the join test to put
Debian's etcd binary (with its libc and loader) into an image without any registry.
"""
import hashlib
import io
import os
import json
import sys
import tarfile


def blob(tar, data, media):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest.split(":")[1])
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return {"mediaType": media, "digest": digest, "size": len(data)}


def main():
    out, name, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    layer_buf = io.BytesIO()
    tree = files[1] if len(files) == 2 and files[0] == "--tree" else None
    with tarfile.open(fileobj=layer_buf, mode="w", dereference=tree is None) as layer:
        if tree:
            files = []
            for entry in sorted(os.listdir(tree)):
                layer.add(os.path.join(tree, entry), arcname=entry)
        dirs = set()
        for spec in files:
            src, dst = spec.split(":", 1)
            parts = dst.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type = tarfile.DIRTYPE
                    ti.mode = 0o755
                    layer.addfile(ti)
            layer.add(src, arcname=dst.strip("/"))
        ti = tarfile.TarInfo("tmp")
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o1777
        layer.addfile(ti)
    layer_data = layer_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_data).hexdigest()
    with tarfile.open(out, "w") as tar:
        layer_desc = blob(tar, layer_data, "application/vnd.oci.image.layer.v1.tar")
        config = {"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                  "config": {"Env": ["PATH=/usr/bin:/bin"]}}
        config_desc = blob(tar, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": [layer_desc]}
        manifest_desc = blob(tar, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
        manifest_desc["annotations"] = {"io.containerd.image.name": name,
                                        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
        for fname, data in (("oci-layout", {"imageLayoutVersion": "1.0.0"}),
                            ("index.json", {"schemaVersion": 2, "manifests": [manifest_desc]})):
            raw = json.dumps(data).encode()
            info = tarfile.TarInfo(fname)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


if __name__ == "__main__":
    main()
