
# Copyright (c) 2026, ap_migrate developers

# RELIABILITY.md S9: pg_dump / pg_restore round trip.
#
# ap_migrate's tables and sequences are marked with pg_extension_config_dump,
# so a dump carries the registered revisions, the applied set and the history
# log, and the sequences go on where they stopped.
#
#   1. superuser: dump -Fc, restore into a new database, compare every row,
#      then register and apply a new revision in the restored database;
#   2. non-superuser database owner who installed the (trusted) extension:
#      dump as that role and restore as that role with ap_migrate.restore on
#      (without it the catalog rows are refused with 42501); forged
#      revision rows are refused in restore mode (42501 for an owner the
#      restorer is not a member of, 23514 for a checksum that does not match
#      the SQL); a superuser can restore the same dump;
#   3. database owner of a database where a superuser installed ap_migrate:
#      the dump needs the superuser to grant it read access first.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname);
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib "$FindBin::RealBin/../perl";
use ApmCompat;    # log_check and command_fails_like on 13

my $exdir = dirname(__FILE__) . '/../../examples/ap_intake';
my @chain = qw(ca4653c80b38 b1a2c3d4e5f6 797c75afebae e9428b9dd556 55a2502018a6);
my $head  = $chain[-1];
my $tmp   = PostgreSQL::Test::Utils::tempdir;

# The five example migration files, in chain order.
my @scripts;
for my $rev (@chain)
{
	my @files = glob("$exdir/${rev}_*.sql");
	die "expected one file for $rev in $exdir" unless @files == 1;
	my $text = slurp_file($files[0]);
	die "dollar-quote tag occurs in $files[0]" if $text =~ /\$apm_script\$/;
	push @scripts, $text;
}

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
# SQLSTATEs in the server log, for errors pg_restore reports by message only
$node->append_conf('postgresql.conf', 'log_error_verbosity = verbose');
$node->start;

# psql as a given role (default: the bootstrap superuser)
sub sql
{
	my ($db, $query, $role) = @_;
	return $node->safe_psql($db, $query,
		defined $role ? (extra_params => [ '-U', $role ]) : ());
}

# In $db, where ap_migrate is installed, load the example chain as $role,
# upgrade to head, go one step down and up again: 5 + 1 + 1 = 7 history rows.
sub build_source
{
	my ($db, $role) = @_;
	for my $i (0 .. $#chain)
	{
		is( sql($db,
				"SELECT ap_migrate_load(\$apm_script\$$scripts[$i]\$apm_script\$)",
				$role),
			$chain[$i],
			"$db: load $chain[$i]");
	}
	is(sql($db, "SELECT ap_migrate_upgrade('head')", $role),
		$head, "$db: upgrade to head");
	is(sql($db, "SELECT ap_migrate_downgrade('-1')", $role),
		$chain[-2], "$db: downgrade -1");
	is(sql($db, "SELECT ap_migrate_upgrade('head')", $role),
		$head, "$db: upgrade to head again");
	is(sql($db, 'SELECT count(*) FROM ap_migrate.history'),
		'7', "$db: 7 history rows (5 upgrades, 1 downgrade, 1 upgrade)");
}

# Everything of ap_migrate's catalog that a round trip must preserve, one
# line per item, plus the application schema the migrations built.
my %fingerprint_sql = (
	'revision rows (requested columns)' => q{
		SELECT count(*) || ' ' || md5(string_agg(
		         concat_ws('|', id, down_revision, message, upgrade_sql,
		                   downgrade_sql, checksum, seq), E'\n' ORDER BY seq))
		  FROM ap_migrate.revision},
	'revision rows (all columns)' => q{
		SELECT md5(string_agg(r::text, E'\n' ORDER BY seq)) FROM ap_migrate.revision r},
	'applied ids' => q{
		SELECT string_agg(revision, ',' ORDER BY revision) FROM ap_migrate.applied},
	'applied rows' => q{
		SELECT md5(string_agg(a::text, E'\n' ORDER BY revision)) FROM ap_migrate.applied a},
	'history count and ids' => q{
		SELECT count(*) || ': ' || string_agg(id::text, ',' ORDER BY id) FROM ap_migrate.history},
	'history rows' => q{
		SELECT md5(string_agg(h::text, E'\n' ORDER BY id)) FROM ap_migrate.history h},
	'sequences' => q{
		SELECT (SELECT last_value || '/' || is_called FROM ap_migrate.revision_seq) || ' ' ||
		       (SELECT last_value || '/' || is_called FROM ap_migrate.history_seq)},
	'application relations' => q{
		SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname)
		  FROM pg_class WHERE relnamespace = 'public'::regnamespace},);

