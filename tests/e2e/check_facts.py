#!/usr/bin/env python3
"""Checks the hardware facts a discovered node registered (GET /v1/nodes/NAME on stdin)
against what the QEMU machine was given: usage: check_facts.py MAC DISK_MIB MEMORY_MIB."""
import json
import sys

mac, disk_mib, memory_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
node = json.load(sys.stdin)
facts = node.get("facts") or {}
problems = []
if node.get("state") != "discovered":
    problems.append(f"state {node.get('state')}")
cpus = (facts.get("cpu") or {}).get("count", 0)
if cpus < 1:
    problems.append("no CPU count")
memory = facts.get("memory_bytes", 0)
if not 0.85 * memory_mib * 2**20 <= memory <= memory_mib * 2**20:  # the kernel keeps some
    problems.append(f"memory {memory}")
disks = {d.get("name"): d for d in facts.get("disks", [])}
if disks.get("vda", {}).get("size_bytes") != disk_mib * 2**20:
    problems.append(f"disks {sorted(disks)}")
if mac not in [n.get("mac") for n in facts.get("nics", [])]:
    problems.append(f"no NIC {mac}")
if problems:
    sys.exit("facts: " + "; ".join(problems) + "\n" + json.dumps(facts, indent=1))
print(f"facts: {cpus} CPU, {memory >> 20} MiB, vda {disk_mib} MiB, NIC {mac}, "
      f"{(facts.get('smbios') or {}).get('product', '?')}")
