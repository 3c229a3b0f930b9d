#!/bin/sh
# The machine behind ipmi_sim in the IPMI driver's test: ipmi_sim's `chassis_control`
# program, keeping the power and boot state as files in the directory it is given.
#   ipmi_sim_chassis.sh DIR get PARM...      prints PARM:VALUE for power and boot
#   ipmi_sim_chassis.sh DIR set PARM VAL...  power 0|1, reset 1, boot none|pxe|default|...
dir=$1
op=$2
shift 2
[ -d "$dir" ] || { echo "no state directory $dir"; exit 1; }
case $op in
  get)
    for parm in "$@"; do
      case $parm in
        power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
        boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
        *) echo "Invalid parameter: $parm"; exit 1 ;;
      esac
    done
    ;;
  set)
    while [ $# -ge 2 ]; do
      case $1 in
        power) echo "$2" > "$dir/power" ;;
        reset) ;;
        boot) echo "$2" > "$dir/boot" ;;
        identify) shift ;;
        *) echo "Invalid parameter: $1"; exit 1 ;;
      esac
      shift 2
    done
    ;;
  check) exit 1 ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
