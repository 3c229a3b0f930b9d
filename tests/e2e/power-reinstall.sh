#!/usr/bin/env bash
# Sourced by whole-boot.sh once its machine has installed (UEFI: and joined): a BMC
# simulator takes the machine over, powers it on (a BIOS machine joins on this boot), and
# `drover reinstall` sends it to the network with nobody touching it, in the turns below.
# Uses whole-boot.sh's fw, node, mac, disk, bmc, drover and disk_boot.

# The BMC's own boot order: BIOS rack machines boot the network first (an installed one gets
# Drover's local script, which boots the disk); UEFI disk first, so that only a boot
# override or BootNext brings it back to the network.
bmc_order=net-first
[[ $fw == uefi ]] && bmc_order=disk-first
e2e_machine "$node" "$fw" "$mac" tap0 "$disk" "$bmc_order"
case $bmc in
  ipmi | ipmi-sim)
    e2e_ipmi_bmc "$node" "$bmc"
    for _ in $(seq 1 50); do
      [[ -n $(e2e_ns ss -Hlun 'sport = :623') ]] && break
      sleep 0.1
    done
    ;;
  redfish) e2e_redfish_bmc "$node" normal ;;
  redfish-ignore-boot) e2e_redfish_bmc "$node" ignore-boot ;;
esac
bmc_pid=$E2E_LAST_PID
cli() { e2e_ns "$drover" "$@" --config "$E2E_DIR/cluster.yaml"; }
machine_on() { [[ $(python3 "$here/qemu_power.py" "$E2E_DIR/$node.machine.json" status) == on ]]; }

# The machine joins on this boot when it has not yet (BIOS: its first boot from the disk).
first_join=0
[[ $(node_state) == joined ]] || first_join=1
t_on=$(e2e_now_ms)
e2e_log "power on #$((3 - first_join)) through the BMC ($bmc, $bmc_order): $(cli power "$node" on 2>&1 | tr '\n' ' ')"
machine_on || e2e_die "the BMC answered but the machine is not running"
# Network first: the installed machine reaches its disk through the `local` script.
[[ $bmc_order == net-first ]] && disk_boot
# The agent reports its runtime on every boot, then heartbeats (every 2 s here).
t_up=$(e2e_wait_event "$node" runtime_started "$t_on" 600)
e2e_log "the installed OS's agent is up $(((t_up - t_on) / 1000))s after power on"
if ((first_join)); then
  e2e_wait_state "$node" joined 300
  e2e_log "joined after $(since)s"
  e2e_check_runtime "$node"
fi
installs=$(e2e_events "$node" install_started)
[[ $installs == 1 ]] || e2e_die "installed $installs times before the reinstall, want once"
if [[ $bmc_order == disk-first ]]; then
  served=$(e2e_events "$node" script_served "$t_on")
  [[ $served == 0 ]] || e2e_die "a disk-first machine was served $served boot scripts, want none"
fi

# The reinstalls, in turn (E2E_REINSTALL overrides; default: "power lie" behind the IPMI BMC,
# "power reboot-start" behind the Redfish one, "power" behind the others):
#   reboot        `drover reinstall --reboot`: the agent sets BootNext (UEFI) and reboots,
#                 no BMC; waited for until the node joined again
#   reboot-start  the same, followed until the install has started
#   power         `drover reinstall --power`: the BMC's boot override and power cycle; a BMC
#                 that does not keep the override (ipmi_sim without the valid bit, the lying
#                 Redfish mode) is caught and the agent takes over; waited for until joined
#   lie           the BMC replaced by one that drops the override (IPMI: ipmi_sim; Redfish:
#                 the simulator in its lying mode), then `--power`: the read-back catches it,
#                 the handoff fails with the reason and the agent sends the machine to the
#                 network (the install that follows is not waited for)
steps=${E2E_REINSTALL:-}
if [[ -z $steps ]]; then
  case $bmc in
    ipmi) steps="power lie" ;;
    redfish) steps="power reboot-start" ;;
    *) steps=power ;;
  esac
fi
honest=0
[[ $bmc == ipmi || $bmc == redfish ]] && honest=1
ms() { python3 -c "import sys; print(f'{(int(sys.argv[1]) - int(sys.argv[2])) / 1000:.1f}')" "$1" "$t_req"; }

