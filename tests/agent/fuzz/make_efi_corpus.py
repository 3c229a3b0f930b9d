#!/usr/bin/env python3
"""Writes the corpus of agent_efi_load_option_fuzz.

  make_efi_corpus.py OVMF_VARS.fd CORPUS_DIR

Reads the Boot#### variables OVMF saved in its variable store (the VARS file of a QEMU
machine after it booted once: OVMF adds its disk, PXE and HTTP entries on the first boot)
and writes each in efivarfs form (attributes u32, then the EFI_LOAD_OPTION) as
ovmf-BootXXXX, plus a few malformed seeds cut from the first one.

The store is an EFI firmware volume ("_FVH") holding an authenticated variable store:
after its 28-byte header come variables aligned to 4 bytes, each a 60-byte header (start
id 0x55AA, state, attributes, monotonic count, time stamp, public key index, name size,
data size, vendor GUID), the UCS-2 name and the data.
"""
import pathlib
import struct
import sys
import uuid

GLOBAL = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
VAR_ADDED = 0x3F


def variables(fd):
    if fd[0x28:0x2C] != b"_FVH":
        sys.exit("not a firmware volume (no _FVH signature)")
    header_len = struct.unpack_from("<H", fd, 0x30)[0]
    store = header_len
    size = struct.unpack_from("<I", fd, store + 16)[0]
    at, end = store + 28, store + size
    while at + 60 <= end:
        start, state, _, attrs = struct.unpack_from("<HBBI", fd, at)
        if start != 0x55AA:
            break
        name_size, data_size = struct.unpack_from("<II", fd, at + 36)
        guid = uuid.UUID(bytes_le=bytes(fd[at + 44:at + 60]))
        name_at = at + 60
        data_at = name_at + name_size
        name = fd[name_at:data_at].decode("utf-16-le").rstrip("\0")
        data = bytes(fd[data_at:data_at + data_size])
        if state in (VAR_ADDED, VAR_ADDED & 0xFE):
            yield name, guid, attrs, data
        at = (data_at + data_size + 3) & ~3


def main():
    fd = pathlib.Path(sys.argv[1]).read_bytes()
    out = pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    boots = {}
    for name, guid, attrs, data in variables(fd):
        if guid == GLOBAL and len(name) == 8 and name.startswith("Boot") and name[4:] != "Next":
            boots[name] = struct.pack("<I", attrs & 0x7) + data
    if not boots:
        sys.exit("no Boot#### variables: boot the machine once before reading its VARS file")
    for name, blob in sorted(boots.items()):
        (out / f"ovmf-{name}").write_bytes(blob)
        print(f"ovmf-{name}: {len(blob)} bytes")
    first = boots[sorted(boots)[0]]
    (out / "cut-header").write_bytes(first[:9])
    (out / "cut-path").write_bytes(first[:-3])
    longer = bytearray(first)
    longer[8] = 0xFF  # the file path list says more than there is
    (out / "path-too-long").write_bytes(bytes(longer))
    # The first device path node says it is 0 bytes long.
    at = 10
    while first[at:at + 2] != b"\0\0":
        at += 2
    zero = bytearray(first)
    zero[at + 4:at + 6] = b"\0\0"
    (out / "zero-length-node").write_bytes(bytes(zero))


if __name__ == "__main__":
    main()
