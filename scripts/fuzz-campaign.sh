#!/usr/bin/env bash
# A fuzzing campaign over every fuzz target (drover_fuzz in tests/*/CMakeLists.txt):
#
#   1. builds them with clang's libFuzzer, AddressSanitizer and UBSan, Drover's libraries
#      compiled with -fsanitize=fuzzer-no-link so coverage feedback reaches the codecs
#      (build dir <build>/fuzz);
#   2. runs each for N executions (-runs, split over -jobs workers, at most nproc) from its
#      checked-in corpus, new inputs kept in <out>/corpus/<target>, crashes, leaks, timeouts
#      and out-of-memory inputs in <out>/crashes/<target>/;
#   3. builds them again with clang's source-based coverage (<build>/cov), replays each
#      final corpus once, and writes the line coverage of the code each target covers
#      (COVERS of drover_fuzz) to <out>/coverage.txt, with llvm-profdata and llvm-cov of
#      clang's own version.
#
#   scripts/fuzz-campaign.sh [--runs N] [--jobs J] [--targets "a b"] [--max-time S]
#                            [--build DIR] [--out DIR] [--no-coverage] [--no-fuzz]
#
# --max-time stops each target after S seconds (-max_total_time) even if it has not
# reached N executions; the report gives the executions it reached.
#
# A campaign can be continued: a later run with the same --out fuzzes on from the corpus
# the earlier ones grew. Every target's run appends a line to <out>/executions.tsv (target,
# executions, seconds, jobs, finish time), and the report gives each target's executions
# over all runs in that directory. --no-fuzz skips step 2: coverage of the corpora as they
# are, with the executions on record.
#
# Defaults: 10,000,000 runs per target, jobs = nproc, build dir build-fuzz, output
# <build>/campaign. Exit status: 0 clean, 1 a target crashed (inputs listed at the end),
# 2 usage or build failure, 77 clang/libFuzzer/llvm tools missing (1 under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

runs=10000000
jobs=$(nproc)
targets=""
build="build-fuzz"
out=""
coverage=1
fuzz=1
max_time=0
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --targets) targets=$2; shift ;;
    --max-time) max_time=$2; shift ;;
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    --no-coverage) coverage=0 ;;
    --no-fuzz) fuzz=0 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "fuzz-campaign: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $runs =~ ^[0-9]+$ && $jobs =~ ^[0-9]+$ && $jobs -ge 1 && $max_time =~ ^[0-9]+$ ]] ||
  { echo "fuzz-campaign: --runs, --jobs and --max-time take numbers" >&2; exit 2; }
((jobs > $(nproc))) && jobs=$(nproc)
build=$(realpath -m "$build")
out=$(realpath -m "${out:-$build/campaign}")

missing() {
  echo "fuzz-campaign: $1 (Debian packages: scripts/fuzz-packages.txt: apt-get install --no-install-recommends $(sed "s/#.*//" scripts/fuzz-packages.txt | xargs))" >&2
  [[ ${CI:-} == true ]] && exit 1
  exit 77
}

# Tools: the newest clang++-N on PATH (Debian installs several side by side; clang++ is
# the distribution's default, 14 on Debian 12, too old for Asio's coroutines), else
# clang++; it must link libFuzzer, and llvm-profdata/llvm-cov of its version must exist.
cxx=$(compgen -c clang++- | grep -E '^clang\+\+-[0-9]+$' | sort -t- -k2 -n -u | tail -1 || true)
cxx=${cxx:-clang++}
command -v "$cxx" >/dev/null || missing "clang++ not found"
clang_major=$("$cxx" -dumpversion | cut -d. -f1)
cc=clang-$clang_major
command -v "$cc" >/dev/null || cc=clang
tool() {
  local t
  for t in "$1-$clang_major" "/usr/lib/llvm-$clang_major/bin/$1" "$1"; do
    command -v "$t" >/dev/null && { echo "$t"; return; }
  done
}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
  >"$probe/p.cpp"
"$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err" ||
  missing "$cxx cannot link libFuzzer: $(head -1 "$probe/err")"
if ((coverage)); then
  profdata=$(tool llvm-profdata); cov=$(tool llvm-cov)
  [[ -n $profdata && -n $cov ]] || missing "llvm-profdata/llvm-cov for clang $clang_major not found"
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
build_jobs=$(( $(nproc) > 1 ? $(nproc) : 1 ))

