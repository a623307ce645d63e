#!/usr/bin/env bash
# REST smoke test of the installed plugin (after build/deploy.sh): the plugin is active, its
# bot exists, and /e2ee help answers through the real command pipeline.
# Needs MM_SERVICESETTINGS_SITEURL, MM_ADMIN_TOKEN, MM_TEAM_ID (env, else .mattermost/env).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${MM_SERVICESETTINGS_SITEURL:-} || -z ${MM_ADMIN_TOKEN:-} ]] && [[ -f $root/.mattermost/env ]]; then
  # shellcheck disable=SC1091
  . "$root/.mattermost/env"
fi
: "${MM_SERVICESETTINGS_SITEURL:?}" "${MM_ADMIN_TOKEN:?}" "${MM_TEAM_ID:?}"
site=${MM_SERVICESETTINGS_SITEURL%/}
auth="Authorization: Bearer $MM_ADMIN_TOKEN"
id=$(cd "$root" && go run ./build/manifest id)
fail() { echo "e2e-smoke: FAIL: $*" >&2; exit 1; }
flat() { tr -d '\n'; }

# 1. Active.
plugins=$(curl -sS -H "$auth" "$site/api/v4/plugins" | flat)
active=${plugins%%\"inactive\"*}
[[ $active == *"\"id\":\"$id\""* ]] || fail "$id is not active: $plugins"
echo "ok: $id is active"

# 2. Its bot user.
bot=$(curl -sS -H "$auth" "$site/api/v4/users/username/e2ee" | flat)
[[ $bot == *'"is_bot":true'* ]] || fail "bot user e2ee missing: $bot"
echo "ok: bot @e2ee exists"

# 3. /e2ee help, run in the team's town-square (the admin joins it if needed).
me=$(curl -sS -H "$auth" "$site/api/v4/users/me" | flat | sed -n 's/^{"id":"\([a-z0-9]*\)".*/\1/p')
[[ -n $me ]] || fail "cannot read the admin user"
chan=$(curl -sS -H "$auth" "$site/api/v4/teams/$MM_TEAM_ID/channels/name/town-square" | flat | sed -n 's/^{"id":"\([a-z0-9]*\)".*/\1/p')
[[ -n $chan ]] || fail "no town-square channel in team $MM_TEAM_ID"
curl -sS -o /dev/null -H "$auth" -X POST -d "{\"user_id\":\"$me\",\"team_id\":\"$MM_TEAM_ID\"}" "$site/api/v4/teams/$MM_TEAM_ID/members"
curl -sS -o /dev/null -H "$auth" -X POST -d "{\"user_id\":\"$me\"}" "$site/api/v4/channels/$chan/members"
resp=$(curl -sS -H "$auth" -X POST -d "{\"channel_id\":\"$chan\",\"team_id\":\"$MM_TEAM_ID\",\"command\":\"/e2ee help\"}" "$site/api/v4/commands/execute" | flat)
[[ $resp == *'/e2ee start'* && $resp == *'"response_type":"ephemeral"'* ]] || fail "/e2ee help answered: $resp"
echo "ok: /e2ee help answers"
echo "e2e-smoke: all checks passed"
