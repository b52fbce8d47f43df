#!/usr/bin/env bash
# The test matrix: test/run_all.sh's whole suite on every PostgreSQL major
# Debian ships, 15 on the host and 13, 17 and 18 in chroots (test/pg.sh),
# then one summary line per major and, last, the overall
# "N passed, M failed".  test/run_all.sh hands over to this script unless
# APM_MATRIX=0; APM_MAJORS picks majors (default "15 13 17 18").
#
# The chroots are built first (cached in /var/cache/ap_migrate/chroot-*),
# two at a time: debootstrap and apt mostly wait on the network.  The
# suites then run one major at a time, because the TAP tests time readers'
# latency and run 64 clients at once, and the machine has two cores.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
majors=${APM_MAJORS:-15 13 17 18}
logdir=$(mktemp -d /tmp/ap_migrate-matrix.XXXXXX)
export APM_MATRIX_INNER=1

log() { printf '==> %s\n' "$*" >&2; }
start=$(date +%s)

# debootstrap once, before two builds could both run apt-get on the host
if [ "$majors" != 15 ] && ! command -v debootstrap >/dev/null; then
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# Build the chroots that are missing, at most two at a time.
declare -A prep_status major_of
running=0
reap() {
	local done_pid st
	wait -n -p done_pid
	st=$?
	prep_status[${major_of[$done_pid]}]=$st
	running=$((running - 1))
}
for n in $majors; do
	[ "$n" = 15 ] && continue
	log "preparing PostgreSQL $n (log: $logdir/prepare-$n.log)"
	bash "$repo/test/pg.sh" "$n" prepare >"$logdir/prepare-$n.log" 2>&1 &
	major_of[$!]=$n
	running=$((running + 1))
	[ "$running" -ge 2 ] && reap
done
while [ "$running" -gt 0 ]; do
	reap
done
log "environments ready after $(( $(date +%s) - start )) s"

summary=()
passed=0
failed=0
for n in $majors; do
	t0=$(date +%s)
	out=$logdir/suite-$n.log
	if [ "$n" != 15 ] && [ "${prep_status[$n]:-1}" -ne 0 ]; then
		cat "$logdir/prepare-$n.log"
		echo "0 passed, 1 failed" >"$out"
		where="(environment could not be built)"
	elif [ "$n" = 15 ]; then
		log "PostgreSQL 15 (host): the whole suite"
		bash "$repo/test/run_all.sh" 2>&1 | tee "$out"
		where="(host, bookworm)"
	else
		log "PostgreSQL $n: the whole suite in a chroot"
		bash "$repo/test/pg.sh" "$n" bash test/matrix_inner.sh 2>&1 | tee "$out"
		where="(chroot, $(bash "$repo/test/pg.sh" "$n" suite))"
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	[ -n "$line" ] || line="0 passed, 1 failed"
	set -- $line
	passed=$((passed + $1))
	failed=$((failed + $3))
	summary+=("PostgreSQL $n $where: $line in $(( $(date +%s) - t0 )) s")
done

echo
echo "---- matrix (logs in $logdir), $(( $(date +%s) - start )) s in all"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
