#!/usr/bin/env bash
# Shared setup for the README's commands (examples/run_example.sh,
# test/run_all.sh): install what is missing from Debian's packages, build and
# install the extension, and run a throwaway PostgreSQL cluster (15, the
# host's, unless APM_PG_MAJOR says otherwise) as an ordinary user
# (PostgreSQL refuses to run as root).
#
# Source it; it defines functions only.

# the PostgreSQL major (test/pg.sh sets it for the others' chroots)
APM_PG_MAJOR=${APM_PG_MAJOR:-15}
APM_PGBIN=${APM_PGBIN:-/usr/lib/postgresql/$APM_PG_MAJOR/bin}
APM_PG_CONFIG=${APM_PG_CONFIG:-/usr/lib/postgresql/$APM_PG_MAJOR/bin/pg_config}
APM_PACKAGES=(postgresql-$APM_PG_MAJOR postgresql-server-dev-$APM_PG_MAJOR postgresql-client-$APM_PG_MAJOR
	libpq-dev libssl-dev libipc-run-perl make gcc rsync
	python3-alembic python3-psycopg2 python3-yaml sqitch libdbd-pg-perl postgresql-$APM_PG_MAJOR-pgtap)
# the OS user that owns throwaway clusters
APM_OS_USER=${APM_OS_USER:-postgres}

apm_log() { printf '==> %s\n' "$*" >&2; }

# The tests must not depend on the caller's locale: a LANG naming a locale
# this machine lacks (common over ssh) makes initdb fail.  C.UTF-8 is built
# into Debian's libc.  LANG too, because PostgreSQL's TAP modules unset
# LC_ALL.
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE LC_CTYPE LC_COLLATE LC_MESSAGES LC_MONETARY LC_NUMERIC LC_TIME

# Install the Debian packages that are missing (no-op when all are there).
apm_install_deps() {
	local missing=() p
	for p in "${APM_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		apm_log "missing packages: ${missing[*]} (run as root to install them)"
		return 1
	fi
	apm_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Build and install the extension.  $1: extra compiler flags.
apm_build_install() {
	local srcdir=$1 cflags=${2:-}
	apm_log "building ap_migrate"
	make -C "$srcdir" -s clean >/dev/null 2>&1 || true
	make -C "$srcdir" -s PG_CONFIG="$APM_PG_CONFIG" PG_CFLAGS="$cflags" || return 1
	apm_log "installing ap_migrate"
	make -C "$srcdir" -s PG_CONFIG="$APM_PG_CONFIG" install >/dev/null || return 1
}

# Run a command as the cluster's OS user, with the environment we pass.
# As root, it runs from / rather than from the caller's directory, which
# that user may not be allowed to enter (root's home is 0700): so pass
# absolute paths.
apm_as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u "$APM_OS_USER" -- env PATH="$APM_PGBIN:$PATH" "$@")
	else
		env PATH="$APM_PGBIN:$PATH" "$@"
	fi
}

# Make a work directory the cluster's OS user can write to.
apm_workdir() {
	local dir
	dir=$(mktemp -d /tmp/ap_migrate.XXXXXX)
	chmod 755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$APM_OS_USER" "$dir"
	echo "$dir"
}

# Start a throwaway cluster in $1 on port $2; sets PGHOST, PGPORT, PGUSER.
apm_start_cluster() {
	local dir=$1 port=$2
	apm_log "starting a throwaway PostgreSQL $APM_PG_MAJOR cluster in $dir (port $port)"
	apm_as_user initdb -D "$dir/data" -A trust -U postgres --no-locale -E UTF8 >/dev/null || return 1
	apm_as_user pg_ctl -D "$dir/data" -w -l "$dir/server.log" \
		-o "-p $port -k $dir -c listen_addresses=''" start >/dev/null || return 1
	export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

# Stop the cluster in $1 (ignores a cluster that is not running).
apm_stop_cluster() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] && apm_as_user pg_ctl -D "$dir/data" -m fast stop >/dev/null 2>&1
	return 0
}
