
# Copyright (c) 2026, ap_migrate developers

# ap_migrate in shared_preload_libraries (issue 16): the postmaster loads the
# library once and every backend inherits it, so a new connection's first
# call does not pay the dynamic loader.  Nothing else may change:
#
#   settings   the same settings as a backend that loads the library on its
#              first call (names, types, contexts, defaults, in order in
#              PostgreSQL 15's settings array), a value from
#              postgresql.conf taken over, a misspelt ap_migrate.* name
#              refused (15 and later reserve the prefix)
#   others     a database without the extension works as before
#   runs       the function, the procedure with a non-transactional step
#              (its worker loads nothing either) and the no-op path of a new
#              backend give what they give without preloading

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $settings_query = q{
	SELECT string_agg(concat_ws('|', name, setting, vartype, context, boot_val), E'\n' ORDER BY name)
	  FROM pg_settings WHERE name LIKE 'ap\_migrate.%'};

# the reference: a backend that loads the library itself
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
my $expected = $plain->safe_psql('postgres', "LOAD 'ap_migrate'; $settings_query");
$plain->stop;
cmp_ok(scalar(split /\n/, $expected), '>=', 10, 'the reference lists the settings');

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ap_migrate'
max_worker_processes = 16
ap_migrate.lock_retries = 7
});
$node->start;

# --- settings
my $got = $node->safe_psql('postgres', $settings_query);
my $want = $expected =~ s/^(ap_migrate\.lock_retries)\|[^|]*\|/$1|7|/mr;
is($got, $want, 'settings: the same as a backend that loads the library, the configured value taken over');
is($node->safe_psql('postgres', 'SHOW ap_migrate.lock_retries'), '7',
	'settings: the value from postgresql.conf is in force in a new backend');
if ($node->safe_psql('postgres', 'SHOW server_version_num') >= 150000)
{
	my ($ret, $out, $err) = $node->psql('postgres', 'SET ap_migrate.lock_retriez = 1');
	isnt($ret, 0, 'settings: a misspelt ap_migrate setting is refused');
	like($err, qr/invalid configuration parameter name "ap_migrate\.lock_retriez"/, '... as an invalid name');
}
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM (SELECT name, lag(name) OVER (ORDER BY ordinality) AS prev
	  FROM pg_show_all_settings() WITH ORDINALITY) s WHERE lower(prev) > lower(name) COLLATE "C"}),
	'0', 'settings: the settings array is in order');

# --- others: a database without the extension
$node->safe_psql('postgres', 'CREATE DATABASE other');
is($node->safe_psql('other', 'CREATE TABLE t (x int); INSERT INTO t VALUES (1); SELECT count(*) FROM t'),
	'1', 'others: a database without the extension works');
is($node->safe_psql('other', "SELECT count(*) FROM pg_extension WHERE extname = 'ap_migrate'"),
	'0', '... and has no ap_migrate objects');

# --- runs
$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	SELECT ap_migrate_add('d00000000001', NULL,
		'CREATE TABLE pl (id int PRIMARY KEY, v text); INSERT INTO pl SELECT g, g::text FROM generate_series(1, 100) g',
		'DROP TABLE pl', 'table');
	SELECT ap_migrate_add('d00000000002', ARRAY['d00000000001'],
		'CREATE INDEX CONCURRENTLY pl_v ON pl (v)', 'DROP INDEX CONCURRENTLY pl_v', 'index',
		transactional => false);
	SELECT ap_migrate_add('d00000000003', ARRAY['d00000000002'],
		'ALTER TABLE pl ADD COLUMN w int', 'ALTER TABLE pl DROP COLUMN w', 'column');
});

is($node->safe_psql('postgres', "SELECT ap_migrate_upgrade('d00000000001')"), 'd00000000001',
	'runs: the function applies a step');
my ($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run('head')");
is($ret, 0, 'runs: the procedure applies the non-transactional step in its worker') or diag($err);
is( $node->safe_psql(
		'postgres', q{
	SELECT string_agg(revision, ',' ORDER BY revision) FROM ap_migrate.applied}),
	'd00000000001,d00000000002,d00000000003', 'runs: every step is applied');
is($node->safe_psql('postgres', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'pl_v'::regclass}),
	't', 'runs: the concurrent index is valid');

# a new backend's no-op, first call of the session, in both modes
is($node->safe_psql('postgres', "SELECT ap_migrate_upgrade('heads')"), 'd00000000003',
	'runs: a new backend\'s no-op returns the current revision');
($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run('heads')");
is($ret, 0, 'runs: the procedure\'s no-op succeeds') or diag($err);
is($node->safe_psql('postgres', 'SELECT count(*) FROM ap_migrate.history'), '3',
	'runs: a no-op records nothing');
($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run_downgrade('base')");
is($ret, 0, 'runs: the procedure downgrades to base') or diag($err);
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied"), '0', '... and nothing is applied');

$node->stop;
done_testing();
