#!/usr/bin/env bash
# Shared pieces of the whole-boot tests: a private network namespace with a bridge and tap
# devices, QEMU machines on real firmware (SeaBIOS + iPXE ROM, or OVMF), and waiting for
# lines on a machine's serial console. Everything started here is recorded and torn down
# by e2e_cleanup (installed as an EXIT trap by e2e_init).
#
# Addresses: 192.0.2.0/24 (documentation range); the server side of the bridge is .1.

E2E_NS=""
E2E_DIR=""
E2E_PIDS=()
E2E_EXTRA_NS=()   # more namespaces a scenario adds (removed with the main one)
# More QEMU arguments for every machine e2e_qemu starts, e.g. (-boot reboot-timeout=1000):
# SeaBIOS then resets after a failed boot, as rack firmware retries PXE, instead of halting.
E2E_QEMU_ARGS=()
E2E_SERVE_ARGS=()  # more arguments for drover serve (e2e_serve)

# e2e_require BOOTENV IMAGE: exits 77 (skipped) when a tool, the boot environment or the
# test OS image is missing.
e2e_require() {
  local t
  for t in qemu-system-x86_64 curl python3; do
    command -v "$t" >/dev/null || { echo "skipped: $t missing"; exit 77; }
  done
  [[ -f $1/vmlinuz && -f $1/initrd.img && -f $2 ]] ||
    { echo "skipped: boot environment or test OS image missing"; exit 77; }
}

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
e2e_die() { e2e_log "FAIL: $*"; exit 1; }

# e2e_init NAME: creates the namespace drv-NAME-PID and a work directory.
e2e_init() {
  E2E_NS="drv-$1-$$"
  E2E_DIR=$(mktemp -d "/tmp/drover-e2e-$1.XXXXXX")
  trap e2e_cleanup EXIT
  ip netns add "$E2E_NS"
  e2e_ns ip link set lo up
  # IPv6 only on the bridge (taps are plain ports): drover serve answers iPXE's router
  # solicitation there, so iPXE does not wait ~13 s for an advertisement
  # (E2E_IPV6_RA=0 turns the answer off, to measure the difference).
  e2e_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  e2e_ns ip link add br0 type bridge
  e2e_ns ip link set br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
  e2e_ns sysctl -qw net.ipv6.conf.br0.accept_dad=0 net.ipv6.conf.br0.disable_ipv6=0
  e2e_ns ip addr add 192.0.2.1/24 dev br0
  e2e_ns ip link set br0 up
  e2e_log "namespace $E2E_NS, work dir $E2E_DIR"
}

e2e_ns() { ip netns exec "$E2E_NS" "$@"; }

# e2e_tap NAME: a tap device on the bridge for one QEMU NIC.
e2e_tap() {
  e2e_ns ip tuntap add "$1" mode tap
  e2e_ns ip link set "$1" master br0
  e2e_ns ip link set "$1" up
}

# e2e_bg LOGFILE CMD...: runs CMD inside the namespace in the background; its pid is in
# E2E_LAST_PID (not printed: a command substitution would make it a grandchild).
E2E_LAST_PID=""
e2e_bg() {
  local log=$1
  shift
  ip netns exec "$E2E_NS" "$@" >"$log" 2>&1 </dev/null &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
}

# e2e_wait_joined NODE PID: a machine booting its installed disk (QEMU pid PID) reports its
# join on the console and powers off; the join must have worked and the node be `joined`.
e2e_wait_joined() {
  local node=$1 pid=$2
  e2e_wait_console "$node" 'drover-test-os: join (done|failed)' 600
  e2e_wait_exit "$pid" "$node"
  grep -aq 'drover-test-os: join done' "$E2E_DIR/$node.console" ||
    { tail -n 40 "$E2E_DIR/$node.console" >&2; e2e_die "$node: join failed"; }
  [[ $(e2e_node_state "$node") == joined ]] || e2e_die "$node is $(e2e_node_state "$node"), want joined"
}

