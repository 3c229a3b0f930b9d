#!/usr/bin/env bash
# Builds the small OS image the whole-boot tests install, from the boot environment's
# kernel and initramfs (so nothing more is downloaded):
#   partition 1: FAT, active, syslinux (BIOS) and syslinux.efi as \EFI\BOOT\BOOTX64.EFI
#                (UEFI): the kernel and an initramfs whose /init is test-os-init.sh
#                (appended as a second cpio archive over the boot env's)
#   partition 2: ext4 root with etc/os-release, where the install writes the NoCloud seed,
#                the agent and its config
# The MBR carries syslinux's boot code, so SeaBIOS (and iPXE's sanboot) can boot it.
#
#   build-test-os.sh BOOT_ENV_DIR OUT.raw.zst
set -euo pipefail
bootenv=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/overlay" "$work/root/etc" "$work/root/var/lib/drover"
install -m 0755 "$here/test-os-init.sh" "$work/overlay/init"
(cd "$work/overlay" && find . | sort | cpio -o -H newc --quiet | gzip -n) > "$work/overlay.cpio.gz"
cat "$bootenv/initrd.img" "$work/overlay.cpio.gz" > "$work/initrd.img"

cat > "$work/syslinux.cfg" <<CFG
DEFAULT os
PROMPT 0
TIMEOUT 0
LABEL os
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 panic=-1 quiet
CFG
boot_mb=$(( ($(stat -c %s "$bootenv/vmlinuz") + $(stat -c %s "$work/initrd.img")) / 1048576 + 8 ))
truncate -s "${boot_mb}M" "$work/boot.fat"
mkfs.vfat -n DROVERBOOT "$work/boot.fat" >/dev/null
mcopy -i "$work/boot.fat" "$bootenv/vmlinuz" ::/vmlinuz
mcopy -i "$work/boot.fat" "$work/initrd.img" ::/initrd.img
mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$work/boot.fat"
# UEFI: the removable-media path \EFI\BOOT\BOOTX64.EFI on the same FAT partition.
mmd -i "$work/boot.fat" ::/EFI ::/EFI/BOOT
mcopy -i "$work/boot.fat" /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$work/boot.fat" /usr/lib/syslinux/modules/efi64/ldlinux.e64 ::/EFI/BOOT/ldlinux.e64
mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::/EFI/BOOT/syslinux.cfg

printf 'PRETTY_NAME="Drover test OS"\nID=drover-test-os\n' > "$work/root/etc/os-release"
truncate -s 64M "$work/root.ext4"
mkfs.ext4 -q -F -L root -d "$work/root" "$work/root.ext4"

root_mb=64
total_mb=$((1 + boot_mb + root_mb))
truncate -s "${total_mb}M" "$work/disk.raw"
sfdisk -q "$work/disk.raw" <<PARTS
label: dos
start=2048, size=$((boot_mb * 2048)), type=c, bootable
start=$(( 2048 + boot_mb * 2048 )), size=$((root_mb * 2048)), type=83
PARTS
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.fat" of="$work/disk.raw" bs=1M seek=1 conv=notrunc status=none
dd if="$work/root.ext4" of="$work/disk.raw" bs=1M seek=$((1 + boot_mb)) conv=notrunc status=none
zstd -q -f -T0 "$work/disk.raw" -o "$out"
echo "test OS: $out ($(stat -c %s "$out") bytes compressed, ${total_mb} MiB raw)"
