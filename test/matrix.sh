#!/usr/bin/env bash
# The test matrix, what the README's test command (bash test/run_all.sh)
# runs by default: test/run_all.sh on every PostgreSQL major Debian ships,
# 15 on the host and 13, 17 and 18 in chroots (test/pg.sh), then one
# summary line per major and, last, the overall "N passed, M failed".
#
#   APM_MAJORS          majors to run (default "15 13 17 18")
#   APM_MATRIX_SUITES   the parts of test/run_all.sh on 13, 17 and 18
#                       (default "regress isolation fuzz tap", the parts
#                       that depend on the server major; "all" for the
#                       whole suite); 15 always runs the whole suite
#
# The chroots are built first (cached in /var/cache/ap_migrate/chroot-*),
# two at a time: debootstrap and apt mostly wait on the network.  The
# suites then run one major at a time, because the TAP tests time readers'
# latency and run 64 clients at once, and the machine has two cores.
# Run as root (debootstrap, chroot).
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
majors=${APM_MAJORS:-15 13 17 18}
other_suites=${APM_MATRIX_SUITES:-regress isolation fuzz tap}
[ "$other_suites" = all ] && other_suites=
logdir=$(mktemp -d /tmp/ap_migrate-matrix.XXXXXX)
chmod 755 "$logdir"
export APM_MATRIX_INNER=1

log() { printf '==> %s\n' "$*" >&2; }
start=$(date +%s)
log "matrix: PostgreSQL $majors (logs in $logdir); load average $(cut -d' ' -f1-3 /proc/loadavg)"

chroot_majors=
for n in $majors; do
	[ "$n" = 15 ] || chroot_majors="$chroot_majors $n"
done

# debootstrap once, before two builds could both run apt-get on the host
if [ -n "$chroot_majors" ] && [ "$(id -u)" -eq 0 ] && ! command -v debootstrap >/dev/null; then
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
	log "PostgreSQL ${major_of[$done_pid]}: environment $([ "$st" -eq 0 ] && echo ready || echo FAILED) after $(( $(date +%s) - start )) s"
}
for n in $chroot_majors; do
	log "preparing PostgreSQL $n (log: $logdir/prepare-$n.log)"
	bash "$repo/test/pg.sh" "$n" prepare >"$logdir/prepare-$n.log" 2>&1 &
	major_of[$!]=$n
	running=$((running + 1))
	[ "$running" -ge 2 ] && reap
done
while [ "$running" -gt 0 ]; do
	reap
done
[ -n "$chroot_majors" ] && log "environments ready after $(( $(date +%s) - start )) s"

summary=()
passed=0
failed=0
for n in $majors; do
	t0=$(date +%s)
	out=$logdir/suite-$n.log
	if [ "$n" = 15 ]; then
		log "PostgreSQL 15 (host): the whole suite"
		APM_SUITES= bash "$repo/test/run_all.sh" 2>&1 | tee "$out"
		where="host, bookworm; the whole suite"
	elif [ "${prep_status[$n]:-1}" -ne 0 ]; then
		cat "$logdir/prepare-$n.log"
		echo "0 passed, 1 failed" >"$out"
		where="chroot; environment could not be built, see above"
	else
		log "PostgreSQL $n: ${other_suites:-the whole suite} in a chroot"
		APM_SUITES=$other_suites bash "$repo/test/pg.sh" "$n" bash test/matrix_inner.sh 2>&1 | tee "$out"
		where="chroot, $(bash "$repo/test/pg.sh" "$n" suite); ${other_suites:-the whole suite}"
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	[ -n "$line" ] || line="0 passed, 1 failed"
	set -- $line
	passed=$((passed + $1))
	failed=$((failed + $3))
	summary+=("PostgreSQL $n ($where): $line in $(( $(date +%s) - t0 )) s")
done

echo
echo "---- matrix: $(( $(date +%s) - start )) s in all, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; logs in $logdir"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
