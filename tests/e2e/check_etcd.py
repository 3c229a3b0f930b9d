#!/usr/bin/env python3
"""Checks the etcd cluster the e2e master and worker formed, from outside the machines,
through each member's JSON gateway: both members are listed and started, and the key each
one wrote through itself (drover/e2e/NAME) reads back from every member.

  check_etcd.py NAME=IP...
"""
import base64
import json
import sys
import urllib.request


def post(ip, path, body):
    req = urllib.request.Request(f"http://{ip}:2379{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def b64(s):
    return base64.b64encode(s.encode()).decode()


members = dict(arg.split("=", 1) for arg in sys.argv[1:])
problems = []
for name, ip in members.items():
    listed = post(ip, "/v3/cluster/member/list", {}).get("members", [])
    started = sorted(m.get("name", "") for m in listed if m.get("name"))
    if started != sorted(members):
        problems.append(f"{name} lists started members {started}, want {sorted(members)}")
    for writer in members:
        kvs = post(ip, "/v3/kv/range", {"key": b64(f"drover/e2e/{writer}")}).get("kvs", [])
        if [base64.b64decode(kv["value"]).decode() for kv in kvs] != [writer]:
            problems.append(f"{name} does not read drover/e2e/{writer}")
if problems:
    sys.exit("etcd: " + "; ".join(problems))
print(f"etcd: {len(members)} started members ({', '.join(sorted(members))}); "
      f"every member reads every member's key")
