#!/usr/bin/env bash
# The whole ap_migrate test suite, from a fresh Debian bookworm machine:
# installs what it needs, builds with -Wall -Werror, installs the extension,
# runs the pg_regress suite and the isolation specs against a throwaway
# cluster and the TAP tests on their own clusters, then prints one summary
# line "N passed, M failed" and exits non-zero on any failure.
#
# Run it as root (it installs packages and the extension) or, with both
# already in place, as a user that can run PostgreSQL.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every major: test/matrix.sh runs this script once per major, then sums up.
if [ -z "${APM_MATRIX_INNER:-}" ] && [ "${APM_MATRIX:-0}" != 0 ]; then
	exec bash "$repo/test/matrix.sh"
fi
. "$repo/test/common.sh"

passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

apm_install_deps || { echo "0 passed, 1 failed"; exit 1; }
if ! apm_build_install "$repo" "-Wall -Werror"; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

# Tests write results next to the sources, so run them in a copy the
# cluster's user owns.
work=$(apm_workdir)
rsync -a --exclude .git --exclude '*.o' --exclude '*.so' "$repo/" "$work/src/"
[ "$(id -u)" -eq 0 ] && chown -R "$APM_OS_USER" "$work"
# The work directory (a copy of the tree, the clusters, the logs: a few
# hundred MB) is removed at the end, unless KEEP=1 (keep it) or
# KEEP=failed (keep it when a test failed); the last lines say where.
cleanup() {
	local status=$?
	apm_stop_cluster "$work"
	for d in "$work"/src/tmp_check/t_*_data; do
		[ -f "$d/pgdata/postmaster.pid" ] && apm_as_user pg_ctl -D "$d/pgdata" -m immediate stop >/dev/null 2>&1
	done
	if [ "${KEEP:-0}" = 1 ] || { [ "${KEEP:-0}" = failed ] && [ "$status" -ne 0 ]; }; then
		apm_log "work directory kept: $work (logs: $work/*.log, $work/src/regression.diffs, $work/src/tmp_check/log)"
	else
		rm -rf "$work"
		[ "$status" -ne 0 ] && apm_log "work directory removed; run with KEEP=failed to keep it on failure"
	fi
	return 0
}
trap cleanup EXIT

apm_start_cluster "$work" "${APM_TEST_PORT:-54329}" || { echo "0 passed, 1 failed"; exit 1; }

# pg_regress and pg_isolation_regress print one "... ok" or "... FAILED"
# line per test ("ok N - name" or "not ok N - name" since PostgreSQL 16).
run_suite() {
	local name=$1 target=$2 dir=$work/src/${3:-} log="$work/$1.log" ok bad
	apm_log "running the $name suite"
	apm_as_user make -C "$dir" -s "$target" PG_CONFIG="$APM_PG_CONFIG" \
		PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" ${4:+"$4"} >"$log" 2>&1
	cat "$log"
	ok=$(grep -cE '\.\.\. ok|^ok [0-9]+ ' "$log")
	bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+ ' "$log")
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		bad=1	# the suite did not run at all
	fi
	count "$ok" "$bad"
	for diffs in "$dir/regression.diffs" "$dir/output_iso/regression.diffs"; do
		[ -s "$diffs" ] && { echo "---- $diffs"; cat "$diffs"; }
	done
	return 0
}

run_suite regress check-regress
run_suite isolation check-isolation
# a user's own pg_regress suite (examples/ap_intake_tests), pgTAP included
run_suite example-suite installcheck examples/ap_intake_tests PGTAP=1

# The differential test against real Alembic ends with "N passed, M failed"
# over its cases (fixed seed; APM_DIFF_CASES to run more).
apm_log "running the differential test against Alembic"
difflog="$work/alembic_diff.log"
/usr/bin/python3 "$repo/test/alembic_diff.py" --with-pending --cases "${APM_DIFF_CASES:-500}" \
	--dbname alembic_diff >"$difflog" 2>&1
tail -n 5 "$difflog"
diff_counts=$(tail -n 1 "$difflog" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
if [ -n "$diff_counts" ]; then
	grep '^FAIL' "$difflog" | head -n 20
	count $diff_counts
else
	cat "$difflog"
	count 0 1
fi
# The fuzz test throws generated arguments at every function and checks the
# server never restarts and never answers XX000; it ends with the same line.
apm_log "running the fuzz test"
fuzzlog="$work/fuzz.log"
/usr/bin/python3 "$repo/test/fuzz.py" --dbname fuzz >"$fuzzlog" 2>&1
tail -n 5 "$fuzzlog"
fuzz_counts=$(tail -n 1 "$fuzzlog" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
if [ -n "$fuzz_counts" ]; then
	count $fuzz_counts
else
	cat "$fuzzlog"
	count 0 1
fi
# The importer tests (tools/ap-migrate-import on test/import/) end the same way.
apm_log "running the importer tests"
importlog="$work/import.log"
PATH="$APM_PGBIN:$PATH" /usr/bin/python3 "$repo/test/import_test.py" >"$importlog" 2>&1
grep -E '^(FAIL|skip)' "$importlog"
import_counts=$(tail -n 1 "$importlog" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
if [ -n "$import_counts" ]; then count $import_counts; else cat "$importlog"; count 0 1; fi
apm_stop_cluster "$work"

# TAP: prove prints "Files=F, Tests=N" and, per failing file,
# "Failed X/Y subtests"; a file that dies counts as one failure.
apm_log "running the TAP suite"
taplog="$work/tap.log"
apm_as_user make -C "$work/src" -s check-tap PG_CONFIG="$APM_PG_CONFIG" >"$taplog" 2>&1
tap_status=$?
cat "$taplog"
tap_total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$taplog" | tail -n 1)
tap_failed=$(sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$taplog" | awk '{s+=$1} END {print s+0}')
tap_total=${tap_total:-0}
if [ "$tap_status" -ne 0 ] && [ "$tap_failed" -eq 0 ]; then
	tap_failed=1
fi
count $((tap_total - tap_failed > 0 ? tap_total - tap_failed : 0)) "$tap_failed"
for f in "$work"/src/tmp_check/log/regress_log_*; do
	[ "$tap_status" -ne 0 ] && [ -f "$f" ] && { echo "---- $f"; tail -n 50 "$f"; }
done

# The C sources are indented as pgindent indents them (tools/pgindent.sh):
# one check, on the host's major only.  pgindent comes from bookworm's
# postgresql-15 source package; when that is unreachable the check says so
# and is not counted.
if [ "${APM_PG_MAJOR:-15}" = 15 ]; then
	apm_log "checking the indentation (pgindent)"
	bash "$repo/tools/pgindent.sh" --check >"$work/pgindent.log" 2>&1
	case $? in
	0) count 1 0 ;;
	2) cat "$work/pgindent.log"; echo "pgindent check not run: PostgreSQL's source is unreachable" ;;
	*) cat "$work/pgindent.log"; count 0 1 ;;
	esac
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
