#!/usr/bin/env bash
# No-op deploy cost: SELECT ap_migrate_upgrade('heads') and CALL
# ap_migrate_run('heads') when the database is already at head, with 10 and
# with 10,000 registered revisions, measured side by side in one run against
# the floor of a bare "SELECT 1".
#
# Each transaction is a new connection (pgbench -C), as a deploy runs it: the
# backend start and ap_migrate's library load are in the latency.  Without
# -C, pgbench reuses one backend, which loads the library once, and the
# no-op looked cheaper than a user sees it.  Prints the median latency of
# several pgbench rounds for each contender, interleaved, and the ratios.
# Run as root: bash bench/noop.sh (ROUNDS=5 SECONDS_PER_ROUND=3 by default;
# REUSE=1 for the old reused connection).
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"
rounds=${ROUNDS:-5}
secs=${SECONDS_PER_ROUND:-3}

apm_install_deps postgresql-contrib
apm_build_install "$repo" ""
work=$(apm_workdir)
trap 'apm_stop_cluster "$work"; rm -rf "$work"' EXIT
apm_start_cluster "$work" "${APM_BENCH_PORT:-${APM_TEST_PORT:-54359}}"

psql_q() { apm_as_user psql -X -q -v ON_ERROR_STOP=1 "$@"; }
for n in 10 10000; do
	apm_as_user createdb "noop$n"
	psql_q -d "noop$n" <<SQL >/dev/null
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;
SELECT count(ap_migrate_add(lpad(to_hex(i), 12, '0'),
       CASE WHEN i = 1 THEN NULL ELSE ARRAY[lpad(to_hex(i - 1), 12, '0')] END,
       'SELECT 1', 'SELECT 1', 'revision ' || i))
  FROM generate_series(1, $n) AS i;
SELECT ap_migrate_upgrade('head');
SQL
	# a deployed database has been vacuumed since its revisions were registered
	psql_q -d "noop$n" -c 'VACUUM ANALYZE'
done

echo "SELECT ap_migrate_upgrade('heads');" >"$work/noop.sql"
echo "CALL ap_migrate_run('heads');" >"$work/run.sql"
echo "SELECT 1;" >"$work/floor.sql"
chmod 644 "$work"/*.sql

# one pgbench round: prints the average latency in ms
connect=-C
[ "${REUSE:-0}" = 1 ] && connect=
round() { apm_as_user pgbench -n $connect -T "$secs" -f "$2" "$1" 2>/dev/null | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: >"$work/floor.txt"; : >"$work/n10.txt"; : >"$work/n10000.txt"; : >"$work/run10000.txt"
for _ in $(seq 1 "$rounds"); do
	round noop10 "$work/floor.sql" >>"$work/floor.txt"
	round noop10 "$work/noop.sql" >>"$work/n10.txt"
	round noop10000 "$work/noop.sql" >>"$work/n10000.txt"
	round noop10000 "$work/run.sql" >>"$work/run10000.txt"
done
floor=$(median <"$work/floor.txt")
n10=$(median <"$work/n10.txt")
n10000=$(median <"$work/n10000.txt")
run10000=$(median <"$work/run10000.txt")
printf '%-40s %10s %s\n' "contender (median of $rounds x ${secs}s${connect:+, new connection each})" "latency ms" "range"
for c in floor n10 n10000 run10000; do
	printf '%-40s %10s %s\n' "$c" "$(median <"$work/$c.txt")" "$(sort -n "$work/$c.txt" | sed -n '1p;$p' | paste -sd-)"
done
awk -v a="$n10" -v b="$n10000" -v f="$floor" -v r="$run10000" 'BEGIN {
	printf "no-op at 10,000 / no-op at 10:           %.2f\n", b / a;
	printf "no-op at 10,000 / SELECT 1:              %.2f\n", b / f;
	printf "CALL ap_migrate_run at 10,000 / SELECT 1: %.2f\n", r / f }'
