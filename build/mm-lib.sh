# shellcheck shell=bash
# Helpers shared by build/postgres.sh, mm-up.sh and mm-down.sh.
# Sourced, not run; callers set -euo pipefail themselves.

MM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
# MM_STATE_DIR: another server's state (make load, make faults) beside the default one; the
# binaries stay in .mattermost/bin, shared.
MM_STATE="${MM_STATE_DIR:-$MM_ROOT/.mattermost}"
# shellcheck disable=SC2034
MM_BIN_DIR="$MM_ROOT/.mattermost/bin"

# True when something accepts TCP connections on 127.0.0.1:$1 (bash only, no nc).
mm_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Debian keeps PostgreSQL server binaries out of PATH; take the newest major.
mm_pgbin() {
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -1)
  [[ -n $d ]] && echo "$d"
}

# initdb/pg_ctl refuse to run as root: run them as the postgres OS user then.
mm_as_pg_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The pid in file $1 when that process is alive, else nothing (exit 1).
mm_pid_alive() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Stop the process in pid file $1 and its whole process group (it was started
# with setsid, so the group holds its children, e.g. Mattermost's plugin
# processes): TERM, wait up to $2 seconds, then KILL. Removes the pid file.
mm_stop_pidfile() {
  local file=$1 grace=${2:-30} pid i
  if pid=$(mm_pid_alive "$file"); then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# Build Go package $2 of the module in directory $1 into $3, unless $3 is newer
# than that module's go.mod/go.sum/*.go (so a warm run costs nothing).
mm_go_build() {
  local moddir=$1 pkg=$2 out=$3 f stale=0
  if [[ -x $out ]]; then
    for f in "$moddir"/go.mod "$moddir"/go.sum "$moddir"/*.go; do
      [[ -e $f && $f -nt $out ]] && stale=1
    done
  else
    stale=1
  fi
  [[ $stale == 1 ]] || return 0
  mkdir -p "$(dirname "$out")"
  (cd "$moddir" && GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
}

# First port from $1 upwards (20 tries) that nobody listens on.
mm_free_port() {
  local p
  for ((p = $1; p < $1 + 20; p++)); do
    mm_listening "$p" || { echo "$p"; return 0; }
  done
  echo "no free port in $1..$(($1 + 19))" >&2
  return 1
}

# The second server of `make mm-up-ha` (build/mm-second.sh) keeps its own files here.
# shellcheck disable=SC2034 # used by the scripts that source this file
MM_SECOND_STATE="$MM_STATE/second"

# Stop the second server (build/mm-second.sh) and any plugin process left from its plugin
# directory; remove its env file. A no-op when it does not run.
mm_stop_second() {
  local exe target pid
  mm_stop_pidfile "$MM_STATE/run/mattermost2.pid" 60
  for exe in /proc/[0-9]*/exe; do
    target=$(readlink "$exe" 2>/dev/null) || continue
    if [[ $target == "$MM_SECOND_STATE/plugins/"* ]]; then
      pid=${exe#/proc/}; pid=${pid%/exe}
      echo "mm-second.sh: killing leftover plugin process $pid ($target)"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$MM_STATE/env2" "$MM_STATE/run/ports2"
}
