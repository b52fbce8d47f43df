
# Copyright (c) 2026, ap_migrate developers

# RELIABILITY.md section K (function mode): a crash in the middle of
# ap_migrate_upgrade() leaves nothing behind.
#
# One call of ap_migrate_upgrade() runs every step in the caller's
# transaction, so a crash at step k of N must leave 0 of N applied: no row in
# ap_migrate.applied, no new row in ap_migrate.history, none of the steps'
# effects, no lock; and the next call must apply all N.
#
# Step control: every revision i takes pg_advisory_xact_lock(900000 + i)
# after its INSERT and CREATE TABLE.  The test holds key 900000 + k in another
# session, so the upgrade stops inside step k with steps 1 .. k-1 done and
# step k half done, and the test knows exactly where it is when it crashes
# the server.
#
#   K1: kill -9 of the upgrading backend (the postmaster crash-restarts), for
#       k = 1, 5 and 10;
#   K2: immediate shutdown of the postmaster, then a normal start (recovery).
#   R8: pg_cancel_backend() and pg_terminate_backend() of the upgrading
#       session, k = 5: the same, and the lock is free at once.

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
my @revs     = map { sprintf('c0ffee%06x', $_) } 1 .. $N;
my %killed_pids;    # pids this test sent SIGKILL to

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# steps wait for the test's advisory keys without a per-step lock_timeout
$node->append_conf('postgresql.conf',
	"restart_after_crash = on\nap_migrate.lock_timeout = 0\n");
$node->start;

# The ledger has no key on purpose: a step applied twice shows up as a
# duplicate row instead of an error.
$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE EXTENSION amcheck;
	CREATE TABLE ledger (rev text NOT NULL);
});

# Register the linear chain rev1 <- rev2 <- ... <- rev10.
for my $i (1 .. $N)
{
	my $rev    = $revs[ $i - 1 ];
	my $parent = $i == 1 ? q{'{}'} : "ARRAY['$revs[$i - 2]']";
	my $key    = $LOCKBASE + $i;
	my $up     = "INSERT INTO ledger VALUES ('$rev');\n"
	  . "CREATE TABLE t_$i (id int);\n"
	  . "SELECT pg_advisory_xact_lock($key);";
	my $down = "DROP TABLE t_$i;\nDELETE FROM ledger WHERE rev = '$rev';";
	is( $node->safe_psql(
			'postgres',
			"SELECT ap_migrate_add('$rev', $parent, \$up\$$up\$up\$, "
			  . "\$down\$$down\$down\$, 'step $i')"),
		't',
		"register revision $i ($rev)");
}

# What must not change when a call is lost.
sub catalog_state
{
	return $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM ap_migrate.history),
		       (SELECT md5(coalesce(string_agg(h::text, '|' ORDER BY id), ''))
		          FROM ap_migrate.history h),
		       (SELECT md5(string_agg(r::text, '|' ORDER BY seq))
		          FROM ap_migrate.revision r)});
}

