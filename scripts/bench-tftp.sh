#!/usr/bin/env bash
# Benchmarks Drover's TFTP server against atftpd and tftpd-hpa, on this machine, in one
# run, on loopback only. Not a test: it measures and prints a table (markdown).
#
#   scripts/bench-tftp.sh                 uses build/bin/drover (`drover serve --no-dhcp`)
#   BUILD_DIR=build-x RUNS=5 scripts/bench-tftp.sh
#
# Measures, with atftp as the client:
#   - one 64 MiB download, blksize 1468, windowsize 1 and 64 (median of RUNS runs, default 5, MiB/s)
#   - 50 and 500 concurrent 1 MiB downloads, blksize 1468: how many complete with correct
#     bytes, aggregate MiB/s, and the server's peak RSS (process tree, sampled every 50 ms)
# All servers run at once and the measurements take turns (drover, atftpd, tftpd-hpa,
# drover, ...), so a change in the machine's load hits every server alike.
# Needs: atftp, atftpd (scripts/packages/tftp.txt); tftpd-hpa is unpacked from its Debian
# package (it conflicts with atftpd as an installed package). Run as root (tftpd-hpa chroots).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
DROVER=$(realpath "$BUILD_DIR/bin/drover")
RUNS=${RUNS:-5}
[[ -x $DROVER ]] || { echo "bench-tftp: build it first: cmake --build $BUILD_DIR --target drover" >&2; exit 2; }
echo "bench-tftp: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
command -v atftp >/dev/null && command -v atftpd >/dev/null || { echo "bench-tftp: run scripts/setup.sh" >&2; exit 2; }

WORK=$(mktemp -d /dev/shm/drover-bench-tftp.XXXXXX)
chmod 755 "$WORK"
declare -A PID PORT
SAMPLER_PID=""

kill_tree() {  # kills a process we started and the children it forked, by pid
  local pid=$1 child
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill "$child" 2>/dev/null || true; done
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  local s
  for s in "${!PID[@]}"; do kill_tree "${PID[$s]}"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/root" "$WORK/out"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$WORK/root/big.bin"
head -c $((1024 * 1024)) /dev/urandom > "$WORK/root/small.bin"
chmod 644 "$WORK/root/"*
BIG_SHA=$(sha256sum < "$WORK/root/big.bin")
SMALL_SHA=$(sha256sum < "$WORK/root/small.bin")

HPA=""
if (cd "$WORK" && apt-get download tftpd-hpa >/dev/null 2>&1 && dpkg-deb -x tftpd-hpa_*.deb hpa); then
  HPA=$WORK/hpa/usr/sbin/in.tftpd
else
  echo "bench-tftp: could not unpack tftpd-hpa; skipping it" >&2
fi

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    ss -Hlun "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
  echo "bench-tftp: no free port" >&2; exit 1
}

# The real product: `drover serve` (TFTP from server.tftp.root, no DHCP), a minimal site.
drover_site() {  # tftp-port
  mkdir -p "$WORK/site/images" "$WORK/site/state"
  head -c 4096 /dev/zero > "$WORK/site/images/vmlinuz"
  head -c 4096 /dev/zero > "$WORK/site/images/initrd.img"
  head -c 4096 /dev/zero > "$WORK/site/images/os.raw"
  cat > "$WORK/site/cluster.yaml" <<YAML
server:
  advertise: 127.0.0.1
  tftp: { listen: "127.0.0.1:$1", root: $WORK/root }
  http: { listen: "127.0.0.1:$(free_port)" }
  api: { listen: "127.0.0.1:$(free_port)", tls: auto }
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
YAML
}

start_server() {  # name port
  local name=$1 port=$2
  case $name in
    drover) drover_site "$port"
            "$DROVER" --log-level warn serve --config "$WORK/site/cluster.yaml" --no-dhcp \
              > "$WORK/drover.log" 2>&1 & ;;
    atftpd) atftpd --daemon --no-fork --port "$port" --bind-address 127.0.0.1 --maxthread 1024 \
              --logfile "$WORK/atftpd.log" --verbose=1 "$WORK/root" > /dev/null 2>&1 & ;;
    tftpd-hpa) "$HPA" -L -a "127.0.0.1:$port" -s -u root "$WORK/root" > /dev/null 2>&1 & ;;
  esac
  PID[$name]=$!
  PORT[$name]=$port
  for _ in $(seq 50); do
    ss -Hlun "sport = :$port" | grep -q . && return
    sleep 0.1
  done
  echo "bench-tftp: $name did not start" >&2; exit 1
}

tree_rss_kb() {  # resident KiB of a process and its children (shell builtins: no fork per child)
  local pid=$1 p k v _ total=0
  for p in "$pid" $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do
    { while read -r k v _; do [[ $k == VmRSS: ]] && total=$((total + v)); done; } 2>/dev/null < "/proc/$p/status" || true
  done
  echo "$total"
}

