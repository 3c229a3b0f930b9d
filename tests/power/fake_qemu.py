#!/usr/bin/env python3
"""A stand-in for a QEMU process in the BMC tests that need no real machine: started with
QEMU's arguments, it appends its -device arguments (the boot order the BMC chose) to
ARGS_LOG, serves QMP on the -qmp unix socket and exits on "quit".

  fake_qemu.py ARGS_LOG [QEMU arguments...]
"""
import json
import os
import socket
import sys


def main():
    log, args = sys.argv[1], sys.argv[2:]
    with open(log, "a") as f:
        f.write(" ".join(a for i, a in enumerate(args) if i and args[i - 1] == "-device") + "\n")
    qmp = next(a for i, a in enumerate(args) if i and args[i - 1] == "-qmp")
    path = qmp.removeprefix("unix:").split(",")[0]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        with conn, conn.makefile("rwb") as f:
            f.write(b'{"QMP": {"version": {}, "capabilities": []}}\n')
            f.flush()
            for line in f:
                cmd = json.loads(line).get("execute")
                f.write(b'{"return": {}}\n')
                f.flush()
                if cmd == "quit":
                    os.unlink(path)
                    return 0


if __name__ == "__main__":
    sys.exit(main())
