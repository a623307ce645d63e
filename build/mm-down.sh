#!/usr/bin/env bash
# Stop everything build/mm-up.sh started: Mattermost (with its plugin
# processes), the second server of build/mm-second.sh if it runs, the mail
# sink, and the private PostgreSQL cluster if build/postgres.sh started one.
# A system PostgreSQL is never touched.
# Data stays in .mattermost/ (use mm-up.sh --fresh to reset it).
# Usage: build/mm-down.sh
set -euo pipefail

# shellcheck source=build/mm-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mm-lib.sh"
state=$MM_STATE

# Mattermost first: it holds database connections and shuts plugins down cleanly on TERM.
mm_stop_second
mm_stop_pidfile "$state/run/mattermost.pid" 60

# Belt and braces: a plugin process that escaped the process group still
# runs an executable from our plugin directory.
for exe in /proc/[0-9]*/exe; do
  target=$(readlink "$exe" 2>/dev/null) || continue
  if [[ $target == "$state/plugins/"* ]]; then
    pid=${exe#/proc/}; pid=${pid%/exe}
    echo "mm-down.sh: killing leftover plugin process $pid ($target)"
    kill -KILL "$pid" 2>/dev/null || true
  fi
done

mm_stop_pidfile "$state/run/mailsink.pid" 10

if [[ -e $state/pg.private ]]; then
  if bin=$(mm_pgbin) && [[ -s $state/pg/postmaster.pid ]]; then
    mm_as_pg_owner "$bin/pg_ctl" -D "$state/pg" -m fast -w -t 60 stop >/dev/null
  fi
  rm -f "$state/pg.private"
fi
rm -f "$state/run/ports"
echo "mm-down.sh: stopped (state kept in $state)"
