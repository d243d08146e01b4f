#!/usr/bin/env bash
# Baseline for `hanaro-bench sync`: PostgreSQL 15 logical replication of the same shape of rows
# between two throwaway clusters on 127.0.0.1. Starts them, measures, and removes them.
#
#   ops/bench/pg-logical-replication.sh [ROWS] [UPDATES]      (defaults 1000000 200000)
#
# Needs Debian's postgresql (apt-get install -y postgresql). Runs the servers as the `postgres`
# user when invoked as root. Prints rows/s for the initial sync (table copy of a subscription
# created after the load) and for catch-up (UPDATEs made while the subscription was disabled).
set -euo pipefail
ROWS=${1:-1000000}
UPDATES=${2:-200000}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/hanaro-pg-XXXXXX)
P1=55432; P2=55433
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$WORK"; [ "$(id -u)" = 0 ] && chown postgres "$WORK"
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$WORK/pub" -m immediate stop >/dev/null 2>&1 || true
  as_pg "$BIN/pg_ctl" -D "$WORK/sub" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for c in pub sub; do
  as_pg "$BIN/initdb" -D "$WORK/$c" -A trust -U postgres >/dev/null
  cat >> "$WORK/$c/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
wal_level = logical
max_wal_size = 4GB
synchronous_commit = off
shared_buffers = 256MB
CONF
done
as_pg "$BIN/pg_ctl" -D "$WORK/pub" -o "-p $P1" -l "$WORK/pub.log" -w start >/dev/null
as_pg "$BIN/pg_ctl" -D "$WORK/sub" -o "-p $P2" -l "$WORK/sub.log" -w start >/dev/null
psql1() { psql -h 127.0.0.1 -p $P1 -U postgres -qAt "$@"; }
psql2() { psql -h 127.0.0.1 -p $P2 -U postgres -qAt "$@"; }
SCHEMA="CREATE TABLE record (key text PRIMARY KEY, kind int NOT NULL, owner text NOT NULL, seq bigint NOT NULL,
  vector bytea NOT NULL, body bytea NOT NULL, sealed bytea, version int NOT NULL DEFAULT 1);"
psql1 -c "$SCHEMA"; psql2 -c "$SCHEMA"
# ~545-byte rows like Hanaro's (key ~25 B, vector 48 B, body ~470 B), four programs : one referral.
psql1 -c "INSERT INTO record (key, kind, owner, seq, vector, body, sealed)
  SELECT 'program/kodit/' || lpad(i::text, 9, '0'), CASE WHEN i % 5 = 4 THEN 2 ELSE 1 END, 'kodit', i,
         decode(repeat(md5(i::text), 3), 'hex'),
         convert_to(repeat(md5(i::text) || '소상공인 정책자금 지원 공고 ', 9), 'UTF8'),
         CASE WHEN i % 5 = 4 THEN decode(repeat(md5((i+1)::text), 2), 'hex') END
  FROM generate_series(1, $ROWS) AS i;"
psql1 -c "CREATE PUBLICATION hanaro_bench FOR TABLE record;"
now() { date +%s.%N; }
t0=$(now)
psql2 -c "CREATE SUBSCRIPTION hanaro_bench CONNECTION 'host=127.0.0.1 port=$P1 user=postgres dbname=postgres' PUBLICATION hanaro_bench;"
until [ "$(psql2 -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ] && \
      [ "$(psql2 -c "SELECT count(*) FROM record")" = "$ROWS" ]; do sleep 0.2; done
t1=$(now)
initial=$(echo "$ROWS / ($t1 - $t0)" | bc -l)
psql2 -c "ALTER SUBSCRIPTION hanaro_bench DISABLE;"
psql1 -c "UPDATE record SET version = 2, body = body || '\\x00'::bytea WHERE seq <= $UPDATES;"
t2=$(now)
psql2 -c "ALTER SUBSCRIPTION hanaro_bench ENABLE;"
until [ "$(psql2 -c "SELECT count(*) FROM record WHERE version = 2")" = "$UPDATES" ]; do sleep 0.2; done
t3=$(now)
catchup=$(echo "$UPDATES / ($t3 - $t2)" | bc -l)
printf 'postgresql-15 logical replication: initial sync %d rows in %.2f s = %.0f rows/s; catch-up %d updates in %.2f s = %.0f rows/s\n' \
  "$ROWS" "$(echo "$t1 - $t0" | bc -l)" "$initial" "$UPDATES" "$(echo "$t3 - $t2" | bc -l)" "$catchup"
