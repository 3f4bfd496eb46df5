# Sourced by the scripts beside it: a scratch PostgreSQL cluster of the machine's newest version on a loopback port, in
# a folder of its own under /tmp (run as the postgres user when the script runs as root, since PostgreSQL refuses root),
# stopped and removed when the script exits.
#
# usage: source scratch-cluster.sh NAME PORT ['-c setting=value ...']
# sets: bin (PostgreSQL's programs), work (the folder; the cluster is $work/data), port, as_postgres (runs a command as
# the cluster's owner), and PGHOST, PGPORT, PGUSER, PGDATABASE for psql and the tools.
bin="$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sort -V | tail -1)")"
work="$(mktemp -d "/tmp/zgres-$1.XXXXXX")"
port=$2
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
trap 'as_postgres "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

as_postgres "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
as_postgres "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c fsync=off ${3:-}" start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
