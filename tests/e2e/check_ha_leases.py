#!/usr/bin/env python3
"""Reads every DHCP lease key Drover's replicas keep in etcd (PREFIX/leases/<ip>, through
etcd's v3 JSON gateway) and counts what must never happen there:

- an address held by two MACs: two bound leases naming one address (a value whose `ip`
  is not its key's makes a second claim on that address), or a value that cannot be read;
- printed, not counted as a failure: a MAC holding several bound addresses (a machine
  acknowledged by a new owner around a takeover keeps the other one until it expires).

  check_ha_leases.py ENDPOINT PREFIX [--mac MAC --ip IP]

--mac/--ip: that machine must hold exactly that one bound address.
Prints one summary line; the last line is `duplicates=N`. Exit status 1 when N > 0,
the machine's lease is wrong, or etcd cannot be read.
"""
import base64
import json
import sys
import urllib.request
from collections import defaultdict


def b64(s):
    return base64.b64encode(s.encode()).decode()


def prefix_end(p):
    b = bytearray(p.encode())
    b[-1] += 1
    return bytes(b).decode()


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    endpoint, prefix = args[0].rstrip("/"), args[1].rstrip("/") + "/leases/"
    mac = args[args.index("--mac") + 1].lower() if "--mac" in args else None
    want_ip = args[args.index("--ip") + 1] if "--ip" in args else None
    kvs, start = [], b64(prefix)
    for _ in range(10000):  # pages of 2000 keys, each page from after the last key
        body = json.dumps({"key": start, "range_end": b64(prefix_end(prefix)), "limit": 2000})
        req = urllib.request.Request(endpoint + "/v3/kv/range", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                page = json.load(r)
        except OSError as e:
            sys.exit(f"leases: cannot read {endpoint}: {e}")
        kvs += page.get("kvs", [])
        if not page.get("more") or not page.get("kvs"):
            break
        start = base64.b64encode(base64.b64decode(kvs[-1]["key"]) + b"\0").decode()

    claims = defaultdict(set)   # address -> MACs of the bound leases claiming it
    held = defaultdict(list)    # MAC -> bound addresses
    unreadable = 0
    for kv in kvs:
        key = base64.b64decode(kv["key"]).decode()[len(prefix):]
        try:
            lease = json.loads(base64.b64decode(kv.get("value", "")))
            ip, lmac, state = lease["ip"], lease["mac"].lower(), lease["state"]
        except (ValueError, KeyError, TypeError):
            unreadable += 1
            continue
        if state != "bound":
            continue
        for address in {key, ip}:
            claims[address].add(lmac)
        held[lmac].append(ip)

    duplicates = sum(1 for macs in claims.values() if len(macs) > 1) + unreadable
    for address, macs in sorted(claims.items()):
        if len(macs) > 1:
            print(f"leases: {address} is held by {len(macs)} MACs: {' '.join(sorted(macs))}")
    several = {m: ips for m, ips in held.items() if len(ips) > 1}
    for m, ips in sorted(several.items()):
        print(f"leases: {m} holds {len(ips)} addresses until they expire: {' '.join(sorted(ips))}")
    problems = []
    if mac is not None and sorted(held.get(mac, [])) != [want_ip]:
        problems.append(f"{mac} holds {held.get(mac, [])}, want [{want_ip}]")
    print(f"leases: {len(kvs)} keys, {sum(len(v) for v in held.values())} bound, "
          f"{len(held)} MACs, {len(several)} MACs with several addresses, "
          f"{unreadable} unreadable" + ("; " + "; ".join(problems) if problems else ""))
    print(f"duplicates={duplicates}")
    sys.exit(1 if duplicates or problems else 0)


if __name__ == "__main__":
    main()
