
# Copyright (c) 2026, ap_migrate developers

# One background worker serves a call's non-transactional steps of one owner
# (issue 16): what reusing it must not change.
#
#   session    each step starts from the session a new worker would have:
#              a temporary table, a setting, a prepared statement or a
#              session-level advisory lock of one step is gone at the next,
#              and a transactional step in between can take the lock the
#              step before it took and did not release
#   owners     a worker never runs another owner's step: a step of another
#              owner gets a worker logged in as that owner, and the next
#              step of the first owner a new worker again; every statement
#              runs as its revision's owner, in the caller's own session's
#              stand-in only when the caller is the owner
#   role       a step of a reused worker that changes its role fails (42501)
#   race       under parallel load, many calls whose failing step follows
#              successful ones in the same worker: every call fails with the
#              failing statement's own error, never with "ended before
#              finishing" (57P01).  A worker once read back its answer after
#              the caller had moved on to the next request, and ended as if
#              its step had failed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('worker_reuse');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 16\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE ROLE owner_a LOGIN;
	CREATE ROLE owner_b LOGIN;
	CREATE SCHEMA seen;
	GRANT USAGE, CREATE ON SCHEMA seen TO PUBLIC;
	CREATE TABLE seen.steps (rev text, pid int, cur name, ses name, note text);
	GRANT INSERT ON seen.steps TO PUBLIC;
	GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole)
	  TO owner_a, owner_b;
});

my $parent = 'NULL';

# Register a revision as $owner (transactional unless $nt); returns its id.
sub add
{
	my ($id, $up, $nt, $owner) = @_;
	$node->safe_psql('postgres',
		"SELECT ap_migrate_add('$id', $parent, \$u\$$up\$u\$, 'SELECT 1', 'step $id', "
		  . "transactional => " . ($nt ? 'false' : 'true')
		  . ", owner => '$owner')");
	$parent = "ARRAY['$id']";
	return $id;
}

# what a step records about itself
sub log_step
{
	my ($rev, $note) = @_;
	return "INSERT INTO seen.steps SELECT '$rev', pg_backend_pid(), current_user, session_user, $note";
}

# --- session: nothing of a step reaches the next one in the same worker
add('a00000000001',
	log_step('a1', "current_setting('work_mem')") . ";
	 SET work_mem = '7MB';
	 CREATE TEMP TABLE left_behind (x int);
	 PREPARE left_stmt AS SELECT 1;
	 SELECT pg_advisory_lock(4711);",
	1, 'owner_a');
# in process, between the two: takes the lock the step before did not release
add('a00000000002', "SELECT pg_advisory_xact_lock(4711);", 0, 'owner_a');
add('a00000000003',
	log_step('a3',
		"current_setting('work_mem') || ',' || "
		  . "(SELECT count(*) FROM pg_class WHERE relname = 'left_behind') || ',' || "
		  . "(SELECT count(*) FROM pg_prepared_statements) || ',' || "
		  . "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())"),
	1, 'owner_a');

# --- owners: another owner between two steps of the first
add('b00000000004', log_step('b4', "'b'"), 1, 'owner_b');
add('a00000000005', log_step('a5', "'a'"), 1, 'owner_a');
# the caller's own revisions run in its stand-in
add('c00000000006', log_step('c6', "current_setting('application_name')"), 1, 'postgres');
add('c00000000007', log_step('c7', "current_setting('application_name')"), 1, 'postgres');

my ($ret, $out, $err) = $node->psql('postgres',
	"SET ap_migrate.lock_timeout = '30s'; CALL ap_migrate_run('head')");
is($ret, 0, 'the call succeeds') or diag($err);

my %step = map { my @f = split /\|/; ($f[0] => {pid => $f[1], cur => $f[2], ses => $f[3], note => $f[4]}) }
  split /\n/, $node->safe_psql('postgres', 'SELECT rev, pid, cur, ses, note FROM seen.steps');

is($step{a3}{pid}, $step{a1}{pid}, 'session: one worker ran both steps of owner_a, across the transactional step');
is($step{a3}{note}, "$step{a1}{note},0,0,0",
	'session: the second step saw the setting at its default, no temporary table, prepared statement or advisory lock');
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied WHERE revision = 'a00000000002'"),
	'1', 'session: the transactional step in between got the lock the first step had taken');

