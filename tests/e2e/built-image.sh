#!/usr/bin/env bash
# A node image built from a container image by `drover images build`, installed and booted
# on real firmware:
#   1. the test OS as a container image (build-test-os.sh --oci: one layer, its kernel and
#      initramfs in /boot as a kernel package puts them), turned into a disk by
#      `drover images build` (GPT: an ESP with syslinux for BIOS and shim + GRUB for UEFI,
#      the image's kernel, an ext4 root with fstab by UUID);
#   2. a BIOS machine (SeaBIOS + iPXE, network first) installs it from drover serve, then
#      its second power-on boots the disk through syslinux's GPT MBR code: the kernel finds
#      its root by the UUID on its command line, the installed OS mounts the ESP at
#      /boot/efi from fstab, and its agent joins;
#   3. the same installed disk in a UEFI machine with Secure Boot on (OVMF, Microsoft's
#      keys), disk first: shim, Debian's signed GRUB and kernel from the ESP; it boots the
#      same root by UUID and joins again.
#
#   built-image.sh DROVER BOOT_ENV_DIR TEST_OS_IMAGE
# Exit 77 (skipped) when the boot environment or a tool is missing.
set -euo pipefail
drover=$1 bootenv=$2
E2E_IMAGE=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

e2e_require "$bootenv" "$E2E_IMAGE"
for t in mkfs.vfat mcopy syslinux zstd; do
  command -v "$t" >/dev/null || { echo "skipped: $t missing"; exit 77; }
done

e2e_init built
node=e2e-built
mac=52:54:00:e2:e0:b1
config=$E2E_DIR/cluster.yaml
e2e_config "$config" "$bootenv"
cat >> "$config" <<YAML
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
defaults:
  unknown: ignore
YAML
trap 'rc=$?; ((rc)) && e2e_show_failure "$node"; e2e_cleanup $rc' EXIT

e2e_log "the test OS as a container image"
"$here/build-test-os.sh" --oci "$bootenv" "$E2E_DIR/test-os.oci.tar" >&2
e2e_log "drover images build"
t0=$(e2e_now_ms)
"$drover" images build built-os --config "$config" --state-dir "$E2E_DIR/state" \
  --from "$E2E_DIR/test-os.oci.tar" --cmdline "console=ttyS0 panic=-1 quiet" --free 128 \
  | tee "$E2E_DIR/build.out" >&2
disk_raw=$E2E_DIR/state/images/oci/built-os/disk.raw
[[ -f $disk_raw ]] || e2e_die "images build wrote no disk"
root_uuid=$(sed -n 's/.*ext4 root UUID=\([^,]*\),.*/\1/p' "$E2E_DIR/build.out")
[[ -n $root_uuid ]] || e2e_die "images build did not name the root's UUID"
# Compressed for the wire like any large image (the agent decompresses as it writes).
zstd -q -T0 -3 --long=27 "$disk_raw" -o "$E2E_DIR/built-os.raw.zst"
e2e_log "built in $((($(e2e_now_ms) - t0) / 1000))s: $(du -m "$disk_raw" | cut -f1) MiB raw, root UUID=$root_uuid"

cat > "$E2E_DIR/built-images.yaml" <<YAML
  built-os:
    disk: { path: $E2E_DIR/built-os.raw.zst, sha256: "$(sha256sum "$E2E_DIR/built-os.raw.zst" | cut -d' ' -f1)" }
YAML
sed -i "/^images:/r $E2E_DIR/built-images.yaml" "$config"
cat > "$E2E_DIR/built-profile.yaml" <<YAML
  built:
    install: { image: built-os, disk: /dev/vda }
    join: { runtime: containerd }
YAML
sed -i "/^profiles:/r $E2E_DIR/built-profile.yaml" "$config"
cat >> "$config" <<YAML
nodes:
  - { name: $node, mac: "$mac", ip: 192.0.2.17, profile: built }
YAML
e2e_serve "$drover" "$config"
e2e_tap tap0
disk=$(e2e_disk "$node" 1G)

# built_boot: the console shows the root found by UUID, the ESP mounted by fstab, the join.
built_boot() {
  local qpid=$1
  e2e_wait_console "$node" 'drover-test-os: booted from disk' 600
  e2e_wait_joined "$node" "$qpid"
  grep -aq "drover-test-os: root UUID=$root_uuid is /dev/vda2" "$E2E_DIR/$node.console" ||
    e2e_die "the installed OS did not find its root by UUID=$root_uuid"
  grep -aq 'drover-test-os: /boot/efi mounted from fstab (UUID=' "$E2E_DIR/$node.console" ||
    e2e_die "the installed OS did not mount its ESP from fstab"
}

e2e_log "power on #1 (bios): blank disk, installs the built image"
t1=$(e2e_now_ms)
e2e_qemu "$node" bios "$mac" tap0 "$disk"
e2e_wait_exit "$E2E_LAST_PID" "$node"
[[ $(e2e_node_state "$node") == installed ]] || e2e_die "node is $(e2e_node_state "$node"), want installed"
e2e_log "installed $((($(e2e_now_ms) - t1) / 1000))s after power on"

e2e_log "power on #2 (bios): the network sends it to its disk; syslinux from the ESP"
t2=$(e2e_now_ms)
e2e_qemu "$node" bios "$mac" tap0 "$disk"
built_boot "$E2E_LAST_PID"
e2e_log "joined $((($(e2e_now_ms) - t2) / 1000))s after power on"

e2e_log "power on #3 (UEFI, Secure Boot on, disk first): shim and GRUB from the same ESP"
t3=$(e2e_now_ms)
e2e_qemu "$node" uefi-sb "$mac" tap0 "$disk" disk-first
built_boot "$E2E_LAST_PID"
e2e_wait_event "$node" secure_boot "$t3" 10 "on" >/dev/null
e2e_log "joined $((($(e2e_now_ms) - t3) / 1000))s after power on"
installs=$(e2e_events "$node" install_started)
[[ $installs == 1 ]] || e2e_die "installed $installs times, want once"
e2e_timeline "$node"
e2e_log "PASS: a disk built from a container image installs, boots on BIOS and UEFI (Secure Boot) and joins"
