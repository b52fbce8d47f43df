
# Copyright (c) 2026, ap_migrate developers

# RELIABILITY.md K4: CALL ap_migrate_run() commits after each revision, so a
# crash, an error, a cancel or a terminated session at step k of N leaves
# exactly the k - 1 steps before it applied and recorded, never a partial
# step, and never the ap_migrate lock, which the procedure holds at session
# level across its transactions.  The next call goes on from there.
#
# Step control: revision i inserts its row into a ledger, creates table t_i
# and takes pg_advisory_xact_lock(900000 + i).  The test holds key
# 900000 + k in another session, so the procedure stops inside step k with
# steps 1 .. k-1 committed and step k half done, and the test knows exactly
# where it is when it strikes.
#
#   kill9      SIGKILL of the calling backend (crash-restart), k = 1, 5, 10
#   immediate  immediate shutdown of the postmaster, then a start, k = 5
#   terminate  pg_terminate_backend() of the calling session, k = 5
#   cancel     pg_cancel_backend() of the calling session (an error), k = 5
#   timeout    ap_migrate.lock_timeout expires inside step k, retries off
#              (an error raised by the step's own SQL), k = 1 and 7
#   statement_timeout
#              the CALL's statement_timeout expires while step k waits, k = 5
#
# After each: exactly steps 1 .. k-1 in ap_migrate.applied, in the history
# (one row each, written by this call), in the ledger and as tables; no
# advisory lock left; another session can take the ap_migrate lock at once;
# and a fresh call applies steps k .. N exactly once.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use ApmCrash;

my $N        = 10;
my $LOCKBASE = 900000;
my @revs     = map { sprintf('d0d0d0%06x', $_) } 1 .. $N;
my %killed_pids;    # pids this test sent SIGKILL to

# the ap_migrate lock in pg_locks (docs/concurrency.md, "Concurrency")
my $APM_LOCK =
  "locktype = 'object' AND classid = 'pg_extension'::regclass AND objid = 1634758247 AND objsubid = 1";

my $node = PostgreSQL::Test::Cluster->new('proc_crash');
$node->init;
# Steps wait for the test's advisory keys as long as the test wants:
# no per-step lock_timeout (ap_migrate.lock_timeout = 0 leaves the
# session's, which is off).
$node->append_conf('postgresql.conf',
	"restart_after_crash = on\nap_migrate.lock_timeout = 0\n");
$node->start;

# The ledger has no key on purpose: a step applied twice shows up as a
# duplicate row instead of an error.  "steps" maps step numbers to ids for
# the checks.
$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE TABLE ledger (rev text NOT NULL);
	CREATE TABLE steps (i int PRIMARY KEY, rev text NOT NULL);
});

# Register the linear chain rev1 <- rev2 <- ... <- rev10.
for my $i (1 .. $N)
{
	my $rev    = $revs[ $i - 1 ];
	my $parent = $i == 1 ? 'NULL' : "ARRAY['$revs[$i - 2]']";
	my $key    = $LOCKBASE + $i;
	my $up     = "INSERT INTO ledger VALUES ('$rev');\n"
	  . "CREATE TABLE t_$i (id int);\n"
	  . "SELECT pg_advisory_xact_lock($key);";
	my $down = "DROP TABLE t_$i;\nDELETE FROM ledger WHERE rev = '$rev';";
	is( $node->safe_psql(
			'postgres',
			"INSERT INTO steps VALUES ($i, '$rev');
			 SELECT ap_migrate_add('$rev', $parent, \$up\$$up\$up\$, "
			  . "\$down\$$down\$down\$, 'step $i')"),
		't',
		"register revision $i ($rev)");
}

sub max_history_id
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(max(id), 0) FROM ap_migrate.history');
}