sub fingerprint_item { return $fingerprint_sql{ $_[0] }; }

sub fingerprint
{
	my ($db) = @_;
	return { map { $_ => sql($db, $fingerprint_sql{$_}) } keys %fingerprint_sql };
}

sub compare_catalogs
{
	my ($label, $src, $dst) = @_;
	my $a = fingerprint($src);
	my $b = fingerprint($dst);
	for my $item (sort keys %fingerprint_sql)
	{
		is($b->{$item}, $a->{$item}, "$label: $item identical");
	}
}

# The restored database is usable: current revision, validate, check
# (false while a head is pending).
sub check_usable
{
	my ($label, $db, $role, $check) = @_;
	$check //= 't';
	is(sql($db, 'SELECT string_agg(revision, \',\') FROM ap_migrate_current()', $role),
		$head, "$label: ap_migrate_current() is $head");
	is(sql($db, "SELECT count(*) FROM ap_migrate_validate() WHERE severity = 'error'", $role),
		'0', "$label: ap_migrate_validate() reports no error");
	is(sql($db, 'SELECT ap_migrate_check()', $role), $check,
		"$label: ap_migrate_check() is $check");
}

# Checksum algorithm 1 as docs/catalog.md defines it: SHA-256 over the upgrade
# SQL, the downgrade SQL (undef = NULL) and the transactional flag, each
# prefixed by its length as a little-endian int64 (-1 for NULL).
sub checksum
{
	my ($up, $down, $transactional) = @_;
	my $data = '';
	for my $field ($up, $down, $transactional ? 't' : 'f')
	{
		$data .= defined $field ? pack('q<', length $field) . $field : pack('q<', -1);
	}
	return sha256_hex($data);
}

# A plain-format dump with one row of the COPY block of ap_migrate.revision
# changed: $edits maps column names to new values (COPY text format, \N for
# NULL) for the row whose id is $id.
sub forge_dump
{
	my ($plain, $id, $edits) = @_;
	my @lines = split /\n/, $plain, -1;
	my ($cols, $done);
	for my $line (@lines)
	{
		if (!defined $cols)
		{
			$cols = [ split /, /, $1 ]
			  if $line =~ /^COPY ap_migrate\.revision \((.*)\) FROM stdin;$/;
			next;
		}
		last if $line eq '\.';
		my @f = split /\t/, $line, -1;
		next unless $f[0] eq $id;
		for my $i (0 .. $#$cols)
		{
			$f[$i] = $edits->{ $cols->[$i] } if exists $edits->{ $cols->[$i] };
		}
		$line = join "\t", @f;
		$done = 1;
		last;
	}
	die "no row $id in the revision data of the dump" unless $done;
	return join "\n", @lines;
}

# ---------------------------------------------------------------------------
# 1. Round trip as superuser.
# ---------------------------------------------------------------------------
sql('postgres', 'CREATE DATABASE s9_src');
sql('s9_src', 'CREATE EXTENSION ap_migrate');
build_source('s9_src');
# some application data, to show it travels with the catalog
sql('s9_src', q{INSERT INTO vendors (name, tax_id) VALUES ('Acme', 'T-1')});

my $dump = "$tmp/s9_src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', 's9_src', '-f', $dump ],
	'superuser: pg_dump -Fc');
sql('postgres', 'CREATE DATABASE s9_dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 's9_dst', $dump ],
	'superuser: pg_restore into a new database');

compare_catalogs('superuser', 's9_src', 's9_dst');
check_usable('superuser', 's9_dst');
is(sql('s9_dst', 'SELECT name FROM vendors'), 'Acme', 'superuser: application data restored');

