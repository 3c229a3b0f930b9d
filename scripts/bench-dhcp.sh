#!/usr/bin/env bash
# DHCP capacity of `drover serve` against its peers, taking turns at every rate in one run:
# Drover on SQLite (every ACK sent only after its lease is durable), ISC Kea 2.2 memfile
# (single-threaded and with a thread per core), dnsmasq and ISC dhcpd (both without ping),
# on the same L2 segment, pool, lease time and load. A shorthand for
#
#   scripts/bench-ha.sh --setups "sqlite kea kea-mt dnsmasq dhcpd" [options]
#
# (add `ha` to the setups for three replicas on a three-member etcd). Every option of
# bench-ha.sh applies: --rates, --period, --clients, --results, --store-dir, --build.
set -euo pipefail
cd "$(dirname "$0")/.."
setups="sqlite kea kea-mt dnsmasq"
# ISC dhcpd is context only and not in the package lists (Debian isc-dhcp-server starts a
# service when installed): it joins the run when it is there.
command -v dhcpd >/dev/null && setups+=" dhcpd"
exec scripts/bench-ha.sh --setups "$setups" "$@"
