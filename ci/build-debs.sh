#!/bin/bash
# ci/build-debs.sh - build the Debian packages of this tree (`make debs`).
#
#   ci/build-debs.sh [OUTDIR]     default OUTDIR: build/debs (ignored by git)
#
# SNF_DEBS_VERSION=V builds version V instead of debian/changelog's (a changelog
# entry is added in the copy only; the package tests use it to test upgrades).
#
# Builds from a copy of the tree (tracked files plus new, not ignored ones) so
# the work tree stays clean, with Debian's tools and python on a clean PATH
# (pyenv's python3 on PATH would be picked up otherwise). The unit tests run
# during the build; DEB_BUILD_OPTIONS=nocheck skips them. Prints the .deb paths.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
OUT=$(realpath -m "${1:-build/debs}")
WORK=$(mktemp -d /tmp/snf-debs-build.XXXXXX)
trap '[ -n "${KEEP_BUILD:-}" ] || rm -rf "$WORK"' EXIT

SRC=$WORK/synnefo-asterias
mkdir -p "$SRC" "$OUT"
# Never leave packages of an earlier build beside a failed one.
rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo "$OUT"/build.log
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ ! -e "$f" ] || printf '%s\0' "$f"; done > "$WORK/files"
tar -C "$TOP" --null -T "$WORK/files" -cf - | tar -C "$SRC" -xf -

if [ -n "${SNF_DEBS_VERSION:-}" ]; then
  { printf 'synnefo-asterias (%s) unstable; urgency=medium\n\n  * Build of version %s.\n\n' \
      "$SNF_DEBS_VERSION" "$SNF_DEBS_VERSION"
    printf ' -- Synnefo asterias maintainers <synnefo-devel@example.org>  %s\n\n' "$(date -R)"
    cat "$SRC/debian/changelog"; } > "$WORK/changelog"
  mv "$WORK/changelog" "$SRC/debian/changelog"
fi

start=$(date +%s)
(cd "$SRC" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK" LANG=C.UTF-8 \
   DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}" \
   dpkg-buildpackage -us -uc -b) > "$WORK/build.log" 2>&1 || {
  tail -n 80 "$WORK/build.log" >&2
  echo "ci/build-debs.sh: dpkg-buildpackage failed (last lines above)" >&2
  exit 1
}
mv "$WORK"/*.deb "$WORK"/*.changes "$WORK"/*.buildinfo "$OUT"/
cp "$WORK/build.log" "$OUT/build.log"
# The files the packages were built from (the tree may change while tests run).
tr '\0' '\n' < "$WORK/files" > "$OUT/source-files.txt"
echo "ci/build-debs.sh: built in $(( $(date +%s) - start )) s into $OUT:" >&2
ls -1 "$OUT"/*.deb