# The sequences continue: a new revision gets a seq above the restored ones,
# and applying it adds a history row with an id above the restored ones.
is(sql('s9_dst', qq{SELECT ap_migrate_add('f00dfeed0001', ARRAY['$head'],
		'CREATE TABLE s9_new (id int)', 'DROP TABLE s9_new', 'after restore')}),
	't', 'restored db: register a new revision');
is( sql('s9_dst', q{
		SELECT seq > (SELECT max(seq) FROM ap_migrate.revision WHERE id <> 'f00dfeed0001')
		  FROM ap_migrate.revision WHERE id = 'f00dfeed0001'}),
	't', 'restored db: new revision gets a seq above the restored ones');

my ($ret, $out, $err) = $node->psql('s9_dst', "SELECT ap_migrate_upgrade('head')");
is($ret, 0, 'restored db: upgrade(head) succeeds');
is($out, 'f00dfeed0001', 'restored db: upgrade(head) returns the new head');
is( join("\n", $err =~ /NOTICE:  (running .*)$/mg),
	"running upgrade $head -> f00dfeed0001, after restore",
	'restored db: upgrade(head) runs only the new revision');
is( sql('s9_dst', q{
		SELECT count(*) || ' ' ||
		       bool_and(id > 7) FILTER (WHERE revision = 'f00dfeed0001') || ' ' ||
		       (SELECT count(*) FROM ap_migrate.applied) || ' ' ||
		       (to_regclass('public.s9_new') IS NOT NULL)
		  FROM ap_migrate.history}),
	'8 true 6 true',
	'restored db: one new history row with a new id, 6 applied, s9_new exists');
# Restored revisions still match their checksums: reverting two steps runs
# the restored downgrade SQL of 55a2502018a6, and going up again its upgrade.
is(sql('s9_dst', "SELECT ap_migrate_downgrade('-2')"), $chain[-2],
	'restored db: downgrade -2 runs the new and a restored revision');
is(sql('s9_dst', "SELECT ap_migrate_upgrade('head')"), 'f00dfeed0001',
	'restored db: upgrade to head again');
is(sql('s9_src', 'SELECT count(*) FROM ap_migrate.revision'), '5',
	'source db unchanged');

# ---------------------------------------------------------------------------
# 2. Round trip as the non-superuser database owner who installed ap_migrate
#    (trusted extension: the member objects belong to the bootstrap
#    superuser; the installer gets SELECT on the catalog, and INSERT and
#    setval for restoring, which the catalog_guard trigger admits only with
#    ap_migrate.restore on and only after registration's checks).
# ---------------------------------------------------------------------------
sql('postgres', q{
	CREATE ROLE apm_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
	CREATE ROLE apm_other LOGIN;
	CREATE DATABASE s9_own_src OWNER apm_owner;
	CREATE DATABASE s9_own_plain OWNER apm_owner;
	CREATE DATABASE s9_own_dst OWNER apm_owner;
	CREATE DATABASE s9_own_dst2 OWNER apm_owner;});
is( sql('postgres', q{
		SELECT rolsuper || ' ' || rolcreatedb || ' ' || rolcreaterole || ' ' ||
		       (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)
		  FROM pg_roles r WHERE rolname = 'apm_owner'}),
	'false false false 0',
	'owner: apm_owner is no superuser, cannot create databases or roles, is in no role');
sql('s9_own_src', 'CREATE EXTENSION ap_migrate', 'apm_owner');
build_source('s9_own_src', 'apm_owner');
# a pending revision too: the applied set is not everything registered
is( sql('s9_own_src', qq{SELECT ap_migrate_add('f00dfeed0002', ARRAY['$head'],
		'CREATE TABLE s9_pending (id int)', 'DROP TABLE s9_pending', 'pending')}, 'apm_owner'),
	't', 'owner: register a pending revision');
is(sql('s9_own_src', q{SELECT extowner::regrole FROM pg_extension WHERE extname = 'ap_migrate'}),
	'apm_owner', 'owner: apm_owner installed the extension');
my $bootstrap = sql('postgres', 'SELECT rolname FROM pg_roles WHERE oid = 10');

