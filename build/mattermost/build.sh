#!/usr/bin/env bash
# Build the pinned Mattermost server (Team Edition) into .mattermost/bin/ and
# put i18n/, templates/ and fonts/ where the binary looks for them.
# Usage: build/mattermost/build.sh [--force]
#   MM_BUILD_MMCTL=1  also build mmctl (not needed by mm-up.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=/dev/null
. "$here/VERSION"

state="$root/.mattermost"
bin="$state/bin/mattermost"
force=${1:-}

# A go.work above the repo or a stray GOFLAGS=-mod=vendor must not change what we build.
export GOWORK=off
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

# Cheap staleness check first, so a warm `make mm-up` costs milliseconds: the
# stamp is newer than every input that can change the binary. (A stamp, not
# the binary's own mtime: an identical rebuild keeps the old file, so mm-up.sh
# does not restart a running server for nothing.)
stamp="$bin.stamp"
up_to_date() {
  [[ -x $bin && -e $stamp ]] || return 1
  local f
  for f in VERSION go.mod go.sum build.sh; do
    [[ $stamp -nt $here/$f ]] || return 1
  done
  [[ -d $state/i18n && -d $state/templates && -d $state/fonts ]] || return 1
  if [[ ${MM_BUILD_MMCTL:-0} == 1 && ! -x $state/bin/mmctl ]]; then return 1; fi
}
if [[ $force != --force ]] && up_to_date; then
  echo "build.sh: $bin is up to date (Mattermost $MATTERMOST_VERSION @ ${MATTERMOST_COMMIT:0:12})"
  exit 0
fi

# VERSION is the source of truth; go.mod must agree or we would build something else.
cd "$here"
grep -q "github.com/mattermost/mattermost/server/v8 $MATTERMOST_MODULE_VERSION\$" go.mod ||
  { echo "build.sh: go.mod does not require server/v8 $MATTERMOST_MODULE_VERSION; run build/mattermost/pin.sh" >&2; exit 1; }
grep -q "github.com/mattermost/mattermost/server/public $MATTERMOST_PUBLIC_MODULE\$" go.mod ||
  { echo "build.sh: go.mod does not require server/public $MATTERMOST_PUBLIC_MODULE; run build/mattermost/pin.sh" >&2; exit 1; }

# Team Edition: BuildEnterpriseReady=false, no enterprise/sourceavailable tags.
# BuildDate is the commit time (not "now") so rebuilds are reproducible and
# the Go build cache can reuse the link.
model=github.com/mattermost/mattermost/server/public/model
ldflags="-s -w"
ldflags+=" -X $model.BuildNumber=$MATTERMOST_VERSION"
ldflags+=" -X $model.BuildDate=$MATTERMOST_COMMIT_TIME"
ldflags+=" -X $model.BuildHash=$MATTERMOST_COMMIT"
ldflags+=" -X $model.BuildHashEnterprise=none"
ldflags+=" -X $model.BuildEnterpriseReady=false"

mkdir -p "$state/bin"
echo "build.sh: building Mattermost $MATTERMOST_VERSION ($MATTERMOST_MODULE_VERSION)"
# Build to a temp name and rename, so an interrupted build never leaves a
# half-written binary that the staleness check would take for current.
go build -tags production -trimpath -ldflags "$ldflags" -o "$bin.tmp" \
  github.com/mattermost/mattermost/server/v8/cmd/mattermost
if [[ ${MM_BUILD_MMCTL:-0} == 1 ]]; then
  go build -tags production -trimpath -ldflags "-s -w" -o "$state/bin/mmctl.tmp" \
    github.com/mattermost/mattermost/server/v8/cmd/mmctl
  if cmp -s "$state/bin/mmctl.tmp" "$state/bin/mmctl"; then rm -f "$state/bin/mmctl.tmp"; else mv -f "$state/bin/mmctl.tmp" "$state/bin/mmctl"; fi
fi

# The server looks for i18n/ templates/ fonts/ relative to the binary
# (.., ../.. ...), so .mattermost/{i18n,templates,fonts} are found from
# .mattermost/bin/mattermost. They live in the read-only module cache; copy them
# (writable, and independent of later `go clean -modcache`).
moddir=$(go list -m -f '{{.Dir}}' github.com/mattermost/mattermost/server/v8)
for d in i18n templates fonts; do
  rm -rf "$state/$d.tmp"
  cp -R "$moddir/$d" "$state/$d.tmp"
  chmod -R u+w "$state/$d.tmp"
  rm -rf "${state:?}/$d"
  mv "$state/$d.tmp" "$state/$d"
done
if cmp -s "$bin.tmp" "$bin"; then rm -f "$bin.tmp"; else mv -f "$bin.tmp" "$bin"; fi
touch "$stamp"
"$bin" version 2>/dev/null | head -3 || true
