#!/usr/bin/env bash
# Inside a major's chroot (test/matrix.sh runs it through test/pg.sh): the
# whole suite, test/run_all.sh.  When the chroot also holds an older major
# (18's holds 17), the extension is built and installed for that one too,
# and APM_UPGRADE_FROM_PGBIN points the pg_upgrade TAP test
# (test/t/009_pg_upgrade.pl) at it.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"

for cfg in /usr/lib/postgresql/*/bin/pg_config; do
	old=$(basename "$(dirname "$(dirname "$cfg")")")
	[ "$old" -lt "$APM_PG_MAJOR" ] || continue
	[ -x "/usr/lib/postgresql/$old/bin/postgres" ] || continue
	apm_log "building ap_migrate for PostgreSQL $old too (pg_upgrade test)"
	rm -rf /tmp/ap_migrate-old &&
		rsync -a --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' "$repo/" /tmp/ap_migrate-old/
	# without JIT bitcode: the older major's packages (from another suite)
	# name a clang whose bitcode reader is older than this suite's clang
	if make -C /tmp/ap_migrate-old -s PG_CONFIG="$cfg" PG_CFLAGS="-Wall -Werror" with_llvm=no >/dev/null &&
		make -C /tmp/ap_migrate-old -s PG_CONFIG="$cfg" with_llvm=no install >/dev/null; then
		export APM_UPGRADE_FROM_PGBIN=/usr/lib/postgresql/$old/bin
	fi
done
exec bash "$repo/test/run_all.sh"
