#!/usr/bin/env bash
# The whole ap_migrate test suite, from a fresh Debian bookworm machine:
# installs what it needs, builds with -Wall -Werror, installs the extension,
# runs the pg_regress suite and the isolation specs against a throwaway
# cluster and the TAP tests on their own clusters, then prints one summary
# line "N passed, M failed" and exits non-zero on any failure.
#
# By default it runs the matrix (test/matrix.sh): this suite on the host's
# PostgreSQL 15 and the other majors Debian ships (13, 17, 18) in chroots,
# which needs root.  APM_MATRIX=0 runs one major only: 15, or APM_PG_MAJOR
# (test/pg.sh sets it in a chroot).  APM_SUITES picks parts of the suite
# (default: all of them, as listed in "suites" below).
#
# Run it as root (it installs packages and the extension) or, with
# APM_MATRIX=0 and everything already in place, as a user that can run
# PostgreSQL.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every major: test/matrix.sh runs this script once per major, then sums up.
if [ -z "${APM_MATRIX_INNER:-}" ] && [ "${APM_MATRIX:-1}" != 0 ]; then
	exec bash "$repo/test/matrix.sh"
fi
. "$repo/test/common.sh"

# The parts of the suite; the matrix runs a subset on some majors.
all_suites="regress isolation example diff fuzz import tap indent"
suites=" ${APM_SUITES:-$all_suites} "
for s in $suites; do
	case " $all_suites " in
	*" $s "*) ;;
	*) echo "run_all.sh: unknown suite \"$s\" in APM_SUITES (known: $all_suites)"; echo "0 passed, 1 failed"; exit 1 ;;
	esac
done
want() { [[ $suites == *" $1 "* ]]; }
apm_log "PostgreSQL $APM_PG_MAJOR:$suites"

passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
# how long each part took, printed at the end
times=()
took() { times+=("$1 $(($(date +%s) - $2)) s"); }
t0=$(date +%s)

apm_install_deps || { echo "0 passed, 1 failed"; exit 1; }
if ! apm_build_install "$repo" "-Wall -Werror"; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
took "packages and build" "$t0"

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
	local name=$1 target=$2 dir=$work/src/${3:-} log="$work/$1.log" ok bad diffs t0
	t0=$(date +%s)
	apm_log "running the $name suite"
	apm_as_user make -C "$dir" -s "$target" PG_CONFIG="$APM_PG_CONFIG" \
		PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" ${4:+"$4"} >"$log" 2>&1
	cat "$log"
	ok=$(grep -cE '\.\.\. ok|^ok [0-9]+ ' "$log")
	bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+ ' "$log")
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		bad=1	# the suite did not run at all
		echo "the $name suite did not run (see the lines above)"
	fi
	count "$ok" "$bad"
	diffs=$dir/regression.diffs
	[ "$name" = isolation ] && diffs=$dir/output_iso/regression.diffs
	[ -s "$diffs" ] && { echo "---- $diffs"; cat "$diffs"; }
	took "$name" "$t0"
	return 0
}

