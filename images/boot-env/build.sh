#!/usr/bin/env bash
# Builds the agent's boot environment: vmlinuz + initrd.img, from Debian packages only.
#
#   images/boot-env/build.sh OUT_DIR [--agent PATH] [--cache DIR]
#
# - kernel: linux-image-*-cloud-amd64 (apt-get download + dpkg-deb -x), with the modules
#   the agent needs (virtio, virtio-scsi/SCSI disk, AHCI, cloud NICs) and their
#   dependencies, read from each module's own `depends=` field, in load order;
# - /bin/busybox from busybox-static (the host's busybox is dynamic and cannot be /init);
# - drover-agent and the shared libraries it needs (ldd), plus the dynamic loader;
# - CA certificates (ca-certificates, concatenated into /etc/ssl/certs/ca-certificates.crt);
# - /init (init.sh next to this script) and the udhcpc script.
# Reproducible: package versions pinned by what apt resolves at build time (written to
# OUT_DIR/manifest.txt), file times set to SOURCE_DATE_EPOCH, sorted cpio (newc) members,
# gzip -n. Runs as any user that can write OUT_DIR; apt-get download needs no root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=""
agent="$repo/build/bin/drover-agent"
# Installed from the Debian package (/usr/share/drover/boot-env): the packaged agent.
[[ -x $agent || ! -x /usr/bin/drover-agent ]] || agent=/usr/bin/drover-agent
cache="${DROVER_BOOTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/boot-env}"
while (($#)); do
  case "$1" in
    --agent) agent=$2; shift ;;
    --cache) cache=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || { echo "usage: $0 OUT_DIR [--agent PATH] [--cache DIR]" >&2; exit 2; }
[[ -x $agent ]] || { echo "boot-env: agent binary $agent not found (build drover-agent first)" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb cpio gzip ldd; do
  command -v "$tool" >/dev/null || { echo "boot-env: $tool is missing" >&2; exit 1; }
done

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C
start=$(date +%s)
mkdir -p "$out" "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Modules wanted in the initramfs (dependencies are added automatically). Built-in in the
# cloud kernel, so not listed: ext4, nvme, af_packet, unix. (xfs and btrfs would add 8 MiB;
# installed roots on them need WANTED_MODULES extended.)
WANTED_MODULES="virtio_ring virtio virtio_pci virtio_net virtio_blk virtio_scsi virtio-rng
  scsi_mod sd_mod ahci ata_piix vmxnet3 ena gve"

# --- packages ---------------------------------------------------------------------------
kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n $kpkg ]] || { echo "boot-env: cannot resolve linux-image-cloud-amd64 (run apt-get update)" >&2; exit 1; }
pkgs=("$kpkg" busybox-static ca-certificates)
: > "$work/manifest.txt"
for p in "${pkgs[@]}"; do
  ver=$(apt-cache policy "$p" | awk '/Candidate:/{print $2}')
  deb=$(ls "$cache/${p}_"*.deb 2>/dev/null | grep -F "_$(echo "$ver" | sed 's/:/%3a/')_" | head -1 || true)
  if [[ -z $deb ]]; then
    (cd "$cache" && apt-get download -q "$p=$ver" >/dev/null 2>"$work/apt.err") ||
      { cat "$work/apt.err" >&2; exit 1; }
    deb=$(ls "$cache/${p}_"*.deb | grep -F "_$(echo "$ver" | sed 's/:/%3a/')_" | head -1)
  fi
  echo "$p $ver $(sha256sum "$deb" | cut -d' ' -f1)" >> "$work/manifest.txt"
  dpkg-deb -x "$deb" "$work/pkg"
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
for m in $WANTED_MODULES; do visit "$m"; done
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
strip --strip-debug "$root/bin/drover-agent" 2>/dev/null || true
ldd "$agent" | awk '/=> \//{print $3} /^\s*\/.*ld-linux/{print $1}' | sort -u | while read -r lib; do
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
{
  cat "$work/manifest.txt"
  echo "kernel $kver"
  echo "modules ${order[*]}"
  (cd "$out" && sha256sum vmlinuz initrd.img)
} > "$out/manifest.txt"
echo "boot-env: $out/vmlinuz ($(du -h "$out/vmlinuz" | cut -f1)) $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1)) kernel $kver in $(( $(date +%s) - start ))s"
