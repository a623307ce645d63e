#!/usr/bin/env bash
# Quick check that the stack from build/mm-up.sh answers: ping, the admin
# token, the test team, and the mail sink API. Exit non-zero on any failure.
# Usage: build/mm-smoke.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_file="$root/.mattermost/env"
[[ -r $env_file ]] || { echo "mm-smoke.sh: no $env_file; run build/mm-up.sh first" >&2; exit 1; }
# shellcheck source=/dev/null
. "$env_file"

fail=0
check() { # name, expected substring, curl args...
  local name=$1 want=$2 out
  shift 2
  if out=$(curl -fsS --max-time 10 "$@" 2>&1) && [[ $out == *"$want"* ]]; then
    echo "ok   $name"
  else
    echo "FAIL $name: ${out:0:300}"
    fail=1
  fi
}

auth=(-H "Authorization: Bearer $MM_ADMIN_TOKEN")
check "ping" '"status":"OK"' "$MM_SITE_URL/api/v4/system/ping"
check "admin token (users/me)" "\"username\":\"$MM_ADMIN_USERNAME\"" "${auth[@]}" "$MM_SITE_URL/api/v4/users/me"
check "admin is system_admin" 'system_admin' "${auth[@]}" "$MM_SITE_URL/api/v4/users/me"
check "team $MM_TEAM_NAME" "\"name\":\"$MM_TEAM_NAME\"" "${auth[@]}" "$MM_SITE_URL/api/v4/teams/name/$MM_TEAM_NAME"
for u in $MM_TEST_USERS; do
  check "user $u" "\"username\":\"$u\"" "${auth[@]}" "$MM_SITE_URL/api/v4/users/username/$u"
done
check "plugin uploads enabled" '"EnableUploads":true' "${auth[@]}" "$MM_SITE_URL/api/v4/config"
check "mail sink API" '[' "$MAILSINK_URL/api/v1/mailbox/$MM_ADMIN_USERNAME"
exit $fail
