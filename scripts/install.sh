#!/bin/sh
# Installs a build of the provider where OpenTofu and Terraform find it
# without dev_overrides: a local filesystem mirror, in its unpacked layout
#   DIR/HOSTNAME/hcilab/pve/VERSION/OS_ARCH/terraform-provider-pve_vVERSION
# under both registry hostnames, since "hcilab/pve" means
# registry.opentofu.org/hcilab/pve to OpenTofu and
# registry.terraform.io/hcilab/pve to Terraform.
#
# DIR defaults to ~/.terraform.d/plugins, a directory both CLIs search
# without any CLI configuration on Linux and macOS (OpenTofu:
# cmd/tofu/provider_source.go implicitProviderSource and
# internal/command/cliconfig/config_unix.go dataDirs; Terraform: its
# "implied local mirror directories"). Any other DIR is a mirror of your own,
# named in a provider_installation block (README.md, "Use a local build").
#
# Usage: install.sh VERSION FILE [DIR]
#   FILE is the built binary, or a release archive (.zip) holding it.
#   OS_ARCH is this machine's (go env GOOS/GOARCH), or GOOS/GOARCH when set.
set -eu

version=${1:?usage: install.sh VERSION FILE [DIR]}
file=${2:?usage: install.sh VERSION FILE [DIR]}
dir=${3:-${HOME:?HOME is not set}/.terraform.d/plugins}

# The CLIs read the version from the directory name and refuse what is not
# a semantic version (no leading v).
echo "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$' ||
	{ echo "install.sh: version $version is not a semantic version (X.Y.Z or X.Y.Z-pre)" >&2; exit 1; }
os=${GOOS:-$(go env GOOS)}
arch=${GOARCH:-$(go env GOARCH)}
name="terraform-provider-pve_v$version"
[ "$os" = windows ] && name="$name.exe"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$file" in
*.zip)
	unzip -q -o "$file" -d "$tmp"
	bin=$(find "$tmp" -type f -name 'terraform-provider-pve_v*' | head -n 1)
	[ -n "$bin" ] || { echo "install.sh: $file holds no terraform-provider-pve_v* binary" >&2; exit 1; }
	;;
*) bin=$file ;;
esac

for host in registry.terraform.io registry.opentofu.org; do
	dest="$dir/$host/hcilab/pve/$version/${os}_$arch"
	mkdir -p "$dest"
	# Replace, never write into a binary a running provider may hold open.
	cp "$bin" "$dest/.$name.tmp"
	chmod 755 "$dest/.$name.tmp"
	mv -f "$dest/.$name.tmp" "$dest/$name"
	echo "installed $dest/$name"
done
