
# Copyright (c) 2026, ap_migrate developers

# RELIABILITY.md S10: ALTER EXTENSION ap_migrate UPDATE from every released
# version (0.1.0) gives what a fresh install of the current version gives,
# and the data registered before the update survives it and keeps working.
#
# For an install by a superuser and by a non-superuser database owner
# (trusted extension), in one database: CREATE EXTENSION ap_migrate VERSION
# '0.1.0', register and apply revisions, ALTER EXTENSION ap_migrate UPDATE;
# in another: CREATE EXTENSION ap_migrate.  Compared: every member object,
# owners, ACLs (tables, sequences, columns, functions, schema, types),
# initial privileges, triggers, indexes, constraints, columns and defaults,
# sequences, comments, dependencies, pg_extension's row (extconfig and
# extcondition included), and pg_dump --binary-upgrade --schema-only,
# which writes out every member object.
#
# The scripts themselves: the released 0.1.0 install script is byte for
# byte the one released, and no install or update script has CREATE OR
# REPLACE or IF NOT EXISTS, or @extowner@ / @extschema@ inside a quoted
# string, a quoted identifier or a dollar quote (S6, S7).
#
# Also: the update script grants to the role running it (@extowner@), so a
# superuser updating an extension a non-superuser installed must do it as
# that role (SET ROLE), as docs/upgrading.md says; and DROP EXTENSION by the
# non-superuser owner takes the catalog and leaves what migrations built.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $topdir = dirname(__FILE__) . '/../..';
my $exdir  = "$topdir/examples/ap_intake";
my @chain = qw(ca4653c80b38 b1a2c3d4e5f6 797c75afebae e9428b9dd556 55a2502018a6);

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

# ---------------------------------------------------------------------------
# The scripts
# ---------------------------------------------------------------------------
is(sha256_hex(slurp_file("$topdir/ap_migrate--0.1.0.sql")),
	'99475ddfce2b400f9d81844eb8eacd0a1e0f10715c1e754e7f57b57caa2106c0',
	'ap_migrate--0.1.0.sql is the released script');
is(sha256_hex(slurp_file("$topdir/ap_migrate--0.2.0.sql")),
	'a807f8d204b4127be399bca2ab80c3cfbf76dcf978c7b6b322c4491b852a057a',
	'ap_migrate--0.2.0.sql is the released script');
my @scriptfiles = sort glob("$topdir/ap_migrate--*.sql");
is( join(' ', map { s{.*/}{}r } @scriptfiles),
	'ap_migrate--0.1.0--0.2.0.sql ap_migrate--0.1.0.sql ap_migrate--0.2.0--0.3.0.sql ap_migrate--0.2.0.sql ap_migrate--0.3.0.sql',
	'install and update scripts');
for my $file (@scriptfiles)
{
	my $name = $file =~ s{.*/}{}r;
	my $text = slurp_file($file);
	# comments out, then every quoted string, quoted identifier and dollar
	# quote taken out and kept apart
	$text =~ s{/\*.*?\*/}{ }gs;
	$text =~ s{--[^\n]*}{ }g;
	my @quoted;
	$text =~ s{('(?:[^']|'')*'|"(?:[^"]|"")*"|(\$\w*\$).*?\2)}{push @quoted, $1; ' '}gse;
	unlike($text, qr/\bOR\s+REPLACE\b/i, "$name: no CREATE OR REPLACE");
	unlike($text, qr/\bIF\s+NOT\s+EXISTS\b/i, "$name: no IF NOT EXISTS");
	is(scalar(grep { /\@ext(owner|schema)\@/ } @quoted), 0,
		"$name: no \@extowner\@ or \@extschema\@ inside quotes");
	my @bare = $text =~ /(\S*\@extowner\@\S*)/g;
	is(scalar(grep { !/^\@extowner\@;?$/ } @bare), 0, "$name: \@extowner\@ only as a bare identifier");
}

my $node = PostgreSQL::Test::Cluster->new('update');
$node->init;
$node->start;

# psql as a given role (default: the bootstrap superuser)
sub sql
{
	my ($db, $query, $role) = @_;
	return $node->safe_psql($db, $query,
		defined $role ? (extra_params => [ '-U', $role ]) : ());
}

