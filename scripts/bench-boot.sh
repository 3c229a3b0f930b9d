#!/usr/bin/env bash
# Power-on to kernel on real firmware: Drover against dnsmasq + a static HTTP server, same
# machine, same run. Not a test: it measures and prints a markdown table.
#
#   scripts/bench-boot.sh [--build DIR] [--runs N]
#
# One BIOS machine (QEMU TCG, SeaBIOS + iPXE ROM) on a bridge in a private namespace boots
# the boot environment's kernel and initrd over the network, from
#   drover          drover serve (DHCP, TFTP, HTTP script and assets), router advertisements on
#   drover-no-ra    the same with server.boot.ipv6_ra: false
#   dnsmasq         dnsmasq (DHCP + TFTP of undionly.kpxe, --no-ping, iPXE gets the HTTP script
#                   URL by user class) + python3 http.server serving a static script and the
#                   same kernel and initrd; dnsmasq also sends router advertisements
#                   (--enable-ra, ra-only on 2001:db8::/64), as in the reference setup
# Time: from QEMU start to the kernel's first console line ("Linux version"), read by
# polling the serial console every 50 ms. Each run is bounded (120 s) and cleaned up by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=build
runs=3
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --runs) runs=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done
drover=$root/$build/bin/drover
bootenv=$root/$build/boot-env
image=$root/$build/e2e/test-os.raw.zst
[[ -x $drover && -f $bootenv/vmlinuz && -f $image ]] ||
  { echo "bench-boot: needs $drover, $bootenv and $image (run the e2e tests once)" >&2; exit 2; }
for t in qemu-system-x86_64 dnsmasq python3; do
  command -v "$t" >/dev/null || { echo "bench-boot: $t missing (scripts/setup.sh)" >&2; exit 2; }
done

source tests/e2e/lib.sh
E2E_IMAGE=$image
e2e_init bench-boot
e2e_tap tap0
mac=52:54:00:b0:07:01
e2e_ns ip -6 addr add 2001:db8::1/64 dev br0 nodad

# A Drover declaration for the machine (installing: the script boots the boot environment).
drover_config() {
  E2E_IPV6_RA=$1 e2e_config "$E2E_DIR/cluster.yaml" "$bootenv"
  rm -f "$E2E_DIR/state/state.db"*
  cat >> "$E2E_DIR/cluster.yaml" <<YAML
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
defaults:
  unknown: ignore
nodes:
  - { name: bench, mac: "$mac", ip: 192.0.2.10, profile: node }
YAML
}

# The dnsmasq side: a static script with the same kernel, initrd and console.
mkdir -p "$E2E_DIR/www"
ln -sf "$(realpath "$bootenv/vmlinuz")" "$E2E_DIR/www/vmlinuz"
ln -sf "$(realpath "$bootenv/initrd.img")" "$E2E_DIR/www/initrd.img"
cat > "$E2E_DIR/www/boot.ipxe" <<'IPXE'
#!ipxe
kernel http://192.0.2.1:8081/vmlinuz console=tty0 console=ttyS0,115200n8 drover.mode=discover
initrd http://192.0.2.1:8081/initrd.img
boot
IPXE

start_server() {
  case $1 in
    drover|drover-no-ra)
      drover_config "$([[ $1 == drover ]] && echo 1 || echo 0)"
      e2e_bg "$E2E_DIR/$1.log" "$drover" --log-level warn serve --config "$E2E_DIR/cluster.yaml"
      server_pids=("$E2E_LAST_PID")
      for _ in $(seq 1 100); do e2e_ns curl -sf -o /dev/null http://192.0.2.1:8080/healthz && break; sleep 0.1; done
      ;;
    dnsmasq)
      e2e_bg "$E2E_DIR/dnsmasq.log" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=br0 \
        --bind-interfaces --no-ping --dhcp-range=192.0.2.100,192.0.2.199,1h \
        --dhcp-range=2001:db8::,ra-only --enable-ra \
        --dhcp-userclass=set:ipxe,iPXE --dhcp-boot=tag:!ipxe,undionly.kpxe \
        --dhcp-boot=tag:ipxe,http://192.0.2.1:8081/boot.ipxe \
        --enable-tftp --tftp-root=/usr/lib/ipxe --dhcp-leasefile="$E2E_DIR/dnsmasq.leases" \
        --pid-file="$E2E_DIR/dnsmasq.pid"
      server_pids=("$E2E_LAST_PID")
      e2e_bg "$E2E_DIR/http.log" python3 -m http.server 8081 --bind 192.0.2.1 --directory "$E2E_DIR/www"
      server_pids+=("$E2E_LAST_PID")
      for _ in $(seq 1 100); do e2e_ns curl -sf -o /dev/null http://192.0.2.1:8081/boot.ipxe && break; sleep 0.1; done
      ;;
  esac
}

# One power-on; prints seconds to "Linux version" (or "timeout").
one_boot() {
  local name=bench t0 disk
  disk=$(e2e_disk "$name" 64M)
  t0=$(date +%s.%N)
  e2e_qemu "$name" bios "$mac" tap0 "$disk"
  local qpid=$E2E_LAST_PID deadline=$((SECONDS + 120))
  until grep -aq 'Linux version' "$E2E_DIR/$name.console" 2>/dev/null; do
    if ((SECONDS >= deadline)); then e2e_kill "$qpid"; echo timeout; return; fi
    sleep 0.05
  done
  python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(date +%s.%N)" "$t0"
  e2e_kill "$qpid"
}

declare -A results
for ((r = 1; r <= runs; r++)); do
  for server in drover dnsmasq drover-no-ra; do
    start_server "$server"
    t=$(one_boot)
    e2e_kill "${server_pids[@]}"
    results[$server]+="$t "
    e2e_log "run $r $server: $t s"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | grep -v timeout | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
echo
echo "BIOS power-on to kernel (QEMU TCG, SeaBIOS + iPXE ROM), $runs runs, load average $(cut -d' ' -f1-3 /proc/loadavg):"
echo
echo "| server | median s | runs (s) |"
echo "|---|---|---|"
for server in drover dnsmasq drover-no-ra; do
  echo "| $server | $(echo "${results[$server]}" | median) | ${results[$server]} |"
done
