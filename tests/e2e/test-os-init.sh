#!/bin/busybox sh
# /init of the small test OS the whole-boot tests install: it stands in for a real
# distribution's first boot. It mounts the installed root (where the install laid down
# etc/drover/agent.json, the agent and its systemd unit), brings the network up, and runs
# the unit's ExecStart in the installed root the way systemd would: the agent starts
# containerd (from the root: containerd, the runc shim, runc), runs the join recipe and
# reports `joined`. Then, standing in for cloud-init, it runs the string entries of the
# node's cloud-config `runcmd` (the NoCloud seed the install wrote), once per install.
# Without a runcmd it powers off; with one it stays up (etcd serves the cluster) until the
# test powers it off.
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
for p in /dev/vda2 /dev/vda1 /dev/sda2 /dev/sda1; do
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

unit=$r/etc/systemd/system/drover-agent.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit" 2>/dev/null)
[ -n "$exec_start" ] || { echo "drover-test-os: no drover-agent unit in the installed root"; poweroff -f; }
t0=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2086 # ExecStart is split into words, as systemd does
if in_root $exec_start --max-heartbeats 1; then
  echo "drover-test-os: join done ($(cut -d' ' -f1 /proc/uptime) s uptime, agent started at $t0 s)"
else
  echo "drover-test-os: join failed"
  tail -n 20 $r/run/drover/containerd/containerd.log 2>/dev/null
fi
sync

seed=$r/var/lib/cloud/seed/nocloud/user-data
done_marker=$r/var/lib/drover-test/runcmd-done
if [ -f "$seed" ] && grep -q '^runcmd:' "$seed" && [ ! -f "$done_marker" ]; then
  sed -n '/^runcmd:/,/^[^ ]/s/^  - //p' "$seed" > /tmp/runcmd
  ok=1
  while read -r cmd; do
    echo "drover-test-os: runcmd $cmd"
    # shellcheck disable=SC2086
    in_root $cmd < /dev/null || { ok=0; break; }
  done < /tmp/runcmd
  if [ $ok = 1 ]; then
    mkdir -p "${done_marker%/*}" && : > "$done_marker"
    echo "drover-test-os: runcmd done ($(cut -d' ' -f1 /proc/uptime) s uptime, root $(df -m $r | awk 'NR == 2 {print $4}') MiB free)"
  else
    echo "drover-test-os: runcmd failed"
  fi
  sync
  while :; do sleep 3600; done
fi
umount $r/tmp $r/run $r/dev $r/sys/fs/cgroup $r/sys $r/proc 2>/dev/null
umount /mnt/root
poweroff -f