# The state that proves that nothing of the lost call survived.
sub check_nothing_applied
{
	my ($label, $before) = @_;

	is( $node->safe_psql(
			'postgres', q{
			SELECT (SELECT count(*) FROM ap_migrate.applied) || ',' ||
			       (SELECT count(*) FROM ledger) || ',' ||
			       (SELECT count(*) FROM pg_class
			         WHERE relnamespace = 'public'::regnamespace
			           AND relname ~ '^t_[0-9]+$') || ',' ||
			       (SELECT count(*) FROM ap_migrate_current())}),
		'0,0,0,0',
		"$label: 0 applied, 0 ledger rows, no t_* table, no current revision");
	is(catalog_state(), $before,
		"$label: history and registered revisions as before the call");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
		'0',
		"$label: no advisory lock left");
	is( $node->safe_psql(
			'postgres', q{
			SELECT count(*) FROM ap_migrate_validate() WHERE severity = 'error'}),
		'0',
		"$label: ap_migrate_validate() reports no error");
	is($node->safe_psql('postgres', 'SELECT ap_migrate_check()'),
		'f', "$label: ap_migrate_check() is false (head not applied)");

	# amcheck over ap_migrate's tables and their btree indexes (a corrupt
	# index makes bt_index_check raise an error, which fails safe_psql).
	# verify_heapam came with 14: on 13 every row of every table is read
	# back whole (detoasted), which fails on a corrupt page or tuple.
	my $heap_check = q{
		SELECT count(*) FROM pg_class c, verify_heapam(c.oid)
		 WHERE c.relnamespace = 'ap_migrate'::regnamespace AND c.relkind = 'r'};
	if ($node->safe_psql('postgres', 'SHOW server_version_num') < 140000)
	{
		$heap_check = 'SELECT ' . join(
			' + ',
			map { "(SELECT count(*) FROM ap_migrate.$_ t WHERE t::text IS NULL)" } split /\n/,
			$node->safe_psql(
				'postgres', q{
				SELECT relname FROM pg_class
				 WHERE relnamespace = 'ap_migrate'::regnamespace AND relkind = 'r'}));
	}
	is($node->safe_psql('postgres', $heap_check),
		'0', "$label: no corruption in ap_migrate's tables (verify_heapam; 13: every row read)");
	my $btree = q{
		FROM pg_class c JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
		WHERE c.relnamespace = 'ap_migrate'::regnamespace AND c.relkind = 'i'};
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM (SELECT bt_index_check(c.oid, true) $btree) s"),
		$node->safe_psql('postgres', "SELECT count(*) $btree"),
		"$label: bt_index_check passes on every btree index of ap_migrate");
}

