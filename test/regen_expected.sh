#!/usr/bin/env bash
# Run the pg_regress suite and the isolation specs on a throwaway cluster
# and keep their output in $1 (results/ and output_iso/results/), pass or
# fail.  test/pg.sh N regen-expected runs it in major N's chroot and turns
# the output into N's alternative expected files.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/test/common.sh"
out=${1:?usage: test/regen_expected.sh OUTDIR}

apm_install_deps || exit 1
apm_build_install "$repo" "-Wall -Werror" || exit 1
work=$(apm_workdir)
rsync -a --exclude .git --exclude '*.o' --exclude '*.so' "$repo/" "$work/src/"
[ "$(id -u)" -eq 0 ] && chown -R "$APM_OS_USER" "$work"
trap 'apm_stop_cluster "$work"; rm -rf "$work"' EXIT
apm_start_cluster "$work" "${APM_TEST_PORT:-54329}" || exit 1
for target in check-regress check-isolation; do
	apm_as_user make -C "$work/src" -s "$target" PG_CONFIG="$APM_PG_CONFIG" \
		PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" 2>&1 | grep -E '\.\.\. |^ok|^not ok|tests'
done
mkdir -p "$out/output_iso"
cp -r "$work/src/results" "$out/results"
[ -d "$work/src/output_iso/results" ] && cp -r "$work/src/output_iso/results" "$out/output_iso/results"
exit 0
