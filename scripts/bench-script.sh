#!/usr/bin/env bash
# A node's install script from the real `drover serve` against nginx serving a static file of
# the same bytes, in turn in the same run, loopback only. Not a test: it measures and prints;
# nothing fails on a number.
#
#   scripts/bench-script.sh [--build DIR] [--duration S] [--connections N] [--max-load L] [--force]
#                           [--instructions S]
#
# wrk (2 threads, N keep-alive connections, default 50, S seconds) asks `drover serve`
# (--no-dhcp --no-tftp, SQLite state in the work dir) for node-1's script,
# /boot.ipxe?mac=..., which carries a fresh boot token on every request; then nginx for a
# file with the bytes of one such script. Printed: requests/s and p99 of each, the rows of
# the state database's tokens and timeline tables before and after (a script request
# writes nothing), and the 1-minute load average before and after.
#
# The machine must be quiet: a run that starts with a load average above --max-load
# (default 1.5) is refused and counts nothing; --force runs it anyway and marks its figures
# NOT COUNTED. nginx is the installed one, else unpacked from its Debian package (apt-get
# download); wrk comes from scripts/packages/http.txt. Bounded: wrk -d, curl --max-time;
# servers stopped by pid.
#
# --instructions S counts instead: `drover serve` runs under valgrind's callgrind, wrk (one
# thread, 4 connections) asks for the script for S seconds after a 2 s warm-up, and the
# user-space instructions the server spent between the two are divided by the requests
# wrk completed. Instruction counts do not depend on the machine's load or speed, so this
# compares two builds on a busy machine; it is not a speed figure (no nginx, no kernel time).
#
# Then a large file: the boot environment's kernel is a sparse file of --large-mib MiB
# (default 1024); curl downloads it from `drover serve` (/assets/boot-env/kernel) and the
# same bytes from nginx (sendfile on), taking turns, --runs times each (default 3); the
# median of each and their ratio are printed, sizes checked.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
duration=10
connections=50
max_load=1.5
force=0
large_mib=1024
runs=3
instructions=0
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --max-load) max_load=$2; shift ;;
    --force) force=1 ;;
    --large-mib) large_mib=$2; shift ;;
    --runs) runs=$2; shift ;;
    --instructions) instructions=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--duration S] [--connections N] [--max-load L] [--force]" >&2; exit 2 ;;
  esac
  shift
done

