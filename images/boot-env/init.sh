#!/bin/busybox sh
# /init of Drover's boot environment: mount the pseudo filesystems, load the drivers, bring
# the first NIC with link up with DHCP, run drover-agent (which reads drover.* from the
# kernel command line). On failure the console gets a shell.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp /mnt/target
mount -t devpts devpts /dev/pts
echo 0 > /proc/sys/kernel/printk 2>/dev/null || true

kver=$(cat /etc/drover/kernel)
while read -r m; do
  insmod "/lib/modules/$kver/$m" 2>/dev/null || true
done < /etc/drover/modules.order

ip link set lo up
nics=""
for d in /sys/class/net/*; do
  n=${d##*/}
  [ "$n" = lo ] && continue
  [ -e "$d/device" ] || continue
  ip link set "$n" up
  nics="$nics $n"
done
# Wait up to 10 s for a carrier, then DHCP on the first NIC that has one.
nic=""
i=0
while [ -z "$nic" ] && [ $i -lt 40 ]; do
  for n in $nics; do
    if [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ]; then nic=$n; break; fi
  done
  [ -z "$nic" ] && sleep 0.25
  i=$((i + 1))
done
if [ -z "$nic" ]; then set -- $nics; nic=${1:-}; fi
if [ -n "$nic" ]; then
  echo "drover: DHCP on $nic"
  udhcpc -i "$nic" -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script || echo "drover: no DHCP lease on $nic"
fi

if grep -q 'drover\.api=' /proc/cmdline; then
  /bin/drover-agent boot && exit 0
  echo "drover: the agent failed; dropping to a shell (drover-agent boot to retry)"
else
  echo "drover: no drover.api= on the kernel command line; dropping to a shell"
fi
exec setsid cttyhack sh
