"""Minimal DHCPv4 packet building and parsing for the integration test clients (standard
library only), so the tests can send what dhclient cannot: PXE architectures, vendor and
user classes, relayed requests."""
import struct

COOKIE = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip_bytes(text):
    return bytes(int(x) for x in text.split("."))


def ip_text(b):
    return ".".join(str(x) for x in b)


def option(code, data):
    return bytes([code, len(data)]) + data


def build(msg_type, mac, xid, options=b"", flags=0x8000, ciaddr="0.0.0.0", giaddr="0.0.0.0"):
    head = struct.pack("!BBBBIHH", 1, 1, 6, 1 if giaddr != "0.0.0.0" else 0, xid, 0, flags)
    head += ip_bytes(ciaddr) + bytes(8) + ip_bytes(giaddr)
    head += mac_bytes(mac).ljust(16, b"\0") + bytes(64 + 128) + COOKIE
    return head + option(53, bytes([msg_type])) + options + b"\xff"


def parse(data):
    """Returns a dict with the header fields and {code: bytes} options, or None."""
    if len(data) < 240 or data[236:240] != COOKIE:
        return None
    p = {"op": data[0], "xid": struct.unpack("!I", data[4:8])[0], "flags": struct.unpack("!H", data[10:12])[0],
         "yiaddr": ip_text(data[16:20]), "siaddr": ip_text(data[20:24]), "giaddr": ip_text(data[24:28]),
         "chaddr": data[28:34], "file": data[108:236].split(b"\0")[0].decode(errors="replace"), "options": {}}
    i = 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, length = data[i], data[i + 1]
        p["options"][code] = p["options"].get(code, b"") + data[i + 2:i + 2 + length]
        i += 2 + length
    return p


def sub_options(data):
    out, i = {}, 0
    while i + 1 < len(data):
        out[data[i]] = data[i + 2:i + 2 + data[i + 1]]
        i += 2 + data[i + 1]
    return out
