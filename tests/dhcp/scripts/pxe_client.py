#!/usr/bin/env python3
"""Sends one DHCPDISCOVER shaped like a PXE / UEFI HTTP / iPXE client and prints what the
OFFER says about booting, one key=value per line. Runs inside a test namespace."""
import argparse
import random
import socket
import sys
import time

import dhcp_packet as dp

SO_BINDTODEVICE = 25


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--mac", required=True)
    ap.add_argument("--arch", type=int)
    ap.add_argument("--vendor", default="")
    ap.add_argument("--ipxe", action="store_true", help="identify as iPXE (77 and 175)")
    ap.add_argument("--safety", type=float, default=30.0)
    ap.add_argument("--collect", type=float, default=0.0,
                    help="print every offer seen for this many seconds after the first")
    a = ap.parse_args()

    opts = dp.option(55, bytes([1, 3, 6, 43, 60, 66, 67, 175]))
    if a.arch is not None:
        opts += dp.option(93, a.arch.to_bytes(2, "big"))
    if a.vendor:
        opts += dp.option(60, a.vendor.encode())
    opts += dp.option(97, b"\0" + bytes(range(16)))
    if a.ipxe:
        opts += dp.option(77, b"iPXE") + dp.option(175, dp.option(19, b"\1") + dp.option(37, b"\1"))
    xid = random.getrandbits(32)
    packet = dp.build(dp.DISCOVER, a.mac, xid, opts)

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, a.iface.encode())
    s.bind(("0.0.0.0", 68))
    s.settimeout(1.0)
    deadline = time.monotonic() + a.safety
    seen = 0
    while time.monotonic() < deadline:
        if not seen:
            s.sendto(packet, ("255.255.255.255", 67))
        try:
            data, _ = s.recvfrom(4096)
        except socket.timeout:
            continue
        p = dp.parse(data)
        if not p or p["xid"] != xid or p["op"] != 2:
            continue
        show(p)
        seen += 1
        if a.collect <= 0:
            return 0
        if seen == 1:
            deadline = time.monotonic() + a.collect
    if seen:
        return 0
    print("no offer", file=sys.stderr)
    return 1


def show(p):
    o = p["options"]
    print("---")
    print(f"server={dp.ip_text(o.get(54, bytes(4)))}")
    print(f"type={o.get(53, b'?')[0]}")
    print(f"yiaddr={p['yiaddr']}")
    print(f"siaddr={p['siaddr']}")
    print(f"file={p['file']}")
    print(f"bootfile={o.get(67, b'').decode()}")
    print(f"tftp_server={o.get(66, b'').decode()}")
    print(f"vendor={o.get(60, b'').decode()}")
    if 175 in o and dp.sub_options(o[175]).get(176) == b"\1":
        print("no_pxedhcp=1")


if __name__ == "__main__":
    sys.exit(main())