# Everything about ap_migrate's objects that an update could get wrong, one
# line per fact, sorted; no OIDs.
my $describe_sql = q{
WITH ext AS (SELECT e.* FROM pg_extension e WHERE e.extname = 'ap_migrate'),
members AS (
	SELECT d.classid, d.objid, d.objsubid
	  FROM pg_depend d, ext
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'ap_migrate'::regnamespace),
trigs AS (SELECT t.oid FROM pg_trigger t JOIN rels ON rels.oid = t.tgrelid WHERE NOT t.tgisinternal)
SELECT line FROM (
	SELECT 'member: ' || pg_describe_object(classid, objid, objsubid) FROM members
	UNION ALL
	SELECT format('extension: owner=%s schema=%s relocatable=%s version=%s config=%s condition=%s',
	              extowner::regrole, extnamespace::regnamespace, extrelocatable, extversion,
	              extconfig::regclass[], extcondition)
	  FROM ext
	UNION ALL
	SELECT format('schema: %s owner=%s acl=%s comment=%s',
	              n.nspname, n.nspowner::regrole, n.nspacl, obj_description(n.oid, 'pg_namespace'))
	  FROM pg_namespace n WHERE n.nspname = 'ap_migrate'
	UNION ALL
	SELECT format('function: %s owner=%s kind=%s language=%s src=%s bin=%s secdef=%s volatile=%s '
	              'parallel=%s strict=%s leakproof=%s returns=%s setof=%s args=%s config=%s acl=%s comment=%s',
	              p.oid::regprocedure, p.proowner::regrole, p.prokind, l.lanname, p.prosrc, p.probin,
	              p.prosecdef, p.provolatile, p.proparallel, p.proisstrict, p.proleakproof,
	              p.prorettype::regtype, p.proretset, pg_get_function_arguments(p.oid), p.proconfig,
	              p.proacl, obj_description(p.oid, 'pg_proc'))
	  FROM pg_proc p
	  JOIN pg_language l ON l.oid = p.prolang
	  JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
	UNION ALL
	SELECT format('relation: %s kind=%s owner=%s acl=%s persistence=%s options=%s rls=%s/%s '
	              'triggers=%s comment=%s',
	              c.oid::regclass, c.relkind, c.relowner::regrole, c.relacl, c.relpersistence,
	              c.reloptions, c.relrowsecurity, c.relforcerowsecurity, c.relhastriggers,
	              obj_description(c.oid, 'pg_class'))
	  FROM pg_class c JOIN rels ON rels.oid = c.oid
	UNION ALL
	SELECT format('column: %s.%s #%s type=%s notnull=%s default=%s identity=%s generated=%s '
	              'collation=%s acl=%s comment=%s',
	              a.attrelid::regclass, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),
	              a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
	              a.attcollation::regcollation, a.attacl, col_description(a.attrelid, a.attnum))
	  FROM pg_attribute a
	  JOIN rels ON rels.oid = a.attrelid
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	 WHERE a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT format('constraint: %s %s type=%s def=%s deferrable=%s/%s validated=%s',
	              co.conrelid::regclass, co.conname, co.contype, pg_get_constraintdef(co.oid),
	              co.condeferrable, co.condeferred, co.convalidated)
	  FROM pg_constraint co WHERE co.connamespace = 'ap_migrate'::regnamespace
	UNION ALL
	SELECT 'index: ' || pg_get_indexdef(i.indexrelid)
	  FROM pg_index i JOIN rels ON rels.oid = i.indexrelid
	UNION ALL
	SELECT format('trigger: %s %s function=%s type=%s enabled=%s def=%s',
	              t.tgrelid::regclass, t.tgname, t.tgfoid::regprocedure, t.tgtype, t.tgenabled,
	              pg_get_triggerdef(t.oid))
	  FROM pg_trigger t JOIN trigs ON trigs.oid = t.oid
	UNION ALL
	-- foreign-key triggers are named by OID: compare what they do
	SELECT format('internal trigger: %s function=%s type=%s enabled=%s constraint=%s',
	              t.tgrelid::regclass, t.tgfoid::regprocedure, t.tgtype, t.tgenabled, co.conname)
	  FROM pg_trigger t
	  JOIN rels ON rels.oid = t.tgrelid
	  LEFT JOIN pg_constraint co ON co.oid = t.tgconstraint
	 WHERE t.tgisinternal
	UNION ALL
	SELECT format('sequence: %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s',
	              s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin,
	              s.seqmax, s.seqcache, s.seqcycle)
	  FROM pg_sequence s JOIN rels ON rels.oid = s.seqrelid
	UNION ALL
	SELECT format('type: %s owner=%s acl=%s', ty.oid::regtype, ty.typowner::regrole, ty.typacl)
	  FROM pg_type ty WHERE ty.typnamespace = 'ap_migrate'::regnamespace
	UNION ALL
	SELECT format('initial privileges: %s %s %s',
	              pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype, ip.initprivs)
	  FROM pg_init_privs ip
	  JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
	UNION ALL
	SELECT format('dependency: %s -> %s (%s)',
	              pg_describe_object(d.classid, d.objid, d.objsubid),
	              pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), d.deptype)
	  FROM pg_depend d
	 WHERE d.deptype <> 'e'
	   AND ((d.refclassid = 'pg_namespace'::regclass AND d.refobjid = 'ap_migrate'::regnamespace)
	        OR (d.classid = 'pg_trigger'::regclass AND d.objid IN (SELECT oid FROM trigs))
	        OR (d.classid = 'pg_attrdef'::regclass
	            AND d.objid IN (SELECT ad.oid FROM pg_attrdef ad JOIN rels ON rels.oid = ad.adrelid)))
) facts(line)
ORDER BY line COLLATE "C";
};

