#!/bin/sh
# Lease hook for dhclient (-sf) and udhcpc (-s) in the integration tests: configures the
# address inside the test's own network namespace and records each event in
# /tmp/drover-dhcp-client-<interface>.log. It never touches resolv.conf or routes.
if [ -n "$reason" ]; then  # dhclient
  iface=$interface; event=$reason; addr=$new_ip_address; mask=$new_subnet_mask
else                       # udhcpc
  iface=$interface; event=$1; addr=$ip; mask=${subnet:-255.255.255.0}
fi
log=/tmp/drover-dhcp-client-$iface.log
case "$event" in
  BOUND|RENEW|REBIND|REBOOT|bound|renew)
    prefix=$(echo "$mask" | awk -F. '{n=0; for(i=1;i<=4;i++){x=$i; while(x>0){n+=x%2; x=int(x/2)}} print n}')
    ip -4 addr flush dev "$iface"
    ip -4 addr add "$addr/$prefix" dev "$iface"
    echo "$event $addr boot_file=${new_filename:-$boot_file} host=${new_host_name:-$hostname}" >> "$log" ;;
  RELEASE|EXPIRE|STOP|deconfig)
    ip -4 addr flush dev "$iface"
    echo "$event $old_ip_address" >> "$log" ;;
  PREINIT|nak|leasefail) echo "$event" >> "$log" ;;
esac
exit 0