# e2e_wait_exit PID NAME [SECONDS]: waits for a machine to power itself off; a machine still
# running after the limit (hung, or dropped to a shell) is a failure.
e2e_wait_exit() {
  local pid=$1 name=$2 limit=${3:-900}
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      e2e_log "console of $name (last 60 lines):"
      tail -n 60 "$E2E_DIR/$name.console" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >&2
      e2e_die "$name: still running after ${limit}s"
    fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null || true
}

# e2e_disk NAME SIZE: a blank raw disk image.
e2e_disk() {
  truncate -s "$2" "$E2E_DIR/$1.raw"
  echo "$E2E_DIR/$1.raw"
}

# e2e_qemu NAME FIRMWARE(bios|uefi) MAC TAP DISK [net-first|disk-first]: powers a machine
# on. net-first (default) is a rack machine set to PXE boot; disk-first is the UEFI setup
# where a blank disk falls through to the network and an installed one boots directly.
# The serial console goes to $E2E_DIR/NAME.console; the QEMU pid is in E2E_LAST_PID.
e2e_qemu() {
  local name=$1 order=${6:-net-first}
  e2e_qemu_args "$@"
  local devices=("${E2E_QEMU_NET_FIRST[@]}")
  [[ $order == disk-first ]] && devices=("${E2E_QEMU_DISK_FIRST[@]}")
  : >"$E2E_DIR/$name.console"
  e2e_bg "$E2E_DIR/$name.qemu.log" "${E2E_QEMU_CMD[@]}" -no-reboot \
    -serial "file:$E2E_DIR/$name.console" "${devices[@]}"
}

# e2e_qemu_args NAME FIRMWARE MAC TAP DISK: the machine's QEMU command line without its
# console and boot order (E2E_QEMU_CMD), and the NIC and disk devices for each boot order
# (E2E_QEMU_NET_FIRST, E2E_QEMU_DISK_FIRST).
E2E_QEMU_CMD=()
E2E_QEMU_NET_FIRST=()
E2E_QEMU_DISK_FIRST=()
e2e_qemu_args() {
  local name=$1 fw=$2 mac=$3 tap=$4 disk=$5 rom=""
  # UEFI machines PXE-boot with OVMF's own network stack (no option ROM), which fetches
  # ipxe.efi over TFTP as real UEFI servers do; E2E_UEFI_PXE=ipxe-rom uses QEMU's iPXE ROM.
  # arm64: AAVMF's own PXE too (QEMU's ROMs are x86 code).
  [[ $fw == uefi* && ${E2E_UEFI_PXE:-ovmf} == ovmf ]] && rom=",romfile="
  local qemu=(qemu-system-x86_64)
  [[ $fw == arm64 ]] && rom=",romfile=" qemu=(qemu-system-aarch64 -machine virt -cpu cortex-a57)
  E2E_QEMU_CMD=("${qemu[@]}" -accel tcg -m 1024 -smp 1 -nographic -monitor none -display none
                -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
                -drive "file=$disk,if=none,id=d0,format=raw")
  local nic="virtio-net-pci,netdev=n0,mac=$mac" blk="virtio-blk-pci,drive=d0"
  E2E_QEMU_NET_FIRST=(-device "$nic,bootindex=1$rom" -device "$blk,bootindex=2")
  E2E_QEMU_DISK_FIRST=(-device "$nic,bootindex=2$rom" -device "$blk,bootindex=1")
  if [[ $fw == uefi ]]; then
    [[ -f $E2E_DIR/$name.vars.fd ]] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$E2E_DIR/$name.vars.fd"
    E2E_QEMU_CMD+=(-machine q35
                   -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
                   -drive "if=pflash,format=raw,unit=1,file=$E2E_DIR/$name.vars.fd")
  elif [[ $fw == uefi-sb ]]; then
    # Secure Boot: OVMF's SMM build with Microsoft's keys enrolled (Secure Boot on), its
    # variable store writable only from SMM.
    [[ -f $E2E_DIR/$name.vars.fd ]] || cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd "$E2E_DIR/$name.vars.fd"
    E2E_QEMU_CMD+=(-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on
                   -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
                   -drive "if=pflash,format=raw,unit=1,file=$E2E_DIR/$name.vars.fd")
  elif [[ $fw == arm64 ]]; then
    # AAVMF (Debian qemu-efi-aarch64): UEFI for QEMU's arm64 virt machine.
    [[ -f $E2E_DIR/$name.vars.fd ]] || cp /usr/share/AAVMF/AAVMF_VARS.fd "$E2E_DIR/$name.vars.fd"
    E2E_QEMU_CMD+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd"
                   -drive "if=pflash,format=raw,unit=1,file=$E2E_DIR/$name.vars.fd")
  fi
  E2E_QEMU_CMD+=("${E2E_QEMU_ARGS[@]}")
}

