#!/usr/bin/env bash
# Sets everything up and runs Drover's whole test suite: unit, integration, e2e and fuzz
# corpus replay. Ends with CTest's summary line.
#
#   scripts/test.sh            default build (build/)
#   scripts/test.sh --asan     AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/);
#                              e2e boots and the package test are skipped there (they test the
#                              same code; a package is built from the default build)
#   extra arguments after -- go to ctest, e.g. scripts/test.sh -- -L unit
set -euo pipefail
cd "$(dirname "$0")/.."

preset=default
ctest_args=()
while (($#)); do
  case "$1" in
    --asan) preset=asan ;;
    --) shift; ctest_args+=("$@"); break ;;
    *) echo "usage: $0 [--asan] [-- ctest-args...]" >&2; exit 2 ;;
  esac
  shift
done

./scripts/setup.sh
if [[ $preset == asan ]]; then
  ctest_args=(-LE 'e2e|package' "${ctest_args[@]}")
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
configure_args=()
# CI builds both trees from nothing: line tables alone keep ASan's stack traces readable and
# save about a quarter of the compile and link time.
[[ ${CI:-} == true ]] && configure_args+=(-DDROVER_DEBUG_LINES_ONLY=ON)
cmake --preset "$preset" "${configure_args[@]}" >/dev/null
cmake --build --preset "$preset"
exec ctest --preset "$preset" -j"$(nproc)" "${ctest_args[@]}"
