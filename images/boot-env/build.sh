#!/usr/bin/env bash
# Builds the agent's boot environment: vmlinuz + initrd.img, from Debian packages only.
#
#   images/boot-env/build.sh OUT_DIR [--arch amd64|arm64] [--agent PATH] [--cache DIR]
#
# - kernel: linux-image-*-cloud-ARCH (apt-get download + dpkg-deb -x), with the modules
#   the agent needs (virtio, virtio-scsi/SCSI disk, PIIX on amd64, cloud NICs) and their
#   dependencies, read from each module's own `depends=` field, in load order;
# - /bin/busybox from busybox-static (the host's busybox is dynamic and cannot be /init);
# - drover-agent and the shared libraries it needs, plus the dynamic loader;
# - CA certificates (ca-certificates, concatenated into /etc/ssl/certs/ca-certificates.crt);
# - /init (init.sh next to this script) and the udhcpc script.
# arm64 (a drover-agent from scripts/build-agent.sh --arch arm64; Debian's :arm64 packages,
# `dpkg --add-architecture arm64`): the libraries come from the agent's DT_NEEDED entries
# (readelf, as a foreign binary cannot run under ldd), and OUT_DIR also gets grubnetaa64.efi,
# Debian's signed network GRUB for arm64 (grub-efi-arm64-signed).
# Reproducible: package versions pinned by what apt resolves at build time (written to
# OUT_DIR/manifest.txt), file times set to SOURCE_DATE_EPOCH, sorted cpio (newc) members,
# gzip -n. Runs as any user that can write OUT_DIR; apt-get download needs no root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=""
arch=amd64
agent=""
cache="${DROVER_BOOTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/boot-env}"
while (($#)); do
  case "$1" in
    --arch) arch=${2:-}; shift ;;
    --agent) agent=$2; shift ;;
    --cache) cache=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || { echo "usage: $0 OUT_DIR [--arch amd64|arm64] [--agent PATH] [--cache DIR]" >&2; exit 2; }

# Per architecture: the GNU triplet of its libraries, the ELF machine of its binaries, the
# modules wanted in the initramfs (dependencies are added automatically; a wanted module
# must be a module of the kernel or built into it), and the extra packages.
# Built in in the cloud kernels, so not listed: ext4, nvme, af_packet, unix. (xfs and btrfs
# would add 8 MiB; installed roots on them need the list extended.)
extra_pkgs=()
case "$arch" in
  amd64)
    triplet=x86_64-linux-gnu machine="X86-64"
    # (The cloud kernel has no AHCI driver at all: CONFIG_SATA_AHCI is not set.)
    WANTED_MODULES="virtio_ring virtio virtio_pci virtio_net virtio_blk virtio_scsi virtio-rng
      scsi_mod sd_mod ata_piix vmxnet3 ena gve"
    default_agent="$repo/build/bin/drover-agent"
    # Installed from the Debian package (/usr/share/drover/boot-env): the packaged agent.
    [[ -x $default_agent || ! -x /usr/bin/drover-agent ]] || default_agent=/usr/bin/drover-agent ;;
  arm64)
    # QEMU's virt machine and arm64 clouds: virtio over PCI or MMIO, no AHCI/PATA.
    triplet=aarch64-linux-gnu machine="AArch64"
    WANTED_MODULES="virtio_ring virtio virtio_pci virtio_mmio virtio_net virtio_blk virtio_scsi
      virtio-rng scsi_mod sd_mod ena gve"
    extra_pkgs=(grub-efi-arm64-signed)
    default_agent="$repo/build-arm64/bin/drover-agent" ;;
  *) echo "boot-env: unknown architecture $arch (amd64 or arm64)" >&2; exit 2 ;;
esac
agent=${agent:-$default_agent}
[[ -x $agent ]] || { echo "boot-env: agent binary $agent not found (build drover-agent first)" >&2; exit 1; }
# apt's name for a package of ARCH: qualified unless ARCH is the host's own.
q=""
[[ $arch == "$(dpkg --print-architecture)" ]] || q=":$arch"
# strip for the agent's architecture (binutils-aarch64-linux-gnu comes with the cross g++).
strip="strip"
[[ -z $q ]] || strip="$triplet-strip"
for tool in apt-get apt-cache dpkg-deb cpio gzip readelf "$strip" $([[ -n $q ]] || echo ldd); do
  command -v "$tool" >/dev/null || { echo "boot-env: $tool is missing" >&2; exit 1; }
done
readelf -h "$agent" | grep "Machine:.*$machine" >/dev/null ||
  { echo "boot-env: $agent is not an $arch executable ($(readelf -h "$agent" | sed -n 's/ *Machine: *//p'))" >&2; exit 1; }

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C
start=$(date +%s)
mkdir -p "$out" "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- packages ---------------------------------------------------------------------------
# fetch PKG[:ARCH]: the candidate version's .deb from the cache, else apt-get download into
# it; recorded in the manifest (name, version, sha256) and unpacked into $work/pkg.
fetch() {
  local p=$1 name=${1%%:*} ver deb="" f attempt
  ver=$(apt-cache policy "$p" | awk '/Candidate:/{print $2}')
  [[ -n $ver && $ver != "(none)" ]] ||
    { echo "boot-env: no candidate for $p (run apt-get update; arm64 needs dpkg --add-architecture arm64)" >&2; exit 1; }
  for attempt in cache download; do
    for f in "$cache/${name}_${ver//:/%3a}_$arch.deb" "$cache/${name}_${ver//:/%3a}_all.deb"; do
      [[ -f $f ]] && { deb=$f; break 2; }
    done
    [[ $attempt == cache ]] || { echo "boot-env: apt-get download $p=$ver left no .deb in $cache" >&2; exit 1; }
    (cd "$cache" && apt-get download -q "$p=$ver" >/dev/null 2>"$work/apt.err") ||
      { cat "$work/apt.err" >&2; exit 1; }
  done
  echo "$name $ver $(sha256sum "$deb" | cut -d' ' -f1)" >> "$work/manifest.txt"
  dpkg-deb -x "$deb" "$work/pkg"
}
kpkg=$(apt-cache depends "linux-image-cloud-$arch$q" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n $kpkg ]] || { echo "boot-env: cannot resolve linux-image-cloud-$arch (run apt-get update)" >&2; exit 1; }
: > "$work/manifest.txt"
for p in "${kpkg%%:*}$q" "busybox-static$q" ca-certificates "${extra_pkgs[@]/%/$q}"; do
  fetch "$p"
