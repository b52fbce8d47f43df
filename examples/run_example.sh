#!/usr/bin/env bash
# The accounts-payable example end to end: installs what it needs, builds and
# installs ap_migrate, starts a throwaway PostgreSQL 15 cluster, registers the
# five ap_intake migrations, upgrades to head inside the database and shows
# the result.  The cluster is removed at the end (set KEEP=1 to keep it).
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"

apm_install_deps
apm_build_install "$repo" ""

work=$(apm_workdir)
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		apm_log "cluster kept: PGHOST=$PGHOST PGPORT=$PGPORT psql ap_intake"
	else
		apm_stop_cluster "$work"
		rm -rf "$work"
	fi
}
trap cleanup EXIT
apm_start_cluster "$work" "${APM_EXAMPLE_PORT:-54339}"

# Copy the migration files where the cluster's user can read them.
cp "$repo"/examples/ap_intake/*_*.sql "$work/"
chmod 644 "$work"/*.sql

apm_as_user createdb ap_intake
{
	echo '\set ON_ERROR_STOP on'
	echo '\echo'
	echo '\echo == CREATE EXTENSION ap_migrate'
	echo 'CREATE EXTENSION ap_migrate;'
	echo '\echo == register the five migration files (any order: parents are resolved when used)'
	for f in "$work"/[0-9a-f]*_*.sql; do
		printf '\\set script `cat %s`\n' "$f"
		echo "SELECT ap_migrate_load(:'script') AS registered;"
	done
	echo '\echo == validate the chain'
	echo 'SELECT * FROM ap_migrate_validate();'
	echo '\echo == the plan'
	echo "SELECT step, revision, message FROM ap_migrate_plan('head');"
	echo '\echo == upgrade to head, in one transaction'
	echo "SELECT ap_migrate_upgrade('head');"
	echo '\echo == current revision'
	echo 'SELECT * FROM ap_migrate_current();'
	echo '\echo == revision history (alembic history)'
	echo 'SELECT revision, down_revision, message, is_current FROM ap_migrate_history();'
	echo '\echo == deployment log'
	echo "SELECT id, operation, revision, from_revisions, to_revisions, role, success FROM ap_migrate.history ORDER BY id;"
	echo '\echo == the schema'
	echo '\dt public.*'
	echo "SELECT ap_migrate_check() AS at_head_and_valid;"
} | apm_as_user psql -X -q -d ap_intake
