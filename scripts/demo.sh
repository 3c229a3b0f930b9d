#!/usr/bin/env bash
# Sets everything up and runs Drover's main job on the bundled example cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default

config=configs/cluster.yaml
echo "== drover validate $config"
./build/bin/drover validate "$config"
for args in "--mac 52:54:00:12:34:56 --arch bios" \
            "--mac 52-54-00-12-34-57 --arch efi-x64" \
            "--mac 52:54:00:00:00:99 --uuid 8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162 --arch efi-x64" \
            "--mac 52:54:00:aa:bb:cc --arch bios" \
            "--mac 52:54:00:aa:bb:cc --arch http-x64 --via 198.51.100.1" \
            "--mac 5254.0012.3456 --ipxe --installed"; do
  echo
  echo "== drover explain $config $args"
  # shellcheck disable=SC2086
  ./build/bin/drover explain "$config" $args
done

bad=tests/testdata/bad-configs/duplicate-mac.yaml
echo
echo "== drover validate $bad   (a broken declaration: every error, exit 1)"
./build/bin/drover validate "$bad" || echo "(exit $?)"
