#!/usr/bin/env python3
"""A small Redfish service for the power driver's tests.

Serves one ComputerSystem (/redfish/v1/Systems/1) on 127.0.0.1, HTTP basic auth, and
prints its port on the first line of stdout. --mode picks a misbehaviour:
  normal        does what it is asked
  ignore-boot   answers 204 to the Boot PATCH and keeps the old override
  timeout       accepts connections and never answers
  malformed     answers every GET with a body that is not JSON
Every request is appended to --log (one "METHOD PATH BODY" line) when given. With
--cert and --key it serves HTTPS with that certificate. --port picks the port (default: any).

With --machine SPEC the system is a real QEMU machine (tests/e2e/qemu_power.py): its power
state is whether QEMU runs, On starts it, ForceOff quits it through QMP, GracefulShutdown
asks the guest (QMP system_powerdown), ForceRestart and PowerCycle reset it (QMP
system_reset), and a power-on or restart with a Pxe override (Once or Continuous) starts
the process again with the NIC first, QEMU's boot order being fixed per process. In
ignore-boot mode the override is never stored, so the machine keeps its own boot order.
"""
import argparse
import base64
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SYSTEM = "/redfish/v1/Systems/1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--log", default="")
    ap.add_argument("--cert", default="")
    ap.add_argument("--key", default="")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--machine", default="", help="a QEMU machine spec (tests/e2e/qemu_power.py)")
    args = ap.parse_args()
    state = {"power": "Off", "target": "None", "enabled": "Disabled"}
    machine = None
    if args.machine:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
        from qemu_power import QemuMachine
        machine = QemuMachine(args.machine)

    def power_state():
        if machine is not None:
            return "On" if machine.is_on() else "Off"
        return state["power"]

    def drive(kind):
        """The reset on the machine; called with the lock held, before the override is used."""
        net_once = state["enabled"] != "Disabled" and state["target"] == "Pxe"
        if kind == "On":
            if not machine.is_on():
                machine.on("net-first" if net_once else None)
        elif kind == "ForceOff":
            machine.off()
        elif kind == "GracefulShutdown":
            machine.qmp("system_powerdown")
        else:
            machine.cycle(net_once=net_once)
    lock = threading.Lock()
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, body=None, raw=None):
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
            self.send_response(code)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if args.log:
                with lock, open(args.log, "a") as f:
                    f.write(f"{method} {self.path} {body}\n")
            if args.mode == "timeout":
                time.sleep(3600)
                return
            if self.headers.get("Authorization") != expected:
                return self.reply(401, {"error": {"code": "Base.1.0.GeneralError",
                                                  "message": "authentication failed"}})
            if method == "GET" and args.mode == "malformed":
                return self.reply(200, raw=b'{"PowerState": "On", ')
            if method == "GET" and self.path == "/redfish/v1/Systems":
                return self.reply(200, {"Members": [{"@odata.id": SYSTEM}], "Members@odata.count": 1})
            if self.path != SYSTEM and self.path != SYSTEM + "/Actions/ComputerSystem.Reset":
                return self.reply(404, {"error": {"message": "no such resource"}})
            if method == "GET" and self.path == SYSTEM:
                with lock:
                    return self.reply(200, {
                        "@odata.id": SYSTEM, "Id": "1", "PowerState": power_state(),
                        "Boot": {"BootSourceOverrideTarget": state["target"],
                                 "BootSourceOverrideEnabled": state["enabled"]},
                        "Actions": {"#ComputerSystem.Reset": {
                            "target": SYSTEM + "/Actions/ComputerSystem.Reset",
                            "ResetType@Redfish.AllowableValues":
                                ["On", "ForceOff", "GracefulShutdown", "ForceRestart",
                                 "PowerCycle"]}}})
            try:
                doc = json.loads(body or "{}")
            except ValueError:
                return self.reply(400, {"error": {"message": "bad JSON"}})
            if method == "POST" and self.path.endswith("ComputerSystem.Reset"):
                kind = doc.get("ResetType")
                with lock:
                    if kind in ("On", "ForceRestart", "PowerCycle"):
                        state["power"] = "On"
                    elif kind in ("ForceOff", "GracefulShutdown"):
                        state["power"] = "Off"
                    else:
                        return self.reply(400, {"error": {"@Message.ExtendedInfo": [
                            {"Message": f"ResetType {kind} is not supported"}]}})
                    if machine is not None:
                        drive(kind)
                    if kind not in ("ForceOff", "GracefulShutdown") and state["enabled"] == "Once":
                        state["enabled"], state["target"] = "Disabled", "None"
                return self.reply(204)
            if method == "PATCH" and self.path == SYSTEM:
                boot = doc.get("Boot", {})
                if args.mode != "ignore-boot":
                    with lock:
                        state["target"] = boot.get("BootSourceOverrideTarget", state["target"])
                        state["enabled"] = boot.get("BootSourceOverrideEnabled", state["enabled"])
                return self.reply(204)
            return self.reply(405, {"error": {"message": "method not allowed"}})

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PATCH(self):
            self.handle_any("PATCH")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