isnt($step{b4}{pid}, $step{a3}{pid}, 'owners: owner_b\'s step got a worker of its own');
isnt($step{a5}{pid}, $step{b4}{pid}, 'owners: owner_a\'s next step did not run in owner_b\'s worker');
isnt($step{a5}{pid}, $step{a3}{pid}, '... but in a new worker of owner_a');
is(join(',', map { "$step{$_}{cur}/$step{$_}{ses}" } qw(a1 a3 b4 a5 c6)),
	'owner_a/owner_a,owner_a/owner_a,owner_b/owner_b,owner_a/owner_a,postgres/postgres',
	'owners: every step ran as its owner, in a session of its owner');
is($step{c7}{pid}, $step{c6}{pid}, 'owners: the caller\'s own steps share its stand-in');
like($step{c7}{note}, qr/^ap_migrate worker for PID \d+$/, '... which keeps its settings after the reset');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ap_migrate worker'"),
	'0', 'no worker is left after the call');

# --- role: a role change in a reused worker's step fails the step
add('a00000000008', log_step('a8', "'ok'"), 1, 'owner_a');
add('a00000000009', "SELECT set_config('role', 'postgres', false);", 1, 'owner_a');
($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nCALL ap_migrate_run('head')");
like($err, qr/ERROR:  42501: permission denied to set role "postgres"/,
	'role: SET ROLE in the second step of a worker is refused with its own error');
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied WHERE revision IN ('a00000000008', 'a00000000009')"),
	'1', 'role: the step before it is applied, the failing one is not');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ap_migrate worker'"),
	'0', 'role: no worker is left');

# --- race: a failing step after successful ones in the same worker, many
# times in parallel sessions on a busy machine
my $sessions = 3;
my $rounds   = 20;
my @scripts;
for my $s (1 .. $sessions)
{
	$node->safe_psql('postgres', "CREATE DATABASE race$s");
	$node->safe_psql("race$s", 'CREATE EXTENSION ap_migrate');
	my $script = "\\set VERBOSITY verbose\nSET client_min_messages = warning;\n";
	my $p = 'NULL';
	for my $r (1 .. $rounds)
	{
		for my $k (1 .. 3)
		{
			my $id = sprintf('%02x%04x%06x', $s, $r, $k);
			my $up = $k < 3 ? 'SELECT 1' : "DO \$\$BEGIN RAISE EXCEPTION 'round $r failed' USING ERRCODE = 'P0001'; END\$\$";
			$script .= "SELECT ap_migrate_add('$id', $p, \$u\$$up\$u\$, 'SELECT 1', 'r$r', transactional => false);\n";
			$p = "ARRAY['$id']";
		}
		$script .= "CALL ap_migrate_run('head');\n";
		# defuse the failing step so that the next round can go on
		$script .= sprintf("SELECT ap_migrate_add('%02x%04x%06x', ARRAY['%02x%04x%06x'], 'SELECT 1', 'SELECT 1', 'r$r', transactional => false);\n",
			$s, $r, 3, $s, $r, 2);
	}
	push @scripts, $script;
}

# load: two sessions burning CPU while the calls run
my @burners;
my $burn = "SELECT count(*) FROM generate_series(1, 3000000) AS burn;\n" x 10000;
for (1 .. 2)
{
	my ($bout, $berr) = ('', '');
	push @burners,
	  IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres') ],
		'<', \$burn, '>', \$bout, '2>', \$berr);
}
my @runs;
my @errs = ('') x $sessions;
for my $s (1 .. $sessions)
{
	my $in = $scripts[ $s - 1 ];
	my $o  = '';
	push @runs,
	  IPC::Run::start([ 'psql', '-X', '-d', $node->connstr("race$s") ],
		'<', \$in, '>', \$o, '2>', \$errs[ $s - 1 ]);
}
$_->finish for @runs;
$_->kill_kill for @burners;
$node->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	 WHERE query LIKE '%AS burn%' AND pid <> pg_backend_pid()});

for my $s (1 .. $sessions)
{
	my $e = $errs[ $s - 1 ];
	my @own = ($e =~ /ERROR:  P0001: round \d+ failed/g);
	is(scalar(@own), $rounds, "race: session $s: each of its $rounds calls failed with its step's own error")
	  or diag(join("\n", grep { /ERROR/ && !/P0001/ } split /\n/, $e));
	unlike($e, qr/ended before finishing|57P01/, "race: session $s: never a worker that ended without its error");
	is($node->safe_psql("race$s", 'SELECT count(*) FROM ap_migrate.applied'),
		3 * $rounds - 1,
		"race: session $s: the successful steps were applied (the last round's defused step is not)");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ap_migrate worker'"),
	'0', 'race: no worker is left');

$node->stop;
done_testing();