my $own_dump = "$tmp/s9_own_src.dump";
$node->command_ok(
	[ 'pg_dump', '-Fc', '-U', 'apm_owner', '-d', 's9_own_src', '-f', $own_dump ],
	'owner: pg_dump -Fc as apm_owner');
my ($toc) = run_command([ 'pg_restore', '-l', $own_dump ]);
for my $entry ('TABLE DATA ap_migrate revision', 'TABLE DATA ap_migrate revision_edge',
	'TABLE DATA ap_migrate applied', 'TABLE DATA ap_migrate history',
	'SEQUENCE SET ap_migrate revision_seq', 'SEQUENCE SET ap_migrate history_seq')
{
	like($toc, qr/\Q$entry\E/, "owner: the dump contains $entry");
}

# Without restore mode the catalog rows are refused, table by table, with
# 42501 (pg_restore shows the message; the server log has the SQLSTATE).
# pg_restore goes on and exits 1; the catalog stays empty.
my $log_offset = -s $node->logfile;
$node->command_checks_all(
	[ 'pg_restore', '-U', 'apm_owner', '-d', 's9_own_plain', $own_dump ],
	1,
	[qr/^$/],
	[
		map {
			qr/COPY failed for table "$_": ERROR:  cannot write to ap_migrate catalog table "$_" directly/
		} qw(revision revision_edge applied history)
	],
	'owner: pg_restore as apm_owner without ap_migrate.restore is refused');
$node->log_check(
	'owner: refused with 42501',
	$log_offset,
	log_like => [
		map { qr/ERROR:  42501: cannot write to ap_migrate catalog table "$_" directly/ }
		  qw(revision revision_edge applied history)
	]);
is( sql('s9_own_plain', q{
		SELECT (SELECT count(*) FROM ap_migrate.revision) + (SELECT count(*) FROM ap_migrate.revision_edge) +
		       (SELECT count(*) FROM ap_migrate.applied) + (SELECT count(*) FROM ap_migrate.history)}),
	'0', 'owner: nothing of the catalog was restored without ap_migrate.restore');

# With PGOPTIONS='-c ap_migrate.restore=on' (a placeholder until the
# library loads, then the setting) the same restore succeeds.
{
	local $ENV{PGOPTIONS} = '-c ap_migrate.restore=on';
	$node->command_ok(
		[ 'pg_restore', '--exit-on-error', '-U', 'apm_owner', '-d', 's9_own_dst', $own_dump ],
		'owner: pg_restore as apm_owner with ap_migrate.restore=on');
}
compare_catalogs('owner restore', 's9_own_src', 's9_own_dst');
check_usable('owner restore', 's9_own_dst', 'apm_owner', 'f');
is( sql('s9_own_dst', q{
		SELECT count(*) FILTER (WHERE owner = 'apm_owner'::regrole) || '/' || count(*) || ' ' ||
		       bool_and(checksum_algorithm = 1)
		  FROM ap_migrate.revision}),
	'6/6 true', 'owner restore: every revision belongs to apm_owner, checksum algorithm 1');

# The restored database goes on: upgrade(head) runs only the pending
# revision and logs it with the next history id; a new registration gets
# the next seq.
($ret, $out, $err) = $node->psql('s9_own_dst', "SELECT ap_migrate_upgrade('head')",
	extra_params => [ '-U', 'apm_owner' ]);
is($ret, 0, 'owner restore: upgrade(head) as apm_owner succeeds');
is( join("\n", $err =~ /NOTICE:  (running .*)$/mg),
	"running upgrade $head -> f00dfeed0002, pending",
	'owner restore: upgrade(head) runs only the pending revision');
is( sql('s9_own_dst', qq{SELECT ap_migrate_add('f00dfeed0003', '{f00dfeed0002}',
		'CREATE TABLE s9_after (id int)', 'DROP TABLE s9_after', 'after restore')}, 'apm_owner'),
	't', 'owner restore: register a new revision');
is(sql('s9_own_dst', "SELECT ap_migrate_upgrade('head')", 'apm_owner'),
	'f00dfeed0003', 'owner restore: apply it');
