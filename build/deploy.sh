#!/usr/bin/env bash
# Install a plugin bundle on a running Mattermost server the way the System Console's
# upload does: POST /api/v4/plugins (multipart, force=true), then enable it.
# Usage: build/deploy.sh dist/<id>-<version>.tar.gz
# Needs MM_SERVICESETTINGS_SITEURL and MM_ADMIN_TOKEN (env, else .mattermost/env from make mm-up).
set -euo pipefail

bundle=${1:?usage: $0 BUNDLE.tar.gz}
[[ -f $bundle ]] || { echo "deploy: no such bundle: $bundle" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${MM_SERVICESETTINGS_SITEURL:-} || -z ${MM_ADMIN_TOKEN:-} ]] && [[ -f $root/.mattermost/env ]]; then
  # shellcheck disable=SC1091
  . "$root/.mattermost/env"
fi
: "${MM_SERVICESETTINGS_SITEURL:?set MM_SERVICESETTINGS_SITEURL or run make mm-up}"
: "${MM_ADMIN_TOKEN:?set MM_ADMIN_TOKEN or run make mm-up}"
site=${MM_SERVICESETTINGS_SITEURL%/}
auth="Authorization: Bearer $MM_ADMIN_TOKEN"

# The plugin id from the manifest inside the bundle (no jq: it may be missing on CI).
manifest=$(tar -xzOf "$bundle" --wildcards '*/plugin.json')
id=$(printf '%s' "$manifest" | tr -d '\n' | sed -n 's/^[^{]*{[[:space:]]*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
[[ -n $id ]] || { echo "deploy: cannot read the plugin id from $bundle" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
code=$(curl -sS -o "$out" -w '%{http_code}' -H "$auth" -F "plugin=@$bundle" -F "force=true" "$site/api/v4/plugins")
if [[ $code != 201 && $code != 200 ]]; then
  echo "deploy: upload failed (HTTP $code): $(cat "$out")" >&2
  exit 1
fi
code=$(curl -sS -o "$out" -w '%{http_code}' -X POST -H "$auth" "$site/api/v4/plugins/$id/enable")
if [[ $code != 200 ]]; then
  echo "deploy: enabling $id failed (HTTP $code): $(cat "$out")" >&2
  exit 1
fi

# Enabling returns before the plugin process is up: wait until the server reports it running.
for _ in $(seq 1 60); do
  curl -sS -H "$auth" "$site/api/v4/plugins/statuses" >"$out" || true
  if tr -d ' \n' <"$out" | grep -q "\"plugin_id\":\"$id\"[^}]*\"state\":2"; then
    echo "deploy: $id installed and running on $site"
    exit 0
  fi
  sleep 1
done
echo "deploy: $id did not start; statuses: $(cat "$out")" >&2
exit 1
