# Sourced by the benchmarks: two network namespaces joined by a veth pair, server side
# 192.0.2.1/24, client side 192.0.2.2/24 (documentation range), both links up.
#
#   bench_netns_pair SERVER_NS CLIENT_NS SERVER_IF CLIENT_IF
#   bench_netns_remove NS...
#   bench_rmem_raise, bench_rmem_restore (below)
#   bench_cpu_budget_create, bench_cpu_budget_remove (below)
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

# A CPU budget for the servers under test: a cgroup whose processes together get at most
# FRACTION of one CPU (CFS bandwidth, a 10 ms period), on cgroup v1's cpu controller or v2's
# cpu.max, whichever the machine has. Used where the measuring client cannot offer enough
# load to find a server's limit on the cores left to it: both servers get the same budget,
# and their capacities within it compare. bench_cpu_budget_exec is a command prefix that
# joins the cgroup and then execs the rest.
#
#   bench_cpu_budget_create PREFIX NAME FRACTION   (sets bench_cpu_budget_exec, prints a line)
#   bench_cpu_budget_remove                        (from the EXIT trap, after the servers stopped)
bench_cpu_budget_create() {
  local prefix=$1 name=$2 fraction=$3 period=10000 quota
  quota=$(awk -v f="$fraction" -v p="$period" 'BEGIN { q = int(f * p); print (f > 0 && q >= 1000) ? q : 0 }')
  ((quota > 0)) || { echo "${prefix}a CPU budget must be at least 0.1 of a CPU (got $fraction)" >&2; return 2; }
  # Every step is checked here (the caller's `set -e` does not reach into a function called
  # as `f || exit`), and the limit is read back: a budget that did not take must stop the
  # run, or its summary would claim one.
  local fail="${prefix}could not set up a CPU budget in"
  if [[ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
    bench_cpu_budget_dir=/sys/fs/cgroup/cpu/$name
    mkdir "$bench_cpu_budget_dir" || { echo "$fail $bench_cpu_budget_dir" >&2; return 2; }
    { echo "$period" > "$bench_cpu_budget_dir/cpu.cfs_period_us" &&
      echo "$quota" > "$bench_cpu_budget_dir/cpu.cfs_quota_us" &&
      [[ $(cat "$bench_cpu_budget_dir/cpu.cfs_quota_us") == "$quota" ]]; } ||
      { echo "$fail $bench_cpu_budget_dir" >&2; return 2; }
  elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    { grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu > /sys/fs/cgroup/cgroup.subtree_control; } ||
      { echo "$fail /sys/fs/cgroup (enabling the cpu controller)" >&2; return 2; }
    bench_cpu_budget_dir=/sys/fs/cgroup/$name
    mkdir "$bench_cpu_budget_dir" || { echo "$fail $bench_cpu_budget_dir" >&2; return 2; }
    { echo "$quota $period" > "$bench_cpu_budget_dir/cpu.max" &&
      [[ $(cat "$bench_cpu_budget_dir/cpu.max") == "$quota $period" ]]; } ||
      { echo "$fail $bench_cpu_budget_dir" >&2; return 2; }
  else
    echo "${prefix}no cgroup cpu controller here (v1 /sys/fs/cgroup/cpu or v2 cpu.max): no CPU budget" >&2
    return 2
  fi
  bench_cpu_budget_exec=(sh -c 'echo $$ > "$0" && exec "$@"' "$bench_cpu_budget_dir/cgroup.procs")
  echo "${prefix}CPU budget for the servers under test: $fraction CPU ($quota us per $period us, $bench_cpu_budget_dir)"
}
bench_cpu_budget_remove() {
  [[ -n ${bench_cpu_budget_dir:-} && -d $bench_cpu_budget_dir ]] || return 0
  local p
  # Anything still inside goes back to the root group first (rmdir refuses a busy group).
  while read -r p; do echo "$p" 2>/dev/null > "$(dirname "$bench_cpu_budget_dir")/cgroup.procs" || true; done \
    < "$bench_cpu_budget_dir/cgroup.procs"
  rmdir "$bench_cpu_budget_dir" 2>/dev/null || echo "could not remove $bench_cpu_budget_dir" >&2
}
