#!/bin/busybox sh
# /init of the small test OS the whole-boot tests install: it stands in for a real
# distribution's first boot. It mounts the installed root (where the install laid down
# etc/drover/agent.json, the agent and its systemd unit), brings the network up, and runs
# the unit's ExecStart in the installed root the way systemd would: the agent starts
# containerd (from the root: containerd, the runc shim, runc), runs the join recipe and
# reports `joined` (in a root without containerd, the arm64 test OS's, the agent joins with
# --no-runtime). When the recipe left containers running (etcd-member, etcd-proxy) it stays
# up, serving them, until the test powers it off; otherwise it powers off.
# A machine whose SMBIOS SKU is drover-e2e-heartbeats-N (a machine a BMC simulator powers)
# keeps its agent heartbeating every 2 s, N times, as the installed OS of a real node does:
# a reinstall request in a heartbeat's answer makes the agent set BootNext and reboot.
# Beside such an agent, once the join wrote the pod network's CNI configuration, it runs
# the pod network's test: a container listening with netcat on this node's first pod
# address, and containers dialling every other node's (through the routes the agent keeps).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp /mnt/root
echo 0 > /proc/sys/kernel/printk 2>/dev/null || true
kver=$(cat /etc/drover/kernel)
cat /etc/drover/modules.order /etc/drover-test/modules.order | while read -r m; do
  insmod "/lib/modules/$kver/$m" 2>/dev/null || true
done
echo "drover-test-os: booted from disk"
root=""
# A disk made by `drover images build` names its root on the kernel command line
# (root=UUID=..., syslinux or GRUB from its ESP); the test OS's own disk does not.
want=$(sed -n 's/.*root=UUID=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$want" ]; then
  for _ in $(seq 1 50); do
    dev=$(findfs "UUID=$want" 2>/dev/null) && break
    sleep 0.1
  done
  if [ -n "$dev" ] && mount -t ext4 -o ro "$dev" /mnt/root; then
    root=$dev
    echo "drover-test-os: root UUID=$want is $dev"
  else
    echo "drover-test-os: no filesystem with UUID=$want"
    poweroff -f
  fi
fi
for p in /dev/vda2 /dev/vda1 /dev/sda2 /dev/sda1; do
  [ -z "$root" ] || break
  [ -b "$p" ] || continue
  if mount -t ext4 -o ro "$p" /mnt/root 2>/dev/null; then
    if [ -f /mnt/root/etc/os-release ]; then root=$p; break; fi
    umount /mnt/root
  fi
done
[ -n "$root" ] || { echo "drover-test-os: no installed root found"; poweroff -f; }
mount -o remount,rw /mnt/root
echo "drover-test-os: root $root"
ip link set lo up
for d in /sys/class/net/*; do
  n=${d##*/}
  [ "$n" = lo ] && continue
  ip link set "$n" up
  udhcpc -i "$n" -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script && break
done

# The installed system's view: its own root with /proc, /sys, /dev, cgroup2, /run, /tmp.
r=/mnt/root
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t cgroup2 cgroup2 $r/sys/fs/cgroup
mount -o bind /dev $r/dev
mount -t tmpfs -o mode=0755 tmpfs $r/run
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
in_root() { chroot $r /bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# etcd's data directory on the machine's memory: the WAL preallocates 64 MiB, more than
# the small root keeps free, and the machine is not rebooted with it.
mkdir -p $r/var/lib/drover/etcd
mount -t tmpfs -o mode=0700 tmpfs $r/var/lib/drover/etcd
# The installed root's fstab: its ESP by UUID at /boot/efi (a disk drover images build made).
if grep -q '[[:space:]]/boot/efi[[:space:]]' $r/etc/fstab 2>/dev/null; then
  if in_root mount /boot/efi && [ -f $r/boot/efi/EFI/BOOT/BOOTX64.EFI ]; then
    echo "drover-test-os: /boot/efi mounted from fstab ($(awk '$2 == "/boot/efi" {print $1}' $r/etc/fstab))"
  else
    echo "drover-test-os: /boot/efi from fstab did not mount"
  fi
fi
# UEFI boot variables, for the agent's BootNext.
[ -d /sys/firmware/efi ] && mount -t efivarfs efivarfs $r/sys/firmware/efi/efivars

beats="--max-heartbeats 1"
heartbeats=""
sku=$(cat /sys/class/dmi/id/product_sku 2>/dev/null)
case $sku in
  drover-e2e-heartbeats-*)
    beats="--heartbeat-interval 2 --max-heartbeats ${sku#drover-e2e-heartbeats-}"
    heartbeats=1
    echo "drover-test-os: the agent heartbeats ($beats)" ;;
