#!/usr/bin/env bash
# What a trigger costs its writer, counted in CPU instructions rather than seconds, so that two runs on a busy machine
# give the same figures: each workload runs in a single-user PostgreSQL backend under valgrind's callgrind, twice with
# different numbers of transactions, and the difference is divided by the extra transactions (startup cancels out).
#
# Columns: no trigger, the seed's trigger (shared/peers/seed-node/seed-trigger.sql), Zgres's row-level trigger, the same
# carrying each event in a notification (EventsInNotifications), and Zgres's statement-level trigger (StatementTriggers)
# as the migrations of the Zgres.Server.dll given (default: the Debug build) install them. Workloads: a 1-row INSERT and
# a 50-row INSERT per transaction.
#
# usage: Zgres.Bench/scripts/trigger-instructions.sh [path/to/Zgres.Server.dll]
# needs: PostgreSQL's server programs, valgrind, python3, dotnet; as root it runs PostgreSQL as the postgres user.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
server_dll="${1:-$repo/Zgres.Server/bin/Debug/net10.0/Zgres.Server.dll}"
source "$(dirname "$0")/scratch-cluster.sh" trigger-instructions 55991
ConnectionStrings__Postgres="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres" dotnet "$server_dll" migrate >/dev/null
psql -q -v ON_ERROR_STOP=1 postgres <<'SQL'
CREATE TABLE plain (id bigserial PRIMARY KEY, input_id int NOT NULL, value text);
CREATE TABLE zgres_row (LIKE plain INCLUDING ALL);
CREATE TRIGGER zgres_notify AFTER INSERT OR UPDATE OR DELETE ON zgres_row FOR EACH ROW EXECUTE FUNCTION zgres.notify_trigger('db_notifications', 'input_id');
-- A single-user backend has no listener to hold the lock that makes the trigger carry events, so a copy of the trigger
-- whose probe always finds one (trigger v5 and later). A trigger whose probe reads otherwise stops the script, rather
-- than filling the column with a copy that carries nothing.
DO $$
DECLARE
    carrying text := replace(replace(pg_get_functiondef('zgres.notify_trigger'::regproc), 'zgres.notify_trigger()', 'zgres.notify_trigger_carrying()'),
        'carried := NOT pg_try_advisory_lock(134584719471364);', 'carried := true;');
BEGIN
    IF position('carried := true;' IN carrying) = 0 THEN
        RAISE EXCEPTION 'zgres.notify_trigger() has no probe for a listener of carried events to replace';
    END IF;
    EXECUTE carrying;
END $$;
CREATE TABLE zgres_row_carried (LIKE plain INCLUDING ALL);
CREATE TRIGGER zgres_notify AFTER INSERT OR UPDATE OR DELETE ON zgres_row_carried FOR EACH ROW EXECUTE FUNCTION zgres.notify_trigger_carrying('db_notifications', 'input_id');
CREATE TABLE zgres_statement (LIKE plain INCLUDING ALL);
CREATE TRIGGER zgres_notify_insert AFTER INSERT ON zgres_statement REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION zgres.notify_statement_trigger('db_notifications', 'input_id');
SQL
psql -q -v ON_ERROR_STOP=1 postgres -f "$repo/../shared/peers/seed-node/seed-trigger.sql"
psql -qAt postgres -c "SELECT 'Zgres schema ' || max(version) FROM zgres.schema_version"
as_postgres "$bin/pg_ctl" -D "$work/data" -w stop >/dev/null

# instructions TABLE ROWS TRANSACTIONS: callgrind's total for that many INSERTs of ROWS rows each into TABLE.
instructions() {
  python3 -c "import sys; t,r,n=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]); rows=\"VALUES (1, 'x')\" if r == 1 else f\"SELECT 1, 'x' FROM generate_series(1, {r})\"; print('\n'.join(f'INSERT INTO {t} (input_id, value) {rows};' for _ in range(n)))" "$1" "$2" "$3" > "$work/in.sql"
  [ "$(id -u)" = 0 ] && chown postgres "$work/in.sql"
  as_postgres valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/postgres" --single -D "$work/data" -c fsync=off postgres \
    < "$work/in.sql" 2>&1 >/dev/null | grep -o 'Collected : [0-9]*' | grep -o '[0-9]*'
}
printf '| table | 1-row INSERT: instructions per transaction | ÷ no trigger | 50-row INSERT: instructions per row | ÷ no trigger |\n|---|---:|---:|---:|---:|\n'
declare -A single fifty
for table in plain inputs_seed zgres_row zgres_row_carried zgres_statement; do
  single[$table]=$(( ($(instructions "$table" 1 1300) - $(instructions "$table" 1 300)) / 1000 ))
  fifty[$table]=$(( ($(instructions "$table" 50 130) - $(instructions "$table" 50 30)) / 100 / 50 ))
  python3 -c "import sys; n,s,p,f,q=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]),int(sys.argv[5]); print(f'| {n} | {s:,} | {p/s:.2f}× | {f:,} | {q/f:.2f}× |')" \
    "$table" "${single[$table]}" "${single[plain]}" "${fifty[$table]}" "${fifty[plain]}"
done
