#!/bin/sh
# Installs what the lab's Ceph cluster (cephlab.Start) needs from
# Debian's packages when any of it is missing: ceph-mon, ceph-mgr, ceph-osd
# and ceph-common (the ceph CLI, monmaptool and python3-rados). Package
# names given as arguments are installed too (make ceph-deps adds
# librados-dev, which the go-ceph client builds against). Needs root and
# apt-get; starts and enables no daemon. cephlab.Require runs this
# script; concurrent runs (test packages run in parallel) wait for each
# other.
set -eu

pkgs="ceph-mon ceph-mgr ceph-osd ceph-common"

missing() {
	m=
	for b in ceph-mon ceph-mgr ceph-osd ceph monmaptool; do
		command -v "$b" >/dev/null 2>&1 || m="$m $b"
	done
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import rados' 2>/dev/null || m="$m python3-rados"
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || m="$m $p"
	done
	echo "$m"
}

[ -n "$(missing "$@")" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "ceph-install.sh: missing:$(missing "$@"); run as root to install: apt-get install $pkgs $*" >&2
	exit 1
fi

exec 9>/var/lock/testlab-ceph-install.lock
flock 9
[ -n "$(missing "$@")" ] || exit 0

export DEBIAN_FRONTEND=noninteractive
# the package scripts start no daemon: the lab starts its own
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
trap '[ -z "$own_policy" ] || rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 $pkgs "$@"
left=$(missing "$@")
if [ -n "$left" ]; then
	echo "ceph-install.sh: still missing after apt-get install:$left" >&2
	exit 1
fi
