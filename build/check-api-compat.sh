#!/usr/bin/env bash
# Build, vet and unit-test the server part against newer plugin APIs than go.mod pins.
# The test server is the newest Mattermost whose server/v8 module the Go proxy serves (11.4);
# the proxy does serve server/public (the plugin API and model) of later releases, so each
# build/compat/mm-<version>.mod (with its .sum) swaps that module in and the code must still
# compile and pass: the plugin keeps to the API of 11.7 (ESR) and later.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOWORK=off
for mod in build/compat/mm-*.mod; do
    name=$(basename "$mod" .mod)
    api=$(go list -modfile="$mod" -m -f '{{.Version}}' github.com/mattermost/mattermost/server/public)
    echo "check-api-compat: $name (server/public $api)"
    go build -modfile="$mod" -o /dev/null ./server
    go vet -modfile="$mod" -tags integration ./server/...
    go test -modfile="$mod" -count=1 ./server/...
done
