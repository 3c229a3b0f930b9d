#!/usr/bin/env bash
# A blank machine on real firmware boots from Drover, installs, boots its disk and joins:
#   power on -> DHCP -> TFTP (iPXE) -> per-node script -> kernel + initrd over HTTP ->
#   drover-agent installs the test OS -> reboot -> PXE again -> the script boots the local
#   disk -> the installed OS's agent starts containerd and reports joined. Then a third
#   power-on must boot the disk again without reinstalling.
#
#   whole-boot.sh bios|uefi DROVER BOOT_ENV_DIR TEST_OS_IMAGE
#
# Both boot the network first, as rack machines set to PXE boot do. An installed BIOS
# machine's script sanboots the disk; an installed UEFI machine's script chains Drover's
# network GRUB, whose grub.cfg (TFTP) chainloads \EFI\BOOT\BOOTX64.EFI from the disk. The
# seconds from the script (and the grub.cfg) being served to the disk's OS being up are
# printed for each disk boot. E2E_UEFI_ORDER=disk-first boots UEFI machines disk first.
#
# Then a BMC simulator powers the machine (E2E_BMC; default ipmi for bios, redfish for uefi;
# none: a third power-on by hand that must boot the disk again, no reinstall):
#   ipmi                 tests/e2e/ipmi_bmc.py on pyghmi's IPMI server (RMCP+), which keeps
#                        the boot override as the specification asks
#   ipmi-sim             OpenIPMI's ipmi_sim, its chassis_control program starting and
#                        stopping QEMU (tests/e2e/qemu_power.py); it never reports the boot
#                        flags valid, so Drover's read-back rejects its override
#   redfish[-ignore-boot] tests/power/redfish_mock.py driving QEMU through QMP; in
#                        ignore-boot mode it acknowledges the boot override and drops it
# `drover power on` boots the installed disk (UEFI: disk first in the boot order, so only a
# boot override or BootNext brings it to the network), the agent heartbeats, then the
# reinstalls of tests/e2e/power-reinstall.sh: BIOS over IPMI (`--power`); UEFI through the
# agent's BootNext (`--reboot`), over Redfish (`--power`), and the Redfish simulator lying,
# caught by the read-back with the agent taking over. Each installs again and joins again
# with nobody touching the machine; the timings from the request to the network, the install
# and the join are printed; `drover power off` ends it.
# Exit 77 (skipped) when the boot environment or a tool is missing.
set -euo pipefail
fw=$1 drover=$2 bootenv=$3 image=$4
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

e2e_require "$bootenv" "$image"

e2e_init "boot-$fw"
e2e_tap tap0
mac=52:54:00:e2:e0:01
node=e2e-$fw
order=net-first
[[ $fw == uefi ]] && order=${E2E_UEFI_ORDER:-net-first}
want_grub=0
[[ $fw == uefi && $order == net-first ]] && want_grub=1
bmc=${E2E_BMC:-}
[[ -n $bmc ]] || { [[ $fw == bios ]] && bmc=ipmi || bmc=redfish; }
bmc_decl=""
case $bmc in
  none) ;;
  ipmi | ipmi-sim) bmc_decl='bmc: { driver: ipmi, address: "127.0.0.1:623", credentials: e2e }' ;;
  redfish | redfish-ignore-boot)
    bmc_decl='bmc: { driver: redfish, address: "http://127.0.0.1:8000", credentials: e2e, insecure: true }' ;;
  *) e2e_die "E2E_BMC=$bmc: none, ipmi, ipmi-sim, redfish or redfish-ignore-boot" ;;
esac
missing=""
[[ $bmc == ipmi-sim ]] && ! command -v ipmi_sim >/dev/null && missing="ipmi_sim (Debian package openipmi)"
[[ $bmc == ipmi ]] && ! /usr/bin/python3 -c 'import pyghmi.ipmi.bmc' 2>/dev/null && missing="pyghmi (Debian package python3-pyghmi)"
if [[ -n $missing ]]; then
  [[ -n ${CI:-} ]] && e2e_die "$missing missing"
  echo "skipped: $missing missing"
  exit 77
