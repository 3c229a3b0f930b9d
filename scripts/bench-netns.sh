# Sourced by the benchmarks: two network namespaces joined by a veth pair, server side
# 192.0.2.1/24, client side 192.0.2.2/24 (documentation range), both links up.
#
#   bench_netns_pair SERVER_NS CLIENT_NS SERVER_IF CLIENT_IF
#   bench_netns_remove NS...
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
