#!/usr/bin/env bash
# Start the local test stack and provision it, idempotently:
#   PostgreSQL (build/postgres.sh) -> Inbucket mail sink -> Mattermost on
#   127.0.0.1 -> sysadmin + token, team e2ee, users alice bob carol
# and write .mattermost/env for tests. A second run with everything up only
# re-checks (seconds). State lives in .mattermost/ (git-ignored).
#
# Usage: build/mm-up.sh [--fresh] [--restart]
#   --fresh    stop Mattermost, drop and recreate the database, wipe its files
#              (data, plugins, config, token); the mail sink is emptied too
#   --restart  restart Mattermost even if it runs (also done automatically
#              when the binary was rebuilt since it started)
# Env: MM_PORT (default 8065, else the next free one), MAILSINK_SMTP_PORT
#      (10025), MAILSINK_HTTP_PORT (10080), MM_START_TIMEOUT (seconds, 240)
set -euo pipefail

# shellcheck source=build/mm-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mm-lib.sh"
root=$MM_ROOT
state=$MM_STATE
started_at=$SECONDS

fresh=0
restart=0
for arg in "$@"; do
  case $arg in
    --fresh) fresh=1 ;;
    --restart) restart=1 ;;
    *) echo "usage: $0 [--fresh] [--restart]" >&2; exit 2 ;;
  esac
done

# Test credentials. Test-only, loopback-only; 14+ characters because
# Mattermost's FIPS builds require it, mixed classes for any password policy.
admin_user=sysadmin
admin_pass='Sysadmin-Passw0rd-E2EE'
test_users='alice bob carol'
test_pass='Test-Passw0rd-E2EE-1'
email_domain=example.com
team_name=e2ee

mkdir -p "$state"/{logs,data,plugins,client/plugins,run} "$MM_BIN_DIR"
bin=$MM_BIN_DIR
mm_pidfile=$state/run/mattermost.pid
sink_pidfile=$state/run/mailsink.pid
cfg=$state/config.json
ports_file=$state/run/ports
log=$state/logs/mattermost.log
console_log=$state/logs/console.log

# ---- 1. binaries (each a no-op when current) --------------------------------
"$root/build/mattermost/build.sh"
mm_go_build "$root/build/mmsetup" . "$bin/mmsetup"
mm_go_build "$root/build/mailsink" github.com/inbucket/inbucket/v3/cmd/inbucket "$bin/inbucket"

# ---- 2. database -----------------------------------------------------------
if [[ $fresh == 1 ]]; then
  # The server must let go of the database before it is dropped (and a second one, mm-second.sh).
  mm_stop_second
  mm_stop_pidfile "$mm_pidfile" 60
  rm -rf "$state/data" "$state/plugins" "$state/client" "$cfg" "$state/admin-token" "$MM_SECOND_STATE"
  mkdir -p "$state"/{data,plugins,client/plugins}
fi
pg_args=()
if [[ $fresh == 1 ]]; then pg_args=(--fresh); fi
"$root/build/postgres.sh" "${pg_args[@]}"
# shellcheck source=/dev/null
. "$state/pg.env"

# ---- 3. ports --------------------------------------------------------------
# Keep the ports of a running stack; otherwise take the defaults or the next
# free ones (something else on this machine may hold 8065).
mm_port='' sink_smtp='' sink_http='' sink_pop3=''
if [[ -s $ports_file ]]; then
  # shellcheck source=/dev/null
  . "$ports_file"
fi
# A process we cannot find the ports of is restarted rather than guessed at.
[[ -n $sink_smtp && -n $sink_http && -n $sink_pop3 ]] || mm_stop_pidfile "$sink_pidfile" 10
[[ -n $mm_port ]] || mm_stop_pidfile "$mm_pidfile" 60
if ! mm_pid_alive "$sink_pidfile" >/dev/null; then
  sink_smtp=$(mm_free_port "${MAILSINK_SMTP_PORT:-10025}")
  sink_http=$(mm_free_port "${MAILSINK_HTTP_PORT:-10080}")
  sink_pop3=$(mm_free_port "${MAILSINK_POP3_PORT:-10110}")
fi
if ! mm_pid_alive "$mm_pidfile" >/dev/null; then
  mm_port=$(mm_free_port "${MM_PORT:-8065}")
