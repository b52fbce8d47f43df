#!/usr/bin/env bash
# The accounts-payable example end to end: installs what it needs, builds and
# installs ap_migrate and its client ap-migrate, starts a throwaway PostgreSQL
# 15 cluster, and runs the seed's runbook with the client over a directory
# holding the five ap_intake migrations: validate, plan, upgrade head,
# current, history, check.  The cluster is removed at the end (set KEEP=1 to keep it).
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"

apm_install_deps
apm_build_install "$repo" ""

work=$(apm_workdir)
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		# trust authentication: any OS user (root too) connects as postgres
		apm_log "cluster kept in $work; connect with:"
		printf '    %s -h %s -p %s -U postgres ap_intake\n' "$APM_PGBIN/psql" "$PGHOST" "$PGPORT" >&2
		apm_log "stop and remove it with:"
		if [ "$(id -u)" -eq 0 ]; then
			# from /: the postgres user may not enter the caller's directory
			printf '    (cd / && runuser -u %s -- %s -D %s/data stop) && rm -rf %s\n' \
				"$APM_OS_USER" "$APM_PGBIN/pg_ctl" "$work" "$work" >&2
		else
			printf '    %s -D %s/data stop && rm -rf %s\n' "$APM_PGBIN/pg_ctl" "$work" "$work" >&2
		fi
	else
		apm_stop_cluster "$work"
		rm -rf "$work"
	fi
}
trap cleanup EXIT
apm_start_cluster "$work" "${APM_EXAMPLE_PORT:-54339}"

# A project directory as a team keeps it in git: the five migration files
# in migrations/, read by the command-line client ap-migrate (installed
# with the extension; docs/cli.md).
project="$work/project"
mkdir -p "$project/migrations"
cp "$repo"/examples/ap_intake/*_*.sql "$project/migrations/"
chmod -R a+rX "$project"
[ "$(id -u)" -eq 0 ] && chown -R "$APM_OS_USER" "$project"

apm_as_user createdb ap_intake
# The seed's .env spelling works as it is.
export DATABASE_URL="postgresql+asyncpg://postgres@/ap_intake?host=$PGHOST&port=$PGPORT"
cli() {
	echo
	echo "\$ ap-migrate $*"
	apm_as_user env DATABASE_URL="$DATABASE_URL" ap-migrate --dir "$project/migrations" "$@"
}
cli validate                  # registers the files (in a transaction rolled back) and checks the chain
cli plan head                 # what an upgrade would run
cli upgrade head              # CREATE EXTENSION, register the files, one commit per step
cli current                   # 55a2502018a6 (head), as the runbook expects
cli history
cli check                     # exit 0: at head and valid
echo
echo '== deployment log and schema (psql)'
{
	echo '\set ON_ERROR_STOP on'
	echo "SELECT id, operation, revision, from_revisions, to_revisions, role, success FROM ap_migrate.history ORDER BY id;"
	echo '\dt public.*'
} | apm_as_user psql -X -q -d ap_intake
