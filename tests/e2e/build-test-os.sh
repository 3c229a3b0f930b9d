#!/usr/bin/env bash
# Builds the small OS image the whole-boot tests install, from the boot environment's
# kernel and initramfs and from Debian packages already installed on this host (so nothing
# more is downloaded, except the boot environment's kernel package when it is not cached):
#   partition 1: FAT, active, syslinux (BIOS) and Debian's signed shim and GRUB at
#                \EFI\BOOT\ (UEFI, Secure Boot or not): the kernel and an initramfs whose
#                /init is test-os-init.sh
#                (appended as a second cpio archive over the boot env's, with the overlay
#                module containerd's snapshotter needs and efivarfs for the agent's BootNext)
#   partition 2: ext4 root with etc/os-release, busybox, the container runtime (containerd,
#                containerd-shim-runc-v2, ctr, runc and the shared libraries they load) and
#                an OCI archive of etcd (the host's /usr/bin/etcd) where the join recipes
#                expect it (/var/lib/drover/images/etcd.oci.tar, named
#                docker.io/drover/etcd:e2e); the install writes the NoCloud seed, the agent
#                and its config there
# The MBR carries syslinux's boot code, so SeaBIOS (and iPXE's sanboot) can boot it.
#
# --arch arm64 (from a boot environment built with --arch arm64): UEFI only, no syslinux
# and no MBR boot code; \EFI\BOOT\BOOTAA64.EFI is Debian's signed shim for arm64 with the
# signed arm64 GRUB beside it (shim-signed and grub-efi-arm64-signed :arm64 packages, fetched
# with apt-get download into the boot environment's cache); console on ttyAMA0. The root
# has no container runtime and no etcd (machines without a join recipe; under TCG every
# MiB counts): test-os-init.sh runs the agent with --no-runtime there.
#
# --oci: the same OS as a container image instead (an oci-archive at OUT, one layer, named
# drover/test-os:e2e): no partitions and no boot loader; the kernel and the initramfs are in
# its /boot (vmlinuz-VERSION, initrd.img-VERSION) as a distribution's kernel package puts
# them, for `drover images build` to make a disk that boots (tests/e2e/built-image.sh).
#
#   build-test-os.sh [--arch amd64|arm64] [--oci] BOOT_ENV_DIR OUT.raw.zst|OUT.oci.tar
set -euo pipefail
arch=amd64
oci=0
while [[ ${1:-} == --* ]]; do
  case $1 in
    --arch) arch=${2:-}; shift 2 ;;
    --oci) oci=1; shift ;;
    *) echo "test OS: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $arch == amd64 || $arch == arm64 ]] || { echo "test OS: unknown architecture $arch (amd64 or arm64)" >&2; exit 2; }
