
# Copyright (c) 2026, ap_migrate developers

# Revisions registered with transactional = false (issue 4, item 2).
#
# SELECT ap_migrate_upgrade() refuses them before running anything; CALL
# ap_migrate_run() runs their statements at top level in a background
# worker, each in its own transaction: CREATE INDEX CONCURRENTLY, REINDEX
# CONCURRENTLY, DROP INDEX CONCURRENTLY, an enum value added and used in the
# same revision, VACUUM.  Then the ways it can go wrong:
#
#   failure      a unique concurrent build on duplicates: the error is the
#                statement's (23505), the invalid index it left is dropped
#                and the error says so, the statements before it stay
#                committed, the revision is not recorded
#   no deadlock  while the build waits for an old snapshot in a third
#                session, the caller holds no snapshot and no transaction
#                id, and nothing of the worker waits for the caller
#   cancel       pg_cancel_backend() of the caller during the build: the
#                worker is canceled too and cleans up (no invalid index)
#   terminate    pg_terminate_backend() of the caller: the same
#   timeout      statement_timeout during a step: 57014, worker gone
#   own lock     the worker's SQL waits for a lock the caller's session
#                holds: detected, 40P01, instead of waiting forever
#   re-entry     the worker's SQL calls ap_migrate: refused
#   owner        another role's revision runs in a session of that role's
#                own (the worker logs in as it); one that cannot log in is
#                refused up front
#
# After each: no ap_migrate worker left, no advisory lock left.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('nontransactional');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE TABLE t (id int, v int);
	INSERT INTO t SELECT g, g % 100 FROM generate_series(1, 20000) g;
	CREATE TABLE other (x int);
	CREATE TABLE ledger (rev text NOT NULL);
});

my $revno  = 0;
my $parent = 'NULL';

# Register the next revision of the chain; returns its id.
sub add
{
	my ($up, $down, $message, $transactional, $as) = @_;
	my $rev = sprintf('e0e0e0e0e0%02d', ++$revno);
	my $sql = "SELECT ap_migrate_add('$rev', $parent, \$u\$$up\$u\$, \$d\$$down\$d\$, "
	  . "'$message', transactional => $transactional)";
	$sql = "SET ROLE $as; $sql" if defined $as;
	$node->safe_psql('postgres', $sql);
	$parent = "ARRAY['$rev']";
	return $rev;
}

# Give the unapplied revision $rev harmless SQL, so that the chain goes on.
sub defuse
{
	my ($rev, $as) = @_;
	my $sql = qq{
		SELECT ap_migrate_add(revision, down_revision, 'SELECT 1', 'SELECT 1', message,
		                      transactional => false)
		  FROM ap_migrate_show('$rev')};
	$sql = "SET ROLE $as; $sql" if defined $as;
	$node->safe_psql('postgres', $sql);
}

sub applied
{
	return $node->safe_psql('postgres',
		'SELECT count(*) FROM ap_migrate.applied');
}

# no worker, no advisory lock, no invalid index on t
sub clean_state
{
	my ($label) = @_;
	ok( $node->poll_query_until(
			'postgres', q{
			SELECT count(*) = 0 FROM pg_stat_activity
			 WHERE backend_type = 'ap_migrate worker'}),
		"$label: no ap_migrate worker is left");
	is( $node->safe_psql(
			'postgres', q{
			SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') || ',' ||
			       (SELECT count(*) FROM pg_index
			         WHERE indrelid = 't'::regclass AND NOT indisvalid)}),
		'0,0',
		"$label: no advisory lock, no invalid index");
}

# the revisions
my $r1 = add("INSERT INTO ledger VALUES ('r1'); CREATE TABLE t1 (id int);",
	"DROP TABLE t1; DELETE FROM ledger WHERE rev = 'r1';",
	'transactional first', 'true');
my $r2 = add(
	"CREATE INDEX CONCURRENTLY t_v ON t (v);
	 CREATE TYPE mood AS ENUM ('calm');
	 ALTER TYPE mood ADD VALUE 'busy';
	 CREATE TABLE t2 (m mood DEFAULT 'busy');
	 INSERT INTO t2 DEFAULT VALUES;
	 REINDEX INDEX CONCURRENTLY t_v;
	 VACUUM (ANALYZE) t;
	 INSERT INTO ledger VALUES ('r2');",
	"DROP INDEX CONCURRENTLY t_v;
	 DROP TABLE t2;
	 DROP TYPE mood;
	 DELETE FROM ledger WHERE rev = 'r2';",
	'concurrent work', 'false');
