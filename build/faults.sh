#!/usr/bin/env bash
# make faults: the fault cases against a real server (docs/design.md, "Load and faults"), each
# asserting its invariants: PostgreSQL restarted during posting (pg-restart), the server killed
# (server-kill), the plugin's process killed (plugin-kill). Runs a fresh Mattermost in
# .mattermost/faults on a PostgreSQL cluster of its own (initdb into .mattermost/faults/pg, its
# own port): the machine's shared PostgreSQL is never stopped. Everything is stopped at the end.
# Usage: build/faults.sh BUNDLE.tar.gz [CASE...]
#   (default: pg-restart server-kill plugin-kill browser-crash; the last is e2e/tests/crash.test.ts:
#   the web app in Chromium while the plugin's process is dead)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bundle=${1:?usage: build/faults.sh BUNDLE.tar.gz [CASE...]}
shift
cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=(pg-restart server-kill plugin-kill browser-crash)

export MM_STATE_DIR=$root/.mattermost/faults
# shellcheck source=build/mm-lib.sh
. "$root/build/mm-lib.sh"
# A leftover of an interrupted run (server, mail sink, cluster) goes first.
./build/mm-down.sh >/dev/null
export MM_PG_FORCE_PRIVATE=1
MM_PG_PRIVATE_PORT=$(mm_free_port "${MM_FAULTS_PG_PORT:-15433}")
export MM_PG_PRIVATE_PORT
export MM_PG_DATABASE=mme2ee_faults
export MM_PORT=${MM_FAULTS_PORT:-8265} MAILSINK_SMTP_PORT=10425 MAILSINK_HTTP_PORT=10480 MAILSINK_POP3_PORT=10510
trap './build/mm-down.sh >/dev/null' EXIT
./build/mm-up.sh --fresh
# shellcheck source=/dev/null
. "$MM_STATE_DIR/env"
export MM_ENV_FILE=$MM_STATE_DIR/env MM_PG_PRIVATE=1 MM_PG_DATA=$MM_STATE_DIR/pg MM_PG_BIN
MM_PG_BIN=$(mm_pgbin)
[[ $MM_PG_PORT == "$MM_PG_PRIVATE_PORT" && $MM_PG_PORT != 5432 ]] || { echo "faults: the server is not on the private cluster" >&2; exit 1; }
./build/deploy.sh "$bundle"
go build -o "$MM_STATE_DIR/load" ./build/load
for c in "${cases[@]}"; do
  echo "=== faults: $c" >&2
  started=$SECONDS
  if [[ $c == browser-crash ]]; then
    (cd e2e && node build.mjs && MM_ENV_FILE=$MM_STATE_DIR/env node run-tests.mjs crash)
  else
    "$MM_STATE_DIR/load" -mode "$c" -root "$root" -clients "${FAULTS_CLIENTS:-20}" -posts "${FAULTS_POSTS:-2000}"
  fi
  echo "=== faults: $c passed in $((SECONDS - started)) s" >&2
done
echo "faults: all cases passed" >&2
