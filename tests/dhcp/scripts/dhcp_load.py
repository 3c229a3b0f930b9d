#!/usr/bin/env python3
"""Drives many DHCP clients through DISCOVER/OFFER/REQUEST/ACK as a relay agent would
(giaddr set, replies to port 67), with a bounded window of exchanges in flight. Prints
"ACK <mac> <ip>" for every ACK the moment it arrives (flushed), so a test can kill the
server mid-run and still know exactly which leases were acknowledged. Bounded: stops when
every client is bound, after --idle seconds without progress, or after --safety seconds."""
import argparse
import random
import socket
import sys
import time

import dhcp_packet as dp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True,
                    help="server address, or several separated by commas (each packet goes to all)")
    ap.add_argument("--giaddr", required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--first", type=int, default=1, help="number of the first client's MAC")
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--safety", type=float, default=120.0)
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.giaddr, 67))
    s.settimeout(0.2)
    servers = a.server.split(",")

    def send(pkt):
        for server in servers:
            s.sendto(pkt, (server, 67))

    def mac_of(n):
        return "52:54:01:%02x:%02x:%02x" % ((n >> 16) & 255, (n >> 8) & 255, n & 255)

    pending = list(range(a.first, a.first + a.count))
    inflight = {}  # xid -> [mac, stage, packet, sent_at]
    acked = 0
    start = last_progress = time.monotonic()
    while (pending or inflight) and time.monotonic() - start < a.safety:
        now = time.monotonic()
        if now - last_progress > a.idle:
            break
        while pending and len(inflight) < a.window:
            mac = mac_of(pending.pop(0))
            xid = random.getrandbits(32)
            pkt = dp.build(dp.DISCOVER, mac, xid, flags=0, giaddr=a.giaddr)
            inflight[xid] = [mac, dp.DISCOVER, pkt, now]
            send(pkt)
        for xid, st in inflight.items():
            if now - st[3] > 1.0:  # retransmit
                st[3] = now
                send(st[2])
        try:
            data, _ = s.recvfrom(4096)
        except socket.timeout:
            continue
        p = dp.parse(data)
        if not p or p["xid"] not in inflight:
            continue
        st = inflight[p["xid"]]
        kind = p["options"].get(53, b"\0")[0]
        if kind == dp.OFFER and st[1] == dp.DISCOVER:
            opts = dp.option(50, dp.ip_bytes(p["yiaddr"])) + dp.option(54, p["options"][54])
            st[1], st[2], st[3] = dp.REQUEST, dp.build(dp.REQUEST, st[0], p["xid"], opts, flags=0,
                                                       giaddr=a.giaddr), time.monotonic()
            send(st[2])
            last_progress = time.monotonic()
        elif kind == dp.ACK and st[1] == dp.REQUEST:
            print(f"ACK {st[0]} {p['yiaddr']}", flush=True)
            del inflight[p["xid"]]
            acked += 1
            last_progress = time.monotonic()
        elif kind == dp.NAK:
            print(f"NAK {st[0]}", flush=True)
            del inflight[p["xid"]]
    print(f"DONE acked={acked} unfinished={len(pending) + len(inflight)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
