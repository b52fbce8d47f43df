#!/usr/bin/env bash
# Memory check: run the regression and isolation suites against a
# PostgreSQL built with assertions and Valgrind support, with the
# postmaster (and every backend) under Valgrind, and fail on any Valgrind
# error or assertion failure.
#
#   bash test/memcheck.sh        PostgreSQL 15, on the host
#   bash test/memcheck.sh 18     PostgreSQL 18, in sid's chroot (test/pg.sh)
#
# The server is built once from the pristine upstream tarball inside
# Debian's own source package of that major (bookworm's postgresql-15 on
# the host; in a chroot, its suite's postgresql-N) and cached in
# $APM_MEMCHECK_CACHE/pgN-valgrind (default /var/cache/ap_migrate; in a
# chroot that is the chroot's own /var/cache).  The first run takes 10-30
# minutes, later runs only rebuild ap_migrate.  Run as root.
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
major=${1:-${APM_PG_MAJOR:-15}}

# Another major than the host's: run this script inside its chroot.
if [ "$major" != 15 ] && [ -z "${APM_MATRIX_INNER:-}" ]; then
	exec bash "$repo/test/pg.sh" "$major" bash test/memcheck.sh "$major"
fi
export APM_PG_MAJOR=$major
. "$repo/test/common.sh"

cache=${APM_MEMCHECK_CACHE:-/var/cache/ap_migrate}
prefix=$cache/pg$major-valgrind
srcroot=$cache/src
# USE_VALGRIND marks memory as the allocator hands it out and takes it
# back; -Og keeps the stacks readable.  (15's cache, built before 18's
# was added, used -O1; it is kept as it is.)
cflags="-Og -g -fno-omit-frame-pointer -DUSE_VALGRIND"

# The source package, from the suite that ships the major: bookworm on the
# host (the security suite's source may be missing from the mirror); in a
# chroot, the suite of its own apt source (test/pg.sh wrote it).
fetch_source() {
	local dir=$1 uri suite
	export DEBIAN_FRONTEND=noninteractive
	if [ -n "${APM_MATRIX_INNER:-}" ]; then
		read -r uri suite < <(awk '$1 == "deb" { print $2, $3; exit }' /etc/apt/sources.list)
		echo "deb-src $uri $suite main" >/etc/apt/sources.list.d/ap_migrate-memcheck-src.list
	else
		suite=bookworm
		if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/; then
			sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
				>/etc/apt/sources.list.d/ap_migrate-deb-src.sources
		fi
	fi
	apt-get update -qq >/dev/null
	(cd "$dir" && apt-get source --download-only -qq -o Acquire::Retries=3 \
		"postgresql-$major/$suite" >/dev/null 2>&1) ||
		{ apm_log "postgresql-$major's source package ($suite) is not reachable"; return 1; }
}

build_server() {
	local tarball src
	apm_log "building PostgreSQL $major with --enable-cassert and USE_VALGRIND in $prefix"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq dpkg-dev valgrind bzip2 xz-utils bison flex libreadline-dev zlib1g-dev \
		make gcc perl >/dev/null
	rm -rf "$srcroot/postgresql-$major"[._]* && mkdir -p "$srcroot"
	fetch_source "$srcroot" || exit 1
	# Only the pristine upstream tarball is used: Debian's patches pin the
	# library directory to /usr/lib/postgresql/N/lib, and installing over
	# the system's server files must never happen.
	tarball=$(ls "$srcroot"/postgresql-"$major"_*.orig.tar.* | grep -v '\.asc$' | head -n 1)
	tar -C "$srcroot" -xf "$tarball"
	src=$(ls -d "$srcroot"/postgresql-"$major".*/ | head -n 1)
	(cd "$src" &&
		./configure -q --prefix="$prefix" --enable-cassert --enable-debug \
			--without-icu --without-llvm CFLAGS="$cflags" >/dev/null &&
		make -s -j"$(nproc)" >/dev/null 2>&1 &&
		make -s install >/dev/null &&
		make -s -C src/test/isolation install >/dev/null &&
		cp src/tools/valgrind.supp "$prefix/valgrind.supp" &&
		echo "$cflags" >"$prefix/cflags")
}

apm_install_deps valgrind
[ -x "$prefix/bin/postgres" ] && [ -f "$prefix/valgrind.supp" ] || build_server

# build in a copy, so the checkout's own build is left alone
work=$(apm_workdir)
rsync -a --exclude .git --exclude '*.o' --exclude '*.so' "$repo/" "$work/src/"
apm_log "building ap_migrate against $prefix"
make -C "$work/src" -s PG_CONFIG="$prefix/bin/pg_config" PG_CFLAGS="-Wall -Werror" >/dev/null
make -C "$work/src" -s PG_CONFIG="$prefix/bin/pg_config" install >/dev/null
chown -R "$APM_OS_USER" "$work"
port=${APM_MEMCHECK_PORT:-54349}
APM_PGBIN=$prefix/bin
apm_as_user "$prefix/bin/initdb" -D "$work/data" -A trust -U postgres --no-locale -E UTF8 >/dev/null
apm_log "starting the PostgreSQL $major postmaster under valgrind"
apm_as_user sh -c "valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=yes \
	--num-callers=40 --suppressions=$prefix/valgrind.supp \
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
	--log-file=$work/valgrind.%p.log \
	$prefix/bin/postgres -D $work/data -p $port -k $work -c listen_addresses='' \
	>$work/server.log 2>&1 &"
for _ in $(seq 1 120); do
	apm_as_user "$prefix/bin/pg_isready" -h "$work" -p "$port" -q && break
	sleep 1
done

status=0
for target in check-regress check-isolation; do
	apm_log "running $target under valgrind"
	apm_as_user make -C "$work/src" -s "$target" PG_CONFIG="$prefix/bin/pg_config" \
		PGHOST="$work" PGPORT="$port" PGUSER=postgres || status=1
done
apm_as_user "$prefix/bin/pg_ctl" -D "$work/data" -m fast -w -t 300 stop >/dev/null || true

errors=$(cat "$work"/valgrind.*.log | grep -c VALGRINDERROR-BEGIN || true)
traps=$(grep -c 'TRAP:' "$work/server.log" || true)
if [ "$errors" -gt 0 ]; then
	grep -l VALGRINDERROR-BEGIN "$work"/valgrind.*.log | head -n 5 | xargs cat
fi
for f in "$work"/src/regression.diffs "$work"/src/output_iso/regression.diffs; do
	[ -s "$f" ] && cat "$f"
done
echo "memcheck (PostgreSQL $major): $errors valgrind error(s), $traps assertion failure(s), suites $([ $status -eq 0 ] && echo passed || echo failed)"
echo "logs: $work"
[ "$errors" -eq 0 ] && [ "$traps" -eq 0 ] && [ "$status" -eq 0 ]