# The state, by step number: which steps are applied, in the ledger (and
# how many ledger rows there are), have their table, and have an upgrade row
# in the history after $maxid (in log order); how many steps are partial
# (present in some of those places and not in others); how many advisory
# locks exist.
sub step_state
{
	my ($maxid) = @_;
	return $node->safe_psql(
		'postgres', qq{
		WITH s AS (
		  SELECT st.i,
		         EXISTS (SELECT FROM ap_migrate.applied a WHERE a.revision = st.rev) AS a,
		         EXISTS (SELECT FROM ledger l WHERE l.rev = st.rev) AS l,
		         to_regclass('public.t_' || st.i) IS NOT NULL AS t,
		         EXISTS (SELECT FROM ap_migrate.history h
		                  WHERE h.id > $maxid AND h.revision = st.rev
		                    AND h.operation = 'upgrade' AND h.success) AS h
		    FROM steps st)
		SELECT 'applied=' || coalesce(string_agg(i::text, ',' ORDER BY i) FILTER (WHERE a), '')
		    || ' ledger=' || coalesce(string_agg(i::text, ',' ORDER BY i) FILTER (WHERE l), '')
		    || ' ledger_rows=' || (SELECT count(*) FROM ledger)
		    || ' tables=' || coalesce(string_agg(i::text, ',' ORDER BY i) FILTER (WHERE t), '')
		    || ' history=' || (SELECT coalesce(string_agg(st.i::text, ',' ORDER BY h.id), '')
		                         FROM ap_migrate.history h JOIN steps st ON st.rev = h.revision
		                        WHERE h.id > $maxid)
		    || ' history_rows=' || (SELECT count(*) FROM ap_migrate.history WHERE id > $maxid)
		    || ' partial=' || count(*) FILTER (WHERE NOT (a = l AND l = t AND t = h))
		    || ' advisory_locks=' || (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')
		  FROM s});
}

# What step_state shows when steps 1 .. $done were applied by this call.
sub expected_state
{
	my ($done) = @_;
	my $list = join(',', 1 .. $done);
	return "applied=$list ledger=$list ledger_rows=$done tables=$list "
	  . "history=$list history_rows=$done partial=0 advisory_locks=0";
}

# "steps 1 .. n" for labels
sub steps_upto
{
	my ($n) = @_;
	return $n == 0 ? 'no step' : $n == 1 ? 'step 1' : "steps 1 .. $n";
}

# Start CALL ap_migrate_run('head') in a background session (after the
# optional $setup statement); returns the session and its backend pid.
sub start_call
{
	my ($setup) = @_;
	my $caller = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $caller->query_safe('SELECT pg_backend_pid()');
	$caller->query_safe($setup) if defined $setup;
	$caller->query_until(qr/started/,
		"\\echo started\nCALL ap_migrate_run('head');\n");
	return ($caller, $pid);
}

# The call is blocked inside step k: check what that proves about the
# steps before it and the lock.
sub check_blocked_at
{
	my ($label, $k, $pid, $caller, $maxid) = @_;
	my $key = $LOCKBASE + $k;

	ok( $node->poll_query_until(
			'postgres', qq{
			SELECT count(*) = 1 FROM pg_locks
			 WHERE pid = $pid AND locktype = 'advisory' AND NOT granted
			   AND classid = 0 AND objid = $key AND objsubid = 1}),
		"$label: the procedure waits for key $key inside step $k");
	is( $node->safe_psql(
			'postgres', qq{
			SELECT wait_event_type || ':' || wait_event || ':' || query
			  FROM pg_stat_activity WHERE pid = $pid}),
		"Lock:advisory:CALL ap_migrate_run('head');",
		"$label: pg_stat_activity shows the CALL waiting");
	my $rev_k = $revs[ $k - 1 ];
	pump_until($caller->{run}, $caller->{timeout}, \$caller->{stderr},
		qr/running upgrade \S+ -> $rev_k/);
	my @notices = ($caller->{stderr} =~ /NOTICE:  running upgrade/g);
	is(scalar(@notices), $k, "$label: $k step(s) started");

	# Steps 1 .. k-1 are committed already: another session sees them, and
	# their step keys went with their transactions ...
	my $s = expected_state($k - 1);
	# advisory locks: key k held by the test and awaited by the procedure
	# (the ap_migrate lock is an object lock, checked below)
	$s =~ s/advisory_locks=0/advisory_locks=2/;
	is(step_state($maxid), $s,
		"$label: " . steps_upto($k - 1) . " committed and visible while step $k runs");
	# ... while the ap_migrate lock outlived those commits: it is held at
	# session level, and another caller cannot get it.
	is( $node->safe_psql(
			'postgres', qq{
			SELECT string_agg(CASE WHEN $APM_LOCK THEN 'ap_migrate' ELSE objid::text END
			                  || ':' || granted, ',' ORDER BY locktype DESC, objid)
			  FROM pg_locks WHERE pid = $pid AND (locktype = 'advisory' OR $APM_LOCK)}),
		"ap_migrate:true,$key:false",
		"$label: the caller holds the ap_migrate lock and no key of an earlier step");
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET ap_migrate.lock_wait_timeout = '100ms'; SELECT ap_migrate_upgrade('head')");
	like($err, qr/another ap_migrate operation is in progress\nDETAIL:  Process $pid holds the ap_migrate lock/,
		"$label: another session cannot take the ap_migrate lock meanwhile");
}

# After the lost or failed call: steps 1 .. k-1 exactly, no lock.
sub check_after
{
	my ($label, $k, $maxid) = @_;
	is(step_state($maxid), expected_state($k - 1),
		"$label: exactly " . steps_upto($k - 1)
		  . " applied, logged, in the ledger and as tables; 0 partial steps; no lock");
	is( $node->safe_psql('postgres',
			'SELECT coalesce(string_agg(revision, \',\'), \'none\') FROM ap_migrate_current()'),
		$k == 1 ? 'none' : $revs[ $k - 2 ],
		"$label: the current revision is " . ($k == 1 ? 'none' : 'step ' . ($k - 1)));
	is( $node->safe_psql(
			'postgres', q{
			SELECT count(*) FROM ap_migrate_validate() WHERE severity = 'error'}),
		'0',
		"$label: ap_migrate_validate() reports no error");
}

# Finish the job with $sql in a session whose ap_migrate.lock_wait_timeout
# is 1 s (so a leftover ap_migrate lock would fail it with 55P03 instead of
# hanging),
# check every step ran exactly once, then downgrade to base for the next
# round.
sub finish_and_reset
{
	my ($label, $k, $maxid, $sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "SET ap_migrate.lock_wait_timeout = '1s';\n$sql");
	is($ret, 0, "$label: $sql succeeds at once") or diag($err);
	my @notices = ($err =~ /NOTICE:  running upgrade/g);
	is(scalar(@notices), $N - $k + 1,
		"$label: it runs the " . ($N - $k + 1) . " remaining step(s)");
	is(step_state($maxid), expected_state($N),
		"$label: all $N steps applied exactly once (ledger $N distinct rows, $N history rows)");
	is( $node->safe_psql('postgres', 'SELECT ap_migrate_check()'),
		't', "$label: ap_migrate_check() is true");

	$node->safe_psql('postgres', "CALL ap_migrate_run_downgrade('base')");
	is( $node->safe_psql(
			'postgres', q{
			SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM ap_migrate.applied)
			     + (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')}),
		'0',
		"$label: reset to nothing applied");
}

# A crash at step k: kill -9 of the calling backend, or an immediate
# shutdown of the postmaster.
sub crash_round
{
	my ($how, $k) = @_;
	my $label = "$how k=$k";
	my $maxid = max_history_id();

	my $holder = $node->background_psql('postgres');
	$holder->query_safe('SELECT pg_advisory_lock(' . ($LOCKBASE + $k) . ')');
	my ($caller, $pid) = start_call();
	check_blocked_at($label, $k, $pid, $caller, $maxid);

	crash_server($node, $how, $pid, $label, \%killed_pids);

	expect_lost_connection($caller, $label, $holder);

	check_after($label, $k, $maxid);
	finish_and_reset($label, $k, $maxid, "CALL ap_migrate_run('head')");
}

# pg_terminate_backend() of the calling session at step k.
sub terminate_round
{
	my ($k) = @_;
	my $label = "terminate k=$k";
	my $maxid = max_history_id();

	my $holder = $node->background_psql('postgres');
	$holder->query_safe('SELECT pg_advisory_lock(' . ($LOCKBASE + $k) . ')');
	my ($caller, $pid) = start_call();
	check_blocked_at($label, $k, $pid, $caller, $maxid);

	# 14 added the timeout (wait until the backend has exited); on 13 the
	# wait is a poll of pg_stat_activity
	my $v14 = $node->safe_psql('postgres', 'SHOW server_version_num') >= 140000;
	is( $node->safe_psql(
			'postgres',
			$v14 ? "SELECT pg_terminate_backend($pid, 10000)" : "SELECT pg_terminate_backend($pid)"),
		't', "$label: pg_terminate_backend() ends the calling backend");
	$v14
	  or $node->poll_query_until('postgres',
		"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $pid)")
	  or die "backend $pid did not exit";
	my $gone = qr/terminating connection due to administrator command/;
	pump_until($caller->{run}, $caller->{timeout}, \$caller->{stderr}, $gone);
	like($caller->{stderr}, $gone, "$label: the calling session was terminated");
	eval { $caller->{run}->kill_kill; };
	$holder->quit;

	check_after($label, $k, $maxid);
	finish_and_reset($label, $k, $maxid, "CALL ap_migrate_run('head')");
}

# An error at step k, the calling session survives: pg_cancel_backend()
# while step k waits ('cancel'), or ap_migrate.lock_timeout expiring in step
# k's SQL
# ('timeout').  The procedure must release the ap_migrate lock before the
# error reaches the client: another session takes it at once.
sub error_round
{
	my ($how, $k) = @_;
	my $label = "$how k=$k";
	my $maxid = max_history_id();
	my $key   = $LOCKBASE + $k;

	my $holder = $node->background_psql('postgres');
	$holder->query_safe("SELECT pg_advisory_lock($key)");
	my %setup = (
		timeout => "SET ap_migrate.lock_timeout = '1s'; SET ap_migrate.lock_retries = 0",
		statement_timeout => "SET statement_timeout = '2s'");
	my ($caller, $pid) = start_call($setup{$how});
	my $expect;
	if ($how eq 'cancel')
	{
		check_blocked_at($label, $k, $pid, $caller, $maxid);
		is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"),
			't', "$label: pg_cancel_backend() sent");
		$expect = qr/ERROR:  canceling statement due to user request/;
	}
	elsif ($how eq 'statement_timeout')
	{
		$expect = qr/ERROR:  canceling statement due to statement timeout/;
	}
	else
	{
		$expect = qr/ERROR:  canceling statement due to lock timeout/;
	}
	# wait for the error and its context, which names step k
	my $rev_k = $revs[ $k - 1 ];
	my $ctx = qr/upgrade of revision "$rev_k" \(step $k\), statement 3 at line 3/;
	pump_until($caller->{run}, $caller->{timeout}, \$caller->{stderr}, $ctx);
	like($caller->{stderr}, $expect, "$label: the CALL fails");
	like($caller->{stderr}, $ctx, "$label: the error names step $k and its statement");
	my @notices = ($caller->{stderr} =~ /NOTICE:  running upgrade/g);
	is(scalar(@notices), $k, "$label: $k step(s) started");

	# The failed session is still there, without any advisory lock.
	$caller->{stderr} = '';
	is( $caller->query_safe(
			'SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()'
			  . " AND locktype = 'advisory'"),
		'0',
		"$label: the calling session holds no advisory lock after the error");
	is( $node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE $APM_LOCK"),
		'0', "$label: nobody holds the ap_migrate lock");

	# Release step k and check with the caller still connected.
	$holder->quit;
	check_after($label, $k, $maxid);
	finish_and_reset($label, $k, $maxid, "SELECT ap_migrate_upgrade('head')");
	$caller->quit;
}

is( $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM ap_migrate.history) || ',' ||
		       (SELECT count(*) FROM ap_migrate.applied)}),
	'0,0',
	'start: empty history, nothing applied');

crash_round('kill9', $_) for (1, $N / 2, $N);
crash_round('immediate', $N / 2);
terminate_round($N / 2);
error_round('cancel', $N / 2);
error_round('timeout', $_) for (1, 7);
error_round('statement_timeout', $N / 2);

# The server log: no assertion failure, no crash but the ones caused here.
my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP:/, 'no assertion failure in the server log');
my @sig9 = ($log =~ /(?:server process|client backend) \(PID (\d+)\) was terminated by signal 9/g);
is_deeply(
	[ sort @sig9 ],
	[ sort keys %killed_pids ],
	'the only "terminated by signal 9" lines are the kills of this test');
unlike($log, qr/terminated by signal (?!9\b)\d+|terminated by exception/,
	'no process died of another signal');
unlike($log, qr/PANIC/, 'no PANIC in the server log');

$node->stop;
done_testing();
