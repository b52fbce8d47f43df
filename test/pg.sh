#!/usr/bin/env bash
# Provide PostgreSQL major N and run a command with it:
#
#   bash test/pg.sh N [command...]     run command (default: an interactive shell)
#   bash test/pg.sh N prepare          only build the major's environment (cached)
#   bash test/pg.sh N suite            print the Debian suite that provides N
#   bash test/pg.sh N regen-expected   rewrite N's alternative expected files
#                                      from a run of the regress and isolation suites
#
# 15 is the host's own (Debian bookworm): the command runs in the checkout.
# Any other major runs in a Debian chroot of the suite that ships it (see
# suite_of), built once with "debootstrap --variant=minbase" in
# $APM_CHROOT_CACHE/chroot-<suite> (default /var/cache/ap_migrate) with
# postgresql-N, its server headers, contrib and the test prerequisites.
# The checkout is copied to /work/ap_migrate inside the chroot and the
# command runs there as root, with /proc, /sys and /dev bound (always
# unbound afterwards) and APM_PG_MAJOR, APM_PGBIN, APM_PG_CONFIG set for
# major N (test/common.sh reads them).  The mirror is the host's own apt
# source (APM_DEBIAN_MIRROR overrides it).  Run as root.
#
# Example: bash test/pg.sh 17 bash test/run_all.sh
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${APM_CHROOT_CACHE:-/var/cache/ap_migrate}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'pg.sh: %s\n' "$*" >&2; exit 2; }

# The host's major, and the Debian suite that ships each other major.  No
# suite ships 14 or 16.  sid's Release files carry a Valid-Until date that
# a frozen mirror lets pass, hence Check-Valid-Until "false" below.
host_major=15
suite_of() {
	case $1 in
		13) echo bullseye ;;
		17) echo trixie ;;
		18) echo sid ;;
		*) return 1 ;;
	esac
}

# Alternative expected files: pg_regress accepts X.out or any of
# X_1.out .. X_9.out.  X.out is the host major's output; each other major
# writes only its own suffix, and only where no existing file matches.
alt_suffix_of() {
	case $1 in
		13) echo _1 ;;
		17) echo _2 ;;
		18) echo _3 ;;
		*) return 1 ;;
	esac
}

# Packages a chroot needs: what test/common.sh installs for major N (the
# server, its headers, the client and the test prerequisites; since
# PostgreSQL 10 contrib is part of postgresql-N), installed once here.
chroot_packages() {
	local major=$1 pkgs
	pkgs=$(APM_PG_MAJOR=$major && . "$repo/test/common.sh" && echo "${APM_PACKAGES[*]} libc6-dev")
	# on 13's bullseye, bookworm's Alembic, as on the host (see prepare_chroot)
	[ "$major" = 13 ] && pkgs=${pkgs/python3-alembic /python3-alembic\/bookworm }
	echo "$pkgs"
	# the newest suite also gets the previous major, for pg_upgrade (from trixie)
	[ "$major" = 18 ] && echo "postgresql-17 postgresql-server-dev-17"
	return 0
}

# The host's Debian mirror: the first URI of a "deb" source for the host's
# own suite, deb822 (*.sources) or one-line (*.list) format.
host_mirror() {
	[ -n "${APM_DEBIAN_MIRROR:-}" ] && { echo "$APM_DEBIAN_MIRROR"; return; }
	local codename f
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$codename" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; uris = ""; suites = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^Types:/) types = $i
					if ($i ~ /^URIs:/) uris = $i
					if ($i ~ /^Suites:/) suites = $i
				}
				if (types ~ /[: ]deb( |$)/ && (" " suites " ") ~ (" " suite " ")) {
					sub(/^URIs:[ \t]*/, "", uris); split(uris, u, " "); print u[1]; exit
				}
			}' "$f"
	done | head -n 1 | grep . && return
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v suite="$codename" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == suite) { print $i; exit } }' | grep . ||
		die "no Debian apt source for $codename found in /etc/apt; set APM_DEBIAN_MIRROR"
}