my $r3 = add("INSERT INTO ledger VALUES ('r3');",
	"DELETE FROM ledger WHERE rev = 'r3';", 'transactional after', 'true');

# --- the function refuses up front
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT ap_migrate_upgrade('head')");
like($err, qr/ERROR:  0A000: revision "$r2" is not transactional and cannot be applied inside a transaction/,
	'the function refuses a non-transactional revision with 0A000');
like($err, qr/HINT:  Use CALL ap_migrate_run\(\)/, '... and points to CALL ap_migrate_run()');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM ledger") . ',' . applied(),
	'0,0', '... before running any step (nothing applied, nothing committed)');

# --- the procedure runs it at top level
($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run('head')");
is($ret, 0, 'CALL ap_migrate_run() applies the chain') or diag($err);
is( $node->safe_psql(
		'postgres', q{
		SELECT (SELECT string_agg(rev, ',' ORDER BY rev) FROM ledger) || ' ' ||
		       (SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v'::regclass) || ' ' ||
		       (SELECT string_agg(m::text, ',') FROM t2) || ' ' ||
		       (SELECT count(*) FROM ap_migrate.applied) || ' ' ||
		       (SELECT count(*) FROM ap_migrate.history WHERE operation = 'upgrade' AND success)}),
	'r1,r2,r3 true busy 3 3',
	'every statement ran: a valid concurrent index, the new enum value used, all recorded');
clean_state('upgrade');

# downgrade: the function refuses, the procedure runs DROP INDEX CONCURRENTLY
($ret, $out, $err) = $node->psql('postgres', "SELECT ap_migrate_downgrade('base')");
like($err, qr/revision "$r2" is not transactional/, 'the function refuses the downgrade too');
($ret, $out, $err) = $node->psql('postgres', "CALL ap_migrate_run_downgrade('$r1')");
is($ret, 0, 'CALL ap_migrate_run_downgrade() reverts it') or diag($err);
is( $node->safe_psql(
		'postgres', q{
		SELECT coalesce(to_regclass('t_v')::text, 'gone') || ' ' ||
		       coalesce(to_regtype('mood')::text, 'gone') || ' ' ||
		       (SELECT string_agg(rev, ',') FROM ledger)}),
	'gone gone r1', 'the downgrade ran at top level');
$node->safe_psql('postgres', "CALL ap_migrate_run('head')");

# --- failure: a unique build on duplicates
my $r4 = add(
	"INSERT INTO ledger VALUES ('r4 before');\nCREATE UNIQUE INDEX CONCURRENTLY t_uv ON t (v);",
	'DROP INDEX CONCURRENTLY t_uv;', 'unique', 'false');
($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCALL ap_migrate_run('head')");
like($err, qr/ERROR:  23505: could not create unique index "t_uv"/,
	'failure: the statement\'s own error and SQLSTATE');
like($err,
	qr/The invalid index public.t_uv left by the failed statement was dropped. The statement before it was committed; the revision was not recorded as applied./,
	'failure: the invalid index was dropped, and the error says what stayed');
like($err, qr/CONTEXT:  upgrade of revision "$r4" \(unique\), statement 2 at line 2/,
	'failure: the context names the revision and the statement');
is( $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM ap_migrate.applied) || ',' ||
		       (SELECT count(*) FROM ap_migrate.applied WHERE revision = '$r4') || ',' ||
		       (SELECT count(*) FROM ledger WHERE rev = 'r4 before') || ',' ||
		       coalesce(to_regclass('t_uv')::text, 'none')}),
	'3,0,1,none',
	'failure: the revision is not applied, its first statement stayed, no index t_uv');
clean_state('failure');
defuse($r4);
$node->safe_psql('postgres', "CALL ap_migrate_run('head')");

# --- no deadlock: the build waits for an old snapshot of a third session
my $r5 = add('CREATE INDEX CONCURRENTLY t_id ON t (id);',
	'DROP INDEX CONCURRENTLY t_id;', 'build', 'false');

