#!/bin/busybox sh
# /init of the small test OS the whole-boot tests install: it stands in for a real
# distribution's first boot. It mounts the installed root (where the install laid down
# etc/drover/agent.json and the agent), brings the network up, and runs the agent's join
# mode the way the installed systemd unit would, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp /mnt/root
echo 0 > /proc/sys/kernel/printk 2>/dev/null || true
kver=$(cat /etc/drover/kernel)
while read -r m; do insmod "/lib/modules/$kver/$m" 2>/dev/null || true; done < /etc/drover/modules.order
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
/bin/drover-agent join --config /mnt/root/etc/drover/agent.json \
  --marker /mnt/root/var/lib/drover/joined --no-runtime --max-heartbeats 1 \
  && echo "drover-test-os: join done" || echo "drover-test-os: join failed"
sync
umount /mnt/root
poweroff -f