# Bind /proc, /sys and /dev into chroot $1; unbind_all undoes it.
bound=()
bind_all() {
	local root=$1
	mount -t proc proc "$root/proc" && bound+=("$root/proc")
	mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && bound+=("$root/sys")
	mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && bound+=("$root/dev")
}
unbind_all() {
	local m
	for m in "${bound[@]}"; do
		umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null || true
	done
	bound=()
}

# Debian's packages of 13 leave out the isolation tester (pg_isolation_regress
# and isolationtester, which PGXS's installcheck for ISOLATION needs).
# Build the two from the pristine upstream tarball inside the suite's own
# source package (the server's exact version), or from the tarball
# APM_ISOLATION_SOURCE names, and put them where PGXS looks.  When neither
# is there, the chroot is finished without them and
# /etc/ap_migrate-isolation-tester says why: test/run_all.sh prints it and
# counts the isolation suite as failed.
isolation_tester() { echo "$1/usr/lib/postgresql/$2/lib/pgxs/src/test/isolation/pg_isolation_regress"; }
build_isolation_tester() {
	local root=$1 suite=$2 major=$3 mirror=$4 note=$1/etc/ap_migrate-isolation-tester
	rm -rf "$root/usr/src/pg" "$note" && mkdir -p "$root/usr/src/pg"
	if [ -n "${APM_ISOLATION_SOURCE:-}" ]; then
		echo "isolation tester: from $APM_ISOLATION_SOURCE"
		cp "$APM_ISOLATION_SOURCE" "$root/usr/src/pg/" || {
			echo "APM_ISOLATION_SOURCE=$APM_ISOLATION_SOURCE cannot be read" >"$note"; return 1; }
	else
		echo "isolation tester: from $suite's postgresql-$major source package"
		echo "deb-src $mirror $suite main" >"$root/etc/apt/sources.list.d/ap_migrate-src.list"
		chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c "
			apt-get update -qq -o Acquire::Retries=3 &&
			cd /usr/src/pg && apt-get source --download-only -qq -o Acquire::Retries=3 postgresql-$major"
		local st=$?
		rm -f "$root/etc/apt/sources.list.d/ap_migrate-src.list"
		chroot "$root" apt-get update -qq
		if [ "$st" -ne 0 ]; then
			cat >"$note" <<-EOF
			PostgreSQL $major's isolation tester is missing: Debian's packages of $major leave it out, and
			test/pg.sh could not download $suite's postgresql-$major source package to build it from
			(apt-get source failed; log: $cache/chroot-$suite.log).  Set APM_ISOLATION_SOURCE to a
			postgresql-$major.N.tar.bz2 (or .gz) of PostgreSQL's own to build it from that instead
			(docs/versions.md).
			EOF
			return 1
		fi
	fi
	chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -ec "
		apt-get install -y -qq --no-install-recommends bzip2 xz-utils
		cd /usr/src/pg
		tar -xf \$(ls postgresql-${major}_*.orig.tar.* postgresql-$major.*.tar.* 2>/dev/null | grep -v '\\.asc\$' | head -n 1)
		cd postgresql-$major.*/
		./configure -q --without-readline --without-zlib --without-icu --without-llvm
		make -s -C src/test/isolation -j2
		dest=/usr/lib/postgresql/$major/lib/pgxs/src/test/isolation
		mkdir -p \$dest
		cp src/test/isolation/pg_isolation_regress src/test/isolation/isolationtester \$dest/
		cd / && rm -rf /usr/src/pg" || {
		echo "PostgreSQL $major's isolation tester did not build (log: $cache/chroot-$suite.log)" >"$note"
		return 1
	}
}

