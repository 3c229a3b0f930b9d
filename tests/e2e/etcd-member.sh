#!/bin/sh
# The test OS's etcd steps (installed as /usr/lib/drover-test/etcd-member), run on the
# installed system after drover-agent has started containerd: import the etcd image, run
# etcd in a container on the host network, and write a key through the member.
#
#   etcd-member master|worker NAME IP [MEMBER=IP ...]
#
# master: bootstraps a new cluster of one. worker: adds itself to the cluster through the
# other members' client endpoint (etcd's JSON gateway, POST /v3/cluster/member/add), then
# starts with --initial-cluster-state existing. The key drover/e2e/NAME = NAME is written
# through this member, so a read from any member proves it replicates.
set -u
role=$1 name=$2 ip=$3
shift 3
sock=/run/drover/containerd/containerd.sock
ctr() { /usr/bin/ctr --address "$sock" --namespace drover "$@"; }
peer=http://$ip:2380
client=http://$ip:2379
say() { echo "etcd-member: $*"; }
# (busybox wget -T crashes in Debian's static busybox 1.35: timeouts come from `timeout`.)

ctr images import /usr/lib/drover-test/etcd.tar >/dev/null || { say "import failed"; exit 1; }

cluster="$name=$peer"
state=new
if [ "$role" != master ]; then
  added=""
  for _ in $(seq 1 300); do
    for m in "$@"; do
      mname=${m%%=*}
      mip=${m#*=}
      [ "$mname" = "$name" ] && continue
      if timeout 60 wget -q -O /tmp/member-add.json --post-data "{\"peerURLs\":[\"$peer\"]}" \
          "http://$mip:2379/v3/cluster/member/add" 2>/dev/null; then
        added=$mip
        break 2
      fi
    done
    sleep 1
  done
  [ -n "$added" ] || { say "no member answered member/add"; exit 1; }
  say "added to the cluster through $added"
  cluster=""
  for m in "$@"; do cluster="${cluster:+$cluster,}${m%%=*}=http://${m#*=}:2380"; done
  state=existing
fi

# The data directory is on the machine's /run (tmpfs): the WAL preallocates 64 MiB, more
# than the small root keeps free, and the machine is not rebooted with it.
mkdir -p /run/etcd
ctr run -d --net-host --log-uri file:///run/etcd.log \
  --mount type=bind,src=/run/etcd,dst=/var/lib/etcd,options=rbind:rw \
  docker.io/drover/etcd:e2e etcd /usr/bin/etcd --name "$name" --data-dir /var/lib/etcd/data \
  --listen-client-urls "$client,http://127.0.0.1:2379" --advertise-client-urls "$client" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
  --initial-cluster "$cluster" --initial-cluster-state "$state" >/dev/null || { say "ctr run failed"; exit 1; }

key=$(printf 'drover/e2e/%s' "$name" | base64)
value=$(printf '%s' "$name" | base64)
for _ in $(seq 1 120); do
  if timeout 10 wget -q -O /tmp/put.json --post-data "{\"key\":\"$key\",\"value\":\"$value\"}" \
      http://127.0.0.1:2379/v3/kv/put 2>/dev/null; then
    say "member $name up ($role, cluster $cluster), key drover/e2e/$name written"
    exit 0
  fi
  sleep 1
done
say "etcd did not take the key; its log:"
tail -n 20 /run/etcd.log
ctr tasks ls
exit 1