want regress && run_suite regress check-regress
if want isolation; then
	# Debian's packages of 13 lack the isolation tester; test/pg.sh builds
	# it from the source package, and says here when it could not.
	tester=$("$APM_PG_CONFIG" --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress
	if [ -x "$tester" ]; then
		run_suite isolation check-isolation
	else
		echo "the isolation suite cannot run: $tester is missing"
		[ -f /etc/ap_migrate-isolation-tester ] && cat /etc/ap_migrate-isolation-tester
		count 0 1
	fi
fi
# A user's own pg_regress suite (examples/ap_intake_tests), pgTAP included.
# It finds its files through pg_regress's PG_ABS_SRCDIR and psql's \getenv,
# both PostgreSQL 15 and later (docs/testing.md): not run on 13.
if want example; then
	if [ "$APM_PG_MAJOR" -ge 15 ]; then
		run_suite example-suite installcheck examples/ap_intake_tests PGTAP=1
	else
		echo "the example suite is not run on PostgreSQL $APM_PG_MAJOR: it needs 15's pg_regress and psql (PG_ABS_SRCDIR, \\getenv)"
	fi
fi

# The differential test against real Alembic, the fuzz test and the
# importer tests each end with "N passed, M failed" over their cases.
# run_counted NAME LOG COMMAND...: run one, count its last line.
run_counted() {
	local name=$1 log=$2 counts t0
	t0=$(date +%s)
	shift 2
	apm_log "running the $name"
	"$@" >"$log" 2>&1
	tail -n 5 "$log"
	counts=$(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
	if [ -n "$counts" ]; then
		grep -E '^(FAIL|skip)' "$log" | head -n 20
		count $counts
	else
		cat "$log"
		count 0 1
	fi
	took "${name%% *}" "$t0"
}
# against Alembic: fixed seed; APM_DIFF_CASES to run more
want diff && run_counted "differential test against Alembic" "$work/alembic_diff.log" \
	/usr/bin/python3 "$repo/test/alembic_diff.py" --with-pending --cases "${APM_DIFF_CASES:-500}" \
	--dbname alembic_diff
# generated arguments at every function: the server never restarts and
# never answers XX000
want fuzz && run_counted "fuzz test" "$work/fuzz.log" \
	/usr/bin/python3 "$repo/test/fuzz.py" --dbname fuzz
# tools/ap-migrate-import on test/import/.  The tests need Python 3.11
# (tomllib; the importer itself falls back to python3-toml, or says what is
# missing) and their Alembic fixture SQLAlchemy 1.4: not run on an older
# system (Debian bullseye, 13's chroot: Python 3.9, SQLAlchemy 1.3).
if want import; then
	if /usr/bin/python3 -c 'import tomllib' 2>/dev/null; then
		run_counted "importer tests" "$work/import.log" \
			env PATH="$APM_PGBIN:$PATH" /usr/bin/python3 "$repo/test/import_test.py"
	else
		echo "the importer tests are not run: tools/ap-migrate-import needs Python 3.11 (tomllib), this system has $(/usr/bin/python3 -V)"
	fi
fi
apm_stop_cluster "$work"

# TAP: prove prints "Files=F, Tests=N" and, in its summary, one line per
# failing file, "(Wstat: W Tests: T Failed: F)"; a file that fails without
# a failed subtest (it died, or its plan is wrong) counts as one failure.
if want tap; then
	apm_log "running the TAP suite"
	t0=$(date +%s)
	taplog="$work/tap.log"
	apm_as_user make -C "$work/src" -s check-tap PG_CONFIG="$APM_PG_CONFIG" >"$taplog" 2>&1
	tap_status=$?
	cat "$taplog"
	tap_total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$taplog" | tail -n 1)
	tap_failed=$(sed -n 's/.*(Wstat: [0-9]* .*Tests: [0-9]* Failed: \([0-9]*\))$/\1/p' "$taplog" |
		awk '{s += ($1 > 0 ? $1 : 1)} END {print s + 0}')
	tap_total=${tap_total:-0}
	if [ "$tap_status" -ne 0 ] && [ "$tap_failed" -eq 0 ]; then
		tap_failed=1
	fi
	count $((tap_total - tap_failed > 0 ? tap_total - tap_failed : 0)) "$tap_failed"
	for f in "$work"/src/tmp_check/log/regress_log_*; do
		[ "$tap_status" -ne 0 ] && [ -f "$f" ] && { echo "---- $f"; tail -n 50 "$f"; }
	done
	took TAP "$t0"
fi

# The C sources are indented as pgindent indents them (tools/pgindent.sh):
# one check, on the host's major only.  pgindent comes from bookworm's
# postgresql-15 source package; when that is unreachable the check says so
# and is not counted.
if want indent && [ "${APM_PG_MAJOR:-15}" = 15 ]; then
	apm_log "checking the indentation (pgindent)"
	t0=$(date +%s)
	bash "$repo/tools/pgindent.sh" --check >"$work/pgindent.log" 2>&1
	case $? in
	0) count 1 0 ;;
	2) cat "$work/pgindent.log"; echo "pgindent check not run: PostgreSQL's source is unreachable" ;;
	*) cat "$work/pgindent.log"; count 0 1 ;;
	esac
	took indent "$t0"
fi

apm_log "PostgreSQL $APM_PG_MAJOR, time per part: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g')"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
