#!/usr/bin/env bash
# Install a plugin bundle on a running Mattermost server the way the System Console's
# upload does: POST /api/v4/plugins (multipart, force=true), enable it, wait until it runs.
usage() {
  cat >&2 <<'EOF'
usage: build/deploy.sh BUNDLE.tar.gz

Connects in the first way that applies:
  1. MM_ADMIN_TOKEN set: the REST API at MM_SERVICESETTINGS_SITEURL with that token
     (a system admin's personal access token or session token).
  2. Local mode: the server's local-mode socket, no token. The socket is MM_LOCAL_SOCKET,
     else MMCTL_LOCAL_SOCKET_PATH, else /var/tmp/mattermost_local.socket; the server needs
     ServiceSettings.EnableLocalMode and this user needs write access to the socket.
When neither MM_ADMIN_TOKEN nor a socket variable is set, .mattermost/env (make mm-up) is read.
The server must allow uploads: PluginSettings.EnableUploads true, RequirePluginSignature false.
EOF
}
set -euo pipefail

[[ $# -eq 1 && $1 != -h && $1 != --help ]] || { usage; exit 2; }
bundle=$1
[[ -f $bundle ]] || { echo "deploy: no such bundle: $bundle" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The plugin id from the manifest inside the bundle (no jq: it may be missing on CI).
manifest=$(tar -xzOf "$bundle" --wildcards '*/plugin.json') || { echo "deploy: $bundle is not a plugin bundle (no plugin.json)" >&2; exit 1; }
id=$(printf '%s' "$manifest" | tr -d '\n' | sed -n 's/^[^{]*{[[:space:]]*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
[[ -n $id ]] || { echo "deploy: cannot read the plugin id from $bundle" >&2; exit 1; }

# The caller's settings win; .mattermost/env is only a fallback when none are given.
if [[ -z ${MM_ADMIN_TOKEN:-} && -z ${MM_LOCAL_SOCKET:-} && -z ${MMCTL_LOCAL_SOCKET_PATH:-} && -f $root/.mattermost/env ]]; then
  # shellcheck disable=SC1091
  . "$root/.mattermost/env"
fi

curl_args=(-sS --max-time 300)
if [[ -n ${MM_ADMIN_TOKEN:-} ]]; then
  [[ -n ${MM_SERVICESETTINGS_SITEURL:-} ]] || { echo "deploy: MM_ADMIN_TOKEN is set but MM_SERVICESETTINGS_SITEURL is not (the server's URL, e.g. https://chat.example.com)" >&2; exit 2; }
  base=${MM_SERVICESETTINGS_SITEURL%/}
  curl_args+=(-H "Authorization: Bearer $MM_ADMIN_TOKEN")
  where="$base (token)"
else
  socket=${MM_LOCAL_SOCKET:-${MMCTL_LOCAL_SOCKET_PATH:-/var/tmp/mattermost_local.socket}}
  if [[ ! -S $socket ]]; then
    echo "deploy: no admin token (MM_ADMIN_TOKEN) and no local-mode socket at $socket" >&2
    usage
    exit 2
  fi
  [[ -w $socket ]] || { echo "deploy: cannot write to the local-mode socket $socket (run as the server's user)" >&2; exit 1; }
  base=http://localhost # any host: the request goes through the socket
  curl_args+=(--unix-socket "$socket")
  where="local mode ($socket)"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# request METHOD PATH [curl args...]: prints the HTTP status, the body goes to $out.
request() {
  local method=$1 path=$2
  shift 2
  local code
  if ! code=$(curl "${curl_args[@]}" -o "$out" -w '%{http_code}' -X "$method" "$@" "$base/api/v4$path"); then
    echo "deploy: cannot reach the server at $where" >&2
    return 1
  fi
  printf '%s' "$code"
}

# hint STATUS: what an admin can do about a refused request.
hint() {
  case $1 in
    401) echo " (the token is not valid)" ;;
    403) echo " (the token's user is not a system admin)" ;;
    413) echo " (the bundle is larger than FileSettings.MaxFileSize)" ;;
    501) echo " (set PluginSettings.Enable and EnableUploads to true and RequirePluginSignature to false)" ;;
  esac
}

code=$(request POST /plugins -F "plugin=@$bundle" -F "force=true") || exit 1
if [[ $code != 201 && $code != 200 ]]; then
  echo "deploy: upload failed (HTTP $code)$(hint "$code"): $(cat "$out")" >&2
  exit 1
fi
code=$(request POST "/plugins/$id/enable") || exit 1
if [[ $code != 200 ]]; then
  echo "deploy: enabling $id failed (HTTP $code)$(hint "$code"): $(cat "$out")" >&2
  exit 1
fi

# Enabling returns before the plugin process is up: wait until the server lists it as
# active (GET /plugins: "active" holds the running plugins; this route also works in local mode).
for _ in $(seq 1 60); do
  code=$(request GET /plugins) || exit 1
  active=$(tr -d ' \n' <"$out")
  active=${active%%\"inactive\"*}
  if [[ $code == 200 && $active == *"\"id\":\"$id\""* ]]; then
    echo "deploy: $id installed and running on $where"
    exit 0
  fi
  sleep 1
done
detail=$(cat "$out")
if [[ -n ${MM_ADMIN_TOKEN:-} ]] && [[ $(request GET /plugins/statuses) == 200 ]]; then
  detail="statuses: $(cat "$out")"
fi
echo "deploy: $id did not start within 60 s; see the server log (plugin_id=$id). $detail" >&2
exit 1
