#!/usr/bin/env bash
# Drover's HTTP server against nginx, same machine, same run, loopback only. Not a test:
# it measures and prints a markdown table; nothing fails on a number.
#
#   scripts/bench-http.sh [--build DIR] [--duration S] [--connections N] [--runs N] [--write-docs]
#
# 1. Small responses: wrk (2 threads, N keep-alive connections, S seconds) against
#    Drover's /boot.ipxe, which renders the install iPXE script per request (router +
#    mustache + Beast), and against nginx serving a static file of exactly those bytes.
# 2. Large file: curl downloads a 1 GiB sparse asset from each (Drover: sendfile(2);
#    nginx: sendfile on), median of --runs, size checked.
# Both servers use one worker (Drover: one io thread; nginx: worker_processes 1).
# nginx is unpacked from Debian's package (apt-get download) into the work dir; wrk comes
# from scripts/packages/http.txt. Bounded: wrk -d, curl --max-time; servers stopped by pid.
# --write-docs replaces the "## HTTP" section of docs/benchmarks.md with the results.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
duration=10
connections=50
runs=3
write_docs=0
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --runs) runs=$2; shift ;;
    --write-docs) write_docs=1 ;;
    *) echo "usage: $0 [--build DIR] [--duration S] [--connections N] [--runs N] [--write-docs]" >&2; exit 2 ;;
  esac
  shift
done

server=$build/bin/http_bench_server
[[ -x $server ]] || { echo "bench-http: build it first: cmake --build $build --target http_bench_server" >&2; exit 2; }
for tool in wrk curl apt-get dpkg-deb python3; do
  command -v "$tool" >/dev/null || { echo "bench-http: $tool missing (scripts/setup.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/drover-bench-http.XXXXXX)
drover_pid=""
nginx_pid=""
cleanup() {
  [[ -n $drover_pid ]] && kill "$drover_pid" 2>/dev/null && wait "$drover_pid" 2>/dev/null || true
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "bench-http: nothing listens on port $1" >&2
  return 1
}
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# nginx from its Debian package, not installed.
(cd "$work" && apt-get download -q nginx >/dev/null 2>&1) || { echo "bench-http: apt-get download nginx failed" >&2; exit 2; }
dpkg-deb -x "$work"/nginx_*.deb "$work/nginx-pkg"
nginx_bin=$work/nginx-pkg/usr/sbin/nginx

# Assets: a 1 GiB sparse image with a few random blocks.
mkdir -p "$work/www" "$work/nginx/logs"
truncate -s 1G "$work/www/big.img"
for off in 0 512 1023; do
  dd if=/dev/urandom of="$work/www/big.img" bs=1M count=1 seek="$off" conv=notrunc status=none
done

dport=$(free_port)
"$server" --port "$dport" --root "$work/www" --threads 1 >"$work/drover.out" 2>"$work/drover.err" &
drover_pid=$!
wait_port "$dport"
# nginx serves the very bytes Drover renders.
curl -s --max-time 10 "http://127.0.0.1:$dport/boot.ipxe" -o "$work/www/boot.ipxe"
script_bytes=$(stat -c %s "$work/www/boot.ipxe")

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
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$nport;
    location / { root $work/www; }
    location /assets/ { alias $work/www/; }
  }
}
CONF
mkdir -p "$work/nginx/tmp"
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
nginx_pid=$!
wait_port "$nport"

# wrk: requests/s and p99 latency.
wrk_run() {
  local out
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s --latency "$1")
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  echo "$rps $p99 ${errors:-none}"
}
read -r d_rps d_p99 d_err <<<"$(wrk_run "http://127.0.0.1:$dport/boot.ipxe")"
read -r n_rps n_p99 n_err <<<"$(wrk_run "http://127.0.0.1:$nport/boot.ipxe")"

# curl: 1 GiB, median MiB/s of $runs.
curl_run() {
  local speeds=() i out size
  for ((i = 0; i < runs; i++)); do
    out=$(curl -s --max-time 300 -o /dev/null -w '%{size_download} %{speed_download}' "$1")
    size=${out% *}
    [[ $size == $((1024 * 1024 * 1024)) ]] || { echo "bench-http: short download ($size bytes) from $1" >&2; exit 1; }
    speeds+=("${out#* }")
  done
  printf '%s\n' "${speeds[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)] / 1048576}'
}
d_mib=$(curl_run "http://127.0.0.1:$dport/assets/big.img")
n_mib=$(curl_run "http://127.0.0.1:$nport/assets/big.img")

d_rss=$(peak_rss_kib "$drover_pid")
n_rss=$(peak_rss_kib "$nginx_pid")
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b else '?')" "$1" "$2"; }

table=$(cat <<TABLE
| measurement | Drover | nginx 1.22 | Drover / nginx |
|---|---|---|---|
| /boot.ipxe, ${script_bytes} B (Drover renders it per request), requests/s | ${d_rps} | ${n_rps} | $(ratio "$d_rps" "$n_rps") |
| same, p99 latency | ${d_p99} | ${n_p99} | |
| 1 GiB sparse asset via curl, MiB/s (median of ${runs}) | ${d_mib} | ${n_mib} | $(ratio "$d_mib" "$n_mib") |
| server peak RSS after both, KiB | ${d_rss} | ${n_rss} | |
TABLE
)
echo "$table"
echo "wrk errors: drover=${d_err} nginx=${n_err}"

if ((write_docs)); then
  section=$(cat <<SECTION
## HTTP

What: \`scripts/bench-http.sh\` ($(date -u +%Y-%m-%d)), loopback, one worker each (Drover's
\`http_bench_server\` with one io thread; nginx 1.22 from Debian with \`worker_processes 1\`,
\`sendfile on\`). wrk 4.1: 2 threads, ${connections} keep-alive connections, ${duration} s per
server. Drover's \`/boot.ipxe\` renders the install iPXE script from its mustache template
on every request (router, strict template check, render, Beast write); nginx serves a
static file with exactly those bytes. The large file is a 1 GiB sparse image with a few
random blocks, fetched by curl to /dev/null (Drover: \`sendfile(2)\` from the open file;
nginx: sendfile), size checked, median of ${runs}. Client and servers share the 2 cores
with each other (and with other builds), so the ratios are the figures to read.

${table}

SECTION
)
  python3 - "$section" <<'PY'
import re, sys, pathlib
path = pathlib.Path("docs/benchmarks.md")
section = sys.argv[1].rstrip("\n") + "\n"
text = path.read_text() if path.exists() else ""
m = re.search(r"^## HTTP\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if m:
    text = text[:m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
else:
    text = (text.rstrip("\n") + "\n\n" if text else "") + section
path.write_text(text)
PY
  echo "bench-http: docs/benchmarks.md ## HTTP updated"
fi
