#!/usr/bin/env bash
# The Debian package as an operator meets it, in a fresh Debian 12 root:
#
#   tests/packaging/package_test.sh BUILD_DIR
#
#  1. `cmake --build BUILD_DIR --target deb`, then lintian: no errors; /etc/drover/cluster.yaml
#     is its one conffile and validates; an "older" package is made from it by repacking
#     (version <version>~old, without the conffile, as packages before it were);
#  2. a fresh Debian 12 root (mmdebstrap; the pristine tarball is cached for a week in
#     ~/.cache/drover/package-test), `apt-get install` of the older package in it: the drover
#     user, /var/lib/drover owned by it, the unit enabled, nothing written to /etc/drover;
#  3. in a network namespace of its own (a veth at 192.0.2.1/24, so no DHCP reaches a real
#     network) the root is booted with systemd-nspawn --boot when this machine can; else the
#     unit's ExecStart runs as its User= with its capabilities (setpriv) in a chroot, and the
#     systemctl steps are done by hand (the test then ends as skipped, saying why):
#     `drover init --interface` + validate, a state database of the version 1 layout
#     (tests/testdata/state/v1-state.db, as an older drover left it), start (migrated, the
#     backup beside it), GET /healthz, the journal's entries structured (DROVER_COMPONENT,
#     DROVER_EVENT and the line's key=value pairs as fields), a broken declaration +
#     reload (still serving, the log says why); an edited declaration, then an upgrade to the
#     current package with --force-confold (restarted, the edit kept, the packaged one beside
#     it as .dpkg-dist, /var/lib/drover intact, no second migration); apt-get remove (stopped,
#     /var/lib/drover kept, the migrated database still holds the version 1 nodes), apt-get
#     purge (/var/lib/drover and /etc/drover gone); a fresh install of the current package
#     (the starter conffile: the service refuses it with status 78, `drover init` replaces
#     it) and dpkg --purge.
#
# PACKAGE_TEST_BOOT=chroot takes the chroot way even where nspawn could boot.
# Needs root, mmdebstrap, lintian, systemd-container and the Debian mirror. Exit 77 (CTest:
# skipped) when it cannot run; under CI=true a skip fails.
set -euo pipefail
build=$(cd "$1" && pwd)
v1_db=$(cd "$(dirname "$0")/../testdata/state" && pwd)/v1-state.db
start_s=$(date +%s)
ns=drvpkg$$
veth=dpkg$$
root=""
old_dir=""
nspawn_pid=""
serve_pid=""
mounted=()

say() { echo "[$(($(date +%s) - start_s))s] $*"; }
skip() {
  say "SKIPPED: $*"
  [[ ${CI:-} == true ]] && { echo "CI=true: a skipped test fails"; exit 1; }
  exit 77
}
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
  set +e
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null
  if [[ -n $nspawn_pid ]]; then
    kill -TERM "$nspawn_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$nspawn_pid" 2>/dev/null
  fi
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  ip link del "$veth" 2>/dev/null
  [[ -n $root && -d $root ]] && rm -rf --one-file-system "$root"
  [[ -n $old_dir && -d $old_dir ]] && rm -rf "$old_dir"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || skip "needs root (mmdebstrap, chroot, network namespaces)"
for tool in mmdebstrap lintian systemd-nspawn ip setpriv curl sqlite3; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/packages/package.txt)"
done

# --- 1. the package ---------------------------------------------------------------------
say "building the package"
cmake --build "$build" --target deb >"$build/package-test-cpack.log" 2>&1 ||
  { cat "$build/package-test-cpack.log"; fail "cmake --build --target deb"; }
deb=$(ls -t "$build"/drover_*_amd64.deb | head -1)
say "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -f "$deb" Package Version Depends
# libsystemd0 (the journal's native protocol) comes from dpkg-shlibdeps.
[[ $(dpkg-deb -f "$deb" Depends) == *libsystemd0* ]] || fail "Depends does not name libsystemd0"
if ! lintian --fail-on error --tag-display-limit 0 "$deb" >"$build/package-test-lintian.log" 2>&1; then
  cat "$build/package-test-lintian.log"
  fail "lintian reports errors"
fi
say "lintian: no errors ($(grep -c '^[WI]:' "$build/package-test-lintian.log" || true) warnings/infos)"
conffiles=$(dpkg-deb -I "$deb" conffiles) || fail "the package has no conffiles"
[[ $conffiles == /etc/drover/cluster.yaml ]] || fail "conffiles: $conffiles"
version=$(dpkg-deb -f "$deb" Version)

