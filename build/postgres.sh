#!/usr/bin/env bash
# Make a PostgreSQL database for the local Mattermost server and write its DSN
# to .mattermost/pg.env (sourced by mm-up.sh).
#
# 1. Something already listens on 127.0.0.1:$MM_PG_SYSTEM_PORT (default 5432, the
#    machine's own PostgreSQL): use it, create role + database if missing.
# 2. Nothing listens there: install PostgreSQL from Debian if needed and run a
#    private cluster in .mattermost/pg on 127.0.0.1:$MM_PG_PRIVATE_PORT (5433),
#    owned by the `postgres` user because initdb refuses to run as root.
#    mm-down.sh stops only a cluster this script started (marker file).
#
# Usage: build/postgres.sh [--fresh]     --fresh drops and recreates the database
# Env:   MM_PG_DATABASE (mme2ee_test), MM_PG_SYSTEM_PORT (5432), MM_PG_PRIVATE_PORT (5433),
#        MM_PG_FORCE_PRIVATE=1 (skip step 1)
set -euo pipefail

# shellcheck source=build/mm-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mm-lib.sh"
state=$MM_STATE
mkdir -p "$state"

db_user=mme2ee
# MM_PG_DATABASE: a second checkout on the same machine must not share the database.
# Sticky: without MM_PG_DATABASE, keep the database named by the last run.
prev_db=$(sed -n 's/^MM_PG_DATABASE=//p' "$state/pg.env" 2>/dev/null || true)
db_name=${MM_PG_DATABASE:-${prev_db:-mme2ee_test}}
[[ $db_name =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "postgres.sh: bad database name $db_name" >&2; exit 1; }
# A test-only password on a loopback-only database; also written to .mattermost/env.
db_pass=mme2ee-test-db-password
host=127.0.0.1
port=${MM_PG_SYSTEM_PORT:-5432}
private_port=${MM_PG_PRIVATE_PORT:-5433}
fresh=0
[[ ${1:-} == --fresh ]] && fresh=1

# Run psql as a superuser against $host:$port. TCP as `postgres` works where
# pg_hba trusts loopback (this machine kind); otherwise fall back to the
# postgres OS user on the local socket (peer auth), which needs root.
SUPER_PSQL=()
pick_superuser() {
  if psql -X -h "$host" -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 </dev/null; then
    SUPER_PSQL=(psql -X -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres -Atq)
  elif [[ $(id -u) == 0 ]] && runuser -u postgres -- psql -X -p "$port" -d postgres -Atqc 'select 1' >/dev/null 2>&1 </dev/null; then
    SUPER_PSQL=(runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -p "$port" -d postgres -Atq)
  else
    echo "postgres.sh: cannot connect to 127.0.0.1:$port as a superuser (tried TCP trust and the postgres OS user)" >&2
    exit 1
  fi
}

start_private_cluster() {
  local bin data=$state/pg log=$state/logs/postgres.log
  bin=$(mm_pgbin || true)
  if [[ -z $bin ]]; then
    echo "postgres.sh: installing PostgreSQL from Debian"
    # Only binaries: no distro-managed main cluster on 5432 that we would then have to own.
    mkdir -p /etc/postgresql-common
    grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
      echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(mm_pgbin)
  fi
  # initdb/postgres refuse root: they run as `postgres` (made by the Debian package).
  if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$data" --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$data" "$state/logs"
  touch "$log"
  if [[ $(id -u) == 0 ]]; then chown postgres: "$data" "$log"; fi
  if [[ ! -s $data/PG_VERSION ]]; then
    mm_as_pg_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! mm_listening "$private_port"; then
    # TCP on loopback only, no Unix socket (its path could exceed 107 bytes in a deep checkout).
    mm_as_pg_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=$host -p $private_port -c unix_socket_directories=''" start >/dev/null
    touch "$state/pg.private"   # tells mm-down.sh that this cluster is ours to stop
  fi
  port=$private_port
}

if [[ ${MM_PG_FORCE_PRIVATE:-0} == 1 ]] || ! mm_listening "$port"; then
  [[ ${MM_PG_FORCE_PRIVATE:-0} == 1 ]] || echo "postgres.sh: nothing listens on $host:$port, starting a private cluster"
  start_private_cluster
fi
pick_superuser

# Role and database, idempotent. CREATEDB so tests may make throw-away databases.
"${SUPER_PSQL[@]}" <<SQL
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$db_user') THEN
    CREATE ROLE $db_user LOGIN CREATEDB PASSWORD '$db_pass';
  ELSE
    ALTER ROLE $db_user LOGIN CREATEDB PASSWORD '$db_pass';
  END IF;
END\$\$;
SQL
if [[ $fresh == 1 ]]; then
  "${SUPER_PSQL[@]}" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)"
fi
if [[ -z $("${SUPER_PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db_name'") ]]; then
  "${SUPER_PSQL[@]}" -c "CREATE DATABASE $db_name OWNER $db_user ENCODING 'UTF8' TEMPLATE template0"
fi

dsn="postgres://$db_user:$db_pass@$host:$port/$db_name?sslmode=disable&connect_timeout=10"
{
  echo "MM_PG_HOST=$host"
  echo "MM_PG_PORT=$port"
  echo "MM_PG_USER=$db_user"
  echo "MM_PG_PASSWORD=$db_pass"
  echo "MM_PG_DATABASE=$db_name"
  echo "MM_PG_PRIVATE=$([[ -e $state/pg.private ]] && echo 1 || echo 0)"
  echo "MM_DSN='$dsn'"
} >"$state/pg.env"
echo "postgres.sh: database $db_name on $host:$port ready"
