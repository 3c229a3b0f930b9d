# Sourced by the benchmarks: two network namespaces joined by a veth pair, server side
# 192.0.2.1/24, client side 192.0.2.2/24 (documentation range), both links up.
#
#   bench_netns_pair SERVER_NS CLIENT_NS SERVER_IF CLIENT_IF
#   bench_netns_remove NS...
#   bench_rmem_raise, bench_rmem_restore (below)
bench_netns_pair() {
  local srv=$1 cli=$2 sif=$3 cif=$4 ns
  ip netns add "$srv"
  ip netns add "$cli"
  ip link add "$sif" type veth peer name "$cif"
  ip link set "$sif" netns "$srv"
  ip link set "$cif" netns "$cli"
  ip -n "$srv" addr add 192.0.2.1/24 dev "$sif"
  ip -n "$cli" addr add 192.0.2.2/24 dev "$cif"
  for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
  ip -n "$srv" link set "$sif" up
  ip -n "$cli" link set "$cif" up
}

bench_netns_remove() {
  local ns
  for ns in "$@"; do ip netns del "$ns" 2>/dev/null || true; done
}

# The kernel's default UDP receive buffer (net.core.rmem_default, 208 KiB) is the same in
# every namespace and cannot be set per namespace. A server or client that does not size
# its own socket (perfdhcp, dnsmasq, Kea) overflows it in a burst of thousands of
# datagrams. bench_rmem_raise sets the default for every socket on the machine to
# min(net.core.rmem_max, 4 MiB) (Drover sizes its own, so this only helps the others);
# bench_rmem_restore puts the old value back (call it from the EXIT trap).
bench_rmem_raise() {  # PREFIX for the line it prints
  bench_rmem_was=$(sysctl -n net.core.rmem_default)
  local max
  max=$(sysctl -n net.core.rmem_max)
  sysctl -qw net.core.rmem_default=$((max < 4194304 ? max : 4194304))
  echo "$1net.core.rmem_default $bench_rmem_was -> $(sysctl -n net.core.rmem_default) for the run"
}
bench_rmem_restore() {
  [[ -n ${bench_rmem_was:-} ]] && sysctl -qw net.core.rmem_default="$bench_rmem_was" || true
}