# The older package: this one repacked under a lower version, without the conffile (and the
# starter's copy), as packages were before the starter was shipped. Its binaries are these.
old_dir=$(mktemp -d /var/tmp/drover-package-old-XXXXXX)
dpkg-deb -R "$deb" "$old_dir/pkg"
"$build/bin/drover" validate "$old_dir/pkg/etc/drover/cluster.yaml" >/dev/null ||
  fail "the packaged starter declaration does not validate"
rm "$old_dir/pkg/etc/drover/cluster.yaml" "$old_dir/pkg/usr/share/drover/cluster.yaml.starter" \
  "$old_dir/pkg/DEBIAN/conffiles"
sed -i '/cluster\.yaml/d' "$old_dir/pkg/DEBIAN/md5sums"
sed -i "s/^Version: .*/Version: ${version}~old/" "$old_dir/pkg/DEBIAN/control"
dpkg-deb -Zgzip -z1 --root-owner-group -b "$old_dir/pkg" "$old_dir/drover-old.deb" >/dev/null ||
  fail "repacking the older package"
say "conffile /etc/drover/cluster.yaml (validates); older package ${version}~old repacked"

# --- 2. a fresh Debian 12 root with the package -----------------------------------------
cache=${XDG_CACHE_HOME:-$HOME/.cache}/drover/package-test
base=$cache/bookworm.tar
mkdir -p "$cache"
if [[ ! -s $base || -n $(find "$base" -mtime +7) ]]; then
  say "making a Debian 12 root with mmdebstrap (cached in $base)"
  mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,iproute2,ca-certificates \
    --mode=root bookworm "$cache/bookworm.new.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" >"$build/package-test-mmdebstrap.log" 2>&1 ||
    { tail -20 "$build/package-test-mmdebstrap.log"; skip "mmdebstrap could not make a Debian 12 root (mirror unreachable?)"; }
  mv "$cache/bookworm.new.tar" "$base"   # mmdebstrap picks the format by the suffix: .tar
fi
root=$(mktemp -d /var/tmp/drover-package-XXXXXX)
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in proc sys dev; do
  mount --rbind "/$m" "$root/$m" && mounted+=("$root/$m")
done
in_root() { chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
in_uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$root/etc/passwd"; }
in_gid() { awk -F: -v g="$1" '$1 == g { print $3 }' "$root/etc/group"; }

mkdir -p "$root/root/debs"
cp "$deb" "$root/root/debs/drover-new.deb"
cp "$old_dir/drover-old.deb" "$root/root/debs/drover-old.deb"
say "apt-get install ./drover-old.deb (${version}~old)"
in_root apt-get -q update >"$build/package-test-apt.log" 2>&1 ||
  { cat "$build/package-test-apt.log"; skip "apt-get update in the root failed (Debian mirror unreachable?)"; }
in_root apt-get install -y -q --no-install-recommends /root/debs/drover-old.deb >"$build/package-test-apt.log" 2>&1 ||
  { cat "$build/package-test-apt.log"; fail "apt-get install"; }
in_root getent passwd drover >/dev/null || fail "no drover user"
[[ $(in_root stat -c %U:%G /var/lib/drover) == drover:drover ]] || fail "/var/lib/drover is not drover's"
[[ -L $root/etc/systemd/system/multi-user.target.wants/drover.service ]] || fail "drover.service is not enabled"
[[ ! -e $root/etc/drover/cluster.yaml ]] || fail "the package wrote /etc/drover/cluster.yaml"
for f in usr/bin/drover usr/bin/drover-agent usr/share/drover/boot-env/build.sh usr/share/man/man1/drover.1.gz \
  usr/share/bash-completion/completions/drover usr/share/doc/drover/examples/cluster.yaml lib/systemd/system/drover.service; do
  [[ -e $root/$f ]] || fail "/$f is not installed"
done
in_root test -e /usr/lib/ipxe/undionly.kpxe || fail "ipxe was not pulled in"
in_root drover validate /usr/share/doc/drover/examples/cluster.yaml || fail "the packaged example does not validate"
say "installed: user, state directory, unit, files"
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}"; done
mounted=()

