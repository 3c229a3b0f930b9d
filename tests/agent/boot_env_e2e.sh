#!/usr/bin/env bash
# Boots the real boot environment (images/boot-env: Debian cloud kernel + initramfs with
# drover-agent) in QEMU (TCG) and installs a small image onto a virtio disk:
# DHCP from QEMU's user network, the agent's API calls and image download go to
# tests/agent/fake_server.py on 127.0.0.1 through a guestfwd rule (restrict=on: the guest
# reaches nothing else). Checks the disk bytes, the NoCloud seed and the join unit inside
# the installed ext4 root, and the reported events.
#
#   boot_env_e2e.sh BOOT_ENV_DIR     (exit 77: skipped, the boot env or a tool is missing)
set -euo pipefail
bootenv=$(realpath -m "${1:?usage: boot_env_e2e.sh BOOT_ENV_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
skip() {  # CI installs every tool: there a skip is a failure
  echo "skipped: $*"
  [[ -n ${CI:-} && ${CI:-} != false ]] && { echo "CI is set: a skipped test fails"; exit 1; }
  exit 77
}
if [[ ! -f $bootenv/vmlinuz || ! -f $bootenv/initrd.img ]]; then
  skip "$bootenv has no vmlinuz/initrd.img (cmake --build <dir> --target boot-env)"
fi
for t in qemu-system-x86_64 mkfs.ext4 sfdisk zstd debugfs python3; do
  command -v "$t" >/dev/null || skip "$t missing"
done

work=$(mktemp -d)
srv_pid=""
qemu_pid=""
cleanup() {
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null || true
  [[ -n $srv_pid ]] && kill "$srv_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# A disk image: MBR, one ext4 partition at 1 MiB holding etc/os-release.
mkdir -p rootdir/etc files
printf 'PRETTY_NAME="Drover test root"\nID=drovertest\n' > rootdir/etc/os-release
truncate -s 96M root.ext4
mkfs.ext4 -q -F -d rootdir root.ext4
truncate -s 97M img.raw
echo 'start=2048, type=83' | sfdisk -q img.raw
dd if=root.ext4 of=img.raw bs=1M seek=1 conv=notrunc status=none
zstd -q img.raw -o files/img.raw.zst
sha=$(sha256sum files/img.raw.zst | cut -d' ' -f1)
size=$(stat -c %s files/img.raw.zst)
truncate -s 128M target.raw

guest_api=10.0.2.100   # guestfwd address inside QEMU's user network
cat > routes.json <<JSON
{"POST /v1/agent/exchange": [{"json": {"node": "qemu-1", "credential": "cred-qemu"}}],
 "POST /v1/agent/register": [{"json": {"node": "qemu-1", "state": "installing", "action": "install"}}],
 "GET /v1/agent/plan": [{"json": {"image": {"name": "test", "version": "1", "url": "http://$guest_api/img.raw.zst",
                                  "sha256": "$sha", "size": $size, "format": "raw.zst"},
                        "disk": "/dev/vda", "min_disk_bytes": 100000000}}],
 "GET /v1/agent/cloud-config": [{"text": "#cloud-config\nhostname: qemu-1\n", "type": "text/cloud-config"}],
 "POST /v1/agent/events": [{"json": {}}]}
JSON
python3 "$here/fake_server.py" --root files --routes routes.json --log requests.jsonl > port.txt &
srv_pid=$!
for _ in $(seq 1 100); do grep -q PORT port.txt 2>/dev/null && break; sleep 0.1; done
port=$(awk '/PORT/{print $2}' port.txt)
[[ -n $port ]] || { echo "fake server did not start"; exit 1; }

start=$(date +%s)
timeout 900 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$bootenv/vmlinuz" -initrd "$bootenv/initrd.img" \
  -append "console=ttyS0 panic=-1 drover.api=http://$guest_api:80 drover.token=boot-1 drover.node=qemu-1" \
  -netdev "user,id=n0,restrict=on,guestfwd=tcp:$guest_api:80-tcp:127.0.0.1:$port" \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
  -drive file=target.raw,if=virtio,format=raw > console.log 2>&1 &
qemu_pid=$!
wait "$qemu_pid" || true
qemu_pid=""
echo "boot-env e2e: QEMU ran $(( $(date +%s) - start ))s"

fail() { echo "FAIL: $*"; echo "--- console (last 60 lines)"; tail -60 console.log; exit 1; }
dd if=target.raw of=part.ext4 bs=1M skip=1 status=none
debugfs -R "cat /var/lib/cloud/seed/nocloud/meta-data" part.ext4 2>/dev/null | grep -q 'instance-id: "qemu-1"' || fail "meta-data missing"
debugfs -R "cat /var/lib/cloud/seed/nocloud/user-data" part.ext4 2>/dev/null | grep -q 'hostname: qemu-1' || fail "user-data missing"
debugfs -R "cat /etc/systemd/system/drover-agent.service" part.ext4 2>/dev/null | grep -q 'drover-agent join' || fail "join unit missing"
debugfs -R "cat /etc/drover/agent.json" part.ext4 2>/dev/null | grep -q 'cred-qemu' || fail "agent config missing"
cmp -n 1048576 img.raw target.raw || fail "partition table differs"
# The agent bundle laid down for join mode runs by itself (its own loader and libraries).
mkdir bundle
debugfs -R "rdump /usr/local/lib/drover-agent bundle" part.ext4 >/dev/null 2>&1 || fail "no agent bundle"
b=bundle/drover-agent
"$b/ld.so" --library-path "$b" "$b/drover-agent" --version | grep -q . || fail "the agent bundle does not run"
phases=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == "/v1/agent/events":
        print(json.loads(r["body"])["phase"])' requests.jsonl | grep -vx image_progress | uniq | tr '\n' ' ')
echo "boot-env e2e: events: $phases"
# image_progress is rate-limited: a small image on a fast machine may send none.
[[ $phases == "registered install_started image_written seed_written installed rebooting " ]] ||
  fail "unexpected events: $phases"
grep -q '52:54:00:12:34:56' requests.jsonl || fail "facts without the NIC's MAC"
echo "boot-env e2e: installed, seeded and reported"