# configure DIR extra-cmake-args...: prints the fuzz target names found there.
configure() {
  local dir=$1; shift
  cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVER_LIBFUZZER=ON -DDROVER_BUILD_BENCHMARKS=OFF \
    "${launcher[@]}" "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; echo "fuzz-campaign: cmake failed in $dir" >&2; exit 2; }
}

field() { sed -n "s/^$2=//p" "$1"; }

mkdir -p "$build" "$out"
t0=$SECONDS
# -O1 with line tables (libFuzzer's usual choice: stack traces keep file and line, and
# the build takes much less than -O2 -g); the coverage build only needs the mapping.
configure "$build/fuzz" -DDROVER_SANITIZE=ON -DDROVER_DEBUG_LINES_ONLY=ON \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG"
if [[ -z $targets ]]; then
  targets=$(find "$build/fuzz/fuzz" -maxdepth 1 -name '*.target' -printf '%f\n' | sed 's/\.target$//' |
            sort | tr '\n' ' ')
fi
echo "fuzz-campaign: targets: $targets"
# Keep going past a target that does not build with this clang: it is listed as not
# built, the others run.
# shellcheck disable=SC2086
nice -n 10 cmake --build "$build/fuzz" -j"$build_jobs" --target $targets -- -k 0 \
  >"$build/fuzz.build.log" 2>&1 || true
built="" unbuilt=""
for t in $targets; do
  if [[ -x $(field "$build/fuzz/fuzz/$t.target" binary) ]]; then built+="$t "; else unbuilt+="$t "; fi
done
if [[ -n $unbuilt ]]; then
  echo "fuzz-campaign: not built with clang $clang_major (see $build/fuzz.build.log): $unbuilt" >&2
  grep -m3 'error:' "$build/fuzz.build.log" >&2 || true
fi
[[ -n $built ]] || { echo "fuzz-campaign: no target built" >&2; exit 2; }
targets=$built
echo "fuzz-campaign: libFuzzer build in $((SECONDS - t0)) s"

# The coverage build (step 3) runs while the targets fuzz, one compile at a time and niced
# below the fuzzer, so the report does not wait for a whole second build at the end.
if ((coverage)); then
  configure "$build/cov" -DDROVER_SANITIZE=OFF -DDROVER_COVERAGE=ON \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -DNDEBUG"
  # shellcheck disable=SC2086
  nice -n 19 cmake --build "$build/cov" -j1 --target $targets >"$build/cov.build.log" 2>&1 &
  cov_build=$!
fi

