#!/usr/bin/env bash
# Builds one commit (default HEAD) twice, from two fresh clones in different directories, at
# different times, with different umasks, time zones and Go build caches, and checks that the
# release is byte-identical: the tarball, the hashes (which name every file inside it: main.js,
# lazy chunks, the five server executables) and the CLI. docs/design.md §12.1.
#
#   build/check-reproducible.sh [COMMIT]
#
# The first build uses the shared Go build cache; the second starts from an empty one, so its
# executables are compiled again rather than taken from the cache. KEEP=1 keeps the clones.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
commit=$(git rev-parse --verify "${1:-HEAD}^{commit}")
if [ -z "${1:-}" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "check-reproducible: note: uncommitted changes are not part of the check (it builds $commit)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mme2ee-repro.XXXXXX")
cleanup() { [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT

# build DIR UMASK TZ GOCACHE: clone, check out the commit, make dist; prints the seconds taken.
build() {
    local dir=$1 mask=$2 tz=$3 cache=$4 start
    start=$(date +%s)
    git clone --quiet --no-local --no-checkout "$repo" "$dir"
    git -C "$dir" -c advice.detachedHead=false checkout --quiet "$commit"
    (
        cd "$dir"
        umask "$mask"
        export TZ=$tz GOCACHE=$cache GOFLAGS=-mod=readonly
        make --no-print-directory dist >"$work/$(basename "$dir").log" 2>&1
    ) || { echo "check-reproducible: build in $dir failed:"; tail -30 "$work/$(basename "$dir").log"; exit 1; }
    echo $(( $(date +%s) - start ))
}

echo "check-reproducible: commit $commit"
t1=$(build "$work/a" 022 UTC "$(go env GOCACHE)")
echo "check-reproducible: first build ($work/a, shared Go cache) took ${t1}s"
sleep 2 # a later wall clock second for anything that would record it
t2=$(build "$work/second-clone-with-a-longer-path" 077 Pacific/Auckland "$work/gocache")
echo "check-reproducible: second build (fresh Go cache) took ${t2}s"

a=$work/a/dist b=$work/second-clone-with-a-longer-path/dist
status=0
for f in $(cd "$a" && ls); do
    if cmp -s "$a/$f" "$b/$f"; then
        echo "  same  $f  $(sha256sum <"$a/$f" | cut -c1-16)"
    else
        echo "  DIFFERENT  $f"
        status=1
    fi
done
if [ "$(cd "$a" && ls)" != "$(cd "$b" && ls)" ]; then
    echo "  the two dist/ folders list different files"
    status=1
fi
if [ $status != 0 ]; then
    echo "check-reproducible: FAILED; differing files inside the bundle:"
    diff <(grep -v '"sha256"\|"size"' "$a"/*.hashes.json) <(grep -v '"sha256"\|"size"' "$b"/*.hashes.json) || true
    exit 1
fi
echo "check-reproducible: OK, both builds are byte-identical ($(du -b "$a"/*.tar.gz | cut -f1) bytes tarball)"
