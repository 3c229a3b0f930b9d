#!/usr/bin/env bash
# Builds drover-agent alone for an architecture, in its own build directory, and copies it
# to OUT_DIR/bin/drover-agent (dynamically linked against Debian 12's libraries of that
# architecture; images/boot-env/build.sh --arch ARCH packs it with them).
#
#   scripts/build-agent.sh [--arch amd64|arm64] [--build-dir DIR] OUT_DIR
#
# amd64 builds with the host compiler; arm64 cross-compiles with Debian's
# g++-aarch64-linux-gnu and the :arm64 -dev packages (scripts/packages/arm64.txt) through
# cmake/toolchains/aarch64-linux-gnu.cmake. Either way CMake is configured with
# DROVER_AGENT_ONLY (the agent's libraries only: no server, tests or package). The build
# directory defaults to build-ARCH/ in the source tree; CMAKE_CXX_COMPILER_LAUNCHER=ccache
# in the environment is honoured.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
arch=amd64
out=""
build=""
while (($#)); do
  case "$1" in
    --arch) arch=${2:-}; shift ;;
    --build-dir) build=${2:-}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "build-agent: unknown option $1" >&2; exit 2 ;;
    *) out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || { echo "usage: $0 [--arch amd64|arm64] [--build-dir DIR] OUT_DIR" >&2; exit 2; }
build=${build:-$repo/build-$arch}

cmake_args=(-G Ninja -DDROVER_AGENT_ONLY=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVER_DEBUG_LINES_ONLY=ON)
case "$arch" in
  amd64) ;;
  arm64)
    command -v aarch64-linux-gnu-g++ >/dev/null ||
      { echo "build-agent: aarch64-linux-gnu-g++ is missing (scripts/packages/arm64.txt)" >&2; exit 1; }
    cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchains/aarch64-linux-gnu.cmake") ;;
  *) echo "build-agent: unknown architecture $arch (amd64 or arm64)" >&2; exit 2 ;;
esac

start=$(date +%s)
cmake -S "$repo" -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" --target drover-agent -j"$(nproc)"
install -D -m 0755 "$build/bin/drover-agent" "$out/bin/drover-agent"
echo "build-agent: $out/bin/drover-agent ($arch, $(du -h "$out/bin/drover-agent" | cut -f1)) in $(( $(date +%s) - start ))s"
