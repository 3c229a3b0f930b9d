#!/usr/bin/env python3
"""The power and boot order of one QEMU machine, for the BMC simulators of the whole boots.

A machine is described by a JSON spec the harness writes (tests/e2e/lib.sh, e2e_machine):
  {"argv": [...], "net_first": [...], "disk_first": [...], "order": "net-first"|"disk-first",
   "dir": "...", "name": "..."}
argv is the QEMU command line without the two bootindex properties; net_first and
disk_first are the NIC's and the disk's -device arguments for each boot order (QEMU reads
its boot order once per process, so a "next boot from the network" override starts the
process again with the NIC first). The machine is on while its QEMU process runs (pid in
DIR/NAME.pid); QEMU's QMP socket (DIR/NAME.qmp) resets it and quits it. The console is
appended to DIR/NAME.console across power cycles.

Used two ways:
  qemu_power.py SPEC on|off|reset|cycle|status [--net-once]
  qemu_power.py SPEC ipmi get|set PARM [VALUE]...   ipmi_sim's chassis_control program:
      power 0|1, reset 1, boot none|pxe|default|...; the boot override is kept in
      DIR/NAME.ipmi-boot and a "pxe" override is used (and cleared) by the next power-on.
and imported by tests/power/redfish_mock.py (--machine SPEC).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time


class QemuMachine:
    def __init__(self, spec_path):
        with open(spec_path) as f:
            self.spec = json.load(f)
        d, n = self.spec["dir"], self.spec["name"]
        self.pidfile = os.path.join(d, n + ".pid")
        self.qmp_path = os.path.join(d, n + ".qmp")
        self.log = os.path.join(d, n + ".qemu.log")
        self.events = os.path.join(d, n + ".power.log")
        self.proc = None  # when started by a long-lived caller: reaped here

    def note(self, what):
        with open(self.events, "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {what}\n")

    def pid(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0
        if self.proc is not None:
            self.proc.poll()
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return 0
        return 0 if state in ("Z", "X") else pid

    def is_on(self):
        return self.pid() != 0

    def on(self, order=None):
        if self.is_on():
            return
        order = order or self.spec["order"]
        argv = self.spec["argv"] + self.spec[order.replace("-", "_")] + [
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        try:
            os.unlink(self.qmp_path)
        except FileNotFoundError:
            pass
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True, close_fds=True)
        with open(self.pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")
        self.note(f"on {order} pid={self.proc.pid}")

    def qmp(self, command):
        """Runs one QMP command; False when the machine does not answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            for _ in range(50):  # the socket appears shortly after the process starts
                try:
                    s.connect(self.qmp_path)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    time.sleep(0.1)
            f = s.makefile("rwb")
            f.readline()  # greeting
            for cmd in ("qmp_capabilities", command):
                f.write(json.dumps({"execute": cmd}).encode() + b"\n")
                f.flush()
                while True:  # skip asynchronous events
                    reply = json.loads(f.readline() or b"{}")
                    if "return" in reply or "error" in reply or not reply:
                        break
            return "return" in reply
        except (OSError, ValueError):
            return False
        finally:
            s.close()

    def off(self):
        pid = self.pid()
        if not pid:
            return
        self.qmp("quit")
        for _ in range(50):
            if not self.is_on():
                break
            time.sleep(0.1)
        if self.is_on():
            os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                if not self.is_on():
                    break
                time.sleep(0.1)
        self.note("off")

    def reset(self):
        if self.is_on():
            self.qmp("system_reset")
            self.note("reset")

    def cycle(self, net_once=False):
        """Power cycle: the network first for this boot when asked (a new process); otherwise
        a reset of the running machine (its boot order as it was), or a power-on."""
        if net_once:
            self.off()
            self.on("net-first")
        elif self.is_on():
            self.reset()
        else:
            self.on()


def ipmi_chassis(m, op, args):
    bootfile = os.path.join(m.spec["dir"], m.spec["name"] + ".ipmi-boot")

    def boot():
        try:
            with open(bootfile) as f:
                return f.read().strip() or "none"
        except OSError:
            return "none"

    if op == "get":
        for parm in args:
            if parm == "power":
                print(f"power:{1 if m.is_on() else 0}")
            elif parm == "boot":
                print(f"boot:{boot()}")
            else:
                print(f"Invalid parameter: {parm}")
                return 1
        return 0
    if op == "set":
        while len(args) >= 2:
            parm, val = args[0], args[1]
            args = args[2:]
            if parm == "power":
                if val == "0":
                    m.off()
                elif boot() == "pxe":
                    with open(bootfile, "w") as f:
                        f.write("none\n")
                    m.on("net-first")
                else:
                    m.on()
            elif parm == "reset":
                if boot() == "pxe":
                    with open(bootfile, "w") as f:
                        f.write("none\n")
                    m.cycle(net_once=True)
                else:
                    m.reset()
            elif parm == "boot":
                with open(bootfile, "w") as f:
                    f.write(val + "\n")
                m.note(f"ipmi boot {val}")
            elif parm in ("identify", "shutdown"):
                pass
            else:
                print(f"Invalid parameter: {parm}")
                return 1
        return 0
    if op == "check":
        return 1
    print(f"Unknown operation: {op}")
    return 1


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    m = QemuMachine(argv[1])
    op = argv[2]
    if op == "ipmi":
        return ipmi_chassis(m, argv[3] if len(argv) > 3 else "", argv[4:])
    if op == "status":
        print("on" if m.is_on() else "off")
    elif op == "on":
        m.on()
    elif op == "off":
        m.off()
    elif op == "reset":
        m.reset()
    elif op == "cycle":
        m.cycle(net_once="--net-once" in argv)
    else:
        print(f"unknown operation {op}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