# After the lost call, a fresh call applies all N exactly once; then
# downgrade to base so that the next round starts from nothing applied.
sub check_fresh_upgrade_and_reset
{
	my ($label) = @_;
	my $maxid = $node->safe_psql('postgres',
		'SELECT coalesce(max(id), 0) FROM ap_migrate.history');

	my ($ret, $out, $err) =
	  $node->psql('postgres', "SELECT ap_migrate_upgrade('head')");
	is($ret, 0, "$label: fresh upgrade('head') succeeds");
	is($out, $revs[-1], "$label: fresh upgrade returns the head");
	my @notices = ($err =~ /NOTICE:  running upgrade/g);
	is(scalar(@notices), $N, "$label: fresh upgrade runs $N steps");

	is( $node->safe_psql(
			'postgres', q{
			SELECT (SELECT count(*) FROM ledger) || ',' ||
			       (SELECT count(DISTINCT rev) FROM ledger) || ',' ||
			       (SELECT count(*) FROM ap_migrate.applied) || ',' ||
			       (SELECT count(*) FROM pg_class
			         WHERE relnamespace = 'public'::regnamespace
			           AND relname ~ '^t_[0-9]+$') || ',' ||
			       (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')}),
		"$N,$N,$N,$N,0",
		"$label: ledger has $N distinct rows, $N applied, $N tables, no lock");
	is( $node->safe_psql(
			'postgres', qq{
			SELECT count(*) || ',' ||
			       count(*) FILTER (WHERE operation = 'upgrade' AND success) || ',' ||
			       count(DISTINCT revision)
			  FROM ap_migrate.history WHERE id > $maxid}),
		"$N,$N,$N",
		"$label: one history row per step");
	is($node->safe_psql('postgres', 'SELECT ap_migrate_check()'),
		't', "$label: ap_migrate_check() is true");

	is($node->safe_psql('postgres', "SELECT ap_migrate_downgrade('base')"),
		'', "$label: downgrade to base");
	is( $node->safe_psql(
			'postgres', q{
			SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM ap_migrate.applied)}),
		'0',
		"$label: reset to nothing applied");
}

# One round: block the upgrade inside step k, crash, check, re-apply.
# $how is 'kill9' (K1) or 'immediate' (K2).
sub crash_round
{
	my ($how, $k) = @_;
	my %ids    = (kill9 => 'K1', immediate => 'K2', cancel => 'R8 cancel',
		terminate => 'R8 terminate');
	my $label  = "$ids{$how} k=$k";
	my $key    = $LOCKBASE + $k;
	my $rev_k  = $revs[ $k - 1 ];
	my $before = catalog_state();

	# The test holds step k's key ...
	my $holder = $node->background_psql('postgres');
	$holder->query_safe("SELECT pg_advisory_lock($key)");

	# ... and starts the upgrade in another session.
	my $upgrader = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $upgrader->query_safe('SELECT pg_backend_pid()');
	$upgrader->query_until(qr/started/,
		"\\echo started\nSELECT ap_migrate_upgrade('head');\n");

	ok( $node->poll_query_until(
			'postgres', qq{
			SELECT count(*) = 1 FROM pg_locks
			 WHERE pid = $pid AND locktype = 'advisory' AND NOT granted
			   AND classid = 0 AND objid = $key AND objsubid = 1}),
		"$label: upgrade is waiting for key $key inside step $k");
	is( $node->safe_psql(
			'postgres', qq{
			SELECT wait_event_type || ':' || wait_event || ':' || query
			  FROM pg_stat_activity WHERE pid = $pid}),
		"Lock:advisory:SELECT ap_migrate_upgrade('head');",
		"$label: pg_stat_activity shows the upgrade waiting");
	# Steps 1 .. k-1 ran in the same transaction: it still holds their keys.
	is( $node->safe_psql(
			'postgres', qq{
			SELECT string_agg(objid::text, ',' ORDER BY objid) FROM pg_locks
			 WHERE pid = $pid AND locktype = 'advisory' AND granted
			   AND classid = 0 AND objsubid = 1
			   AND objid BETWEEN $LOCKBASE + 1 AND $LOCKBASE + $N}),
		join(',', map { $LOCKBASE + $_ } 1 .. $k - 1),
		"$label: the keys of the steps before step $k are held");
	# and it announced steps 1 .. k.
	pump_until($upgrader->{run}, $upgrader->{timeout},
		\$upgrader->{stderr}, qr/running upgrade \S+ -> $rev_k/);
	my @notices = ($upgrader->{stderr} =~ /NOTICE:  running upgrade/g);
	is(scalar(@notices), $k, "$label: $k steps were started");

	if ($how eq 'cancel' || $how eq 'terminate')
	{
		# An error (cancel) or the end of the session (terminate) while
		# step k runs: the transaction of the call is rolled back, and the
		# lock goes with it at once.
		is($node->safe_psql('postgres', "SELECT pg_${how}_backend($pid)"),
			't', "$label: pg_${how}_backend() of the upgrading session");
		my $expect = $how eq 'cancel'
		  ? qr/ERROR:  canceling statement due to user request/
		  : qr/terminating connection due to administrator command/;
		pump_until($upgrader->{run}, $upgrader->{timeout},
			\$upgrader->{stderr}, $expect);
		like($upgrader->{stderr}, $expect, "$label: the call ends with that");
		unlike($upgrader->{stdout}, qr/[0-9a-f]{12}/,
			"$label: the upgrade call returned no result");
		$holder->quit;
		eval { $upgrader->quit; };
		is( $node->safe_psql(
				'postgres', q{
				SELECT count(*) = 0 FROM pg_locks
				 WHERE locktype = 'object' AND classid = 'pg_extension'::regclass
				   AND objid = 1634758247 AND objsubid = 1}),
			't', "$label: the ap_migrate lock is free at once");
		check_nothing_applied($label, $before);
		check_fresh_upgrade_and_reset($label);
		return;
	}

	# Crash.
	crash_server($node, $how, $pid, $label, \%killed_pids);

	# The upgrading client lost its connection without a result.
	expect_lost_connection($upgrader, $label, $holder);
	unlike($upgrader->{stdout}, qr/[0-9a-f]{12}/,
		"$label: the upgrade call returned no result");

	check_nothing_applied($label, $before);
	check_fresh_upgrade_and_reset($label);
}

is( $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM ap_migrate.history) || ',' ||
		       (SELECT count(*) FROM ap_migrate.applied)}),
	'0,0',
	'start: empty history, nothing applied');

# K1: SIGKILL of the upgrading backend at step 1, N/2 and N.
crash_round('kill9', $_) for (1, $N / 2, $N);

# K2: immediate shutdown of the postmaster while step k waits, then start.
crash_round('immediate', $_) for (1, $N / 2, $N);

# R8: cancel and terminate the upgrading session while step k waits.
crash_round('cancel',    $N / 2);
crash_round('terminate', $N / 2);

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

$node->stop;
done_testing();
