#!/usr/bin/env bash
# The ap_migrate performance benchmark, one command.  Run as root:
#
#   bash bench/run.sh              full run (every section, 7 rounds; W4/W5 5)
#   bash bench/run.sh --quick      smoke mode: small sizes, 2 rounds (13.5 min
#                                  on 2 shared cores at load 15-20, on disk)
#   bash bench/run.sh --rounds N   rounds per contender (default 7, quick 2)
#   bash bench/run.sh --only noop,scale   some sections only
#                                  (workloads, noop, libload, scale, memory,
#                                  instructions, profile, diagnose)
#   bash bench/run.sh --workloads w2   some workloads only (w1, w2, w3, w4, w5)
#   bash bench/run.sh --contenders floor,apm   some contenders only (floor,
#                                  apm, apm_run, floor_step, alembic, and
#                                  apm_nofp, apm_run_nofp: the function and
#                                  the procedure with
#                                  ap_migrate.record_fingerprint = off)
#   bash bench/run.sh --w1-sizes 100   W1's sizes (default 100,1000)
#   bash bench/run.sh --json FILE  also write the raw samples as JSON
#   bash bench/run.sh --tmpfs      the old setup: the cluster in /dev/shm,
#                                  where a commit's fsync costs nothing; the
#                                  default is what a user runs, a cluster on
#                                  disk with stock fsync = on and
#                                  synchronous_commit = on
#
# Every timed call is one client process with a new connection (so the
# backend start and ap_migrate's library load are inside the timing), as a
# deploy runs it.  Environment: APM_PG_CONFIG and APM_PGBIN (test/common.sh)
# pick a PostgreSQL installation other than the system's, APM_BENCH_PORT the
# port (else APM_TEST_PORT, else 54369), APM_BENCH_DIR the parent directory of the on-disk
# cluster (default /tmp).
#
# It installs what is missing (Debian packages, test/common.sh), builds and
# installs the extension from a snapshot of this tree, starts a throwaway
# PostgreSQL 15 cluster as the postgres user, generates every workload
# deterministically (bench/gen.py) and runs bench/bench.py, which times the
# contenders side by side, interleaved round by round, and prints per
# workload: contender, median seconds, min-max, ratio to the floor, and
# PASS/MISS against the targets.  Not part of the test command.
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"

args=()
json_out=
storage=disk
while [ $# -gt 0 ]; do
	case $1 in
	--quick) args+=(--quick) ;;
	--rounds) args+=(--rounds "$2"); shift ;;
	--rounds=*) args+=(--rounds "${1#--rounds=}") ;;
	--only) args+=(--only "$2"); shift ;;
	--workloads) args+=(--workloads "$2"); shift ;;
	--contenders) args+=(--contenders "$2"); shift ;;
	--w1-sizes) args+=(--w1-sizes "$2"); shift ;;
	--json) json_out=$(realpath -m "$2"); shift ;;
	--tmpfs) storage=tmpfs ;;
	--disk) storage=disk ;;
	-h|--help) sed -n '2,37p' "$0"; exit 0 ;;
	*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

apm_install_deps valgrind

if [ "$storage" = tmpfs ] && [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -n 1)" -gt 6000000 ] 2>/dev/null; then
	work=$(mktemp -d /dev/shm/ap_migrate_bench.XXXXXX)
	chmod 755 "$work"
	[ "$(id -u)" -eq 0 ] && chown "$APM_OS_USER" "$work"
else
	[ "$storage" = tmpfs ] && apm_log "less than 6 GB free in /dev/shm: the cluster goes on disk"
	storage=disk
	work=$(TMPDIR=${APM_BENCH_DIR:-/tmp} mktemp -d -t ap_migrate_bench.XXXXXX)
	chmod 755 "$work"
	[ "$(id -u)" -eq 0 ] && chown "$APM_OS_USER" "$work"
fi
trap 'apm_stop_cluster "$work"; rm -rf "$work"' EXIT

# Build from a snapshot of the tree, so that a build running here never
# touches the objects of someone working in it; the driver runs from the
# snapshot too, which the cluster's OS user can read wherever the checkout
# is (under /root it could not).
rsync -a --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' "$repo/" "$work/build/"
apm_build_install "$work/build" ""
rev=$(git -c safe.directory="$repo" -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)

apm_start_cluster "$work" "${APM_BENCH_PORT:-${APM_TEST_PORT:-54369}}"
[ "$(id -u)" -eq 0 ] && chown -R "$APM_OS_USER" "$work"
[ -n "$json_out" ] && args+=(--json "$work/results.json")

status=0
# The benchmark runs as the cluster's user from the snapshot: the checkout
# may be where that user cannot read (under /root).
apm_as_user env APM_BENCH_REVISION="$rev" APM_BENCH_STORAGE="$storage ($work)" /usr/bin/python3 "$work/build/bench/bench.py" \
	--work "$work" --repo "$work/build" ${args[@]+"${args[@]}"} || status=$?
if [ -n "$json_out" ] && [ -f "$work/results.json" ]; then
	cp "$work/results.json" "$json_out"
	apm_log "raw samples written to $json_out"
fi
exit $status
