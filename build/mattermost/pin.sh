#!/usr/bin/env bash
# Re-pin the wrapper module to what VERSION names: rewrite go.mod's requires,
# print the server's own replace/exclude directives (copy them into go.mod by
# hand: they only apply in the main module), and refresh go.sum with one build.
# Needs the Go module proxy. Usage: edit VERSION, then build/mattermost/pin.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
# shellcheck source=/dev/null
. ./VERSION
export GOWORK=off

go mod edit \
  -require="github.com/mattermost/mattermost/server/v8@$MATTERMOST_MODULE_VERSION" \
  -require="github.com/mattermost/mattermost/server/public@$MATTERMOST_PUBLIC_MODULE"
go mod download -json "github.com/mattermost/mattermost/server/v8@$MATTERMOST_MODULE_VERSION" >/dev/null

modfile="$(go env GOMODCACHE)/cache/download/github.com/mattermost/mattermost/server/v8/@v/$MATTERMOST_MODULE_VERSION.mod"
echo "== replace/exclude in server/go.mod at $MATTERMOST_MODULE_VERSION (compare with go.mod):"
awk '/^(replace|exclude)/{p=1} p{print} /^\)/{p=0}' "$modfile" | grep -v '^//' || true

# MVS must keep public at the pinned version; a higher requirement inside
# server/go.mod would silently win.
# -mod=mod lets this one build add the missing go.sum lines.
# mmctl too, so MM_BUILD_MMCTL=1 build.sh works offline from go.sum.
GOFLAGS="${GOFLAGS:-} -mod=mod" go build -tags production -trimpath -o /dev/null \
  github.com/mattermost/mattermost/server/v8/cmd/mattermost
GOFLAGS="${GOFLAGS:-} -mod=mod" go build -tags production -trimpath -o /dev/null \
  github.com/mattermost/mattermost/server/v8/cmd/mmctl
got=$(go list -m -f '{{.Version}}' github.com/mattermost/mattermost/server/public)
[[ $got == "$MATTERMOST_PUBLIC_MODULE" ]] ||
  { echo "pin.sh: MVS selected server/public $got, not $MATTERMOST_PUBLIC_MODULE: fix VERSION" >&2; exit 1; }
echo "pin.sh: go.mod and go.sum now match VERSION"
