#!/usr/bin/env bash
# What capture from the WAL costs writers before any consumer does anything with what it receives: pgbench writes into
# a table that a pgoutput publication covers while PostgreSQL's own pg_recvlogical consumes the slot into /dev/null,
# alternated with the same writes into a table no publication covers and no slot watches. Issue 17's rate targets for
# capture from the WAL cannot be higher than this floor on the same machine, whatever the consumer.
#
# Each round creates the slot at the current position and drops it after, so that no round decodes another's writes.
# Besides the rate, it reads the WAL sender's CPU (from /proc) and how far behind the slot was when the writers stopped:
# a lag that grows means decoding alone could not keep up with the writers.
#
# usage: Zgres.Bench/scripts/decoding-floor.sh [rounds] [seconds per run]      (defaults: 4 rounds of 15 s)
# needs: PostgreSQL's server programs, pgbench, pg_recvlogical, psql; as root it runs PostgreSQL as the postgres user.
set -euo pipefail
rounds="${1:-4}"
seconds="${2:-15}"
# The settings of the bench's own cluster (Zgres.Bench/Hosting/BenchDatabase.cs, through EmbeddedPostgres).
source "$(dirname "$0")/scratch-cluster.sh" decoding-floor 55992 \
  "-c full_page_writes=off -c wal_level=logical -c max_wal_senders=4 -c max_replication_slots=4"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE plain (id bigserial PRIMARY KEY, input_id int NOT NULL, seq bigint NOT NULL, sent_us bigint NOT NULL);
CREATE TABLE watched (LIKE plain INCLUDING ALL);
ALTER TABLE watched REPLICA IDENTITY FULL;
CREATE PUBLICATION floor FOR TABLE watched;
SQL
for table in plain watched; do
  printf '\\set i random(1, 2000)\nINSERT INTO %s (input_id, seq, sent_us) VALUES (:i, 1, 1);\n' "$table" > "$work/$table-row.sql"
  printf '\\set i random(1, 2000)\nINSERT INTO %s (input_id, seq, sent_us) SELECT :i, g, 1 FROM generate_series(1, 50) g;\n' "$table" > "$work/$table-insert50.sql"
done

# writes TABLE WORKLOAD CLIENTS: pgbench's rows/s.
writes() {
  local rows=1; [ "$2" = insert50 ] && rows=50
  pgbench -n -c "$3" -j "$3" -T "$seconds" -f "$work/$1-$2.sql" 2>/dev/null | awk -v rows=$rows '/^tps = / { printf "%.0f", $3 * rows }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# decoded WORKLOAD CLIENTS: the watched table's rows/s with the slot consumed, then " <WAL sender cores> <lag MB>".
decoded() {
  pg_recvlogical -d postgres --slot floor --create-slot -P pgoutput >/dev/null
  pg_recvlogical -d postgres --slot floor --start -o proto_version=1 -o publication_names=floor -f /dev/null &
  local consumer=$! sender=""
  until [ -n "$sender" ]; do sleep 0.1; sender=$(psql -Atc "SELECT pid FROM pg_stat_replication WHERE application_name = 'pg_recvlogical'"); done
  local before; before=$(cpu_ticks "$sender")
  local rate; rate=$(writes watched "$1" "$2")
  local after; after=$(cpu_ticks "$sender")
  local lag; lag=$(psql -Atc "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) / 1e6) FROM pg_replication_slots WHERE slot_name = 'floor'")
  kill "$consumer"; wait "$consumer" 2>/dev/null || true
  pg_recvlogical -d postgres --slot floor --drop-slot
  printf '%s %s %s' "$rate" "$(awk -v t=$((after - before)) -v s="$seconds" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz / s }')" "$lag"
}
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

psql -Atc "SELECT version()"
printf '| writers | workload | ÷ unwatched, per round | median | WAL sender cores | slot behind at the end (MB) |\n|---:|---|---|---:|---|---|\n'
for clients in 4 1; do
  for workload in row insert50; do
    ratios=() cores=() lags=()
    for round in $(seq 1 "$rounds"); do
      # Alternate which side runs first, so that a drift in the machine's speed does not favour one.
      if (( round % 2 )); then unwatched=$(writes plain $workload $clients); read -r rate core lag <<<"$(decoded $workload $clients)"
      else read -r rate core lag <<<"$(decoded $workload $clients)"; unwatched=$(writes plain $workload $clients); fi
      ratios+=("$(awk -v a="$rate" -v b="$unwatched" 'BEGIN { printf "%.2f", a / b }')") cores+=("$core") lags+=("$lag")
    done
    printf '| %s | %s | %s | %s× | %s | %s |\n' "$clients" "$workload" "${ratios[*]}" \
      "$(printf '%s\n' "${ratios[@]}" | median)" "${cores[*]}" "${lags[*]}"
  done
done
