# Issue-11 reproductions that need a cluster of their own:
#
#  - the background worker never runs a step under a login that could
#    RESET ROLE above the owner: a superuser that did SET ROLE to the owner
#    applies a non-transactional revision whose SQL resets the role and
#    makes the owner a superuser; the owner stays NOSUPERUSER;
#  - the false deadlock: a step with many catalog changes followed, in the
#    same CALL ap_migrate_run(), by a concurrent index build in the worker.
#    The caller must hold no xmin the build would wait for (it failed with
#    40P01 at 600 and more ALTER TABLE ... SET DEFAULT).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('escalation');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 16\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE ROLE apm_esc_owner LOGIN NOSUPERUSER;
	CREATE TABLE esc_t (id int);
	ALTER TABLE esc_t OWNER TO apm_esc_owner;
	INSERT INTO esc_t SELECT generate_series(1, 1000);
	GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole)
	  TO apm_esc_owner;});

# 1. the worker as the owner, never above it
$node->safe_psql('postgres', q{
	SET ROLE apm_esc_owner;
	SELECT ap_migrate_add('e5c000000001', NULL,
	  $$CREATE INDEX CONCURRENTLY esc_t_id ON esc_t (id);
	    SELECT set_config('role', 'none', false);
	    ALTER ROLE apm_esc_owner SUPERUSER;$$,
	  'DROP INDEX CONCURRENTLY esc_t_id', 'escalate from the worker', transactional => false);});
my ($ret, $out, $err) = $node->psql('postgres',
	"SET ROLE apm_esc_owner; CALL ap_migrate_run('head')");
isnt($ret, 0, 'worker: the escalating revision fails');
like($err, qr/permission denied|must be superuser/, 'worker: ALTER ROLE ... SUPERUSER is refused to the owner');
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'apm_esc_owner'"),
	'f', 'worker: the owner is still not a superuser');
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied"),
	'0', 'worker: the revision is not recorded as applied');
$node->safe_psql('postgres', 'DROP INDEX IF EXISTS esc_t_id');

# a role change by the worker's SQL fails the step before it commits
$node->safe_psql('postgres', q{
	CREATE ROLE apm_esc_other NOLOGIN; GRANT apm_esc_other TO apm_esc_owner;
	SELECT ap_migrate_add('e5c000000001', NULL,
	  $$SELECT set_config('role', 'apm_esc_other', false)$$, 'SELECT 1', 'switch role',
	  transactional => false, owner => 'apm_esc_owner');});
($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run('head')");
like($err, qr/migration SQL must not change the role it runs as/, 'worker: a role change fails the step');
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied"),
	'0', 'worker: and it is not recorded');

# 2. the false deadlock: 1,000 catalog changes, then a concurrent build
$node->safe_psql('postgres', q{
	DROP EXTENSION ap_migrate; CREATE EXTENSION ap_migrate;
	CREATE TABLE esc_wide AS SELECT 1 AS c;
	SELECT ap_migrate_add('e5c0000000a1', NULL,
	  $x$DO $$ BEGIN FOR i IN 1..1000 LOOP
	      EXECUTE format('ALTER TABLE esc_wide ALTER COLUMN c SET DEFAULT %s', i);
	    END LOOP; END $$$x$, NULL, 'many catalog changes');
	SELECT ap_migrate_add('e5c0000000a2', '{e5c0000000a1}',
	  'CREATE INDEX CONCURRENTLY esc_t_cic ON esc_t (id)', NULL, 'concurrent build',
	  transactional => false);});
($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run('head')");
is($ret, 0, 'many catalog changes, then a concurrent build: the call succeeds')
  or diag($err);
unlike($err, qr/deadlock/, 'no false deadlock');
is($node->safe_psql('postgres', "SELECT string_agg(revision, ',' ORDER BY revision) FROM ap_migrate.applied"),
	'e5c0000000a1,e5c0000000a2', 'both steps applied');
is($node->safe_psql('postgres', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'esc_t_cic'::regclass"),
	't', 'the index is valid');

$node->stop;
done_testing();
