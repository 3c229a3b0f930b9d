#!/usr/bin/env bash
# The packaged systemd unit (packaging/systemd/drover.service): `systemd-analyze verify`
# has nothing to say about it (with ExecStart= pointing at the drover just built), and
# `systemd-analyze security` rates its exposure at most MAX (docs/install.md states it).
#
#   tests/packaging/unit_verify.sh UNIT DROVER [MAX]
#
# Exit 77 (CTest: skipped) without systemd-analyze; under CI=true that is a failure.
set -euo pipefail
unit=$1 drover=$2 max=${3:-1.5}

skip() {
  echo "SKIPPED: $*"
  [[ ${CI:-} == true ]] && { echo "CI=true: a skipped test fails"; exit 1; }
  exit 77
}
command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (apt-get install systemd)"
drover=$(realpath "$drover")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/bin/drover|$drover|" "$unit" > "$work/drover.service"

if ! out=$(cd "$work" && systemd-analyze verify --man=no ./drover.service 2>&1); then
  echo "$out"
  echo "FAIL: systemd-analyze verify rejects the unit"
  exit 1
fi
if grep -F drover.service <<<"$out"; then
  echo "FAIL: systemd-analyze verify warns about the unit"
  exit 1
fi
echo "verify: clean"

report=$(cd "$work" && systemd-analyze security --offline=true --no-pager ./drover.service 2>&1)
score=$(awk '/Overall exposure level/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) print $i }' <<<"$report")
[[ -n $score ]] || { echo "$report"; echo "FAIL: no exposure score"; exit 1; }
echo "security: exposure $score (at most $max)"
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
  grep '✗' <<<"$report" || true
  echo "FAIL: exposure $score is above $max"
  exit 1
fi
