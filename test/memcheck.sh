#!/usr/bin/env bash
# Memory check: run the regression and isolation suites against a
# PostgreSQL 15 built with assertions and Valgrind support, with the
# postmaster (and every backend) under Valgrind, and fail on any Valgrind
# error or assertion failure.
#
# The server is built once from Debian's postgresql-15 source package and
# cached in $APM_MEMCHECK_CACHE (default /var/cache/ap_migrate); the first
# run takes several minutes, later runs only rebuild ap_migrate.  Run as
# root:  bash test/memcheck.sh
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"

cache=${APM_MEMCHECK_CACHE:-/var/cache/ap_migrate}
prefix=$cache/pg15-valgrind
srcroot=$cache/src

build_server() {
	apm_log "building PostgreSQL 15 with --enable-cassert and USE_VALGRIND in $prefix"
	if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>/etc/apt/sources.list.d/ap_migrate-deb-src.sources
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq dpkg-dev valgrind bzip2 bison flex libreadline-dev zlib1g-dev >/dev/null
	rm -rf "$srcroot" && mkdir -p "$srcroot"
	# Debian's source package, from the bookworm suite (the security suite's
	# source may be missing from the mirror).  Only its pristine upstream
	# tarball is used: Debian's patches pin the library directory to
	# /usr/lib/postgresql/15/lib, and installing over the system's server
	# files must never happen.
	(cd "$srcroot" && apt-get source --download-only -qq postgresql-15/bookworm >/dev/null 2>&1)
	tar -C "$srcroot" -xjf "$(ls "$srcroot"/postgresql-15_*.orig.tar.bz2 | head -n 1)"
	local src
	src=$(ls -d "$srcroot"/postgresql-15.*/ | head -n 1)
	(cd "$src" &&
		./configure -q --prefix="$prefix" --enable-cassert --enable-debug \
			--without-icu --without-llvm CFLAGS="-O1 -g -fno-omit-frame-pointer -DUSE_VALGRIND" >/dev/null &&
		make -s -j"$(nproc)" >/dev/null 2>&1 &&
		make -s install >/dev/null &&
		make -s -C src/test/isolation install >/dev/null &&
		cp src/tools/valgrind.supp "$prefix/valgrind.supp")
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
apm_log "starting the postmaster under valgrind"
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
echo "memcheck: $errors valgrind error(s), $traps assertion failure(s), suites $([ $status -eq 0 ] && echo passed || echo failed)"
echo "logs: $work"
[ "$errors" -eq 0 ] && [ "$traps" -eq 0 ] && [ "$status" -eq 0 ]