per_job=$(( (runs + jobs - 1) / jobs ))
crashed=()
declare -A execs seconds
ledger=$out/executions.tsv
# executions TARGET: the target's executions over every run recorded in this directory.
recorded() { awk -F'\t' -v t="$1" '$1 == t { s += $2 } END { print s + 0 }' "$ledger" 2>/dev/null || echo 0; }
((fuzz)) || echo "fuzz-campaign: --no-fuzz: coverage of the corpora in $out/corpus as they are"
for t in $targets; do
  ((fuzz)) || continue
  meta=$build/fuzz/fuzz/$t.target
  bin=$(field "$meta" binary)
  read -r -a seeds <<<"$(field "$meta" corpus)"
  work=$out/work/$t
  rm -rf "$work" "$out/crashes/$t"
  mkdir -p "$out/corpus/$t" "$out/crashes/$t" "$work"
  args=(-runs="$per_job" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$out/crashes/$t/")
  ((max_time > 0)) && args+=(-max_total_time="$max_time")
  ((jobs > 1)) && args+=(-jobs="$jobs" -workers="$jobs")
  start=$SECONDS
  echo "fuzz-campaign: $t: $runs runs ($jobs x $per_job) from ${seeds[*]}"
  # New inputs go to the first directory (the campaign's), never into the checked-in corpus.
  set +e
  (cd "$work" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 nice -n 10 \
     "$bin" "${args[@]}" "$out/corpus/$t" "${seeds[@]}" >"$work/fuzz.log" 2>&1)
  rc=$?
  set -e
  seconds[$t]=$((SECONDS - start))
  # With -jobs each worker logs to fuzz-<n>.log (which the parent also echoes).
  logs=("$work"/fuzz-*.log)
  [[ -e ${logs[0]} ]] || logs=("$work/fuzz.log")
  execs[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "${logs[@]}" |
              awk '{ s += $1 } END { print s + 0 }')
  if ((rc != 0)) || [[ -n $(ls -A "$out/crashes/$t") ]]; then
    crashed+=("$t")
    echo "fuzz-campaign: $t: FAILED (exit $rc); inputs in $out/crashes/$t, log $work/fuzz.log" >&2
    grep -h -m3 -E 'ERROR: |runtime error|SUMMARY' "$work"/*.log >&2 || true
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${execs[$t]}" "${seconds[$t]}" "$jobs" \
    "$(date -u +%FT%TZ)" >>"$ledger"
  echo "fuzz-campaign: $t: ${execs[$t]} executions in ${seconds[$t]} s" \
       "($(recorded "$t") in all runs on this corpus)," \
       "$(find "$out/corpus/$t" -type f | wc -l) new corpus inputs"
done

if ((coverage)); then
  t1=$SECONDS
  wait "$cov_build" ||
    { tail -40 "$build/cov.build.log" >&2; echo "fuzz-campaign: coverage build failed" >&2; exit 2; }
  echo "fuzz-campaign: coverage build waited for $((SECONDS - t1)) s"
  report=$out/coverage.txt
  {
    echo "Drover fuzz campaign $(date -u +%FT%TZ), $(git -C "$src" describe --always --dirty 2>/dev/null)"
    if ((fuzz)); then
      echo "runs per target: $runs, jobs: $jobs, clang $clang_major"
    else
      echo "coverage only (--no-fuzz), clang $clang_major"
    fi
    [[ -z $unbuilt ]] || echo "not built with clang $clang_major: $unbuilt"
    echo "execs: every run recorded in $ledger"
    echo
    printf '%-24s %-36s %12s %10s %8s %8s\n' target covers lines-hit lines cover% execs
  } >"$report"
  export DETAILS=$out/coverage-files.txt
  : >"$DETAILS"
  for t in $targets; do
    meta=$build/cov/fuzz/$t.target
    bin=$(field "$meta" binary)
    read -r -a seeds <<<"$(field "$meta" corpus)"
    read -r -a covers <<<"$(field "$meta" covers)"
    mkdir -p "$out/profiles" "$out/work/$t" "$out/corpus/$t"
    LLVM_PROFILE_FILE=$out/profiles/$t.profraw "$bin" -runs=0 "$out/corpus/$t" "${seeds[@]}" \
      >"$out/work/$t/replay.log" 2>&1 || true
    "$profdata" merge -sparse "$out/profiles/$t.profraw" -o "$out/profiles/$t.profdata"
    # Files as the coverage mapping names them (relative to the build directory, through
    # ccache), normalised and kept when under one of the target's COVERS paths.
    "$cov" export -summary-only -instr-profile="$out/profiles/$t.profdata" "$bin" |
      python3 -c '
import json, os, sys
src, target, execs, covers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
roots = [os.path.normpath(os.path.join(src, c)) for c in covers]
hit = total = 0
rows = []
for f in json.load(sys.stdin)["data"][0]["files"]:
    name = os.path.normpath(f["filename"])
    if not any(name == r or name.startswith(r + "/") for r in roots):
        continue
    lines = f["summary"]["lines"]
    hit, total = hit + lines["covered"], total + lines["count"]
    rows.append((os.path.relpath(name, src), lines["covered"], lines["count"]))
pct = 100.0 * hit / total if total else 0.0
print("%-24s %-36s %12d %10d %8.1f %8s" % (target, " ".join(covers), hit, total, pct, execs))
with open(os.environ["DETAILS"], "a") as d:
    d.write("== %s\n" % target)
    for name, h, n in sorted(rows):
        d.write("  %-48s %6d / %-6d %6.1f%%\n" % (name, h, n, 100.0 * h / n if n else 0.0))
' "$src" "$t" "$(recorded "$t")" "${covers[@]}" >>"$report"
  done
  echo "fuzz-campaign: coverage build and replay in $((SECONDS - t1)) s"
  echo >>"$report"
  echo "per file: $DETAILS" >>"$report"
  cat "$report"
fi

if ((${#crashed[@]})); then
  echo "fuzz-campaign: crashes in: ${crashed[*]}" >&2
  for t in "${crashed[@]}"; do find "$out/crashes/$t" -type f -printf '  %p\n' >&2; done
  exit 1
fi
echo "fuzz-campaign: no crash in $((SECONDS - t0)) s"
