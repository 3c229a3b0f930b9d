#!/usr/bin/env python3
"""Prints a node's boot timeline (GET /v1/nodes/NAME/events JSON on stdin) with offsets."""
import json
import sys

events = json.load(sys.stdin)
if events:
    t0 = events[0]["ts"]
    for e in events:
        print(f"  +{(e['ts'] - t0) / 1000:7.1f}s  {e['phase']:<18} {e['message']}")
