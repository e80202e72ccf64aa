#!/bin/sh
# Prints the provider's version, as a semantic version without a leading v:
# the tag's version when HEAD is a release tag (vX.Y.Z) and the tree is
# clean, otherwise VERSION's next release with "-dev" (0.1.0-dev). A
# pre-release: a local build never poses as a release, and the CLIs take it
# only when a configuration asks for it by exact version.
set -eu
cd "$(dirname "$0")/.."
next=$(tr -d ' \n' < VERSION)
tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null || true)
if [ -n "$tag" ] && [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	echo "${tag#v}"
else
	echo "${next}-dev"
fi
