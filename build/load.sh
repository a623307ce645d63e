#!/usr/bin/env bash
# make load: the load test against a real server of its own (docs/design.md, "Load and faults").
# Starts a fresh Mattermost in .mattermost/load (database <MM_PG_DATABASE>_load, on the same
# PostgreSQL as make mm-up), installs the bundle, runs build/load and stops the server again;
# a server of make mm-up is left alone. Prints one JSON line of figures; exits 1 when a post is
# lost or duplicated. Env: LOAD_CLIENTS (20), LOAD_POSTS (2000 encrypted, as many plaintext).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bundle=${1:?usage: build/load.sh BUNDLE.tar.gz}

export MM_STATE_DIR=$root/.mattermost/load
export MM_PG_DATABASE=${MM_LOAD_DATABASE:-${MM_PG_DATABASE:-mme2ee_test}_load}
# Port bases of their own, so that a make mm-up server of this checkout keeps its ports.
export MM_PORT=${MM_LOAD_PORT:-8165} MAILSINK_SMTP_PORT=10225 MAILSINK_HTTP_PORT=10280 MAILSINK_POP3_PORT=10310
trap './build/mm-down.sh >/dev/null' EXIT
./build/mm-up.sh --fresh
# shellcheck source=/dev/null
. "$MM_STATE_DIR/env"
export MM_ENV_FILE=$MM_STATE_DIR/env
./build/deploy.sh "$bundle"
go run ./build/load -mode load -root "$root" -clients "${LOAD_CLIENTS:-20}" -posts "${LOAD_POSTS:-2000}"