(($# == 2)) || { echo "usage: $0 [--arch amd64|arm64] [--oci] BOOT_ENV_DIR OUT.raw.zst|OUT.oci.tar" >&2; exit 2; }
bootenv=$(realpath "$1")
out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

built_arch=$(awk '$1 == "arch" {print $2}' "$bootenv/manifest.txt" 2>/dev/null)
[[ ${built_arch:-amd64} == "$arch" ]] ||
  { echo "test OS: $bootenv is a boot environment for ${built_arch:-amd64}, not $arch" >&2; exit 1; }
# apt's name for a package of ARCH: qualified unless ARCH is the host's own.
q=""
[[ $arch == "$(dpkg --print-architecture)" ]] || q=":$arch"
cache="${DROVER_BOOTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/boot-env}"
# deb NAME VERSION: the package's .deb from the boot environment's cache (apt-get download
# into it when missing).
deb() {
  local f="$cache/${1}_${2//:/%3a}_$arch.deb"
  if [[ ! -f $f ]]; then
    mkdir -p "$cache"
    (cd "$cache" && apt-get download -q "$1$q=$2" >/dev/null 2>"$work/apt.err") ||
      { cat "$work/apt.err" >&2; exit 1; }
  fi
  echo "$f"
}

if [[ $arch == amd64 ]]; then
  # The container runtime, and the pod network's tools: iproute2's ip and bridge (busybox's
  # ip knows no VXLAN) and the CNI plugins where ctr looks for them (/opt/cni/bin).
  runtime_bins=(/usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr /usr/sbin/runc
                /usr/sbin/ip /usr/sbin/bridge)
  cni_plugins=(/usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback)
  for f in "${runtime_bins[@]}" "${cni_plugins[@]}" /usr/bin/etcd; do
    [[ -x $f ]] || { echo "test OS: $f missing (scripts/packages/agent.txt: containerd runc etcd-server iproute2 containernetworking-plugins)" >&2; exit 1; }
  done
  console=ttyS0
else
  runtime_bins=() cni_plugins=()
  console=ttyAMA0
fi

# --- the boot environment's kernel: its overlay module --------------------------------
kver=$(awk '$1 == "kernel" {print $2}' "$bootenv/manifest.txt")
kpkg_line=$(awk -v p="linux-image-$kver" '$1 == p' "$bootenv/manifest.txt")
[[ -n $kver && -n $kpkg_line ]] || { echo "test OS: no kernel in $bootenv/manifest.txt" >&2; exit 1; }
kdeb=$(deb "linux-image-$kver" "$(awk '{print $2}' <<<"$kpkg_line")")
# overlay: containerd's snapshotter; efivarfs: the agent's BootNext on UEFI machines;
# FAT: the ESP a built disk's fstab mounts at /boot/efi; bridge, veth, vxlan (dependencies
# first): the pod network (the CNI bridge plugin, the agent's VXLAN device).
modules=(kernel/fs/overlayfs/overlay.ko kernel/fs/efivarfs/efivarfs.ko)
[[ $arch != amd64 ]] || modules+=(kernel/fs/fat/fat.ko kernel/fs/fat/vfat.ko kernel/fs/nls/nls_cp437.ko
                                  kernel/fs/nls/nls_ascii.ko kernel/fs/nls/nls_utf8.ko
                                  kernel/net/llc/llc.ko kernel/net/802/stp.ko kernel/net/bridge/bridge.ko
                                  kernel/drivers/net/veth.ko kernel/net/ipv4/udp_tunnel.ko
                                  kernel/net/ipv6/ip6_udp_tunnel.ko kernel/drivers/net/vxlan/vxlan.ko)
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work" "${modules[@]/#/./lib/modules/$kver/}"

# --- initramfs overlay: /init and the kernel modules ----------------------------------
mkdir -p "$work/overlay/etc/drover-test"
install -m 0755 "$here/test-os-init.sh" "$work/overlay/init"
for m in "${modules[@]}"; do
  install -D -m 0644 "$work/lib/modules/$kver/$m" "$work/overlay/lib/modules/$kver/$m"
done
printf '%s\n' "${modules[@]}" > "$work/overlay/etc/drover-test/modules.order"
(cd "$work/overlay" && find . | sort | cpio -o -H newc --quiet | gzip -n) > "$work/overlay.cpio.gz"
cat "$bootenv/initrd.img" "$work/overlay.cpio.gz" > "$work/initrd.img"

# --- the installed root ----------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{etc,bin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,var/lib/drover/images,var/lib/drover/etcd}
chmod 1777 "$root/tmp"
printf 'PRETTY_NAME="Drover test OS"\nID=drover-test-os\n' > "$root/etc/os-release"
# ctr run --net-host bind-mounts these two into the container.
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
# busybox-static from the boot environment, every applet linked in /bin (sh, mkdir, mount
# for the init and the recipe's steps).
(cd "$work" && gzip -dc "$bootenv/initrd.img" | cpio -i --quiet --make-directories bin/busybox)
install -m 0755 "$work/bin/busybox" "$root/bin/busybox"
if [[ -z $q ]]; then
  applets=$("$root/bin/busybox" --list)
else  # another architecture's busybox cannot list its applets here: the ones the init uses
  applets="sh env mkdir mount umount cat ls ln rm sleep sync poweroff reboot"
fi
for applet in $applets; do [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"; done
libs() { ldd "$1" | awk '/=> \//{print $3} /^[ \t]*\/.*ld-linux/{print $1}'; }
for f in "${runtime_bins[@]}" "${cni_plugins[@]}"; do
  case $f in
    /usr/lib/cni/*) install -D -m 0755 "$f" "$root/opt/cni/bin/${f##*/}" ;;
    *) install -m 0755 "$f" "$root$f" ;;
  esac
  libs "$f"
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# etcd as a one-layer OCI image at the recipes' default archive path (join.image), imported
# with ctr and run by runc inside the machine; the profiles name it with join.image_ref.
if [[ $arch == amd64 ]]; then
  etcd_libs=()
  for lib in $(libs /usr/bin/etcd); do etcd_libs+=("$lib:$lib"); done
  python3 "$repo/tests/agent/make_oci.py" "$root/var/lib/drover/images/etcd.oci.tar" docker.io/drover/etcd:e2e \
    /usr/bin/etcd:/usr/bin/etcd "${etcd_libs[@]}"
  # The pods of the pod network's test (test-os-init.sh): static busybox, for nc.
  python3 "$repo/tests/agent/make_oci.py" "$root/var/lib/drover/images/busybox.oci.tar" docker.io/drover/busybox:e2e \
    "$root/bin/busybox:/bin/busybox"
fi

if ((oci)); then
  install -D -m 0644 "$bootenv/vmlinuz" "$root/boot/vmlinuz-$kver"
  install -D -m 0644 "$work/initrd.img" "$root/boot/initrd.img-$kver"
  python3 "$repo/tests/agent/make_oci.py" "$out" drover/test-os:e2e --tree "$root"
  echo "test OS: $out ($arch container image, $(stat -c %s "$out") bytes, kernel $kver) in $(( $(date +%s) - start ))s"
  exit 0
fi

# --- the boot partition ---------------------------------------------------------------
boot_mb=$(( ($(stat -c %s "$bootenv/vmlinuz") + $(stat -c %s "$work/initrd.img")) / 1048576 + 12 ))
truncate -s "${boot_mb}M" "$work/boot.fat"
mkfs.vfat -n DROVERBOOT "$work/boot.fat" >/dev/null
mcopy -i "$work/boot.fat" "$bootenv/vmlinuz" ::/vmlinuz
mcopy -i "$work/boot.fat" "$work/initrd.img" ::/initrd.img
if [[ $arch == amd64 ]]; then
  cat > "$work/syslinux.cfg" <<CFG
DEFAULT os
PROMPT 0
TIMEOUT 0
LABEL os
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 panic=-1 quiet
CFG
  mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::/syslinux.cfg
  syslinux --install "$work/boot.fat"
fi
# UEFI: Debian's signed chain at the removable-media path, so the disk boots with Secure
# Boot on as well as off: \EFI\BOOT\BOOTX64.EFI (BOOTAA64.EFI) is shim (signed by
# Microsoft's UEFI CA), which starts grubx64.efi (grubaa64.efi) beside it (Debian's signed
# GRUB; no fallback fbx64.efi, so shim does not run it), which reads grub.cfg beside itself
# ($cmdpath) and boots the kernel (signed by Debian, checked through shim) and the
# initramfs from the same partition.
if [[ $arch == amd64 ]]; then
  shim=/usr/lib/shim/shimx64.efi.signed grub=/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
  for f in $shim $grub; do
    [[ -f $f ]] || { echo "test OS: $f missing (scripts/packages/e2e.txt: shim-signed grub-efi-amd64-signed)" >&2; exit 1; }
  done
  efi_names=(BOOTX64.EFI grubx64.efi)
else
  # The grub-efi-arm64-signed the boot environment took its network GRUB from, and the
  # current shim-signed.
  grub_ver=$(awk '$1 == "grub-efi-arm64-signed" {print $2}' "$bootenv/manifest.txt")
  shim_ver=$(apt-cache policy "shim-signed$q" | awk '/Candidate:/{print $2}')
  [[ -n $grub_ver && -n $shim_ver && $shim_ver != "(none)" ]] ||
    { echo "test OS: cannot resolve grub-efi-arm64-signed$q/shim-signed$q (apt-get update?)" >&2; exit 1; }
  grub_deb=$(deb grub-efi-arm64-signed "$grub_ver")
  shim_deb=$(deb shim-signed "$shim_ver")
  mkdir -p "$work/efi"
  dpkg-deb -x "$grub_deb" "$work/efi"
  dpkg-deb -x "$shim_deb" "$work/efi"
  shim=$work/efi/usr/lib/shim/shimaa64.efi.signed grub=$work/efi/usr/lib/grub/arm64-efi-signed/grubaa64.efi.signed
  efi_names=(BOOTAA64.EFI grubaa64.efi)
fi
cat > "$work/grub.cfg" <<CFG
set timeout=0
linux /vmlinuz console=$console panic=-1 quiet
initrd /initrd.img
boot
CFG
mmd -i "$work/boot.fat" ::/EFI ::/EFI/BOOT
mcopy -i "$work/boot.fat" "$shim" "::/EFI/BOOT/${efi_names[0]}"
mcopy -i "$work/boot.fat" "$grub" "::/EFI/BOOT/${efi_names[1]}"
mcopy -i "$work/boot.fat" "$work/grub.cfg" ::/EFI/BOOT/grub.cfg

# Free space for what the machine adds: the agent and its libraries (27 MiB, laid down by the
# install) and containerd's content store and snapshot of etcd (45 MiB), about 30 MiB to spare
# (the machine reports it). Every byte of the image is written to the disk, free space too.
# arm64: the agent and its libraries only (about 25 MiB), so 48 MiB of free space.
spare_mb=128
[[ $arch == amd64 ]] || spare_mb=48
root_mb=$(( $(du -sm "$root" | cut -f1) * 11 / 10 + spare_mb ))
truncate -s "${root_mb}M" "$work/root.ext4"
mkfs.ext4 -q -F -L root -d "$root" "$work/root.ext4"

total_mb=$((1 + boot_mb + root_mb))
truncate -s "${total_mb}M" "$work/disk.raw"
sfdisk -q "$work/disk.raw" <<PARTS
label: dos
start=2048, size=$((boot_mb * 2048)), type=c, bootable
start=$(( 2048 + boot_mb * 2048 )), size=$((root_mb * 2048)), type=83
PARTS
[[ $arch != amd64 ]] || dd if=/usr/lib/syslinux/mbr/mbr.bin of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.fat" of="$work/disk.raw" bs=1M seek=1 conv=notrunc status=none
dd if="$work/root.ext4" of="$work/disk.raw" bs=1M seek=$((1 + boot_mb)) conv=notrunc status=none
# --long=27: a 128 MiB window finds the code containerd, ctr and the shim share; it is
# the largest window a zstd decoder accepts by default (the agent's does).
zstd -q -f -T0 -9 --long=27 "$work/disk.raw" -o "$out"
echo "test OS: $out ($arch, $(stat -c %s "$out") bytes compressed, ${total_mb} MiB raw, root ${root_mb} MiB) in $(( $(date +%s) - start ))s"
