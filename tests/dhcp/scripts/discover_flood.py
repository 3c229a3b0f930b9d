#!/usr/bin/env python3
"""A DISCOVER flood for the integration tests: --count broadcast DISCOVERs, each from its
own random locally administered MAC (Ethernet source and chaddr), written to a raw packet
socket on --interface at about --rate packets a second; --repeat more DISCOVERs from one
MAC (--repeat-mac) are mixed in. Standard library only; bounded by count and --safety
seconds. Prints "sent <n> in <seconds> s"."""
import argparse
import random
import socket
import struct
import time

import dhcp_packet as dp


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def frame(mac, payload):
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload  # no UDP checksum
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(4), b"\xff\xff\xff\xff")
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return b"\xff" * 6 + dp.mac_bytes(mac) + b"\x08\x00" + ip + udp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--interface", required=True)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=0)
    ap.add_argument("--repeat-mac", default="02:00:00:ff:ff:ff")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--safety", type=float, default=30.0)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    macs = []
    for _ in range(a.count):
        b = [0x02] + [rng.randrange(256) for _ in range(5)]
        macs.append(":".join("%02x" % x for x in b))
    repeat_every = a.count // a.repeat if a.repeat else 0
    frames = []
    for i, mac in enumerate(macs):
        frames.append(frame(mac, dp.build(dp.DISCOVER, mac, rng.getrandbits(32))))
        if repeat_every and i % repeat_every == 0:
            frames.append(frame(a.repeat_mac, dp.build(dp.DISCOVER, a.repeat_mac,
                                                       rng.getrandbits(32))))

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.interface, 0))
    batch = 100
    start = time.monotonic()
    sent = 0
    for i in range(0, len(frames), batch):
        if time.monotonic() - start > a.safety:
            break
        for f in frames[i:i + batch]:
            try:
                s.send(f)
                sent += 1
            except OSError:  # a full transmit queue: the frame is lost, as on a wire
                time.sleep(0.001)
        ahead = sent / a.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    print("sent %d in %.2f s" % (sent, time.monotonic() - start), flush=True)


if __name__ == "__main__":
    main()