is( sql('s9_own_dst', q{
		SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM ap_migrate.history WHERE id > 7) || ' ' ||
		       (SELECT string_agg(seq::text, ',' ORDER BY seq) FROM ap_migrate.revision
		         WHERE id IN ('f00dfeed0002', 'f00dfeed0003')) || ' ' ||
		       (SELECT count(*) = count(DISTINCT id) FROM ap_migrate.history) || ' ' ||
		       (SELECT count(*) = count(DISTINCT seq) FROM ap_migrate.revision) || ' ' ||
		       (SELECT count(*) FROM ap_migrate.applied)}),
	'8,9 6,7 true true 7',
	'owner restore: history ids 8, 9 and seq 7 follow the restored ones, no duplicate');
is(sql('s9_own_src', 'SELECT count(*) FROM ap_migrate.applied'), '5', 'source db unchanged');

# Forged dumps, restored by apm_owner in restore mode.  The pending
# revision is turned into one that would make apm_owner a superuser when a
# superuser applies it: owned by the bootstrap superuser (or by a role
# apm_owner is not a member of), with its checksum computed for the new SQL.
my $own_plain = "$tmp/s9_own_src.sql";
$node->command_ok(
	[ 'pg_dump', '-Fp', '-U', 'apm_owner', '-d', 's9_own_src', '-f', $own_plain ],
	'owner: pg_dump -Fp as apm_owner');
my $plain  = slurp_file($own_plain);
my $evil   = 'ALTER ROLE apm_owner SUPERUSER';
my %attack = (
	upgrade_sql   => $evil,
	downgrade_sql => '\N',
	checksum      => checksum($evil, undef, 1));
my @forgeries = (
	[ 'owner is the bootstrap superuser', { %attack, owner => $bootstrap, owner_name => $bootstrap }, 1,
		qr/ERROR:  42501: permission denied to restore revision "f00dfeed0002" for role "\Q$bootstrap\E"/ ],
	[ 'owner is a role apm_owner is not a member of', { %attack, owner => 'apm_other', owner_name => 'apm_other' }, 2,
		qr/ERROR:  42501: permission denied to restore revision "f00dfeed0002" for role "apm_other"/ ],
	[ 'SQL changed, checksum kept', { upgrade_sql => $evil }, 3,
		qr/ERROR:  23514: checksum of revision "f00dfeed0002" does not match its SQL/ ],
	[ 'unknown checksum algorithm', { checksum_algorithm => '2' }, 4,
		qr/ERROR:  23514: revision "f00dfeed0002" has unknown checksum algorithm 2/ ],
	[ 'owner apm_owner, checksum of the new SQL', { %attack, owner => 'apm_owner' }, 0, undef ],
	# the owner column is never trusted: the owner comes back by name
	[ 'owner column says the bootstrap superuser, owner_name apm_owner', { %attack, owner => $bootstrap }, 5, undef ]);
for my $f (@forgeries)
{
	my ($what, $edits, $n, $expected) = @$f;
	my $db   = "s9_forged_$n";
	my $file = "$tmp/$db.sql";
	sql('postgres', "CREATE DATABASE $db OWNER apm_owner");
	append_to_file($file, forge_dump($plain, 'f00dfeed0002', $edits));
	local $ENV{PGOPTIONS} = '-c ap_migrate.restore=on';
	my ($fret, $fout, $ferr) = $node->psql($db, undef,
		extra_params => [ '-U', 'apm_owner', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose',
			'-f', $file ]);
	if (defined $expected)
	{
		isnt($fret, 0, "forged dump ($what): restore fails");
		like($ferr, $expected, "forged dump ($what): the error");
		is(sql($db, 'SELECT count(*) FROM ap_migrate.revision'), '0',
			"forged dump ($what): no revision restored");
	}
	else
	{
		is($fret, 0, "forged dump ($what): restore succeeds") or diag $ferr;
		is( sql($db, q{SELECT owner::text || ' ' || upgrade_sql FROM ap_migrate.revision
				WHERE id = 'f00dfeed0002'}),
			"apm_owner $evil", "forged dump ($what): the revision is apm_owner's");
		# a superuser applying it runs it as apm_owner: refused (S1)
		my ($uret, $uout, $uerr) = $node->psql($db, "SELECT ap_migrate_upgrade('head')");
		# 16 reworded it: "permission denied to alter role" and a DETAIL
		like($uerr,
			qr/ERROR:  (?:[^\n]*superuser|permission denied to alter role\nDETAIL:  [^\n]*SUPERUSER attribute)/,
			"forged dump ($what): upgrade by a superuser fails");
		is(sql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'apm_owner'}), 'f',
			"forged dump ($what): apm_owner is still no superuser");
	}
}

