#!/usr/bin/env python3
"""Misbehaving TFTP clients, one scenario per run, against a server on 127.0.0.1.

usage: misbehaving_client.py PORT SCENARIO FILE SHA256

Exits 0 when the server behaved correctly, 1 (with a reason on stderr) otherwise. Every
receive has a timeout and every loop a bound, so a broken server cannot hang the test.
"""
import hashlib
import os
import socket
import struct
import sys

HOST = "127.0.0.1"
RRQ, DATA, ACK, ERROR, OACK = 1, 3, 4, 5, 6
MAX_PACKETS = 200000


def fail(msg):
    print(f"FAIL {msg}", file=sys.stderr)
    sys.exit(1)


def rrq(name, options=()):
    pkt = struct.pack("!H", RRQ) + name.encode() + b"\0octet\0"
    for k, v in options:
        pkt += k.encode() + b"\0" + str(v).encode() + b"\0"
    return pkt


def ack(block):
    return struct.pack("!HH", ACK, block & 0xFFFF)


def sock(timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(timeout)
    return s


def recv(s):
    data, addr = s.recvfrom(65536)
    op = struct.unpack("!H", data[:2])[0]
    return op, data, addr


def parse_oack(data):
    parts = data[2:].split(b"\0")
    return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2)}


def download(s, server, first, first_addr, windowsize, blksize, extra_acks=False):
    """Receives a whole file after the first packet; returns (bytes, duplicates)."""
    got = {}
    dup = 0
    expected = 1  # next block index wanted (64-bit, wire = index & 0xffff)
    in_window = 0
    pkt, addr = first, first_addr
    for _ in range(MAX_PACKETS):
        op = struct.unpack("!H", pkt[:2])[0]
        if addr != server:
            fail(f"packet from {addr}, transfer runs with {server}")
        if op == ERROR:
            fail(f"server error {pkt[2:]!r}")
        if op == DATA:
            block = struct.unpack("!H", pkt[2:4])[0]
            if block == (expected & 0xFFFF):
                got[expected] = pkt[4:]
                last = len(pkt) - 4 < blksize
                in_window += 1
                if in_window == windowsize or last:
                    s.sendto(ack(expected), server)
                    if extra_acks:
                        s.sendto(ack(expected), server)          # duplicate
                        if expected > 5:
                            s.sendto(ack(expected - 5), server)  # stale
                    in_window = 0
                expected += 1
                if last:
                    return b"".join(got[i] for i in range(1, expected)), dup
            else:
                dup += 1
        pkt, addr = s.recvfrom(65536)
    fail("too many packets")


def expect_sha(data, want):
    have = hashlib.sha256(data).hexdigest()
    if have != want:
        fail(f"sha256 {have} != {want}")


def never_ack(port, name, _sha):
    s = sock()
    s.sendto(rrq(name), (HOST, port))
    copies = 0
    for _ in range(100):
        op, data, _addr = recv(s)
        if op == DATA:
            if struct.unpack("!H", data[2:4])[0] != 1:
                fail("a block other than 1 was sent without an ACK")
            copies += 1
        elif op == ERROR:
            if copies < 2:
                fail(f"gave up after {copies} copies, no retransmission")
            print(f"never_ack: block 1 sent {copies} times, then error")
            return
    fail("server never gave up")


def reack_old(port, name, sha):
    s = sock()
    s.sendto(rrq(name, [("blksize", 1024), ("windowsize", 4), ("timeout", 5)]), (HOST, port))
    op, data, server = recv(s)
    if op != OACK:
        fail(f"expected OACK, got {op}")
    opts = parse_oack(data)
    s.sendto(ack(0), server)
    s.sendto(ack(0), server)
    first, addr = s.recvfrom(65536)
    body, dup = download(s, server, first, addr, int(opts["windowsize"]), int(opts["blksize"]), extra_acks=True)
    expect_sha(body, sha)
    if dup:
        fail(f"{dup} duplicate DATA packets after duplicate/stale ACKs")
    print("reack_old: no duplicate bursts")


def vanish(port, name, _sha):
    s = sock()
    s.sendto(rrq(name, [("windowsize", 8)]), (HOST, port))
    op, data, server = recv(s)
    if op != OACK:
        fail(f"expected OACK, got {op}")
    s.sendto(ack(0), server)
    for _ in range(8):
        recv(s)
    s.sendto(ack(8), server)
    for _ in range(3):
        recv(s)
    s.close()  # gone mid-window
    print("vanish: closed after block 11")


def second_port(port, name, sha):
    a, b = sock(), sock()
    a.sendto(rrq(name), (HOST, port))
    first, server = a.recvfrom(65536)
    b.sendto(ack(1), server)
    op, data, addr = recv(b)
    if op != ERROR or struct.unpack("!H", data[2:4])[0] != 5 or addr != server:
        fail(f"foreign TID got op={op} {data!r} from {addr}")
    body, dup = download(a, server, first, server, 1, 512)
    expect_sha(body, sha)
    print(f"second_port: error 5 to the intruder, transfer completed (dup={dup})")


def tsize_probe(port, name, _sha):
    s = sock()
    s.sendto(rrq(name, [("tsize", 0), ("blksize", 1432)]), (HOST, port))
    op, data, server = recv(s)
    if op != OACK or "tsize" not in parse_oack(data):
        fail(f"expected OACK with tsize, got {op} {data!r}")
    s.sendto(struct.pack("!HH", ERROR, 8) + b"tsize probe\0", server)
    s.settimeout(0.5)
    try:
        op, data, _ = recv(s)
        fail(f"server sent {op} {data!r} after the client's ERROR")
    except socket.timeout:
        pass
    print(f"tsize_probe: tsize={parse_oack(data)['tsize']}, quiet end")


def garbage(port, name, sha):
    s = sock()
    for junk in (b"", b"\x00", b"\x00\x01noterminator", b"\x00\x09xx", os.urandom(700)):
        s.sendto(junk, (HOST, port))
    s.sendto(struct.pack("!HH", DATA, 1) + b"data to the server port", (HOST, port))
    # The same RRQ twice from one port: one transfer.
    s.sendto(rrq(name), (HOST, port))
    s.sendto(rrq(name), (HOST, port))
    first, server = s.recvfrom(65536)
    s.sendto(b"\x00\x04\x00", server)          # short ACK
    s.sendto(b"\x00\x03\x00\x01xx", server)    # DATA to a sender
    body, dup = download(s, server, first, server, 1, 512)
    expect_sha(body, sha)
    print(f"garbage: ignored, transfer completed (dup={dup})")


SCENARIOS = {f.__name__: f for f in (never_ack, reack_old, vanish, second_port, tsize_probe, garbage)}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[2] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        SCENARIOS[sys.argv[2]](int(sys.argv[1]), sys.argv[3], sys.argv[4])
    except socket.timeout:
        fail("timed out waiting for the server")
