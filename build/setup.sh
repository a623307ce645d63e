#!/usr/bin/env bash
# Installs everything the build and the tests need, on a fresh Debian machine with Go and
# Node.js (the project's machine kind). Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

for tool in go node npm curl; do
    need "$tool" || { echo "setup: '$tool' is required but not installed" >&2; exit 1; }
done

# System packages, from Debian: a browser for the end-to-end suite, and tar/gzip for the bundle.
missing=()
need chromium || missing+=(chromium)
need psql || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} from Debian"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, exactly as locked.
install_npm() {
    local dir=$1
    [ -f "$dir/package-lock.json" ] || return 0
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "setup: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}
install_npm webapp
install_npm e2e

# Go modules of the plugin (the Mattermost server's are fetched by build/mattermost/build.sh).
go mod download
echo "setup: done"
