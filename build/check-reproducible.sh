#!/usr/bin/env bash
# Builds one commit (default HEAD) twice, from two fresh clones in different directories, at
# different times, with different umasks and time zones, and checks that the release is
# byte-identical: the tarball, the hashes (which name every file inside it: main.js, lazy
# chunks, the five server executables), the CLI and the extension zip. docs/design.md §12.1.
#
#   build/check-reproducible.sh [COMMIT]
#
# Both builds run webpack from scratch. Go packages may come from the shared build cache, so the
# second clone then compiles the executables of REPRO_COLD_PLATFORMS (default linux-amd64; "all"
# for the five, about five times longer) again with an empty cache and compares them too.
# KEEP=1 keeps the clones.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
commit=$(git rev-parse --verify "${1:-HEAD}^{commit}")
if [ -z "${1:-}" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "check-reproducible: note: uncommitted changes are not part of the check (it builds $commit)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mme2ee-repro.XXXXXX")
cleanup() { if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# build DIR UMASK TZ: clone, check out the commit, make dist and the extension; prints the seconds taken.
build() {
    local dir=$1 mask=$2 tz=$3 start log
    start=$(date +%s)
    log=$work/$(basename "$dir").log
    git clone --quiet --no-local --no-checkout "$repo" "$dir"
    git -C "$dir" -c advice.detachedHead=false checkout --quiet "$commit"
    (
        cd "$dir"
        umask "$mask"
        export TZ=$tz GOFLAGS=-mod=readonly
        make --no-print-directory extension >"$log" 2>&1
    ) || { echo "check-reproducible: build in $dir failed:" >&2; tail -30 "$log" >&2; exit 1; }
    echo $(( $(date +%s) - start ))
}

echo "check-reproducible: commit $commit"
a_dir=$work/a
b_dir=$work/second-clone-with-a-longer-path
t1=$(build "$a_dir" 022 UTC)
echo "check-reproducible: first build ($a_dir) took ${t1}s"
sleep 2 # a later wall clock second for anything that would record it
t2=$(build "$b_dir" 077 Pacific/Auckland)
echo "check-reproducible: second build ($b_dir) took ${t2}s"

status=0
same() { # same A B LABEL
    if cmp -s "$1" "$2"; then
        echo "  same       $3  $(sha256sum <"$1" | cut -c1-16)"
    else
        echo "  DIFFERENT  $3"
        status=1
    fi
}
while IFS= read -r f; do
    same "$a_dir/dist/$f" "$b_dir/dist/$f" "dist/${f#./}"
done < <(cd "$a_dir/dist" && find . -type f | sort)
if [ "$(cd "$a_dir/dist" && find . | sort)" != "$(cd "$b_dir/dist" && find . | sort)" ]; then
    echo "  the two dist/ folders list different files"
    status=1
fi

# The executables again, compiled from nothing: an empty Go build cache, in the second clone,
# with the Makefile's own rule (same flags).
platforms=${REPRO_COLD_PLATFORMS:-linux-amd64}
if [ "$platforms" = all ]; then
    platforms=$(sed -n 's/^PLATFORMS := //p' Makefile)
fi
start=$(date +%s)
for p in $platforms; do
    exe=plugin-$p
    if [[ $p == windows-* ]]; then exe=$exe.exe; fi
    rm -f "$b_dir/server/dist/$exe"
    (
        cd "$b_dir"
        umask 077
        GOCACHE=$work/gocache GOFLAGS=-mod=readonly make --no-print-directory "server/dist/$exe" >>"$work/cold.log" 2>&1
    ) || { echo "check-reproducible: cold build of $exe failed:"; tail -20 "$work/cold.log"; exit 1; }
    same "$a_dir/server/dist/$exe" "$b_dir/server/dist/$exe" "server/dist/$exe compiled again with an empty Go build cache"
done
echo "check-reproducible: the cold rebuild ($platforms) took $(( $(date +%s) - start ))s"

if [ $status != 0 ]; then
    echo "check-reproducible: FAILED; files of the bundle whose hashes differ:"
    diff <(grep -v '"sha256"\|"size"' "$a_dir"/dist/*.hashes.json) <(grep -v '"sha256"\|"size"' "$b_dir"/dist/*.hashes.json) || true
    exit 1
fi
echo "check-reproducible: OK, byte-identical ($(du -b "$a_dir"/dist/*.tar.gz | cut -f1) bytes tarball, $(du -b "$a_dir"/dist/*.zip | cut -f1) bytes extension zip)"
