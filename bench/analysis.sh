#!/usr/bin/env bash
# Benchmark of the analysis functions (docs/analysis.md), not a timed test:
#
#   bash bench/analysis.sh [N] [ROUNDS]      (defaults: 1000 revisions, 3 rounds)
#
# On a throwaway cluster (in /dev/shm when there is room, as bench/run.sh),
# with the W1 chain of bench/gen.py (N x CREATE TABLE, downgrade DROP
# TABLE) registered and nothing applied, it times, each round:
#
#   lint      SELECT count(*) FROM ap_migrate_lint()       (N pending revisions,
#             first call of a session and a second one)
#   plain     BEGIN; ap_migrate_upgrade('head'); ap_migrate_downgrade('base'); ROLLBACK
#   verify    SELECT ... FROM ap_migrate_verify('heads')
#
# and prints the medians and verify / plain (target: about 3 or less).
# Honours APM_PG_CONFIG, APM_PGBIN (test/common.sh) and APM_BENCH_PORT.
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"
n=${1:-1000}
rounds=${2:-3}
port=${APM_BENCH_PORT:-54462}

if [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -n 1)" -gt 2000000 ] 2>/dev/null; then
	work=$(mktemp -d /dev/shm/ap_migrate_analysis.XXXXXX)
	chmod 755 "$work"
	[ "$(id -u)" -eq 0 ] && chown "$APM_OS_USER" "$work"
else
	work=$(apm_workdir)
fi
trap 'apm_stop_cluster "$work"; rm -rf "$work"' EXIT

rsync -a --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' "$repo/" "$work/build/"
apm_build_install "$work/build" "" >/dev/null
apm_start_cluster "$work" "$port"
python3 "$repo/bench/gen.py" w1 "$n" "$work/w1" >/dev/null
chmod -R a+rX "$work"

psql_() { apm_as_user psql -X -q -v ON_ERROR_STOP=1 -d bench "$@"; }
apm_as_user psql -X -q -d postgres -c "CREATE DATABASE bench"
psql_ -c "CREATE EXTENSION ap_migrate"
psql_ -f "$work/w1/register.sql" >/dev/null

# milliseconds taken by one psql call
timed() {
	local t0 t1
	t0=$(date +%s%N)
	psql_ "$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

: >"$work/lint" ; : >"$work/plain" ; : >"$work/verify"
for r in $(seq 1 "$rounds"); do
	# lint: in a fresh session (what a CLI call costs) and again warm; psql's
	# \timing, so connection start is not counted
	psql_ -c '\timing on' -c "SELECT count(*) FROM ap_migrate_lint()" \
		-c "SELECT count(*) FROM ap_migrate_lint()" |
		sed -n 's/^Time: \([0-9]*\)\..*/\1/p' | paste -sd' ' >>"$work/lint"
	timed -c "SET client_min_messages = warning" -c "BEGIN" \
		-c "SELECT ap_migrate_upgrade('head')" -c "SELECT ap_migrate_downgrade('base')" \
		-c "ROLLBACK" >>"$work/plain"
	timed -c "SELECT count(*) FROM ap_migrate_verify('heads') WHERE status <> 'ok'" >>"$work/verify"
	# the rolled-back DDL leaves dead catalog rows behind; clear them between rounds
	psql_ -c "VACUUM pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_type, pg_catalog.pg_depend, pg_catalog.pg_constraint, pg_catalog.pg_index, pg_catalog.pg_attrdef"
done
lint=$(cut -d' ' -f1 "$work/lint" | median)
lint_warm=$(cut -d' ' -f2 "$work/lint" | median)
plain=$(median <"$work/plain")
verify=$(median <"$work/verify")
bad=$(psql_ -At -c "SELECT count(*) FROM ap_migrate_verify('heads') WHERE status <> 'ok'")
printf 'revisions %d, rounds %d (median ms)\n' "$n" "$rounds"
printf '  lint of %d revisions          %6d ms   (new session; warm: %d ms; target < 1000)\n' "$n" "$lint" "$lint_warm"
printf '  upgrade + downgrade (plain)   %6d ms\n' "$plain"
printf '  verify                        %6d ms   (%s x plain; target ~3)  rows not ok: %s\n' "$verify" \
	"$(awk -v v="$verify" -v p="$plain" 'BEGIN {printf "%.2f", v / p}')" "$bad"