# A superuser restores the owner's dump: the data is all there.
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 's9_own_dst2', $own_dump ],
	'owner dump: pg_restore by a superuser');
compare_catalogs('owner dump, superuser restore', 's9_own_src', 's9_own_dst2');
check_usable('owner dump, superuser restore', 's9_own_dst2', undef, 'f');

# The installer's grants are initial privileges, which pg_dump leaves out:
# the restore's CREATE EXTENSION gives them to the role that restores.
my $grants = q{
	SELECT has_function_privilege('apm_owner', 'ap_migrate_upgrade(text)', 'EXECUTE WITH GRANT OPTION') || ' ' ||
	       has_table_privilege('apm_owner', 'ap_migrate.revision', 'SELECT') || ' ' ||
	       has_table_privilege('apm_owner', 'ap_migrate.revision', 'INSERT')};
is(sql('s9_own_dst', $grants), 'true true true',
	'owner restore: apm_owner holds the installer\'s privileges');
is(sql('s9_own_dst2', $grants), 'false false false',
	'owner dump, superuser restore: apm_owner holds none of them');
# ---------------------------------------------------------------------------
# 3. A superuser installed ap_migrate in a database owned by apm_owner and
#    let apm_owner run migrations (EXECUTE only).
# ---------------------------------------------------------------------------
sql('postgres', q{
	CREATE DATABASE s9_su_src OWNER apm_owner;
	CREATE DATABASE s9_su_dst OWNER apm_owner;});
sql('s9_su_src', q{
	CREATE EXTENSION ap_migrate;
	GRANT EXECUTE ON FUNCTION ap_migrate_load(text, regrole), ap_migrate_upgrade(text),
		ap_migrate_downgrade(text), ap_migrate_current() TO apm_owner;});
build_source('s9_su_src', 'apm_owner');
my $su_dump = "$tmp/s9_su_src.dump";

# Without read access to the catalog apm_owner cannot dump its database:
# pg_dump stops at the first ap_migrate table or sequence it reads (18's
# pg_dump reads every sequence first, through pg_get_sequence_data(), which
# returns nothing without the privilege, and says so in its own words).
$node->command_fails_like(
	[ 'pg_dump', '-Fc', '-U', 'apm_owner', '-d', 's9_su_src', '-f', $su_dump ],
	qr/permission denied for (schema ap_migrate|table (revision|applied|history)|sequence (revision|history)_seq)|failed to get data for sequence "(revision|history)_seq"; user may lack SELECT privilege/,
	'superuser install: pg_dump by apm_owner without read access is refused');

# After the superuser delegates read access, the owner can dump ...
sql('s9_su_src', q{
	GRANT USAGE ON SCHEMA ap_migrate TO apm_owner;
	GRANT SELECT ON ALL TABLES IN SCHEMA ap_migrate TO apm_owner;
	GRANT SELECT ON ALL SEQUENCES IN SCHEMA ap_migrate TO apm_owner;});
$node->command_ok(
	[ 'pg_dump', '-Fc', '-U', 'apm_owner', '-d', 's9_su_src', '-f', $su_dump ],
	'superuser install: pg_dump by apm_owner after GRANT');
# ... a superuser restores it, and the grants travel with it (they were
# made after CREATE EXTENSION, so pg_dump records them).
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 's9_su_dst', $su_dump ],
	'superuser install: pg_restore by a superuser');
compare_catalogs('superuser install', 's9_su_src', 's9_su_dst');
check_usable('superuser install', 's9_su_dst');
is( sql('s9_su_dst', q{
		SELECT (SELECT count(*) FROM ap_migrate.history) || ' ' ||
		       (SELECT string_agg(revision, ',') FROM ap_migrate_current())},
		'apm_owner'),
	"7 $head",
	'superuser install: apm_owner keeps its grants in the restored database');

$node->stop;
done_testing();
