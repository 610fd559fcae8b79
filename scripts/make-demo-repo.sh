#!/bin/sh
# Makes a git repository with history from a copy of an example distribution:
# commit 1 is the distribution as it is, commit 2 changes one leaf spec (its
# Release is bumped and a %changelog-free comment line added). The source tree
# is never modified.
# usage: scripts/make-demo-repo.sh SOURCE_DIR DEST_DIR [LEAF_SPEC_NAME]
set -eu
src=$1
dest=$2
leaf=${3:-hello}

git_() {
	git -c user.name=shipyard-demo -c user.email=demo@shipyard.invalid \
		-c init.defaultBranch=main -c commit.gpgsign=false "$@"
}

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest"
cd "$dest"
git_ init -q .
git_ add -A
git_ commit -q -m "Initial import of $(basename "$src")"
spec=SPECS/$leaf/$leaf.spec
[ -f "$spec" ] || { echo "make-demo-repo: $spec: no such spec" >&2; exit 1; }
# Release: N%{?dist} -> N+1%{?dist}
awk '/^Release:/ && !done { n = $2; sub(/%.*/, "", n); sub(/^[0-9]+/, n + 1, $2); done = 1 }
     { print }' "$spec" > "$spec.new"
mv "$spec.new" "$spec"
git_ commit -q -am "$leaf: bump release"
git_ log --oneline
