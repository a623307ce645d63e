#!/usr/bin/env bash
# A second Mattermost server beside the one build/mm-up.sh started: its own port, local-mode
# socket, logs and plugin directories, but the same PostgreSQL database and the same file store,
# hence the same plugins (docs/design.md §16). Its environment goes to .mattermost/env2.
#
# Team Edition without a license has no cluster messaging: nothing tells this server that a
# plugin was uploaded or a setting changed through the first one. Each server has its own
# config.json here, so this script copies the first server's at every start (a cluster shares
# one configuration), and the server installs every plugin bundle of the file store when it
# starts. After a deploy through the first server, --restart brings this one level with it.
#
# Usage: build/mm-second.sh [--restart | --stop]
#   (none)     start it unless it runs, and wait until it serves (and runs the plugin, when the
#              first server runs it)
#   --restart  stop it first: it re-reads the first server's configuration and plugins
#   --stop     stop it (build/mm-down.sh does too)
# Env: MM_SECOND_PORT (default: the first server's port + 100, else the next free one),
#      MM_START_TIMEOUT (seconds, 240)
set -euo pipefail

# shellcheck source=build/mm-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mm-lib.sh"
root=$MM_ROOT
state=$MM_STATE
second=$MM_SECOND_STATE
started_at=$SECONDS

restart=0
case ${1:-} in
  '') ;;
  --restart) restart=1 ;;
  --stop) mm_stop_second; echo "mm-second.sh: stopped"; exit 0 ;;
  *) echo "usage: $0 [--restart | --stop]" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "usage: $0 [--restart | --stop]" >&2; exit 2; }

first_pidfile=$state/run/mattermost.pid
pidfile=$state/run/mattermost2.pid
ports_file=$state/run/ports2
bin=$MM_BIN_DIR
if ! mm_pid_alive "$first_pidfile" >/dev/null || [[ ! -s $state/env || ! -s $state/config.json ]]; then
  echo "mm-second.sh: the first server is not running: run make mm-up first" >&2
  exit 1
fi
# shellcheck source=/dev/null
. "$state/env"
plugin_id=$(sed -n 's/^[[:space:]]*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$root/plugin.json" | head -n 1)

if [[ $restart == 1 ]] || { mm_pid_alive "$pidfile" >/dev/null && [[ $bin/mattermost -nt $pidfile ]]; }; then
  mm_stop_second
fi

port=''
if mm_pid_alive "$pidfile" >/dev/null && [[ -s $ports_file ]]; then
  port=$(<"$ports_file")
fi
if [[ -z $port ]]; then
  mm_stop_second
  port=$(mm_free_port "${MM_SECOND_PORT:-$((MM_PORT + 100))}")
fi
site_url="http://127.0.0.1:$port"
socket=$state/run/mattermost2.socket
if ((${#socket} > 100)); then socket=/tmp/mme2ee-$(echo "$state" | cksum | cut -d' ' -f1)-2.socket; fi
mkdir -p "$second"/{logs,plugins,client/plugins}
console_log=$second/logs/console.log

if ! mm_pid_alive "$pidfile" >/dev/null; then
  # The first server's configuration (database, file store, plugin states and settings, salts),
  # with what must differ per server: address, socket, local plugin folders, logs.
  cfg=$second/config.json
  cp "$state/config.json" "$cfg.copy"
  mv -f "$cfg.copy" "$cfg"
  j() { printf '"%s"' "$1"; }
  "$bin/mmsetup" config -file "$cfg" \
    -set "ServiceSettings.SiteURL=$(j "$site_url")" \
    -set "ServiceSettings.ListenAddress=$(j "127.0.0.1:$port")" \
    -set "ServiceSettings.LocalModeSocketLocation=$(j "$socket")" \
    -set "PluginSettings.Directory=$(j "$second/plugins")" \
    -set "PluginSettings.ClientDirectory=$(j "$second/client/plugins")" \
    -set "LogSettings.FileLocation=$(j "$second/logs")" \
    -set "NotificationLogSettings.FileLocation=$(j "$second/logs")"
  if mm_listening "$port"; then
    echo "mm-second.sh: 127.0.0.1:$port is taken by another process; set MM_SECOND_PORT" >&2
    exit 1
  fi
  echo "mm-second.sh: starting a second Mattermost on $site_url (database $MM_PG_DATABASE, file store $MM_DATA_DIR)"
  : >"$console_log"
  # As mm-up.sh: no caller environment (MM_* would override config.json), own process group.
  (
    cd "$state"
    exec setsid env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" \
      MM_SERVICEENVIRONMENT=dev \
      "$bin/mattermost" server --config "$cfg" >>"$console_log" 2>&1 </dev/null
  ) &
  echo $! >"$pidfile"
  echo "$port" >"$ports_file"
fi

if ! "$bin/mmsetup" wait -url "$site_url" -timeout "${MM_START_TIMEOUT:-240}s" -pidfile "$pidfile"; then
  echo "mm-second.sh: the second server did not become ready; last 80 lines of $console_log:" >&2
  tail -n 80 "$console_log" >&2 || true
  exit 1
fi

# active_on SOCKET: true when the server behind that local-mode socket runs the plugin
# (GET /plugins lists running plugins under "active", as build/deploy.sh reads it).
active_on() {
  local body
  body=$(curl -sS --max-time 10 --unix-socket "$1" http://localhost/api/v4/plugins 2>/dev/null | tr -d ' \n') || return 1
  body=${body%%\"inactive\"*}
  [[ $body == *"\"id\":\"$plugin_id\""* ]]
}
plugin_state="the plugin is not running on the first server either"
if active_on "$MM_LOCAL_SOCKET"; then
  for ((i = 0; i < 120; i++)); do
    active_on "$socket" && break
    mm_pid_alive "$pidfile" >/dev/null || break
    sleep 0.5
  done
  if ! active_on "$socket"; then
    echo "mm-second.sh: $plugin_id runs on the first server but did not start on the second; see $console_log" >&2
    exit 1
  fi
  plugin_state="$plugin_id running on both"
fi

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
  echo "# Written by build/mm-second.sh on $(date -u +%FT%TZ): the second server (same database as .mattermost/env)."
  echo "export MM_SECOND_SITE_URL=$(q "$site_url")"
  echo "export MM_SECOND_PORT=$(q "$port")"
  echo "export MM_SECOND_LOCAL_SOCKET=$(q "$socket")"
  echo "export MM_SECOND_PID=$(q "$(<"$pidfile")")"
  echo "export MM_SECOND_PID_FILE=$(q "$pidfile")"
  echo "export MM_SECOND_CONFIG_FILE=$(q "$second/config.json")"
  echo "export MM_SECOND_LOG_FILE=$(q "$second/logs/mattermost.log")"
  echo "export MM_SECOND_CONSOLE_LOG=$(q "$console_log")"
  echo "export MM_SECOND_PLUGIN_DIR=$(q "$second/plugins")"
} >"$state/env2.tmp"
chmod 600 "$state/env2.tmp"
mv -f "$state/env2.tmp" "$state/env2"
echo "mm-second.sh: second Mattermost up at $site_url (pid $(<"$pidfile")), $plugin_state; env in .mattermost/env2 ($((SECONDS - started_at))s)"