# Start the call while $blocker holds an old snapshot; returns the caller
# session, its pid and the worker's pid once the build waits.
sub start_blocked_build
{
	my ($label) = @_;
	my $blocker = $node->background_psql('postgres');
	$blocker->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other');
	my $blocker_pid = $blocker->query_safe('SELECT pg_backend_pid()');
	my $caller = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $caller->query_safe('SELECT pg_backend_pid()');
	# the build waits as long as the test looks at it, however slow the
	# machine (the default ap_migrate.lock_timeout is 2 s)
	$caller->query_safe("SET ap_migrate.lock_timeout = '5min'");
	$caller->query_until(qr/started/, "\\echo started\nCALL ap_migrate_run('head');\n");
	ok( $node->poll_query_until(
			'postgres', qq{
			SELECT count(*) = 1 FROM pg_stat_activity
			 WHERE backend_type = 'ap_migrate worker'
			   AND wait_event_type = 'Lock' AND wait_event = 'virtualxid'
			   AND pg_blocking_pids(pid) = ARRAY[$blocker_pid]}),
		"$label: the worker's build waits for the old snapshot, and for nothing else");
	my $worker = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'ap_migrate worker'");
	return ($blocker, $caller, $pid, $worker);
}

my ($blocker, $caller, $pid, $worker) = start_blocked_build('no deadlock');
is( $node->safe_psql(
		'postgres', qq{
		SELECT coalesce(backend_xmin::text, 'none') || ',' ||
		       coalesce(backend_xid::text, 'none') || ',' || wait_event_type
		  FROM pg_stat_activity WHERE pid = $pid}),
	'none,none,Extension',
	'no deadlock: meanwhile the caller holds no snapshot and no transaction id');
is( $node->safe_psql(
		'postgres', "SELECT application_name FROM pg_stat_activity WHERE pid = $worker"),
	"ap_migrate worker for PID $pid",
	'no deadlock: the worker names its caller');
$blocker->query_safe('COMMIT');
$blocker->quit;
$caller->quit;
is( $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM ap_migrate.applied WHERE revision = '$r5') || ',' ||
		       (SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass)}),
	'1,true', 'no deadlock: the build finishes once the old snapshot is gone');
clean_state('no deadlock');

# --- cancel and terminate the caller during the build
my $r6 = add('CREATE INDEX CONCURRENTLY t_both ON t (id, v);',
	'DROP INDEX CONCURRENTLY t_both;', 'canceled build', 'false');
for my $how ('cancel', 'terminate')
{
	($blocker, $caller, $pid, $worker) = start_blocked_build($how);
	ok( $node->poll_query_until(
			'postgres', q{
			SELECT count(*) = 1 FROM pg_index
			 WHERE indexrelid = to_regclass('t_both') AND NOT indisvalid}),
		"$how: the half-built index exists meanwhile");
	is($node->safe_psql('postgres', "SELECT pg_${how}_backend($pid)"),
		't', "$how: pg_${how}_backend() of the caller");
	# the worker cleans up while the old snapshot is still there
	clean_state($how);
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM ap_migrate.applied WHERE revision = '$r6'"),
		'0', "$how: the revision is not applied");
	$blocker->query_safe('COMMIT');
	$blocker->quit;
	# a terminated caller's psql is gone already
	eval { $caller->quit; };
}
$node->safe_psql('postgres', "CALL ap_migrate_run('head')");
is($node->safe_psql('postgres', "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_both'::regclass"),
	't', 'the build runs to the end on the next call');