# e2e_machine NAME FIRMWARE MAC TAP DISK ORDER: a machine for a BMC simulator to power
# (tests/e2e/qemu_power.py): its spec is $E2E_DIR/NAME.machine.json. Unlike e2e_qemu's, it
# reboots by itself (no -no-reboot), its console is appended to across power-ons, and its
# SMBIOS SKU tells the test OS to keep its agent heartbeating (every 2 s, for at most 5
# minutes) instead of powering off after the join.
e2e_machine() {
  local name=$1 order=$6
  e2e_qemu_args "$@"
  : >"$E2E_DIR/$name.console"
  python3 - "$E2E_DIR" "$name" "$order" "${#E2E_QEMU_NET_FIRST[@]}" "${E2E_QEMU_NET_FIRST[@]}" \
    "${E2E_QEMU_DISK_FIRST[@]}" "${E2E_QEMU_CMD[@]}" \
    -chardev "file,id=con0,path=$E2E_DIR/$name.console,append=on" -serial chardev:con0 \
    -smbios type=1,sku=drover-e2e-heartbeats-150 <<'PY'
import json, sys
d, name, order, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rest = sys.argv[5:]
spec = {"dir": d, "name": name, "order": order, "net_first": rest[:n],
        "disk_first": rest[n:2 * n], "argv": rest[2 * n:]}
json.dump(spec, open(f"{d}/{name}.machine.json", "w"), indent=1)
PY
  E2E_MACHINES+=("$E2E_DIR/$name.pid")
}
E2E_MACHINES=()  # pid files of machines the BMC simulators started (stopped by e2e_cleanup)

# e2e_ipmi_bmc NAME [ipmi|ipmi-sim]: an IPMI BMC on 127.0.0.1:623 in the namespace, user
# admin/secret, powering machine NAME (e2e_machine). ipmi: tests/e2e/ipmi_bmc.py on pyghmi.
# ipmi-sim: OpenIPMI's ipmi_sim through its chassis_control program (qemu_power.py ... ipmi);
# it keeps no boot device of its own (the program stores it) and always answers the boot
# flags with the valid bit clear.
e2e_ipmi_bmc() {
  local name=$1 kind=${2:-ipmi} sim
  if [[ $kind == ipmi ]]; then
    e2e_bg "$E2E_DIR/ipmi_bmc.log" /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/ipmi_bmc.py" \
      "$E2E_DIR/$name.machine.json" --address 127.0.0.1 --port 623
    return 0
  fi
  sim=$(command -v ipmi_sim) || e2e_die "ipmi_sim missing (Debian package openipmi)"
  mkdir -p "$E2E_DIR/ipmi-state"
  cat >"$E2E_DIR/ipmi.conf" <<CONF
name "drover-e2e"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 623
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "python3 $(dirname "${BASH_SOURCE[0]}")/qemu_power.py $E2E_DIR/$name.machine.json ipmi"
  user 2 true "admin" "secret" admin 10 none md2 md5 straight
CONF
  printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n' \
    >"$E2E_DIR/ipmi.emu"
  e2e_bg "$E2E_DIR/ipmi_sim.log" "$sim" -c "$E2E_DIR/ipmi.conf" -f "$E2E_DIR/ipmi.emu" \
    -s "$E2E_DIR/ipmi-state" -n
}