# Install the packages $5 in chroot $1 (suite $2, major $3, mirror $4),
# and the isolation tester where the packages lack it.
install_packages() {
	local root=$1 suite=$2 major=$3 mirror=$4 want=$5
	log "chroot-$suite: apt-get install $want"
	bind_all "$root"
	if ! chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -qq && apt-get install -y -qq --no-install-recommends \
			-o Dpkg::Options::=--force-confold $want" >>"$cache/chroot-$suite.log" 2>&1; then
		unbind_all
		tail -n 20 "$cache/chroot-$suite.log" >&2
		die "installing packages in chroot-$suite failed (log: $cache/chroot-$suite.log)"
	fi
	if [ ! -x "$(isolation_tester "$root" "$major")" ]; then
		log "chroot-$suite: building the isolation tester from postgresql-$major's source"
		if ! build_isolation_tester "$root" "$suite" "$major" "$mirror" >>"$cache/chroot-$suite.log" 2>&1; then
			tail -n 20 "$cache/chroot-$suite.log" >&2
			log "chroot-$suite: WARNING: no isolation tester; its suite will fail:"
			cat "$root/etc/ap_migrate-isolation-tester" >&2
		fi
	fi
	chroot "$root" apt-get clean
	unbind_all
}

# Build the chroot for suite $1, major $2, unless it is ready.  Builds into
# a temporary directory and renames it at the end, under a lock, so an
# interrupted or concurrent build never leaves a half-built cache.
prepare_chroot() {
	local suite=$1 major=$2 retry_tester=$3 root=$cache/chroot-$1 tmp mirror want extra
	want=$(chroot_packages "$major" | tr '\n' ' ')
	mkdir -p "$cache"
	exec 9>"$cache/chroot-$suite.lock"
	flock 9
	# Ready: the packages are the wanted ones, and the isolation tester is
	# there or (but for "prepare", which tries again) could not be built.
	if [ -f "$root/.apm-ready" ] && [ "$(cat "$root/.apm-ready")" = "$want" ] &&
		{ [ -x "$(isolation_tester "$root" "$major")" ] ||
			{ [ "$retry_tester" = 0 ] && [ -f "$root/etc/ap_migrate-isolation-tester" ]; }; }; then
		flock -u 9
		return 0
	fi
	if [ -f "$root/.apm-ready" ]; then
		if [ "$(cat "$root/.apm-ready")" = "$want" ]; then
			log "chroot-$suite: trying the isolation tester again"
		else
			log "chroot-$suite: bringing the packages up to date"
		fi
		install_packages "$root" "$suite" "$major" "$(host_mirror)" "$want"
		echo "$want" >"$root/.apm-ready"
		flock -u 9
		return 0
	fi
	command -v debootstrap >/dev/null || {
		log "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	}
	mirror=$(host_mirror)
	tmp=$root.tmp
	# a finished debootstrap in an unfinished build is reused
	if [ ! -f "$tmp/.apm-debootstrapped" ]; then
		rm -rf --one-file-system "$tmp"
		log "chroot-$suite: debootstrap --variant=minbase $suite (mirror from the host's apt sources)"
		debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$cache/chroot-$suite.log" 2>&1 ||
			{ tail -n 20 "$cache/chroot-$suite.log" >&2; die "debootstrap $suite failed (log: $cache/chroot-$suite.log)"; }
		touch "$tmp/.apm-debootstrapped"
	fi
	echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99ap_migrate"
	# A second suite, pinned low so that everything else stays the chroot's
	# own: sid ships only 18, the previous major (pg_upgrade) comes from
	# trixie; bullseye's Alembic 1.4 lacks what the differential test reads,
	# bookworm's 1.8 (the host's) runs on bullseye's Python.
	case $suite in
		sid) extra=trixie ;;
		bullseye) extra=bookworm ;;
		*) extra= ;;
	esac
	if [ -n "$extra" ]; then
		echo "deb $mirror $extra main" >"$tmp/etc/apt/sources.list.d/ap_migrate-$extra.list"
		printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$extra" >"$tmp/etc/apt/preferences.d/ap_migrate-$extra"
	fi
	# no services start in the chroot, and no "main" cluster is created
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	mkdir -p "$tmp/etc/postgresql-common"
	echo 'create_main_cluster = false' >"$tmp/etc/postgresql-common/createcluster.conf"
	install_packages "$tmp" "$suite" "$major" "$mirror" "$want"
	echo "$want" >"$tmp/.apm-ready"
	mv "$tmp" "$root"
	flock -u 9
	log "chroot-$suite ready"
}

