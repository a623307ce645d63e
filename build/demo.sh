#!/usr/bin/env bash
# make demo: a real Mattermost server with the plugin installed, and the test host in front of
# it, so a newcomer can try the plugin in a browser. Runs in the foreground; Ctrl-C stops the host
# (the server keeps running: `make mm-down` stops it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

make mm-up
id=$(go run ./build/manifest id)
version=$(go run ./build/manifest version)
bundle="dist/$id-$version.tar.gz"
[[ -f $bundle ]] || make dist
./build/deploy.sh "$bundle"

cd e2e
# (Re)install when package-lock.json changed since the last install (e.g. React 19 was added).
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund
fi
node build.mjs
exec node dist/serve.js