# e2e_redfish_bmc NAME MODE: tests/power/redfish_mock.py (MODE normal|ignore-boot) on
# 127.0.0.1:8000 in the namespace, user admin/secret, powering machine NAME through QMP.
e2e_redfish_bmc() {
  local name=$1 mode=$2
  e2e_bg "$E2E_DIR/redfish.log" python3 "$(dirname "${BASH_SOURCE[0]}")/../power/redfish_mock.py" \
    --port 8000 --mode "$mode" --machine "$E2E_DIR/$name.machine.json" --log "$E2E_DIR/redfish.requests"
  for _ in $(seq 1 50); do [[ -s $E2E_DIR/redfish.log ]] && return 0; sleep 0.1; done
  cat "$E2E_DIR/redfish.log" >&2
  e2e_die "the Redfish simulator did not start"
}

# e2e_bmc_credentials NAME: the credentials entry NAME (admin/secret) in the state directory.
e2e_bmc_credentials() {
  (umask 077 && printf '%s: { username: admin, password: secret }\n' "$1" >"$E2E_DIR/state/bmc-credentials.yaml")
}

# e2e_events NODE PHASE [SINCE_MS]: how many entries of PHASE the node's timeline has (since).
e2e_events() {
  e2e_api "/v1/nodes/$1/events" | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e["phase"] == sys.argv[1] and e["ts"] >= int(sys.argv[2])))' "$2" "${3:-0}"
}