start_sampler() {  # pid; bounded: at most 10 minutes of samples
  local pid=$1
  echo 0 > "$WORK/rss.max"
  ( max=0
    for _ in $(seq 12000); do
      [[ -e $WORK/sampling ]] || break
      r=$(tree_rss_kb "$pid")
      ((r > max)) && max=$r && echo "$max" > "$WORK/rss.max"
      sleep 0.05
    done ) &
  SAMPLER_PID=$!
}

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }  # expression [decimals]

single() {  # port windowsize -> MiB/s of one run, or "fail"
  local port=$1 ws=$2 t0 t1
  rm -f "$WORK/out/single.bin"
  t0=$(now)
  timeout 300 atftp --option "blksize 1468" --option "windowsize $ws" -g -r big.bin \
    -l "$WORK/out/single.bin" 127.0.0.1 "$port" > /dev/null 2>&1 || true
  t1=$(now)
  [[ -f $WORK/out/single.bin && $(sha256sum < "$WORK/out/single.bin") == "$BIG_SHA" ]] || { echo fail; return; }
  calc "64 / ($t1 - $t0)" 3
}

median() {  # values... -> median, or "fail" if any run failed
  local v
  for v in "$@"; do [[ $v == fail ]] && { echo fail; return; }; done
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)]}'
}

concurrent() {  # server n -> "completed MiB/s rss_mib"
  local port=${PORT[$1]} n=$2 t0 t1 ok=0 i pids=()
  rm -f "$WORK/out"/c*
  touch "$WORK/sampling"
  start_sampler "${PID[$1]}"
  t0=$(now)
  for i in $(seq "$n"); do
    timeout 300 atftp --option "blksize 1468" -g -r small.bin -l "$WORK/out/c$i" 127.0.0.1 "$port" \
      > /dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  t1=$(now)
  rm -f "$WORK/sampling"
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  for i in $(seq "$n"); do
    [[ -f $WORK/out/c$i && $(sha256sum < "$WORK/out/c$i") == "$SMALL_SHA" ]] && ok=$((ok + 1))
  done
  echo "$ok $(calc "$ok / ($t1 - $t0)") $(calc "$(cat "$WORK/rss.max") / 1024")"
}

declare -A R
servers=(drover atftpd)
[[ -n $HPA ]] && servers+=(tftpd-hpa)
for s in "${servers[@]}"; do start_server "$s" "$(free_port)"; done
for ws in 1 64; do
  declare -A runs=()
  for _ in $(seq "$RUNS"); do
    for s in "${servers[@]}"; do runs[$s]+="$(single "${PORT[$s]}" "$ws") "; done
  done
  # shellcheck disable=SC2086  # word splitting of the run list is intended
  for s in "${servers[@]}"; do R[$s.ws$ws]=$(median ${runs[$s]}); done
  echo "bench-tftp: windowsize $ws done" >&2
done
for n in 50 500; do
  for s in "${servers[@]}"; do
    read -r R[$s.c${n}ok] R[$s.c${n}rate] R[$s.c${n}rss] < <(concurrent "$s" "$n")
  done
  echo "bench-tftp: $n concurrent done" >&2
done

ratio() {  # key other-server
  if [[ ${R[drover.$1]} != fail && ${R[$2.$1]:-fail} != fail ]]; then echo "$(calc "${R[drover.$1]} / ${R[$2.$1]}" 2)x"; else echo "n/a"; fi
}

echo "Machine: $(nproc) cores, $(uname -r); loopback; client $(atftp --version 2>&1 | head -1 | awk '{print $1}'); $(date -u +%Y-%m-%d)"
echo
header="| measurement |"
sep="|---|"
for s in "${servers[@]}"; do header+=" $s |"; sep+="---|"; done
echo "$header drover / atftpd | drover / tftpd-hpa |"
echo "$sep---|---|"
row() {  # label key unit
  local line="| $1 |" s
  for s in "${servers[@]}"; do line+=" ${R[$s.$2]} $3 |"; done
  echo "$line $(ratio "$2" atftpd) | $(ratio "$2" tftpd-hpa) |"
}
row "64 MiB, blksize 1468, windowsize 1 (MiB/s)" ws1 ""
row "64 MiB, blksize 1468, windowsize 64 (MiB/s)" ws64 ""
for n in 50 500; do
  line="| $n concurrent x 1 MiB: completed |"
  for s in "${servers[@]}"; do line+=" ${R[$s.c${n}ok]}/$n |"; done
  echo "$line | |"
  row "$n concurrent: aggregate MiB/s" "c${n}rate" ""
  line="| $n concurrent: peak server RSS (MiB) |"
  for s in "${servers[@]}"; do line+=" ${R[$s.c${n}rss]} |"; done
  echo "$line | |"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