fi
printf 'mm_port=%s\nsink_smtp=%s\nsink_http=%s\nsink_pop3=%s\n' \
  "$mm_port" "$sink_smtp" "$sink_http" "$sink_pop3" >"$ports_file"
site_url="http://127.0.0.1:$mm_port"

# ---- 4. mail sink (Inbucket, in memory, loopback only) ----------------------
if [[ $fresh == 1 ]]; then mm_stop_pidfile "$sink_pidfile" 10; fi
if ! mm_pid_alive "$sink_pidfile" >/dev/null; then
  # env -i: nothing from the caller's environment leaks into its config.
  (
    cd "$state/run"
    exec setsid env -i PATH="$PATH" \
      INBUCKET_SMTP_ADDR="127.0.0.1:$sink_smtp" \
      INBUCKET_WEB_ADDR="127.0.0.1:$sink_http" \
      INBUCKET_POP3_ADDR="127.0.0.1:$sink_pop3" \
      INBUCKET_STORAGE_TYPE=memory \
      INBUCKET_STORAGE_MAILBOXMSGCAP=1000 \
      INBUCKET_WEB_MONITORVISIBLE=false \
      INBUCKET_LUA_PATH="$state/run/none.lua" \
      "$bin/inbucket" -logjson >>"$state/logs/mailsink.log" 2>&1 </dev/null
  ) &
  echo $! >"$sink_pidfile"
  for ((i = 0; i < 100; i++)); do
    mm_listening "$sink_http" && mm_listening "$sink_smtp" && break
    mm_pid_alive "$sink_pidfile" >/dev/null || break
    sleep 0.1
  done
  if ! mm_listening "$sink_http"; then
    echo "mm-up.sh: the mail sink did not start; last lines of $state/logs/mailsink.log:" >&2
    tail -n 40 "$state/logs/mailsink.log" >&2 || true
    exit 1
  fi
fi

