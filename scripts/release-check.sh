#!/usr/bin/env bash
# make release-check: builds a snapshot release with the pinned GoReleaser
# (.goreleaser.yml, signed with a throwaway GPG key made here) and checks it
# against the registries' rules (cmd/release-check): archive names, the
# checksum file's lines, the manifest, the binaries' version, the ceph
# build's own checksum file, and both signatures (gpg --verify).
#
# By default only this machine's platform is built (the other platforms'
# builds are the same but for GOOS/GOARCH, and cross-compiling all eight
# costs many minutes of CPU): the config is .goreleaser.yml with its goos and
# goarch lists narrowed to this machine's. RELEASE_CHECK_ALL=1 builds every
# platform of .goreleaser.yml as it is.
#
# Usage: release-check.sh GORELEASER
set -euo pipefail
goreleaser=${1:?usage: release-check.sh GORELEASER}
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# A throwaway signing key, in a GPG home of its own.
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "release-check <release-check@example.invalid>" ed25519 sign 1d 2>/dev/null
GPG_FINGERPRINT=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
export GPG_FINGERPRINT

config=.goreleaser.yml
if [ -z "${RELEASE_CHECK_ALL:-}" ]; then
	config="$work/goreleaser.yml"
	sed -e "s/^\(    goos: \).*/\1[$(go env GOOS)]/" -e "s/^\(    goarch: \).*/\1[$(go env GOARCH)]/" .goreleaser.yml > "$config"
	grep -q "goos: \[$(go env GOOS)\]" "$config" || { echo "release-check.sh: could not narrow the goos list of .goreleaser.yml" >&2; exit 1; }
fi

# A snapshot of the next release: VERSION with -snapshot appended
# (.goreleaser.yml's snapshot.version_template).
version="$(tr -d ' \n' < VERSION)-snapshot"
SNAPSHOT_VERSION="$version" "$goreleaser" release --snapshot --clean --config "$config" >"$work/goreleaser.log" 2>&1 ||
	{ cat "$work/goreleaser.log" >&2; echo "release-check.sh: goreleaser failed" >&2; exit 1; }
ls dist/*.zip dist/*SHA256SUMS* dist-ceph/* | sed 's/^/    /'

go run ./cmd/release-check -version "$version" -dist dist -ceph dist-ceph
for sums in "dist/terraform-provider-pve_${version}_SHA256SUMS" "dist-ceph/terraform-provider-pve_${version}_ceph_checksums.txt"; do
	gpg --batch --quiet --verify "$sums.sig" "$sums" 2>"$work/verify.log" ||
		{ cat "$work/verify.log" >&2; echo "release-check.sh: the signature of $sums does not verify" >&2; exit 1; }
	echo "release-check: $(basename "$sums").sig verifies"
done
