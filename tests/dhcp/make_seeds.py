#!/usr/bin/env python3
"""Writes synthetic seeds into fuzz/corpus/ next to the captured ones: PXE and iPXE requests,
split and overloaded options, and the malformed shapes the server must drop."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "corpus")


def header(op=1, mac=b"\x52\x54\x00\x00\x00\x01", flags=0x8000, ciaddr=0, giaddr=0,
           sname=b"", file=b""):
    h = struct.pack("!BBBBIHHIIII", op, 1, 6, 0, 0x12345678, 0, flags, ciaddr, 0, 0, giaddr)
    h += mac.ljust(16, b"\0") + sname.ljust(64, b"\0") + file.ljust(128, b"\0")
    return h + b"\x63\x82\x53\x63"


def opt(code, data):
    return bytes([code, len(data)]) + data


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


uuid = opt(97, b"\0" + bytes(range(16)))
pxe = opt(53, b"\1") + opt(60, b"PXEClient:Arch:00000:UNDI:002001") + opt(93, b"\0\0") + \
    opt(94, b"\1\2\1") + uuid + opt(55, bytes([1, 3, 6, 43, 60, 66, 67, 128])) + b"\xff"
write("synthetic-pxe-bios-discover.bin", header() + pxe)
efi = opt(53, b"\1") + opt(60, b"PXEClient:Arch:00007:UNDI:003016") + opt(93, b"\0\7") + \
    uuid + opt(57, b"\x05\xc0") + b"\xff"
write("synthetic-pxe-efi-discover.bin", header() + efi)
http = opt(53, b"\1") + opt(60, b"HTTPClient:Arch:00016:UNDI:003001") + opt(93, b"\0\x10") + b"\xff"
write("synthetic-httpclient-discover.bin", header() + http)
ipxe_encap = opt(19, b"\1") + opt(37, b"\1") + opt(235, b"\1\0\0\0")
ipxe = opt(53, b"\3") + opt(77, b"iPXE") + opt(175, ipxe_encap) + opt(50, b"\xc0\0\2\x64") + \
    opt(54, b"\xc0\0\2\1") + opt(61, b"\1\x52\x54\0\0\0\1") + b"\xff"
write("synthetic-ipxe-request.bin", header() + ipxe)
relayed = opt(53, b"\1") + opt(82, opt(1, b"eth0") + opt(2, b"rack2")) + b"\xff"
write("synthetic-relayed-discover.bin", header(giaddr=0xc6336401) + relayed)
split = opt(53, b"\1") + opt(43, b"A" * 255) + opt(43, b"B" * 45) + b"\xff"
write("synthetic-split-option.bin", header() + split)
over = opt(53, b"\1") + opt(52, b"\3") + b"\xff"
write("synthetic-overload.bin",
      header(file=opt(12, b"host") + b"\xff", sname=opt(15, b"lab.example") + b"\xff") + over)
write("bad-overload-loop.bin",
      header(file=opt(52, b"\1") + b"\xff") + opt(53, b"\1") + opt(52, b"\1") + b"\xff")
write("bad-truncated.bin", header()[:200])
write("bad-cookie.bin", header()[:236] + b"\0\0\0\0" + opt(53, b"\1") + b"\xff")
write("bad-option-overrun.bin", header() + opt(53, b"\1") + b"\x0c\xf0abc")
write("bad-bootreply.bin", header(op=2) + opt(53, b"\2") + b"\xff")
write("bad-zero-chaddr.bin", header(mac=b"\0" * 6) + opt(53, b"\1") + b"\xff")
