#!/usr/bin/env python3
"""Checks the etcd cluster the e2e master and worker formed with the built-in join
recipes, from outside the machines, through etcd's JSON gateway: the members declared with
etcd-member are listed and started, and a key written through the worker's etcd-proxy
reads back through every member.

  check_etcd.py NAME=IP... --proxy IP

The members and the proxy may still be starting when this runs: each call is retried for
a bounded number of attempts.
"""
import base64
import json
import sys
import time
import urllib.request

ATTEMPTS = 120


def post(ip, path, body):
    req = urllib.request.Request(f"http://{ip}:2379{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    last = None
    for _ in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except OSError as e:  # refused or reset while the container starts
            last = e
            time.sleep(1)
    sys.exit(f"etcd: {ip}{path}: {last}")


def b64(s):
    return base64.b64encode(s.encode()).decode()


args = sys.argv[1:]
proxy = args[args.index("--proxy") + 1]
members = dict(a.split("=", 1) for a in args if "=" in a)
problems = []
for name, ip in members.items():
    started = []
    for _ in range(ATTEMPTS):
        listed = post(ip, "/v3/cluster/member/list", {}).get("members", [])
        started = sorted(m.get("name", "") for m in listed if m.get("name"))
        if started == sorted(members):
            break
        time.sleep(1)
    if started != sorted(members):
        problems.append(f"{name} lists started members {started}, want {sorted(members)}")

key, value = "drover/e2e/through-proxy", f"written through {proxy}"
post(proxy, "/v3/kv/put", {"key": b64(key), "value": b64(value)})
for name, ip in members.items():
    kvs = post(ip, "/v3/kv/range", {"key": b64(key)}).get("kvs", [])
    if [base64.b64decode(kv["value"]).decode() for kv in kvs] != [value]:
        problems.append(f"{name} does not read {key}")
through = post(proxy, "/v3/cluster/member/list", {}).get("members", [])
if sorted(m.get("name", "") for m in through) != sorted(members):
    problems.append(f"the proxy at {proxy} does not reach the members")
if problems:
    sys.exit("etcd: " + "; ".join(problems))
print(f"etcd: {len(members)} started member(s) ({', '.join(sorted(members))}); "
      f"a key written through the proxy at {proxy} reads back from every member")
