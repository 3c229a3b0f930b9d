#!/usr/bin/env bash
# Sets everything up and runs Drover's main job: checks and explains the bundled example
# cluster (configs/cluster.yaml), then boots one blank QEMU machine from `drover serve`
# through install, reboot and join.
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

# The main job: a blank machine (QEMU, SeaBIOS + iPXE) powers on in a private network
# namespace, boots from `drover serve`, installs a small OS, reboots into it from its disk
# and joins; its console is streamed here and the run ends with the `drover nodes` table.
# Needs root (network namespace, tap device); DROVER_DEMO_BOOT=0 skips it.
if [[ ${DROVER_DEMO_BOOT:-1} == 1 ]]; then
  echo
  echo "== whole boot: one machine PXE-boots from drover serve, installs, boots its disk, joins"
  if [[ ! -f build/boot-env/initrd.img ]]; then
    cmake --build --preset default --target boot-env
  fi
  mkdir -p build/e2e
  [[ -f build/e2e/test-os.raw.zst ]] || tests/e2e/build-test-os.sh build/boot-env build/e2e/test-os.raw.zst
  E2E_STREAM=1 E2E_SHOW_NODES=1 tests/e2e/whole-boot.sh bios build/bin/drover build/boot-env build/e2e/test-os.raw.zst
fi