# On INT or TERM, stop the command's process group first (it runs in the
# background so the trap fires at once), then the EXIT trap unbinds.
child=
stop_child() { [ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null; sleep 1; exit 130; }
trap unbind_all EXIT
trap stop_child INT TERM

[ $# -ge 1 ] || die "usage: test/pg.sh N [prepare | regen-expected | command...]"
major=$1
shift

# The host's major: run in the checkout.
if [ "$major" = "$host_major" ]; then
	export APM_PG_MAJOR=$major
	case ${1:-} in
		prepare) exit 0 ;;
		suite) echo "$(. /etc/os-release && echo "$VERSION_CODENAME")"; exit 0 ;;
		regen-expected) die "15's output is the base expected files: copy results/X.out to expected/X.out" ;;
	esac
	cd "$repo"
	[ $# -ge 1 ] || set -- bash
	exec "$@"
fi

suite=$(suite_of "$major") || die "no Debian suite ships PostgreSQL $major (supported: 13, 15, 17, 18)"
[ "${1:-}" = suite ] && { echo "$suite"; exit 0; }
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
root=$cache/chroot-$suite
prepare_chroot "$suite" "$major" "$([ "${1:-}" = prepare ] && echo 1 || echo 0)"
[ "${1:-}" = prepare ] && exit 0

# Copy the checkout in (without build products and git metadata).
mkdir -p "$root/work/ap_migrate"
rsync -a --delete --delete-excluded --exclude .git --exclude '*.o' --exclude '*.so' --exclude '*.bc' \
	--exclude /results/ --exclude /output_iso/ --exclude /tmp_check/ "$repo/" "$root/work/ap_migrate/"

bind_all "$root"

in_chroot() {
	setsid -w chroot "$root" env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin \
		HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" APM_MATRIX_INNER=1 \
		APM_PG_MAJOR="$major" APM_PGBIN="/usr/lib/postgresql/$major/bin" \
		APM_PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" \
		APM_TEST_PORT="${APM_TEST_PORT:-54329}" APM_DIFF_CASES="${APM_DIFF_CASES:-500}" \
		APM_MEMCHECK_PORT="${APM_MEMCHECK_PORT:-54349}" KEEP="${KEEP:-0}" APM_SUITES="${APM_SUITES:-}" \
		APM_UPGRADE_FROM_PGBIN="${APM_UPGRADE_FROM_PGBIN:-}" \
		bash -c 'cd /work/ap_migrate && exec "$@"' bash "$@" &
	child=$!
	wait "$child"
}

if [ "${1:-}" = regen-expected ]; then
	suffix=$(alt_suffix_of "$major")
	rm -rf "$root/work/regen"
	in_chroot bash test/regen_expected.sh /work/regen
	# For each test: the base file or another major's alternative matches,
	# so this major needs none; or its own file is the run's output.  An
	# alternative can serve several majors (17's serves 18), so after a
	# change regenerate every major, in ascending order (see docs/versions.md).
	changed=0
	for res in "$root"/work/regen/results/*.out "$root"/work/regen/output_iso/results/*.out; do
		[ -f "$res" ] || continue
		name=$(basename "$res" .out)
		case $res in
			*/output_iso/*) dir=$repo/test/expected ;;
			*) dir=$repo/expected ;;
		esac
		[ -f "$dir/$name.out" ] || continue	# a file a test wrote, not a test's output
		same=
		for alt in "$dir/$name.out" "$dir/${name}"_[1-9].out; do
			[ "$alt" != "$dir/$name$suffix.out" ] && cmp -s "$res" "$alt" && same=$alt
		done
		if [ -n "$same" ]; then
			# the base file or another major's matches: no file of our own
			[ -f "$dir/$name$suffix.out" ] && { rm "$dir/$name$suffix.out"; echo "removed ${dir#$repo/}/$name$suffix.out"; changed=1; }
		elif ! cmp -s "$res" "$dir/$name$suffix.out"; then
			cp "$res" "$dir/$name$suffix.out"
			echo "wrote ${dir#$repo/}/$name$suffix.out"
			changed=1
		fi
	done
	[ "$changed" -eq 1 ] || echo "PostgreSQL $major: alternative expected files unchanged"
	exit 0
fi

[ $# -ge 1 ] || set -- bash
status=0
in_chroot "$@" || status=$?
exit "$status"
