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
  local name=$1 fw=$2 mac=$3 tap=$4 disk=$5 order=${6:-net-first}
  local net_index=1 disk_index=2
  [[ $order == disk-first ]] && net_index=2 disk_index=1
  local args=(-accel tcg -m 1024 -smp 1 -nographic -no-reboot -serial "file:$E2E_DIR/$name.console"
              -monitor none -display none
              -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
              -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=$net_index"
              -drive "file=$disk,if=none,id=d0,format=raw"
              -device "virtio-blk-pci,drive=d0,bootindex=$disk_index")
  if [[ $fw == uefi ]]; then
    [[ -f $E2E_DIR/$name.vars.fd ]] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$E2E_DIR/$name.vars.fd"
    args+=(-machine q35
           -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
           -drive "if=pflash,format=raw,unit=1,file=$E2E_DIR/$name.vars.fd")
  fi
  : >"$E2E_DIR/$name.console"
  e2e_bg "$E2E_DIR/$name.qemu.log" qemu-system-x86_64 "${args[@]}"
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
  [[ -n $E2E_NS ]] && ip netns del "$E2E_NS" 2>/dev/null
  if [[ $rc == 0 && -z ${E2E_KEEP:-} ]]; then
    rm -rf "$E2E_DIR"
  else
    e2e_log "work dir kept: $E2E_DIR"
  fi
  exit "$rc"
}