fi
E2E_IMAGE=$image
e2e_config "$E2E_DIR/cluster.yaml" "$bootenv"
cat >> "$E2E_DIR/cluster.yaml" <<YAML
networks:
  - name: lab
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
    lease: 1h
defaults:
  unknown: ignore
nodes:
  - name: $node
    mac: $mac
    ip: 192.0.2.10
    profile: node
    $bmc_decl
YAML
e2e_bmc_credentials e2e
e2e_serve "$drover" "$E2E_DIR/cluster.yaml"
node_state() { e2e_node_state "$node"; }
trap 'rc=$?; ((rc)) && e2e_show_failure "$node"; e2e_cleanup $rc' EXIT

disk=$(e2e_disk "$node" 512M)
# E2E_STREAM=1: the machine's serial console is copied to stdout as it boots.
if [[ -n ${E2E_STREAM:-} ]]; then
  : >"$E2E_DIR/$node.console"
  tail -n +1 -F "$E2E_DIR/$node.console" 2>/dev/null | sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g' &
  E2E_PIDS+=($!)
fi
t0=$(date +%s.%N)
since() { python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(date +%s.%N)" "$t0"; }

e2e_log "power on #1 ($fw): blank disk"
e2e_qemu "$node" "$fw" "$mac" tap0 "$disk" "$order"
qpid=$E2E_LAST_PID
e2e_wait_console "$node" 'drover|Linux version' 300
e2e_log "kernel running after $(since)s"
e2e_wait_exit "$qpid" "$node"   # the agent reboots; QEMU exits (-no-reboot)
e2e_log "install finished after $(since)s"
[[ $(node_state) == installed ]] || { tail -n 40 "$E2E_DIR/$node.console" >&2; e2e_die "node is $(node_state) after the install boot, want installed"; }
cp "$E2E_DIR/$node.console" "$E2E_DIR/$node.install.console"

# disk_boot: waits for the installed OS's first line and prints the handoff times.
disk_boot() {
  e2e_wait_console "$node" 'drover-test-os: booted from disk' 600
  local up
  up=$(e2e_now_ms)
  [[ $order == net-first ]] && e2e_handoff "$node" "$up" "$want_grub"
  return 0
}

# A BIOS machine behind a BMC boots its disk and joins on the BMC's power-on instead (the
# same network-first path), which saves a boot.
if [[ $bmc == none || $fw == uefi ]]; then
  e2e_log "power on #2: boots the disk and joins"
  e2e_qemu "$node" "$fw" "$mac" tap0 "$disk" "$order"
  qpid=$E2E_LAST_PID
  disk_boot
  e2e_wait_joined "$node" "$qpid"
  e2e_log "joined after $(since)s"
  e2e_check_runtime "$node"
fi

if [[ $bmc == none ]]; then
  e2e_log "power on #3: an installed machine boots its disk again, no reinstall"
  e2e_qemu "$node" "$fw" "$mac" tap0 "$disk" "$order"
  qpid=$E2E_LAST_PID
  disk_boot
  e2e_wait_joined "$node" "$qpid"
  installs=$(e2e_events "$node" install_started)
  [[ $installs == 1 ]] || e2e_die "installed $installs times, want once"
else
  # shellcheck source=tests/e2e/power-reinstall.sh
  source "$here/power-reinstall.sh"
fi

e2e_timeline "$node"
[[ $fw == bios ]] && e2e_ui_snapshot "$node"
e2e_log "PASS: $fw whole boot in $(since)s"
if [[ -n ${E2E_SHOW_NODES:-} ]]; then
  echo
  e2e_ns "$drover" nodes --config "$E2E_DIR/cluster.yaml"
fi