# --- statement_timeout during a step
my $r7 = add('SELECT pg_sleep(60);', 'SELECT 1', 'slow', 'false');
my $t0 = time;
($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSET statement_timeout = '1s'; CALL ap_migrate_run('head')");
like($err, qr/ERROR:  57014: canceling statement due to statement timeout/,
	'timeout: 57014');
cmp_ok(time - $t0, '<', 15, 'timeout: the call ends promptly');
clean_state('timeout');
defuse($r7);

# --- the worker's SQL waits for a lock of the caller's session
my $r8 = add('SELECT pg_advisory_lock(4242);', 'SELECT 1', 'own lock', 'false');
$t0 = time;
($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT pg_advisory_lock(4242);\nSET ap_migrate.lock_timeout = 0;\n"
	  . "CALL ap_migrate_run('head')");
like($err, qr/ERROR:  40P01: deadlock detected/, 'own lock: detected as a deadlock (40P01)');
like($err, qr/Statement 1 of revision "$r8", running in background worker process \d+, waits for a lock this session holds/,
	'own lock: the detail says which statement waits for what');
cmp_ok(time - $t0, '<', 15, 'own lock: detected within seconds');
clean_state('own lock');
defuse($r8);

# --- re-entry
my $r9 = add("SELECT ap_migrate_upgrade('head');", 'SELECT 1', 're-entry', 'false');
($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCALL ap_migrate_run('head')");
like($err,
	qr/ERROR:  55000: ap_migrate_upgrade\(\) cannot be called while an ap_migrate operation is running/,
	're-entry: refused in the worker as in a step');
clean_state('re-entry');
defuse($r9);
$node->safe_psql('postgres', "CALL ap_migrate_run('head')");

# --- another role's revision runs as that role, restricted
$node->safe_psql('postgres', q{
	CREATE ROLE weak LOGIN;
	GRANT CREATE ON SCHEMA public TO weak;
	GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole),
	                          ap_migrate_show(text) TO weak;
	CREATE TABLE weak_t (id int);
	ALTER TABLE weak_t OWNER TO weak;
	CREATE TABLE whoami (cur name, ses name);
	GRANT INSERT ON whoami TO weak;
});
my $r10 = add(
	'INSERT INTO public.whoami SELECT current_user, session_user; CREATE INDEX CONCURRENTLY weak_i ON public.weak_t (id);',
	'DROP INDEX CONCURRENTLY public.weak_i;', 'weak build', 'false', 'weak');
my $r11 = add("SELECT set_config('role', 'postgres', false);", 'SELECT 1', 'weak escalation', 'false', 'weak');
($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCALL ap_migrate_run('head')");
like($err, qr/ERROR:  42501: permission denied to set role "postgres"/,
	'owner: SET ROLE to the caller\'s role is refused (42501)');
is($node->safe_psql('postgres', 'SELECT cur || \',\' || ses FROM whoami'),
	'weak,weak', 'owner: the statements ran in a session of the owner\'s own');
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied WHERE revision = '$r10'"),
	'1', 'owner: the owner\'s revision was applied');
clean_state('owner');
defuse($r11, 'weak');

# An owner that cannot log in: before 17 a background worker can log in
# only as a role with LOGIN, so the run is refused before any step; 17 lets
# a worker log in as any role (BGWORKER_BYPASS_ROLELOGINCHECK), so there
# the step runs in a session of that owner.
$node->safe_psql('postgres', q{
	CREATE ROLE nologin_owner NOLOGIN;
	GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole) TO nologin_owner;
	CREATE TABLE whoami_nologin (cur name, ses name);
	GRANT INSERT ON whoami_nologin TO nologin_owner;
});
my $r12 = add('INSERT INTO public.whoami_nologin SELECT current_user, session_user;',
	'SELECT 1', 'nologin', 'false', 'nologin_owner');
($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCALL ap_migrate_run('head')");
if ($node->safe_psql('postgres', 'SHOW server_version_num') < 170000)
{
	like($err, qr/ERROR:  55000: revision "$r12" is not transactional and its owner cannot log in/,
		'nologin owner: refused up front (55000)');
	like($err, qr/It is step 2 of 2; no step was run/, 'nologin owner: before the step before it');
	is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied WHERE revision = '$r11'"),
		'0', 'nologin owner: nothing was applied');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM whoami_nologin'),
		'0', 'nologin owner: its statements did not run');
}
else
{
	is($ret, 0, 'nologin owner (17+): the run succeeds') or diag $err;
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM ap_migrate.applied WHERE revision IN ('$r11', '$r12')"),
		'2', 'nologin owner (17+): both steps were applied');
	is($node->safe_psql('postgres', 'SELECT cur || \',\' || ses FROM whoami_nologin'),
		'nologin_owner,nologin_owner',
		'nologin owner (17+): the statements ran in a session of the owner\'s own');
}
clean_state('nologin owner');

is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM ap_migrate_validate() WHERE severity = 'error'}),
	'0', 'ap_migrate_validate() reports no error at the end');

$node->stop;
done_testing();
