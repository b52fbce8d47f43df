#!/usr/bin/env bash
# Indent the C sources the way PostgreSQL indents its own: pgindent with
# pg_bsd_indent and a typedefs list of PostgreSQL's types plus ours
# (typedefs.list at the top of the checkout).
#
#   bash tools/pgindent.sh           rewrite src/ and client/ in place
#   bash tools/pgindent.sh --check   print what would change; exit 1 if any
#
# pg_bsd_indent is Debian's package pg-bsd-indent (2.1.1, what 15's pgindent
# asks for).  pgindent itself and PostgreSQL's typedefs.list are not
# packaged: they come from the pristine source tarball of bookworm's
# postgresql-15 source package, unpacked once in the same cache the memory
# check uses (/var/cache/ap_migrate/src; $PGINDENT_SRC names another
# PostgreSQL 15 source tree).  Run as root the first time (apt-get).
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
srcroot=/var/cache/ap_migrate/src
check=0
[ "${1:-}" = "--check" ] && check=1

if ! command -v pg_bsd_indent >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pg-bsd-indent >/dev/null
fi
tree=${PGINDENT_SRC:-$(ls -d "$srcroot"/postgresql-15.*/ 2>/dev/null | head -n 1)}
if [ -z "$tree" ] || [ ! -f "$tree/src/tools/pgindent/pgindent" ]; then
	if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>/etc/apt/sources.list.d/ap_migrate-deb-src.sources
		apt-get update -qq >/dev/null
	fi
	mkdir -p "$srcroot"
	(cd "$srcroot" && apt-get source --download-only -qq postgresql-15/bookworm >/dev/null 2>&1) ||
		{ echo "pgindent.sh: bookworm's postgresql-15 source package is not reachable" >&2; exit 2; }
	tar -C "$srcroot" -xjf "$(ls "$srcroot"/postgresql-15_*.orig.tar.bz2 | head -n 1)"
	tree=$(ls -d "$srcroot"/postgresql-15.*/ | head -n 1)
fi
tools=$tree/src/tools/pgindent

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sort -u "$tools/typedefs.list" "$repo/typedefs.list" >"$work/typedefs.list"
mkdir -p "$work/tree"
cp -a "$repo/src" "$repo/client" "$work/tree/"
(cd "$work/tree" && perl "$tools/pgindent" --typedefs="$work/typedefs.list" \
	--indent="$(command -v pg_bsd_indent)" src/*.c src/*.h client/*.c client/*.h)
changed=0
for f in "$repo"/src/*.[ch] "$repo"/client/*.[ch]; do
	rel=${f#"$repo"/}
	if ! cmp -s "$f" "$work/tree/$rel"; then
		changed=1
		if [ "$check" = 1 ]; then
			diff -u "$f" "$work/tree/$rel" | sed "s|$work/tree/||" || true
		else
			cp "$work/tree/$rel" "$f"
			echo "indented $rel"
		fi
	fi
done
[ "$check" = 1 ] && [ "$changed" = 1 ] && exit 1
exit 0
