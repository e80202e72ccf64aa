#!/bin/sh
# Builds the librados (ceph) flavour of the provider for a release: the
# provider with -tags ceph (cgo, linked against this host's librados: needs
# librados-dev, make ceph-deps), for this host's platform, as
#   OUT/terraform-provider-pve_{VERSION}_{OS}_{ARCH}_ceph.zip
#   OUT/terraform-provider-pve_{VERSION}_ceph_checksums.txt      (sha256sum format)
#   OUT/terraform-provider-pve_{VERSION}_ceph_checksums.txt.sig  (GPG, when GPG_FINGERPRINT is set)
# The registries' SHA256SUMS may list nothing but the default build's
# platform archives and the manifest, so the ceph build has its own checksum
# file and signature; the release carries them beside the registry's files
# (.goreleaser.yml runs this as a before hook and uploads OUT/* as extra
# files). Users install the zip through a filesystem mirror (README.md, "The
# ceph build").
#
# Usage: release-ceph.sh VERSION OUT [IS_SNAPSHOT]
#   IS_SNAPSHOT "true" (GoReleaser's .IsSnapshot) allows no signing key.
set -eu
version=${1:?usage: release-ceph.sh VERSION OUT}
out=${2:?usage: release-ceph.sh VERSION OUT}
cd "$(dirname "$0")/.."

os=$(go env GOOS)
arch=$(go env GOARCH)
name=terraform-provider-pve
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=1 go build -tags ceph -trimpath -ldflags "-s -w -X main.version=$version" -o "$work/${name}_v$version" .
zip="${name}_${version}_${os}_${arch}_ceph.zip"
# python3's zipfile: no zip binary needed (python3 comes with Debian's
# Ceph packages, which the ceph build needs anyway).
(cd "$work" && python3 -m zipfile -c "$zip" "${name}_v$version")
mv "$work/$zip" "$out/$zip"
sums="${name}_${version}_ceph_checksums.txt"
(cd "$out" && sha256sum "$zip" > "$sums")
if [ -n "${GPG_FINGERPRINT:-}" ]; then
	gpg --batch --yes --local-user "$GPG_FINGERPRINT" --output "$out/$sums.sig" --detach-sign "$out/$sums"
elif [ "${3:-false}" = true ]; then
	echo "release-ceph.sh: GPG_FINGERPRINT is not set: $sums of this snapshot is not signed" >&2
else
	echo "release-ceph.sh: GPG_FINGERPRINT is not set: a release signs $sums" >&2
	exit 1
fi
ls -l "$out"