sub describe { return sql($_[0], $describe_sql); }

# pg_dump --binary-upgrade writes out every member object of an extension.
# Kept: the entries of the extension, its schema and the objects in
# ap_migrate and pg_catalog (the functions), ACLs included.  Dropped: what
# depends on the database's data or OIDs (pg_class OIDs to preserve,
# relfrozenxid, sequence positions, TOC comments) and the session settings
# between entries; the OIDs of the configuration tables are replaced by a
# placeholder.
sub binary_upgrade_schema
{
	my ($db) = @_;
	my ($out, $err) = run_command(
		[ 'pg_dump', '--binary-upgrade', '--schema-only', '-h', $node->host, '-p', $node->port,
			'-d', $db ]);
	die "pg_dump --binary-upgrade of $db failed: $err" if $err ne '';
	my @kept;
	for my $entry (split /\n--\n-- (?=Name: )/, $out)
	{
		next
		  unless $entry =~ /^Name: [^\n]*; Schema: (ap_migrate|pg_catalog);/
		  || $entry =~ /^Name: [^\n]*; Type: EXTENSION;/
		  || $entry =~ /^Name: ap_migrate; Type: SCHEMA;/;
		for my $line (split /\n/, $entry)
		{
			next
			  if $line =~ /^-- (TOC entry|Dependencies:|For binary upgrade)/
			  || $line =~ /binary_upgrade_set_next_/
			  || $line =~ /^(UPDATE pg_catalog\.pg_class|SET relfrozenxid = |WHERE oid = )/
			  || $line =~ /^SELECT pg_catalog\.setval\(/
			  || $line =~ /^(\\(un)?restrict |SET \w+ = |-- PostgreSQL database dump complete|--$|$)/;
			$line =~ s/'\{[0-9,]+\}'(::pg_catalog\.oid\[\])?/'{OIDS}'/g;
			push @kept, $line;
		}
	}
	die "pg_dump --binary-upgrade of $db has no ap_migrate entry" unless @kept > 100;
	return join("\n", @kept) . "\n";
}

# Lines in one description and not the other, marked - and +.
sub differences
{
	my ($a, $b) = @_;
	my (%in_a, %in_b);
	$in_a{$_}++ for split /\n/, $a;
	$in_b{$_}++ for split /\n/, $b;
	my @diff;
	for my $line (sort keys %in_a)
	{
		push @diff, "- $line" if ($in_b{$line} // 0) != $in_a{$line};
	}
	for my $line (sort keys %in_b)
	{
		push @diff, "+ $line" if ($in_a{$line} // 0) != $in_b{$line};
	}
	return @diff;
}

# Compare an updated database with a fresh one: 0 differences.
sub compare_with_fresh
{
	my ($label, $updated, $fresh) = @_;
	my $a = describe($updated);
	my $b = describe($fresh);
	cmp_ok(scalar(split /\n/, $a), '>', 150, "$label: the description covers the catalog");
	my @diff = differences($a, $b);
	is(scalar(@diff), 0, "$label: updated and fresh install have the same objects and privileges")
	  or diag join("\n", @diff);
	my @dump_diff = differences(binary_upgrade_schema($updated), binary_upgrade_schema($fresh));
	is(scalar(@dump_diff), 0, "$label: pg_dump --binary-upgrade --schema-only is the same")
	  or diag join("\n", @dump_diff);
	return;
}

# The catalog's rows, as a few checksums
sub catalog_rows
{
	my ($db) = @_;
	return sql(
		$db, q{
		SELECT (SELECT count(*) || ' ' || md5(string_agg((r.id, r.seq, r.down_revision, r.message, r.upgrade_sql,
		                   r.downgrade_sql, r.branch_labels, r.depends_on, r.transactional, r.is_head, r.checksum,
		                   r.checksum_algorithm, r.owner, r.registered_at, r.search_path)::text, E'\n' ORDER BY seq))
		          FROM ap_migrate.revision r),
		       (SELECT md5(string_agg(e::text, E'\n' ORDER BY revision, kind, position)) FROM ap_migrate.revision_edge e),
		       (SELECT string_agg(revision, ',' ORDER BY revision) FROM ap_migrate.applied),
		       (SELECT md5(string_agg(a::text, E'\n' ORDER BY revision)) FROM ap_migrate.applied a),
		       (SELECT count(*) || ' ' || md5(string_agg(h::text, E'\n' ORDER BY id)) FROM ap_migrate.history h),
		       (SELECT last_value || '/' || is_called FROM ap_migrate.revision_seq),
		       (SELECT last_value || '/' || is_called FROM ap_migrate.history_seq)});
}

sub load_revision
{
	my ($db, $i, $role) = @_;
	is(sql($db, "SELECT ap_migrate_load(\$apm_script\$$scripts[$i]\$apm_script\$)", $role),
		$chain[$i], "$db: load $chain[$i]");
	return;
}

sql('postgres', q{
	CREATE ROLE apm_inst LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
	CREATE DATABASE upd_superuser_old;
	CREATE DATABASE upd_superuser_new;
	CREATE DATABASE upd_owner_old OWNER apm_inst;
	CREATE DATABASE upd_owner_new OWNER apm_inst;});

is( sql('postgres', q{
		SELECT string_agg(source || '>' || target || ' ' || coalesce(path, '-'), ', ' ORDER BY source, target)
		  FROM pg_extension_update_paths('ap_migrate')}),
	'0.1.0>0.2.0 0.1.0--0.2.0, 0.1.0>0.3.0 0.1.0--0.2.0--0.3.0, 0.2.0>0.1.0 -, 0.2.0>0.3.0 0.2.0--0.3.0, 0.3.0>0.1.0 -, 0.3.0>0.2.0 -',
	'update paths: 0.1.0 to 0.2.0 to 0.3.0, one step each, no way back');

for my $case ([ 'superuser', undef ], [ 'owner', 'apm_inst' ])
{
	my ($label, $role) = @$case;
	my $old = "upd_${label}_old";
	my $new = "upd_${label}_new";

	# 0.1.0, with data: three revisions, two applied
	sql($old, "CREATE EXTENSION ap_migrate VERSION '0.1.0'", $role);
	is(sql($old, q{SELECT extversion FROM pg_extension WHERE extname = 'ap_migrate'}),
		'0.1.0', "$label: 0.1.0 installed");
	load_revision($old, $_, $role) for 0 .. 2;
	is(sql($old, "SELECT ap_migrate_upgrade('$chain[1]')", $role),
		$chain[1], "$label: 0.1.0 applies two revisions");
	my $before = catalog_rows($old);

	sql($old, "ALTER EXTENSION ap_migrate UPDATE", $role);
	is(sql($old, q{SELECT extversion FROM pg_extension WHERE extname = 'ap_migrate'}),
		'0.3.0', "$label: updated to 0.3.0");
	is(catalog_rows($old), $before, "$label: the update keeps every row and the sequences");
	is(sql($old, q{SELECT bool_and(owner_name = owner::text) FROM ap_migrate.revision}),
		't', "$label: the update records every owner's name (0.3.0)");

	sql($new, 'CREATE EXTENSION ap_migrate', $role);
	is(sql($new, q{SELECT extversion FROM pg_extension WHERE extname = 'ap_migrate'}),
		'0.3.0', "$label: fresh install is 0.3.0");
	compare_with_fresh($label, $old, $new);

	# the data of 0.1.0 works under 0.2.0: the pending revision is applied,
	# new ones are registered and applied, and a downgrade reverts one
	is(sql($old, 'SELECT string_agg(revision, \',\') FROM ap_migrate_current()', $role),
		$chain[1], "$label: current revision kept");
	is(sql($old, "SELECT ap_migrate_upgrade('head')", $role),
		$chain[2], "$label: the pending 0.1.0 revision is applied after the update");
	load_revision($old, $_, $role) for 3 .. 4;
	is(sql($old, "SELECT ap_migrate_upgrade('head')", $role),
		$chain[4], "$label: revisions registered after the update are applied");
	is(sql($old, "SELECT ap_migrate_downgrade('-1')", $role),
		$chain[3], "$label: downgrade -1 after the update");
	is( sql($old, q{
			SELECT (SELECT count(*) FROM ap_migrate_validate() WHERE severity = 'error') || ' ' ||
			       (SELECT count(*) FROM ap_migrate.applied) || ' ' ||
			       (SELECT string_agg(id::text, ',' ORDER BY id) FROM ap_migrate.history) || ' ' ||
			       (SELECT string_agg(seq::text, ',' ORDER BY seq) FROM ap_migrate.revision)},
			$role),
		'0 4 1,2,3,4,5,6 1,2,3,4,5',
		"$label: no validation error, 4 applied, history ids and seqs without gap or duplicate");

	# the guard of 0.2.0 is in force on the updated catalog
	if (defined $role)
	{
		my ($ret, $out, $err) = $node->psql($old,
			q{INSERT INTO ap_migrate.applied VALUES ('ffffffffffff', 'x', now(), 'x')},
			extra_params => [ '-U', $role ]);
		like($err, qr/cannot write to ap_migrate catalog table "applied" directly/,
			"$label: a direct insert by the installer is refused after the update");
		($ret, $out, $err) = $node->psql($old, q{
			SET ap_migrate.restore = on;
			INSERT INTO ap_migrate.revision
			SELECT 'ffffffffffff', 1000, '{}', message, upgrade_sql, downgrade_sql, '{}', '{}',
			       transactional, true, checksum, checksum_algorithm, 10::oid::regrole,
			       registered_at, search_path, (SELECT rolname FROM pg_roles WHERE oid = 10)
			  FROM ap_migrate.revision WHERE id = 'ca4653c80b38'},
			extra_params => [ '-U', $role ]);
		like($err, qr/permission denied to restore revision "ffffffffffff" for role/,
			"$label: restore mode refuses a revision re-owned by the bootstrap superuser");
	}
}

# ---------------------------------------------------------------------------
# The update script grants to whoever runs it, as CREATE EXTENSION does.  A
# superuser updating apm_inst's extension directly leaves apm_inst without
# the new privileges; doing it as apm_inst (SET ROLE) gives the fresh result.
# ---------------------------------------------------------------------------
sql('postgres', q{
	CREATE DATABASE upd_direct OWNER apm_inst;
	CREATE DATABASE upd_setrole OWNER apm_inst;});
for my $db ('upd_direct', 'upd_setrole')
{
	sql($db, "CREATE EXTENSION ap_migrate VERSION '0.1.0'", 'apm_inst');
	load_revision($db, 0, 'apm_inst');
}
sql('upd_direct', 'ALTER EXTENSION ap_migrate UPDATE');
is( sql('upd_direct', q{SELECT has_table_privilege('apm_inst', 'ap_migrate.revision', 'INSERT')}),
	'f', 'superuser updates directly: the installer does not get INSERT');
ok(scalar(differences(describe('upd_direct'), describe('upd_owner_new'))) > 0,
	'superuser updates directly: differs from a fresh install by apm_inst');
sql('upd_setrole', 'SET ROLE apm_inst; ALTER EXTENSION ap_migrate UPDATE');
compare_with_fresh('superuser updates as apm_inst', 'upd_setrole', 'upd_owner_new');

# ---------------------------------------------------------------------------
# DROP EXTENSION by the non-superuser owner: the catalog (revisions, applied
# set, history) goes; the tables the migrations created stay.
# ---------------------------------------------------------------------------
my $app_tables = q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'};
my $tables_before = sql('upd_owner_old', $app_tables);
cmp_ok($tables_before, '>', 0, 'drop: the migrations created tables');
sql('upd_owner_old', 'DROP EXTENSION ap_migrate', 'apm_inst');
is( sql('upd_owner_old', q{
		SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'ap_migrate') || ' ' ||
		       (SELECT count(*) FROM pg_proc WHERE proname LIKE 'ap\_migrate%')}),
	'0 0', 'drop: the catalog schema and the functions are gone');
is(sql('upd_owner_old', $app_tables), $tables_before, 'drop: the migrated tables stay');

$node->stop;
done_testing();