# reinstall VIA HONEST: one reinstall through VIA (reboot|power), waited for until it joined.
reinstall() {
  local via=$1 honest=$2 before rc=0 out t_net t_inst t_done t_join
  before=$(e2e_events "$node" install_started)
  t_req=$(e2e_now_ms)
  out=$(cli reinstall "$node" "--$via" 2>&1) || rc=$?
  e2e_log "drover reinstall $node --$via (exit $rc): $(tr '\n' ' ' <<<"$out")"
  t_net=$(e2e_wait_event "$node" handoff "$t_req" 600 "reached the network")
  t_inst=$(e2e_wait_event "$node" install_started "$t_req" 600)
  t_done=$(e2e_wait_event "$node" installed "$t_req" 600)
  t_join=$(e2e_wait_event "$node" joined "$t_req" 600)
  e2e_log "handoff (--$via, $bmc, $fw): request -> network seen $(ms "$t_net")s, install started $(ms "$t_inst")s, installed $(ms "$t_done")s, joined $(ms "$t_join")s"
  [[ $(node_state) == joined ]] || e2e_die "node is $(node_state) after the reinstall, want joined"
  [[ $(e2e_events "$node" install_started) == $((before + 1)) ]] || e2e_die "installed $(e2e_events "$node" install_started) times, want $((before + 1))"
  # What sent it there: the BMC's override and power cycle, or (the override not read back)
  # the agent's BootNext (UEFI) or plain reboot (BIOS).
  local agent=1
  if [[ $via == reboot ]]; then
    [[ $rc == 0 ]] || e2e_die "reinstall --reboot failed"
  elif ((honest)); then
    agent=0
    [[ $rc == 0 ]] || e2e_die "reinstall --power failed on a BMC that keeps the override"
    [[ $(e2e_events "$node" power_failed "$t_req") == 0 ]] || e2e_die "a power step failed"
    [[ $(e2e_events "$node" handoff_failed "$t_req") == 0 ]] || e2e_die "the BMC's handoff failed"
  else
    [[ $rc != 0 && $out == *"bmc ignored boot override"* ]] ||
      e2e_die "the BMC dropped the boot override and reinstall --power did not say so"
    [[ $(e2e_events "$node" handoff_failed "$t_req") == 1 ]] || e2e_die "no handoff_failed for the BMC"
  fi
  [[ $(e2e_events "$node" reboot_network "$t_req") == "$agent" ]] || e2e_die "the agent rebooted into the network $(e2e_events "$node" reboot_network "$t_req") times, want $agent"
  if [[ $fw == uefi ]]; then
    [[ $(e2e_events "$node" boot_next "$t_req") == "$agent" ]] || e2e_die "the agent set BootNext $(e2e_events "$node" boot_next "$t_req") times, want $agent"
  fi
}

# reboot_start: `--reboot` followed until the install has started.
reboot_start() {
  local rc=0 out t_next t_net t_inst
  t_req=$(e2e_now_ms)
  out=$(cli reinstall "$node" --reboot 2>&1) || rc=$?
  e2e_log "drover reinstall $node --reboot (exit $rc): $(tr '\n' ' ' <<<"$out")"
  [[ $rc == 0 ]] || e2e_die "reinstall --reboot failed"
  t_next=$(e2e_wait_event "$node" reboot_network "$t_req" 120)
  t_net=$(e2e_wait_event "$node" handoff "$t_req" 300 "reached the network")
  t_inst=$(e2e_wait_event "$node" install_started "$t_req" 300)
  [[ $fw != uefi || $(e2e_events "$node" boot_next "$t_req") == 1 ]] || e2e_die "the agent set no BootNext"
  [[ $(e2e_events "$node" power "$t_req") == 0 ]] || e2e_die "--reboot used the BMC"
  e2e_log "handoff (--reboot, $fw): request -> agent reboots $(ms "$t_next")s, network seen $(ms "$t_net")s, install started $(ms "$t_inst")s"
}

# lie: the lying BMC caught and the agent taking over, up to the machine reaching the network.
lie() {
  kill "$bmc_pid" && wait "$bmc_pid" 2>/dev/null || true
  case $bmc in
    redfish) e2e_redfish_bmc "$node" ignore-boot ;;
    ipmi)
      e2e_ipmi_bmc "$node" ipmi-sim
      for _ in $(seq 1 50); do
        [[ -n $(e2e_ns ss -Hlun 'sport = :623') ]] && break
        sleep 0.1
      done
      ;;
    *) e2e_die "the lie step needs the IPMI or the Redfish simulator" ;;
  esac
  bmc_pid=$E2E_LAST_PID
  local rc=0 out t_fail t_next t_net
  t_req=$(e2e_now_ms)
  out=$(cli reinstall "$node" --power 2>&1) || rc=$?
  e2e_log "drover reinstall $node --power, the BMC lying (exit $rc): $(tr '\n' ' ' <<<"$out")"
  [[ $rc != 0 && $out == *"bmc ignored boot override"* ]] ||
    e2e_die "the BMC dropped the boot override and reinstall --power did not say so"
  t_fail=$(e2e_wait_event "$node" handoff_failed "$t_req" 60 "bmc ignored boot override")
  t_next=$(e2e_wait_event "$node" reboot_network "$t_req" 120)
  t_net=$(e2e_wait_event "$node" handoff "$t_req" 300 "reached the network")
  [[ $fw != uefi || $(e2e_events "$node" boot_next "$t_req") == 1 ]] || e2e_die "the agent set no BootNext"
  e2e_log "lying BMC: request -> handoff_failed $(ms "$t_fail")s, agent reboots $(ms "$t_next")s, network seen $(ms "$t_net")s"
}

for step in $steps; do
  case $step in
    reboot) reinstall reboot 0 ;;
    reboot-start) reboot_start ;;
    power) reinstall power "$honest" ;;
    lie) lie ;;
    *) e2e_die "E2E_REINSTALL step $step: reboot, reboot-start, power or lie" ;;
  esac
done

t_off=$(e2e_now_ms)
e2e_log "power off through the BMC: $(cli power "$node" off 2>&1 | tr '\n' ' ')"
for _ in $(seq 1 100); do machine_on || break; sleep 0.1; done
machine_on && e2e_die "the machine still runs after power off"
e2e_log "machine off $(((($(e2e_now_ms) - t_off)) / 1000))s after the request; power events:"
sed 's/^/  /' "$E2E_DIR/$node.power.log" >&2
