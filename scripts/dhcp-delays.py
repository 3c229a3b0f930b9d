#!/usr/bin/env python3
"""DISCOVER-OFFER and REQUEST-ACK delays, as percentiles, from a capture at the client.

    scripts/dhcp-delays.py CAPTURE.pcap

perfdhcp reports only the average and the largest delay of each exchange; this reads a
tcpdump capture (classic pcap, Ethernet, taken on the client's link) and pairs each
DISCOVER with the first OFFER and each REQUEST with the first ACK of the same transaction
ID, timed from the first time the client sent it. Prints one line per exchange:
"<exchange> n=<pairs> unanswered=<n> p50=<ms> p99=<ms> max=<ms>". Read with scapy
(Debian python3-scapy), so no packet parsing of our own.
"""
import sys

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.utils import PcapReader

DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5
PAIRS = {DISCOVER: OFFER, REQUEST: ACK}
NAMES = {DISCOVER: "DISCOVER-OFFER", REQUEST: "REQUEST-ACK"}


def message_type(packet):
    for option in packet[DHCP].options:
        if isinstance(option, tuple) and option[0] == "message-type":
            return option[1]
    return None


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main(path):
    sent = {DISCOVER: {}, REQUEST: {}}  # xid -> first send time
    delays = {DISCOVER: [], REQUEST: []}
    with PcapReader(path) as capture:
        for packet in capture:
            if not packet.haslayer(DHCP):
                continue
            kind = message_type(packet)
            xid = packet[BOOTP].xid
            when = float(packet.time)
            if kind in sent:
                sent[kind].setdefault(xid, when)
                continue
            for ask, answer in PAIRS.items():
                if kind == answer and xid in sent[ask]:
                    delays[ask].append((when - sent[ask].pop(xid)) * 1000)
    for ask in (DISCOVER, REQUEST):
        values = sorted(delays[ask])
        print(f"{NAMES[ask]} n={len(values)} unanswered={len(sent[ask])} "
              f"p50={percentile(values, 50):.3f} p99={percentile(values, 99):.3f} "
              f"max={(values[-1] if values else float('nan')):.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: dhcp-delays.py CAPTURE.pcap")
    main(sys.argv[1])
