
# Copyright (c) 2026, ap_migrate developers

# pg_upgrade to the next major (issue 14).
#
# A cluster of the older major, with ap_migrate installed, the example chain
# registered and applied (and one step downgraded and re-applied, so the
# history has every kind of row), is upgraded with pg_upgrade to the major
# this suite runs on.  Afterwards the registered revisions, the applied set,
# the history and the extension version are unchanged, and
# ap_migrate_upgrade('head') works: it finds nothing to do, then applies a
# revision registered after the upgrade, and the history goes on.
#
# It needs both majors' binaries and ap_migrate built for both, which only
# the newest major's chroot has (test/matrix_inner.sh sets
# APM_UPGRADE_FROM_PGBIN there); elsewhere it is skipped.

use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $oldbin = $ENV{APM_UPGRADE_FROM_PGBIN} // '';
plan skip_all => 'APM_UPGRADE_FROM_PGBIN is not set: no older major beside this one'
  unless $oldbin ne '' && -x "$oldbin/postgres";

my $exdir = dirname(__FILE__) . '/../../examples/ap_intake';
my @chain = qw(ca4653c80b38 b1a2c3d4e5f6 797c75afebae e9428b9dd556 55a2502018a6);
my $head  = $chain[-1];

my $old = PostgreSQL::Test::Cluster->new('old', install_path => dirname($oldbin));
my $new = PostgreSQL::Test::Cluster->new('new');
my ($old_major) = $old->pg_version =~ /^(\d+)/;
my ($new_major) = $new->pg_version =~ /^(\d+)/;
cmp_ok($old_major, '<', $new_major, "upgrade from $old_major to $new_major");

$old->init;
$old->start;
$old->safe_psql('postgres', 'CREATE DATABASE app');
$old->safe_psql('app', 'CREATE EXTENSION ap_migrate');
for my $rev (@chain)
{
	my @files = glob("$exdir/${rev}_*.sql");
	die "expected one file for $rev in $exdir" unless @files == 1;
	my $text = slurp_file($files[0]);
	is($old->safe_psql('app', "SELECT ap_migrate_load(\$apm_script\$$text\$apm_script\$)"),
		$rev, "load $rev");
}
is($old->safe_psql('app', "SELECT ap_migrate_upgrade('head')"), $head, 'upgrade to head');
is($old->safe_psql('app', "SELECT ap_migrate_downgrade('-1')"), $chain[-2], 'downgrade -1');
is($old->safe_psql('app', "SELECT ap_migrate_upgrade('head')"), $head, 'upgrade to head again');

# What pg_upgrade must carry over, one line per item.
my %fingerprint_sql = (
	'extension version' => q{SELECT extversion FROM pg_extension WHERE extname = 'ap_migrate'},
	'revision rows' => q{
		SELECT count(*) || ' ' || md5(string_agg(r::text, E'\n' ORDER BY seq)) FROM ap_migrate.revision r},
	'revision edges' => q{
		SELECT count(*) || ' ' || md5(string_agg(e::text, E'\n' ORDER BY e::text)) FROM ap_migrate.revision_edge e},
	'applied set' => q{SELECT string_agg(revision, ',' ORDER BY revision) FROM ap_migrate.applied},
	'applied rows' => q{SELECT md5(string_agg(a::text, E'\n' ORDER BY revision)) FROM ap_migrate.applied a},
	'history rows' => q{
		SELECT count(*) || ' ' || md5(string_agg(h::text, E'\n' ORDER BY id)) FROM ap_migrate.history h},
	'current' => q{SELECT string_agg(c::text, ',') FROM ap_migrate_current() c},
	'validation' => q{SELECT count(*) FROM ap_migrate_validate()},
	'application tables' => q{
		SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
		 WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')},);
sub fingerprint
{
	my ($node) = @_;
	return { map { $_ => $node->safe_psql('app', $fingerprint_sql{$_}) } keys %fingerprint_sql };
}
my $before = fingerprint($old);
is($before->{'history rows'} =~ /^7 /, 1, '7 history rows before the upgrade');

# pg_upgrade wants the same data checksum setting on both sides; initdb
# turns checksums on by default since PostgreSQL 18.
$new->init(extra => $new_major >= 18 ? ['--no-data-checksums'] : []);

# Debian's 17.12 gives every column it creates a "pg_attver" option that
# 18.6 (sid's) does not know: pg_upgrade from one to the other fails on
# any table, ap_migrate's or not (ERROR: unrecognized parameter
# "pg_attver"; docs/versions.md).  Where the new server refuses the option,
# it is removed from the old cluster's columns, and from nothing else,
# before the upgrade.  Once the new server knows it, this does nothing.
$new->start;
my ($aret, $aout, $aerr) = $new->psql('postgres',
	'CREATE TEMP TABLE attver (a int); ALTER TABLE attver ALTER COLUMN a SET (pg_attver = 1)');
$new->stop;
if ($aret != 0 && $aerr =~ /unrecognized parameter "pg_attver"/)
{
	my $strip = q{
		UPDATE pg_catalog.pg_attribute
		   SET attoptions = nullif(array(SELECT o FROM unnest(attoptions) o
		                                  WHERE o NOT LIKE 'pg\_attver=%'), '{}')
		 WHERE attoptions::text LIKE '%pg\_attver=%'};
	my $stripped = 0;
	for my $db (split /\n/,
		$old->safe_psql('postgres', 'SELECT datname FROM pg_database WHERE datallowconn'))
	{
		$old->safe_psql($db, $strip);
		$stripped += $old->safe_psql($db,
			q{SELECT count(*) FROM pg_attribute WHERE attoptions::text LIKE '%pg\_attver=%'});
	}
	is($stripped, 0,
		"old cluster: the pg_attver column option $new_major does not know is removed");
}
$old->stop;

my $workdir = PostgreSQL::Test::Utils::tempdir;
chdir $workdir or die "chdir $workdir: $!";
command_ok(
	[
		'pg_upgrade', '--no-sync',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $oldbin, '-B', $new->config_data('--bindir'),
		'-s', $new->host, '-p', $old->port, '-P', $new->port,
		'--copy'
	],
	"pg_upgrade $old_major -> $new_major");

$new->start;
my $after = fingerprint($new);
for my $item (sort keys %fingerprint_sql)
{
	is($after->{$item}, $before->{$item}, "after pg_upgrade: $item unchanged");
}

# The upgraded database goes on working.
is($new->safe_psql('app', "SELECT ap_migrate_upgrade('head')"), $head,
	"ap_migrate_upgrade('head') has nothing to do");
is( $new->safe_psql(
		'app',
		"SELECT ap_migrate_add('0123456789ab', ARRAY['$head'],
		    'CREATE TABLE after_pg_upgrade (id int)', 'DROP TABLE after_pg_upgrade',
		    'added after pg_upgrade')"),
	't',
	'register a revision after pg_upgrade');
is($new->safe_psql('app', "SELECT ap_migrate_upgrade('head')"), '0123456789ab',
	"ap_migrate_upgrade('head') applies it");
is($new->safe_psql('app', "SELECT to_regclass('public.after_pg_upgrade') IS NOT NULL"), 't',
	'its table exists');
is($new->safe_psql('app', 'SELECT count(*) FROM ap_migrate.history'), '8',
	'the history goes on (8 rows)');
is($new->safe_psql('app', "SELECT ap_migrate_downgrade('-1')"), $head, 'downgrade -1 works');

$new->stop;
done_testing();