esac

# pods: the pod network's test, beside the agent (see above); its results on the console.
pods() {
  conf=$r/etc/cni/net.d/10-drover.conflist
  i=0
  while [ ! -f $conf ] && [ $i -lt 600 ]; do sleep 1; i=$((i + 1)); done
  [ -f $conf ] || return 0
  subnet=$(sed -n 's/.*"subnet": *"\([^"]*\)".*/\1/p' $conf | head -n 1)
  ctr="in_root /usr/bin/ctr --address /run/drover/containerd/containerd.sock --namespace drover"
  $ctr images import /var/lib/drover/images/busybox.oci.tar >/dev/null 2>&1 ||
    { echo "drover-test-os: pods: cannot import the busybox image"; return 0; }
  # nc -ll -e: a server that answers every connection with its node's subnet.
  if ! $ctr run --cni -d docker.io/drover/busybox:e2e pod-listen \
      /bin/busybox nc -ll -p 7777 -e /bin/busybox echo "pod-hello from $subnet" >/dev/null 2>&1; then
    echo "drover-test-os: pods: the listening container did not start"
    return 0
  fi
  echo "drover-test-os: pods: listening on ${subnet%.0/*}.2:7777 (subnet $subnet)"
  reached=0 i=0
  while [ $reached = 0 ] && [ $i -lt 90 ]; do
    for peer in $(in_root /usr/sbin/ip route show dev drover-vxlan 2>/dev/null | awk '{print $1}'); do
      reply=$($ctr run --cni --rm docker.io/drover/busybox:e2e pod-dial-$i \
        /bin/busybox nc -w 3 "${peer%.0/*}.2" 7777 </dev/null 2>/dev/null)
      if [ "$reply" = "pod-hello from $peer" ]; then
        echo "drover-test-os: pods: a container on $subnet reached ${peer%.0/*}.2: $reply"
        reached=1
      fi
    done
    i=$((i + 1))
    [ $reached = 1 ] || sleep 2
  done
  [ $reached = 1 ] || echo "drover-test-os: pods: no other node's container answered"
}
pods_pid=""
if [ -n "$heartbeats" ] && [ -f $r/var/lib/drover/images/busybox.oci.tar ]; then
  pods &
  pods_pid=$!
fi

unit=$r/etc/systemd/system/drover-agent.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit" 2>/dev/null)
[ -n "$exec_start" ] || { echo "drover-test-os: no drover-agent unit in the installed root"; poweroff -f; }
# The arm64 test OS carries no container runtime (its machines have no join recipe): the
# agent joins without starting one.
runtime=""
[ -x $r/usr/bin/containerd ] || { runtime="--no-runtime"; echo "drover-test-os: no container runtime in the root"; }
t0=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2086 # ExecStart is split into words, as systemd does; so are the flags
if in_root $exec_start $beats $runtime; then
  echo "drover-test-os: join done ($(cut -d' ' -f1 /proc/uptime) s uptime, agent started at $t0 s)"
else
  echo "drover-test-os: join failed"
  tail -n 20 $r/run/drover/containerd/containerd.log 2>/dev/null
fi
sync
[ -z "$pods_pid" ] || kill $pods_pid 2>/dev/null

tasks=$(in_root /usr/bin/ctr --address /run/drover/containerd/containerd.sock --namespace drover \
  tasks ls -q 2>/dev/null | tr '\n' ' ')
if [ -n "$tasks" ]; then
  echo "drover-test-os: containers running: $tasks($(df -m $r | awk 'NR == 2 {print $4}') MiB free on the root)"
  while :; do sleep 3600; done
fi
umount $r/var/lib/drover/etcd 2>/dev/null
umount $r/boot/efi 2>/dev/null
umount $r/tmp $r/run $r/dev $r/sys/fs/cgroup $r/sys $r/proc 2>/dev/null
umount /mnt/root
poweroff -f