# --- 3. a network of its own ------------------------------------------------------------
ip netns add "$ns"
ip link add "$veth" type veth peer name "${veth}p"
ip link set "${veth}p" netns "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link set "${veth}p" name pkg0
ip -n "$ns" addr add 192.0.2.1/24 dev pkg0
ip -n "$ns" link set pkg0 up
ip link set "$veth" up

# Boot with systemd-nspawn if this machine can.
mode=chroot
why=""
nspawn_log=$build/package-test-nspawn.log
if [[ ${PACKAGE_TEST_BOOT:-} == chroot ]]; then
  echo "PACKAGE_TEST_BOOT=chroot" >"$nspawn_log"
else
  systemd-nspawn --quiet --boot --register=no --keep-unit --network-namespace-path="/run/netns/$ns" \
    -D "$root" >"$nspawn_log" 2>&1 </dev/null &
  nspawn_pid=$!
fi
leader=""
for _ in $(seq 150); do
  [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null || break
  for c in $(pgrep -P "$nspawn_pid") $(pgrep -P "$(pgrep -P "$nspawn_pid" | head -1)" 2>/dev/null); do
    [[ $(cat "/proc/$c/comm" 2>/dev/null) == systemd ]] && leader=$c
  done
  if [[ -n $leader ]] &&
    nsenter -t "$leader" -m -u -i -n -p systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded'; then
    mode=nspawn
    break
  fi
  sleep 0.2
done
if [[ $mode != nspawn ]]; then
  why="systemd-nspawn --boot did not come up: $(grep -v '^$' "$nspawn_log" | tail -3 | tr '\n' ' ')"
  [[ ${PACKAGE_TEST_BOOT:-} == chroot ]] && why="PACKAGE_TEST_BOOT=chroot asked for a chroot"
  if [[ -n $nspawn_pid ]]; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=""
  fi
  say "$why; the rest runs in a chroot"
  for m in proc sys dev; do
    mount --rbind "/$m" "$root/$m" && mounted+=("$root/$m")
  done
else
  say "booted with systemd-nspawn (init pid $leader)"
fi

# Runs a command in the root, in its network namespace.
run() {
  if [[ $mode == nspawn ]]; then
    nsenter -t "$leader" -m -u -i -n -p /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
  else
    ip netns exec "$ns" chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
  fi
}
healthy() { run curl -fsS --max-time 2 http://192.0.2.1:8080/healthz >/dev/null 2>&1; }
wait_healthy() {
  for _ in $(seq 100); do healthy && return 0; sleep 0.2; done
  return 1
}
serve_log() {
  if [[ $mode == nspawn ]]; then run journalctl -u drover --no-pager -o cat; else cat "$root/var/log/drover-test.log"; fi
}

# The unit's own command line and user, for the chroot.
unit=$root/lib/systemd/system/drover.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
start_service() {
  if [[ $mode == nspawn ]]; then
    run systemctl start drover || { run systemctl status drover --no-pager || true; return 1; }
    [[ $(run systemctl is-active drover) == active ]]
  else
    ip netns exec "$ns" chroot "$root" setpriv --reuid="$user" --regid="$user" --init-groups \
      --inh-caps="$caps" --ambient-caps="$caps" -- $exec_start >"$root/var/log/drover-test.log" 2>&1 &
    serve_pid=$!
  fi
}
reload_service() {
  if [[ $mode == nspawn ]]; then run systemctl reload drover; else kill -HUP "$serve_pid"; sleep 1; fi
}

# --- 4. init, start, reload, remove, purge ----------------------------------------------
run drover init --interface pkg0 || fail "drover init"
run drover validate /etc/drover/cluster.yaml || fail "the starter declaration does not validate"
run drover init --interface pkg0 2>/dev/null && fail "drover init overwrote /etc/drover/cluster.yaml"
say "drover init wrote a declaration that validates, and refuses to overwrite it"

install -o "$(in_uid drover)" -g "$(in_gid drover)" -m 0600 "$v1_db" "$root/var/lib/drover/state.db"
start_service || fail "start"
wait_healthy || { serve_log; fail "/healthz does not answer"; }
say "started ($mode): /healthz answers"
serve_log | grep -q SERVE_STARTED || { serve_log; fail "no SERVE_STARTED in the log"; }
run test -f /var/lib/drover/state.db || fail "no state database in /var/lib/drover"
serve_log | grep -q 'STATE_MIGRATED .*from=1 to=3' || { serve_log; fail "the version 1 database was not migrated"; }
run test -f /var/lib/drover/state.db.v1.bak || fail "no backup of the version 1 database"
say "the version 1 state database was migrated on start, its backup beside it"

# Under systemd stderr is the journal's stream: every line is a structured entry instead.
if [[ $mode == nspawn ]]; then
  field() { grep -E "\"$1\" *: *\"$2\"" || true; }
  entry=$(run journalctl -u drover -o json --no-pager | field DROVER_EVENT SERVE_STARTED | tail -1)
  [[ -n $entry ]] || { run journalctl -u drover -o json --no-pager | tail -3; fail "no journal entry with DROVER_EVENT=SERVE_STARTED"; }
  for f in DROVER_COMPONENT:serve DROVER_CONFIG:/etc/drover/cluster.yaml PRIORITY:6 SYSLOG_IDENTIFIER:drover; do
    [[ -n $(field "${f%%:*}" "${f#*:}" <<<"$entry") ]] || { echo "$entry"; fail "the SERVE_STARTED entry has no ${f%%:*}=${f#*:}"; }
  done
  [[ $(run journalctl -u drover --no-pager -o cat DROVER_COMPONENT=state) == *STATE_MIGRATED* ]] ||
    fail "journalctl -u drover DROVER_COMPONENT=state does not find STATE_MIGRATED"
  say "journal: SERVE_STARTED has DROVER_COMPONENT=serve, DROVER_EVENT, DROVER_CONFIG; DROVER_COMPONENT=state filters"
fi

cp "$root/etc/drover/cluster.yaml" "$root/tmp/good.yaml"
printf 'networks:\n  - name: [broken\n' >>"$root/etc/drover/cluster.yaml"
reload_service || { [[ $mode == nspawn ]] && run systemctl status drover --no-pager; fail "reload"; }
sleep 0.5
healthy || { serve_log; fail "a broken declaration stopped the service"; }
serve_log | grep -q RELOAD_REJECTED || { serve_log; fail "the log does not say why the reload was refused"; }
[[ $mode != nspawn ]] || [[ $(run systemctl is-active drover) == active ]] || fail "the unit is no longer active"
say "reload with a broken declaration: still serving; $(serve_log | grep -m1 RELOAD_REJECTED | cut -c1-120)"
cp "$root/tmp/good.yaml" "$root/etc/drover/cluster.yaml"

# --- 5. upgrade to the current package, the declaration edited ---------------------------
sed -i 's/^    lease: 1h$/    lease: 2h/' "$root/etc/drover/cluster.yaml"
grep -q '^    lease: 2h$' "$root/etc/drover/cluster.yaml" || fail "could not edit the declaration"
run drover validate /etc/drover/cluster.yaml >/dev/null || fail "the edited declaration does not validate"
reload_service || fail "reload of the edited declaration"
conf_sum=$(sha256sum <"$root/etc/drover/cluster.yaml")
# Everything in /var/lib/drover but the live databases is unchanged by an upgrade.
state_sums() {
  (cd "$root/var/lib/drover" && find . -type f ! -name '*.db' ! -name '*.db-wal' ! -name '*.db-shm' \
    -print0 | sort -z | xargs -0r sha256sum)
}
state_before=$(state_sums)
[[ -n $state_before ]] || fail "no state files besides the databases"
if [[ $mode == nspawn ]]; then
  invocation=$(run systemctl show -p InvocationID --value drover)
else
  kill -TERM "$serve_pid"
  wait "$serve_pid" || true
  serve_pid=""
fi
say "upgrade: apt-get install --force-confold ./drover-new.deb ($version)"
run apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold \
  /root/debs/drover-new.deb >"$build/package-test-upgrade.log" 2>&1 ||
  { cat "$build/package-test-upgrade.log"; fail "the upgrade"; }
[[ $(run dpkg-query -W -f '${Version}' drover) == "$version" ]] || fail "the upgrade did not install $version"
[[ $(run dpkg-query -W -f '${Conffiles}' drover) == *" /etc/drover/cluster.yaml "* ]] ||
  fail "/etc/drover/cluster.yaml is not a conffile of the installed package"
if [[ $mode == nspawn ]]; then
  [[ $(run systemctl show -p InvocationID --value drover) != "$invocation" ]] || fail "the upgrade did not restart the service"
  [[ $(run systemctl is-active drover) == active ]] || { run systemctl status drover --no-pager; fail "not active after the upgrade"; }
  new_log() { run journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(run systemctl show -p InvocationID --value drover)"; }
else
  start_service || fail "start after the upgrade"
  new_log() { serve_log; }
fi
wait_healthy || { serve_log; fail "/healthz does not answer after the upgrade"; }
[[ $(sha256sum <"$root/etc/drover/cluster.yaml") == "$conf_sum" ]] || fail "the upgrade changed the edited declaration"
cmp -s "$root/etc/drover/cluster.yaml.dpkg-dist" "$root/usr/share/drover/cluster.yaml.starter" ||
  fail "the packaged starter is not beside the kept declaration as cluster.yaml.dpkg-dist"
[[ $(state_sums) == "$state_before" ]] || fail "the upgrade changed /var/lib/drover"
for _ in $(seq 25); do new_log | grep -q SERVE_STARTED && break; sleep 0.2; done
new_log | grep -q SERVE_STARTED || { new_log; fail "no SERVE_STARTED after the upgrade"; }
new_log | grep -q STATE_MIGRATED && { new_log; fail "the database was migrated a second time"; }
run drover init --interface pkg0 2>/dev/null && fail "drover init overwrote the kept declaration"
say "upgraded to $version: restarted, /healthz answers, the edited declaration kept (.dpkg-dist beside it), state intact"

if [[ $mode == chroot ]]; then
  kill -TERM "$serve_pid"
  wait "$serve_pid" || true
  serve_pid=""
fi
run apt-get remove -y -q drover >/dev/null || fail "apt-get remove"
healthy && fail "still serving after apt-get remove"
[[ $mode != nspawn ]] || ! run systemctl is-active -q drover || fail "the unit is active after remove"
run test -f /var/lib/drover/state.db || fail "apt-get remove lost /var/lib/drover"
run test -f /etc/drover/cluster.yaml || fail "apt-get remove lost /etc/drover/cluster.yaml"
# The database the upgrade carried over, read with the service stopped.
[[ $(sqlite3 "file:$root/var/lib/drover/state.db?mode=ro" 'PRAGMA user_version') == 3 ]] ||
  fail "the state database is not at version 3"
[[ $(sqlite3 "file:$root/var/lib/drover/state.db?mode=ro" 'SELECT group_concat(name) FROM (SELECT name FROM nodes ORDER BY name)') == master-1,worker-2 ]] ||
  fail "the version 1 nodes did not survive the migration and the upgrade"
say "apt-get remove: stopped, /var/lib/drover and the declaration kept"
run apt-get purge -y -q drover >/dev/null || fail "apt-get purge"
run test -e /var/lib/drover && fail "apt-get purge kept /var/lib/drover"
run test -e /etc/drover && fail "apt-get purge kept /etc/drover"
say "apt-get purge: /var/lib/drover and /etc/drover removed"

# --- 6. a fresh install of the current package: the starter conffile ---------------------
run dpkg -i /root/debs/drover-new.deb >/dev/null || fail "dpkg -i of the current package"
run cmp -s /etc/drover/cluster.yaml /usr/share/drover/cluster.yaml.starter || fail "the starter is not installed"
if [[ $mode == nspawn ]]; then
  run systemctl start drover 2>/dev/null && fail "the service started with the packaged starter"
  [[ $(run systemctl show -p ExecMainStatus --value drover) == 78 ]] || fail "the starter did not exit with 78"
  [[ $(run systemctl is-failed drover) == failed ]] || fail "the unit retries the starter"
else
  rc=0
  run setpriv --reuid="$user" --regid="$user" --init-groups -- $exec_start \
    >"$root/var/log/drover-test.log" 2>&1 || rc=$?
  [[ $rc == 78 ]] || fail "the starter: exit status $rc, not 78"
fi
serve_log | grep -q 'is the packaged starter declaration' || { serve_log; fail "drover serve does not say why"; }
run drover init --interface pkg0 >/dev/null || fail "drover init did not replace the packaged starter"
run drover validate /etc/drover/cluster.yaml >/dev/null || fail "the replaced declaration does not validate"
run dpkg --purge drover >/dev/null || fail "dpkg --purge"
run test -e /etc/drover && fail "dpkg --purge kept /etc/drover"
say "fresh install: the starter refused by the service (status 78), replaced by drover init; purged"

say "PASS in $(($(date +%s) - start_s))s ($mode)"
[[ $mode == nspawn ]] || skip "$why (every step passed in a chroot, the systemd steps done by hand)"