# e2e_wait_event NODE PHASE SINCE_MS [SECONDS] [TEXT]: waits for an entry of PHASE (whose
# message contains TEXT) since SINCE_MS; prints its time (Unix ms).
e2e_wait_event() {
  local node=$1 phase=$2 since=$3 limit=${4:-600} text=${5:-} ts
  local deadline=$((SECONDS + limit))
  while :; do
    ts=$(e2e_api "/v1/nodes/$node/events" 2>/dev/null | python3 -c '
import json, sys
phase, since, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ts = [e["ts"] for e in json.load(sys.stdin)
      if e["phase"] == phase and e["ts"] >= since and text in e["message"]]
print(ts[0] if ts else "")' "$phase" "$since" "$text" 2>/dev/null || true)
    [[ -n $ts ]] && { echo "$ts"; return 0; }
    if ((SECONDS >= deadline)); then
      e2e_log "console of $node (last 40 lines):"
      tail -n 40 "$E2E_DIR/$node.console" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >&2
      e2e_die "$node: no $phase on its timeline after ${limit}s"
    fi
    sleep 0.5
  done
}

# e2e_wait_console NAME REGEX [SECONDS]: waits for a console line; prints the console
# and fails if it does not appear. The limit only stops a hung machine; it is not a
# performance bound.
e2e_wait_console() {
  local name=$1 re=$2 limit=${3:-600}
  local deadline=$((SECONDS + limit))
  while ! grep -aEq "$re" "$E2E_DIR/$name.console" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      e2e_log "console of $name (last 60 lines):"
      tail -n 60 "$E2E_DIR/$name.console" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >&2
      e2e_die "$name: no line matching /$re/ after ${limit}s"
    fi
    sleep 0.2
  done
}

# e2e_config FILE BOOTENV: writes the server, images and profiles part of a test cluster
# declaration (networks and nodes are appended by the caller). Image: $E2E_IMAGE.
# Every profile joins with containerd, which the installed agent starts in the machine.
# node: no recipe (no steps). master and worker run the built-in recipes etcd-member and
# etcd-proxy from the etcd archive the test OS carries at the default join.image path.
e2e_config() {
  local file=$1 bootenv=$2 sha
  sha=$(sha256sum "$E2E_IMAGE" | cut -d' ' -f1)
  mkdir -p "$E2E_DIR/tftp" "$E2E_DIR/state"
  cat > "$file" <<YAML
server:
  advertise: 192.0.2.1
  interfaces: [br0]
  tftp: { listen: "0.0.0.0:69", root: $E2E_DIR/tftp }
  http: { listen: "0.0.0.0:8080" }
  api: { listen: "0.0.0.0:8443", tls: auto }
  state: { backend: sqlite, path: $E2E_DIR/state/state.db }
  boot: { ipv6_ra: $([[ ${E2E_IPV6_RA:-1} == 0 ]] && echo false || echo true) }
images:
  boot-env:
    kernel: { path: $(realpath "$bootenv/vmlinuz") }
    initrd: { path: $(realpath "$bootenv/initrd.img") }
  test-os:
    disk: { path: $(realpath "$E2E_IMAGE"), sha256: "$sha" }
profiles:
  node:
    install: { image: test-os, disk: /dev/vda }
    join: { runtime: containerd }
  master:
    install: { image: test-os, disk: /dev/vda }
    join: { runtime: containerd, recipe: etcd-member, image_ref: "docker.io/drover/etcd:e2e" }
  worker:
    install: { image: test-os, disk: /dev/vda }
    join: { runtime: containerd, recipe: etcd-proxy, image_ref: "docker.io/drover/etcd:e2e" }
YAML
}

# e2e_serve DROVER CONFIG: validates the declaration and starts drover serve in the
# namespace (log: $E2E_DIR/drover.log); the API helpers below talk to it.
E2E_DROVER=""
e2e_serve() {
  E2E_DROVER=$1
  "$1" validate "$2"
  e2e_bg "$E2E_DIR/drover.log" "$1" --log-level info serve --config "$2" "${E2E_SERVE_ARGS[@]}"
  for _ in $(seq 1 100); do grep -q SERVE_STARTED "$E2E_DIR/drover.log" && break; sleep 0.1; done
  grep -q SERVE_STARTED "$E2E_DIR/drover.log" || { cat "$E2E_DIR/drover.log" >&2; e2e_die "drover serve did not start"; }
}

# e2e_api PATH: GET on the operator API (TLS with Drover's own CA, operator token).
e2e_api() {
  e2e_ns curl -sf --max-time 10 --cacert "$E2E_DIR/state/tls/ca.crt" \
    -H "Authorization: Bearer $(cat "$E2E_DIR/state/operator.token")" "https://192.0.2.1:8443$1"
}

# e2e_node_state NODE: the node's state ("" if unknown).
e2e_node_state() {
  e2e_api "/v1/nodes/$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true
}

# e2e_wait_state NODE STATE [SECONDS]: waits until the node reaches STATE.
e2e_wait_state() {
  local node=$1 want=$2 limit=${3:-600}
  local deadline=$((SECONDS + limit))
  until [[ $(e2e_node_state "$node") == "$want" ]]; do
    ((SECONDS < deadline)) || e2e_die "$node is '$(e2e_node_state "$node")' after ${limit}s, want $want"
    sleep 1
  done
}

# e2e_show_failure NODE...: Drover's log and the nodes' timelines, for a failed run.
e2e_show_failure() {
  e2e_log "drover log (last 40 lines):"
  tail -n 40 "$E2E_DIR/drover.log" >&2 || true
  local n
  for n in "$@"; do e2e_api "/v1/nodes/$n/events" >&2 || true; done
}

# e2e_check_runtime NODE: the installed system's agent reported that containerd answers
# (runtime_started) before `joined`.
e2e_check_runtime() {
  e2e_api "/v1/nodes/$1/events" | python3 -c '
import json, sys
phases = [e["phase"] for e in json.load(sys.stdin)]
ok = "runtime_started" in phases and "joined" in phases and phases.index("runtime_started") < phases.index("joined")
sys.exit(0 if ok else "phases: " + " ".join(phases))' || e2e_die "$1: no runtime_started before joined"
}

# e2e_check_steps NODE STEP...: the node's agent ran exactly these recipe steps, in this
# order (its AGENT_JOIN_STEP console lines).
e2e_check_steps() {
  local node=$1 ran want
  shift
  ran=$(grep -aoE 'AGENT_JOIN_STEP name="[^"]*"' "$E2E_DIR/$node.console" | sed 's/.*name="\(.*\)"/\1/' | paste -sd '|')
  want=$(printf '%s\n' "$@" | paste -sd '|')
  [[ $ran == "$want" ]] || e2e_die "$node ran the steps '$ran', want '$want'"
}

# e2e_now_ms: the wall clock in Unix milliseconds (the timeline's clock: same host).
e2e_now_ms() { date +%s%3N; }

# e2e_handoff NODE UP_MS: prints how long the node took from its last `local` boot script
# (and, for x64 UEFI, the network GRUB's grub.cfg) being served to its disk's OS being up
# at UP_MS; fails when WANT_GRUB=1 and no grub.cfg was served since the last local script.
e2e_handoff() {
  e2e_api "/v1/nodes/$1/events" | python3 -c '
import json, sys
up, want_grub = int(sys.argv[1]), sys.argv[2] == "1"
served = [e for e in json.load(sys.stdin) if e["phase"] == "script_served"]
local = [e for e in served if e["message"].startswith("local ")]
if not local:
    sys.exit("no local script was served")
grub = [e for e in served if e["message"].startswith("grub local") and e["ts"] >= local[-1]["ts"]]
line = "disk boot: local script served -> disk OS up %.1fs" % ((up - local[-1]["ts"]) / 1000)
if grub:
    line += ", grub.cfg served -> disk OS up %.1fs" % ((up - grub[-1]["ts"]) / 1000)
elif want_grub:
    sys.exit("the local script was served but not the network GRUB configuration")
print(line)' "$2" "${3:-0}" >&2 || e2e_die "$1: the disk was not reached through Drover"
}

# e2e_timeline NODE: prints the node's boot timeline with offsets.
e2e_timeline() {
  e2e_log "timeline of $1:"
  e2e_api "/v1/nodes/$1/events" | python3 "$(dirname "${BASH_SOURCE[0]}")/timeline.py" >&2
}

e2e_kill() {
  local pid
  for pid in "$@"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    wait "$pid" 2>/dev/null || true
  done
}

e2e_cleanup() {
  local rc=${1:-$?}
  ((${#E2E_PIDS[@]})) && e2e_kill "${E2E_PIDS[@]}"
  local pidfile pid
  for pidfile in "${E2E_MACHINES[@]}"; do
    pid=$(cat "$pidfile" 2>/dev/null) && kill "$pid" 2>/dev/null || true
  done
  local ns
  for ns in "${E2E_EXTRA_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  [[ -n $E2E_NS ]] && ip netns del "$E2E_NS" 2>/dev/null
  if [[ $rc == 0 && -z ${E2E_KEEP:-} ]]; then
    rm -rf "$E2E_DIR"
  else
    e2e_log "work dir kept: $E2E_DIR"
  fi
  exit "$rc"
}

# e2e_ui_snapshot NODE: a screenshot of the node's dashboard page (its final timeline) in
# $DROVER_BINARY_DIR/e2e-artifacts/NODE.png, taken by headless Chromium in the namespace.
# Run by Debian's python3 (/usr/bin/python3), the one python3-websocket is installed for: a
# python3 found first on PATH (pyenv, a virtualenv) may lack it. Without DROVER_BINARY_DIR,
# Chromium or python3-websocket it does nothing, and a failed shot is logged, not fatal (the
# boot already passed); with CI set, a screenshot not taken fails the scenario.
e2e_ui_snapshot() {
  [[ -n ${DROVER_BINARY_DIR:-} ]] || return 0
  local out="$DROVER_BINARY_DIR/e2e-artifacts/$1.png" rc=0
  rm -f "$out"
  e2e_ns timeout 90 /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/../ui/snapshot_node.py" \
    https://192.0.2.1:8443 "$E2E_DIR/state" "$1" "$out" >&2 || rc=$?
  if [[ $rc == 0 && -s $out ]]; then
    e2e_log "dashboard screenshot: $out"
  elif [[ -n ${CI:-} ]]; then
    e2e_die "dashboard screenshot not taken (exit $rc); CI has Chromium (scripts/packages/ui.txt)"
  elif [[ $rc == 77 ]]; then
    e2e_log "dashboard screenshot skipped: Chromium or python3-websocket is not installed"
  else
    e2e_log "dashboard screenshot failed (exit $rc, not fatal)"
  fi
}