# ---- 5. Mattermost config -------------------------------------------------
# A file config store under .mattermost/, merged (not overwritten) so settings
# changed through the API, e.g. plugin settings, survive the next mm-up.
# The local-mode socket path must fit in sun_path (108 bytes).
socket=$state/run/mattermost.socket
if ((${#socket} > 100)); then socket=/tmp/mme2ee-$(echo "$state" | cksum | cut -d' ' -f1).socket; fi
j() { printf '"%s"' "$1"; }
"$bin/mmsetup" config -file "$cfg" \
  -set "ServiceSettings.SiteURL=$(j "$site_url")" \
  -set "ServiceSettings.ListenAddress=$(j "127.0.0.1:$mm_port")" \
  -set "ServiceSettings.EnableLocalMode=true" \
  -set "ServiceSettings.LocalModeSocketLocation=$(j "$socket")" \
  -set "ServiceSettings.EnableUserAccessTokens=true" \
  -set "ServiceSettings.EnableBotAccountCreation=true" \
  -set "ServiceSettings.EnableDeveloper=true" \
  -set "ServiceSettings.EnableTesting=false" \
  -set "ServiceSettings.EnableSecurityFixAlert=false" \
  -set "ServiceSettings.EnableLinkPreviews=false" \
  -set "ServiceSettings.EnableGifPicker=false" \
  -set "ServiceSettings.EnableAPITeamDeletion=true" \
  -set "ServiceSettings.EnableAPIUserDeletion=true" \
  -set "ServiceSettings.EnableAPIChannelDeletion=true" \
  -set "ServiceSettings.AllowedUntrustedInternalConnections=$(j "127.0.0.1 localhost ::1")" \
  -set "TeamSettings.EnableOpenServer=true" \
  -set "TeamSettings.EnableUserCreation=true" \
  -set "TeamSettings.MaxUsersPerTeam=1000" \
  -set "SqlSettings.DriverName=$(j postgres)" \
  -set "SqlSettings.DataSource=$(j "$MM_DSN")" \
  -set "FileSettings.DriverName=$(j local)" \
  -set "FileSettings.Directory=$(j "$state/data/")" \
  -set "PluginSettings.Enable=true" \
  -set "PluginSettings.EnableUploads=true" \
  -set "PluginSettings.RequirePluginSignature=false" \
  -set "PluginSettings.AutomaticPrepackagedPlugins=false" \
  -set "PluginSettings.EnableMarketplace=false" \
  -set "PluginSettings.EnableRemoteMarketplace=false" \
  -set "PluginSettings.Directory=$(j "$state/plugins")" \
  -set "PluginSettings.ClientDirectory=$(j "$state/client/plugins")" \
  -set "EmailSettings.SendEmailNotifications=true" \
  -set "EmailSettings.RequireEmailVerification=false" \
  -set "EmailSettings.EnableSignUpWithEmail=true" \
  -set "EmailSettings.EnablePreviewModeBanner=false" \
  -set "EmailSettings.SMTPServer=$(j 127.0.0.1)" \
  -set "EmailSettings.SMTPPort=$(j "$sink_smtp")" \
  -set "EmailSettings.ConnectionSecurity=$(j '')" \
  -set "EmailSettings.EnableSMTPAuth=false" \
  -set "EmailSettings.FeedbackName=$(j 'Mattermost E2EE Test')" \
  -set "EmailSettings.FeedbackEmail=$(j "mattermost@$email_domain")" \
  -set "EmailSettings.ReplyToAddress=$(j "mattermost@$email_domain")" \
  -set "EmailSettings.SendPushNotifications=false" \
  -set "RateLimitSettings.Enable=false" \
  -set "LogSettings.EnableConsole=true" \
  -set "LogSettings.ConsoleLevel=$(j INFO)" \
  -set "LogSettings.ConsoleJson=false" \
  -set "LogSettings.EnableColor=false" \
  -set "LogSettings.EnableFile=true" \
  -set "LogSettings.FileLevel=$(j INFO)" \
  -set "LogSettings.FileJson=true" \
  -set "LogSettings.FileLocation=$(j "$state/logs")" \
  -set "LogSettings.EnableDiagnostics=false" \
  -set "LogSettings.EnableSentry=false" \
  -set "NotificationLogSettings.FileLocation=$(j "$state/logs")" \
  -set "AnnouncementSettings.AdminNoticesEnabled=false" \
  -set "AnnouncementSettings.UserNoticesEnabled=false"

# ---- 6. Mattermost ---------------------------------------------------------
# Restart when asked, or when build.sh produced a newer binary than the one running.
if pid=$(mm_pid_alive "$mm_pidfile"); then
  if [[ $restart == 1 || $bin/mattermost -nt $mm_pidfile ]]; then
    echo "mm-up.sh: restarting Mattermost (pid $pid)"
    mm_stop_pidfile "$mm_pidfile" 60
  fi
fi
if ! mm_pid_alive "$mm_pidfile" >/dev/null; then
  if mm_listening "$mm_port"; then
    echo "mm-up.sh: 127.0.0.1:$mm_port is taken by another process; set MM_PORT" >&2
    exit 1
  fi
  echo "mm-up.sh: starting Mattermost on $site_url"
  : >"$console_log"
  # env -i: a sourced .mattermost/env (MM_SERVICESETTINGS_SITEURL, ...) or any
  # other MM_* variable would silently override config.json.
  # MM_SERVICEENVIRONMENT=dev: no Sentry and no production-only endpoints;
  # setsid: own process group, so mm-down also reaches plugin processes.
  (
    cd "$state"
    exec setsid env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" \
      MM_SERVICEENVIRONMENT=dev \
      "$bin/mattermost" server --config "$cfg" >>"$console_log" 2>&1 </dev/null
  ) &
  echo $! >"$mm_pidfile"
fi

if ! "$bin/mmsetup" wait -url "$site_url" -timeout "${MM_START_TIMEOUT:-240}s" -pidfile "$mm_pidfile"; then
  echo "mm-up.sh: Mattermost did not become ready; last 80 lines of $console_log:" >&2
  tail -n 80 "$console_log" >&2 || true
  echo "mm-up.sh: (JSON log: $log; stop the rest with build/mm-down.sh)" >&2
  exit 1
fi

# ---- 7. users, team, token --------------------------------------------------
provisioned=$("$bin/mmsetup" provision -url "$site_url" -socket "$socket" \
  -admin-user "$admin_user" -admin-pass "$admin_pass" \
  -email-domain "$email_domain" -team "$team_name" \
  -users "$test_users" -user-pass "$test_pass" \
  -token-file "$state/admin-token")

# ---- 8. .mattermost/env ----------------------------------------------------
# `export KEY='value'` lines: sourceable by sh/bash, and readable by dotenv
# parsers (Node dotenv, Go godotenv) which accept the export prefix.
# shellcheck source=/dev/null
. "$root/build/mattermost/VERSION"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
  echo "# Written by build/mm-up.sh on $(date -u +%FT%TZ). Test-only credentials."
  echo "# Shell: . .mattermost/env    Node: dotenv; Go: read KEY='VALUE' lines."
  echo "export MM_SERVICESETTINGS_SITEURL=$(q "$site_url")"
  echo "export MM_SITE_URL=$(q "$site_url")"
  echo "export MM_PORT=$(q "$mm_port")"
  echo "export MM_SERVER_VERSION=$(q "$MATTERMOST_VERSION")"
  echo "export MM_ADMIN_USERNAME=$(q "$admin_user")"
  echo "export MM_ADMIN_PASSWORD=$(q "$admin_pass")"
  echo "export MM_ADMIN_EMAIL=$(q "$admin_user@$email_domain")"
  while IFS= read -r line; do echo "export $line"; done <<<"$provisioned"
  echo "export MM_TEAM_NAME=$(q "$team_name")"
  echo "export MM_TEST_USERS=$(q "$test_users")"
  echo "export MM_TEST_PASSWORD=$(q "$test_pass")"
  echo "export MM_TEST_EMAIL_DOMAIN=$(q "$email_domain")"
  echo "export MM_DSN=$(q "$MM_DSN")"
  for v in MM_PG_HOST MM_PG_PORT MM_PG_USER MM_PG_PASSWORD MM_PG_DATABASE; do
    echo "export $v=$(q "${!v}")"
  done
  echo "export MM_LOCAL_SOCKET=$(q "$socket")"
  echo "export MMCTL_LOCAL_SOCKET_PATH=$(q "$socket")"
  echo "export MM_PID=$(q "$(<"$mm_pidfile")")"
  echo "export MM_PID_FILE=$(q "$mm_pidfile")"
  echo "export MM_BIN=$(q "$bin/mattermost")"
  echo "export MM_CONFIG_FILE=$(q "$cfg")"
  echo "export MM_LOG_FILE=$(q "$log")"
  echo "export MM_CONSOLE_LOG=$(q "$console_log")"
  echo "export MM_PLUGIN_DIR=$(q "$state/plugins")"
  echo "export MM_DATA_DIR=$(q "$state/data")"
  echo "# Mail sink: Inbucket (REST, JSON). Mailbox = local part of the address (alice@example.com -> alice)."
  echo "#   GET    \$MAILSINK_URL/api/v1/mailbox/alice              list: [{id,from,to,subject,date,size,...}]"
  echo "#   GET    \$MAILSINK_URL/api/v1/mailbox/alice/<id>         one message: header, body.text, body.html, attachments"
  echo "#   GET    \$MAILSINK_URL/api/v1/mailbox/alice/<id>/source  raw RFC 5322 message"
  echo "#   DELETE \$MAILSINK_URL/api/v1/mailbox/alice              empty the mailbox"
  echo "export MAILSINK_KIND='inbucket'"
  echo "export MAILSINK_URL=$(q "http://127.0.0.1:$sink_http")"
  echo "export MAILSINK_SMTP_HOST='127.0.0.1'"
  echo "export MAILSINK_SMTP_PORT=$(q "$sink_smtp")"
  echo "export MAILSINK_POP3_PORT=$(q "$sink_pop3")"
  echo "export MAILSINK_PID=$(q "$(<"$sink_pidfile")")"
  echo "export MAILSINK_PID_FILE=$(q "$sink_pidfile")"
} >"$state/env.tmp"
chmod 600 "$state/env.tmp"
mv -f "$state/env.tmp" "$state/env"

echo "mm-up.sh: Mattermost $MATTERMOST_VERSION up at $site_url (pid $(<"$mm_pidfile")), mail sink http://127.0.0.1:$sink_http, database $MM_PG_DATABASE on $MM_PG_HOST:$MM_PG_PORT; env in .mattermost/env ($((SECONDS - started_at))s)"