done

kver=$(ls "$work/pkg/lib/modules")
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,mnt/target,etc/drover,etc/ssl/certs,usr/share/udhcpc,lib/modules/$kver,var/lib/drover}
chmod 1777 "$root/tmp"

# --- kernel modules in dependency order ------------------------------------------------
moddir="$work/pkg/lib/modules/$kver"
declare -A modpath seen
while IFS= read -r f; do
  n=$(basename "$f" .ko); modpath[$n]=$f; modpath[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko')
declare -A builtin
if [[ -f $moddir/modules.builtin ]]; then
  while IFS= read -r f; do n=$(basename "$f" .ko); builtin[${n//-/_}]=1; done < "$moddir/modules.builtin"
fi
order=()
visit() {  # depth-first: dependencies before the module
  local m=${1//-/_}
  [[ -n ${seen[$m]:-} ]] && return 0
  seen[$m]=1
  local f=${modpath[$m]:-}
  [[ -n $f ]] || return 0   # built in
  local deps
  deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
  for d in $deps; do visit "$d"; done
  order+=("$m")
}
for m in $WANTED_MODULES; do
  [[ -n ${modpath[${m//-/_}]:-} || -n ${builtin[${m//-/_}]:-} ]] ||
    { echo "boot-env: module $m is neither a module of $kver nor built into it" >&2; exit 1; }
  visit "$m"
done
: > "$root/etc/drover/modules.order"
for m in "${order[@]}"; do
  rel=${modpath[$m]#"$moddir/"}
  mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
  cp "${modpath[$m]}" "$root/lib/modules/$kver/$rel"
  echo "$rel" >> "$root/etc/drover/modules.order"
done

# --- busybox, agent, libraries, certificates, scripts -----------------------------------
cp "$work/pkg/bin/busybox" "$root/bin/busybox"
for applet in sh mount; do ln -sf busybox "$root/bin/$applet"; done
install -m 0755 "$agent" "$root/bin/drover-agent"
"$strip" --strip-debug "$root/bin/drover-agent" 2>/dev/null || true
# The shared libraries the agent loads: ldd for the host's own architecture; for another,
# DT_NEEDED followed through the architecture's library directories.
agent_libs() {
  if [[ -z $q ]]; then
    ldd "$agent" | awk '/=> \//{print $3} /^\s*\/.*ld-linux/{print $1}'
    return
  fi
  local -A done_libs
  local todo=("$agent") f n d found
  while ((${#todo[@]})); do
    f=${todo[0]}; todo=("${todo[@]:1}")
    for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ -n ${done_libs[$n]:-} ]] && continue
      done_libs[$n]=1
      found=""
      for d in /lib/$triplet /usr/lib/$triplet; do
        [[ -e $d/$n ]] && { found=$d/$n; break; }
      done
      [[ -n $found ]] || { echo "boot-env: $n (needed by $f) not found in /usr/lib/$triplet" >&2; return 1; }
      echo "$found"
      todo+=("$found")
    done
  done
}
agent_libs > "$work/libs.txt"
sort -u "$work/libs.txt" | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
  # The loader is also looked up by its canonical path (e.g. /lib64 -> /usr/lib64).
done
ldpath=$(readelf -l "$agent" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [[ -n $ldpath && ! -e $root$ldpath ]]; then mkdir -p "$root$(dirname "$ldpath")"; cp -L "$ldpath" "$root$ldpath"; fi
find "$work/pkg/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat > "$root/etc/ssl/certs/ca-certificates.crt"
install -m 0755 "$here/init.sh" "$root/init"
install -m 0755 "$here/udhcpc.script" "$root/usr/share/udhcpc/default.script"
echo "$kver" > "$root/etc/drover/kernel"
cp "$work/manifest.txt" "$root/etc/drover/manifest.txt"

# --- pack -------------------------------------------------------------------------------
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$root" && find . -print0 | sort -z | cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
  gzip -n -9 > "$work/initrd.img"
cp "$work/pkg/boot/vmlinuz-$kver" "$work/vmlinuz"
install -m 0644 "$work/vmlinuz" "$out/vmlinuz"
install -m 0644 "$work/initrd.img" "$out/initrd.img"
outputs=(vmlinuz initrd.img)
if [[ $arch == arm64 ]]; then
  install -m 0644 "$work/pkg/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed" "$out/grubnetaa64.efi"
  outputs+=(grubnetaa64.efi)
fi
{
  cat "$work/manifest.txt"
  echo "arch $arch"
  echo "kernel $kver"
  echo "modules ${order[*]}"
  (cd "$out" && sha256sum "${outputs[@]}")
} > "$out/manifest.txt"
echo "boot-env: $out/vmlinuz ($(du -h "$out/vmlinuz" | cut -f1)) $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1)) kernel $kver ($arch) in $(( $(date +%s) - start ))s"