drover=$build/bin/drover
[[ -x $drover ]] || { echo "bench-script: build it first: cmake --build $build --target drover" >&2; exit 2; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-script: $tool missing (scripts/packages/http.txt)" >&2; exit 2; }
done

load() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(load)
echo "load average before: $load_before (1 min)"
counted=1
if ((instructions > 0)); then
  command -v valgrind >/dev/null || { echo "bench-script: valgrind missing (scripts/packages/http.txt)" >&2; exit 2; }
elif python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$load_before" "$max_load"; then
  if ((!force)); then
    echo "bench-script: load average $load_before > $max_load: the machine is busy, run refused (--force runs it uncounted)" >&2
    exit 3
  fi
  counted=0
fi

work=$(mktemp -d /tmp/drover-bench-script.XXXXXX)
drover_pid=""
nginx_pid=""
cleanup() {
  [[ -n $drover_pid ]] && kill "$drover_pid" 2>/dev/null && wait "$drover_pid" 2>/dev/null || true
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_url() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "bench-script: nothing answers $1" >&2
  return 1
}

# The site: one node with an install profile, a boot environment, loopback listeners.
hport=$(free_port)
aport=$(free_port)
mkdir -p "$work/site/images" "$work/site/tftp" "$work/site/state"
truncate -s "${large_mib}M" "$work/site/images/vmlinuz"
head -c 4096 /dev/urandom >"$work/site/images/initrd.img"
head -c 4096 /dev/zero >"$work/site/images/os.raw"
cat >"$work/site/cluster.yaml" <<YAML
server:
  advertise: 127.0.0.1
  tftp: { listen: "127.0.0.1:0", root: tftp }
  http: { listen: "127.0.0.1:$hport" }
  api: { listen: "127.0.0.1:$aport", tls: auto }
  state: { backend: sqlite, path: state/state.db }
networks:
  - name: lan
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
images:
  boot-env:
    kernel: { path: images/vmlinuz }
    initrd: { path: images/initrd.img }
  os:
    disk: { path: images/os.raw }
profiles:
  server:
    install: { image: os, disk: /dev/vda }
defaults:
  profile: server
  unknown: ignore
nodes:
  - name: node-1
    mac: 52:54:00:12:34:56
    ip: 192.0.2.10
YAML

under=()
((instructions > 0)) && under=(valgrind --tool=callgrind "--callgrind-out-file=$work/callgrind.%p")
"${under[@]}" "$drover" --log-level warn serve --config "$work/site/cluster.yaml" --no-dhcp --no-tftp --threads 1 \
  >"$work/drover.out" 2>&1 &
drover_pid=$!
script_url="http://127.0.0.1:$hport/boot.ipxe?mac=52:54:00:12:34:56&arch=x86_64&platform=pcbios"
wait_url "$script_url" || { cat "$work/drover.out" >&2; exit 1; }

if ((instructions > 0)); then
  wrk -t1 -c4 -d2s "$script_url" >/dev/null
  callgrind_control -z "$drover_pid" >/dev/null 2>&1
  out=$(wrk -t1 -c4 -d"${instructions}s" "$script_url")
  callgrind_control -d "$drover_pid" >/dev/null 2>&1
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  ir=$(callgrind_annotate "$work/callgrind.$drover_pid.1" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  [[ -n $requests && $requests -gt 0 && -n $ir ]] || { echo "bench-script: no count ($out)" >&2; exit 1; }
  echo "$((ir / requests)) instructions per install script request ($ir in $requests requests, user space, callgrind)"
  exit 0
fi

# nginx serves the very bytes of one install script.
mkdir -p "$work/www" "$work/nginx/logs" "$work/nginx/tmp"
curl -s --max-time 10 "$script_url" -o "$work/www/script.ipxe"
grep -q 'drover.token=' "$work/www/script.ipxe" || { echo "bench-script: not an install script:" >&2; cat "$work/www/script.ipxe" >&2; exit 1; }
script_bytes=$(stat -c %s "$work/www/script.ipxe")
nginx_bin=$(command -v nginx || true)
if [[ -z $nginx_bin ]]; then
  (cd "$work" && apt-get download -q nginx >/dev/null 2>&1) || { echo "bench-script: apt-get download nginx failed" >&2; exit 2; }
  dpkg-deb -x "$work"/nginx_*.deb "$work/nginx-pkg"
  nginx_bin=$work/nginx-pkg/usr/sbin/nginx
fi
nport=$(free_port)
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  default_type text/plain;
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  sendfile on;
  server {
    listen 127.0.0.1:$nport;
    location / { root $work/www; }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
nginx_pid=$!
wait_url "http://127.0.0.1:$nport/script.ipxe"

db_rows() {
  python3 - "$work/site/state/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(" ".join(str(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in ("tokens", "timeline")))
PY
}

wrk_run() {
  local out rps p99 errors
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s --latency "$1")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' | tr -s ' ' || true)
  echo "$rps $p99 ${errors:-none}"
}

read -r tokens_before timeline_before <<<"$(db_rows)"
read -r d_rps d_p99 d_err <<<"$(wrk_run "$script_url")"
read -r tokens_after timeline_after <<<"$(db_rows)"
read -r n_rps n_p99 n_err <<<"$(wrk_run "http://127.0.0.1:$nport/script.ipxe")"

# The large file, from both, taking turns.
truncate -s "${large_mib}M" "$work/www/vmlinuz"
large_bytes=$((large_mib * 1024 * 1024))
download() {  # URL -> seconds, or "fail" when the size is wrong
  local out
  out=$(curl -s -o /dev/null --max-time 300 -w '%{size_download} %{time_total}' "$1" || echo "0 0")
  read -r got secs <<<"$out"
  if [[ $got == "$large_bytes" ]]; then echo "$secs"; else echo fail; fi
}
d_times=() n_times=()
for _ in $(seq "$runs"); do
  d_times+=("$(download "http://127.0.0.1:$hport/assets/boot-env/kernel")")
  n_times+=("$(download "http://127.0.0.1:$nport/vmlinuz")")
done
median_mibs() {  # seconds... -> MiB/s of the median run, or "fail"
  python3 -c "
import sys
v = sys.argv[2:]
if 'fail' in v: print('fail'); sys.exit()
t = sorted(float(x) for x in v)[len(v) // 2]
print(f'{float(sys.argv[1]) / t:.0f}')" "$large_mib" "$@"
}
d_large=$(median_mibs "${d_times[@]}")
n_large=$(median_mibs "${n_times[@]}")
load_after=$(load)

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.3f}' if b else '?')" "$1" "$2"; }
echo
echo "| ${script_bytes} B install script, wrk -t2 -c${connections} -d${duration}s | drover serve | nginx | drover / nginx |"
echo "|---|---|---|---|"
echo "| requests/s | ${d_rps} | ${n_rps} | $(ratio "$d_rps" "$n_rps") |"
echo "| p99 latency | ${d_p99} | ${n_p99} | |"
echo
echo "| ${large_mib} MiB file, curl, median of ${runs} (MiB/s) | ${d_large} | ${n_large} | $( [[ $d_large != fail && $n_large != fail ]] && ratio "$d_large" "$n_large" || echo n/a) |"
echo
echo "large file runs (s): drover ${d_times[*]}; nginx ${n_times[*]}"
echo "wrk errors: drover=${d_err} nginx=${n_err}"
echo "state database rows (tokens, timeline): before ${tokens_before}, ${timeline_before}; after ${tokens_after}, ${timeline_after}"
echo "load average before: $load_before, after: $load_after (1 min)"
if ((!counted)); then
  echo "NOT COUNTED: the run started with load average $load_before > $max_load (--force)"
fi
