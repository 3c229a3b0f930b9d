#!/usr/bin/env python3
"""An IPMI 2.0 (RMCP+, lanplus) BMC for one QEMU machine of the whole boots, on pyghmi's BMC
server (Debian python3-pyghmi), which keeps a boot override the way the IPMI specification
asks: set with the valid bit, read back valid, used by the next power-on or reset.

  ipmi_bmc.py SPEC [--address 127.0.0.1] [--port 623] [--user admin] [--password secret]

SPEC is the machine spec of tests/e2e/qemu_power.py. Power on/off/cycle/reset drive QEMU
through qemu_power.QemuMachine; a "network" override starts the next boot with the NIC
first and is cleared by it. OpenIPMI's ipmi_sim, the other IPMI simulator in the tests,
always answers the boot flags with the valid bit clear (tests/power/ipmi_sim_test.cpp).
"""
import argparse
import os
import sys

import pyghmi.ipmi.bmc as bmc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu_power import QemuMachine  # noqa: E402


class QemuBmc(bmc.Bmc):
    def __init__(self, machine, authdata, address, port):
        super().__init__(authdata, port=port, address=address)
        self.machine = machine
        self.boot = "default"

    def take_network_once(self):
        net = self.boot == "network"
        if net:
            self.boot = "default"
        return net

    def get_power_state(self):
        return "on" if self.machine.is_on() else "off"

    def power_on(self):
        if not self.machine.is_on():
            self.machine.on("net-first" if self.take_network_once() else None)
        return 0

    def power_off(self):
        self.machine.off()
        return 0

    def power_shutdown(self):
        return self.power_off()

    def power_cycle(self):
        if not self.machine.is_on():
            return 0xD5  # not supported in the present state: a cycle needs a running machine
        self.machine.cycle(net_once=self.take_network_once())
        return 0

    def power_reset(self):
        return self.power_cycle()

    def get_boot_device(self):
        return self.boot

    def set_boot_device(self, bootdevice):
        self.boot = bootdevice
        self.machine.note(f"ipmi boot {bootdevice}")

    def cold_reset(self):
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=623)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    args = ap.parse_args()
    server = QemuBmc(QemuMachine(args.spec), {args.user: args.password}, args.address, args.port)
    print(f"listening on {args.address}:{args.port}", flush=True)
    server.listen(timeout=30)


if __name__ == "__main__":
    main()
