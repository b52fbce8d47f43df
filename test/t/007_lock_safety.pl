
# Copyright (c) 2026, ap_migrate developers

# RELIABILITY.md P1, P2 and C8: lock safety, measured side by side.
#
# An ALTER TABLE queued behind a long reader blocks every later reader of
# the table until it gets its lock.  A reader session holds an ACCESS SHARE
# lock on table t for $HOLD seconds while pgbench runs short readers of t
# and logs each one's latency, and a migration runs ALTER TABLE t:
#
#   P1 baseline   ap_migrate.lock_timeout = 0: the step queues for the
#                 whole hold, and so do the readers behind it
#   P1            the default ap_migrate.lock_timeout, no retries: the step
#                 fails with 55P03 after lock_timeout and the readers' worst
#                 latency stays near lock_timeout
#   P2            lock_timeout 500 ms with retries and backoff, in both
#                 modes: the step gets its lock on a later attempt, after
#                 the hold, runs once (its first statement's row is there
#                 once), and the readers never wait much longer than
#                 lock_timeout
#   C8            the wait for the serializing lock has its own limit,
#                 ap_migrate.lock_wait_timeout, which the session's
#                 lock_timeout does not shorten, and the error names the
#                 process holding the lock
#
# Latency bounds carry a 400 ms margin for a busy machine; the point is the
# gap to the baseline, which the test also asserts.  The figures are printed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $HOLD   = 5;      # seconds the long reader holds its lock
my $MARGIN = 1.0;    # seconds of scheduling noise allowed on bounds (a busy 2-core machine)

my $node = PostgreSQL::Test::Cluster->new('lock_safety');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE TABLE t (id int PRIMARY KEY);
	INSERT INTO t SELECT generate_series(1, 1000);
	CREATE TABLE ledger (rev text NOT NULL);
});

is($node->safe_psql('postgres', "LOAD 'ap_migrate'; SHOW ap_migrate.lock_timeout"),
	'2s', 'the default ap_migrate.lock_timeout is 2s');

my $revno = 0;

# Register a revision that records itself in the ledger, then alters t;
# returns its id.
sub add_alter
{
	my $rev    = sprintf('10c0000000%02d', ++$revno);
	my $parent = $revno == 1 ? 'NULL' : sprintf("ARRAY['10c0000000%02d']", $revno - 1);
	$node->safe_psql('postgres',
		"SELECT ap_migrate_add('$rev', $parent, "
		  . "\$\$INSERT INTO ledger VALUES ('$rev'); ALTER TABLE t ADD COLUMN c$revno int;\$\$, "
		  . "\$\$ALTER TABLE t DROP COLUMN c$revno; DELETE FROM ledger WHERE rev = '$rev';\$\$, "
		  . "'alter $revno')");
	return $rev;
}

my $logno = 0;

# Hold ACCESS SHARE on t for $HOLD s in one session, run short readers with
# pgbench meanwhile, and run $sql (the migration, after $setup) in another;
# returns the migration's (psql status, stderr, elapsed s) and the readers'
# worst latency in s and number of transactions.
sub contended_run
{
	my ($setup, $sql) = @_;
	my $prefix = $node->basedir . '/readers_' . ++$logno;
	my $script = "$prefix.sql";
	append_to_file($script, "SELECT count(*) FROM t;\n");

	# the long reader: it ends on its own after $HOLD s, as in production
	my $holder = $node->background_psql('postgres');
	$holder->query_until(qr/locked/,
		"BEGIN; LOCK t IN ACCESS SHARE MODE;\n\\echo locked\nSELECT pg_sleep($HOLD); COMMIT;\n");

	my ($out, $err) = ('', '');
	my $bench = IPC::Run::start(
		[
			'pgbench', '-n', '-c', 4, '-j', 2, '-T', $HOLD + 1, '-l',
			"--log-prefix=$prefix", '-f', $script, '-h', $node->host,
			'-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	usleep(300_000);

	my $t0 = time;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "$setup\n$sql");
	my $elapsed = time - $t0;

	$holder->quit;
	$bench->finish;

	my ($worst, $count) = (0, 0);
	for my $file (glob("$prefix.*"))
	{
		next if $file eq $script;
		for my $line (split /\n/, slurp_file($file))
		{
			my @f = split / /, $line;
			$count++;
			$worst = $f[2] / 1e6 if $f[2] / 1e6 > $worst;
		}
	}
	return ($ret, $stderr, $elapsed, $worst, $count);
}

# P1 baseline: no per-step lock_timeout
my $rev1 = add_alter();
my ($ret, $err, $elapsed, $baseline, $n) = contended_run(
	"SET ap_migrate.lock_timeout = 0;",
	"SELECT ap_migrate_upgrade('head')");
is($ret, 0, 'P1 baseline: without lock_timeout the step waits and succeeds');
cmp_ok($elapsed, '>', $HOLD - 1,
	'P1 baseline: the step waited for the long reader');
cmp_ok($baseline, '>', $HOLD - 1.5,
	'P1 baseline: the readers queued behind it waited as long');
diag(sprintf('P1 baseline: step %.2f s, readers worst %.3f s over %d queries',
	$elapsed, $baseline, $n));
$node->safe_psql('postgres', "SELECT ap_migrate_downgrade('base')");

# P1: the default lock_timeout, and retries off by default
is($node->safe_psql('postgres', "LOAD 'ap_migrate'; SHOW ap_migrate.lock_retries"),
	'0', 'the default ap_migrate.lock_retries is 0');
($ret, $err, $elapsed, my $worst, $n) = contended_run(
	"",
	"SELECT ap_migrate_upgrade('head')");
like($err, qr/ERROR:  canceling statement due to lock timeout/,
	'P1: the step fails on its lock_timeout');
like($err, qr/upgrade of revision "$rev1" \(alter 1\), statement 2 at line 1/,
	'P1: the error names the revision and the statement');
cmp_ok($elapsed, '<=', 2 + $MARGIN, 'P1: it fails within lock_timeout (2 s)');
cmp_ok($worst, '<=', 2 + $MARGIN,
	"P1: the readers' worst latency stays within lock_timeout");
cmp_ok($worst, '<', $baseline - 1, "P1: ... well below the baseline's");
diag(sprintf('P1: step failed after %.2f s, readers worst %.3f s over %d queries',
	$elapsed, $worst, $n));
is($node->safe_psql('postgres', 'SELECT count(*) FROM ledger'),
	'0', 'P1: nothing of the failed step remains');

# P2: retries with backoff, in function and in procedure mode
for my $mode ('function', 'procedure')
{
	my $call = $mode eq 'function'
	  ? "SELECT ap_migrate_upgrade('head')"
	  : "CALL ap_migrate_run('head')";
	($ret, $err, $elapsed, $worst, $n) = contended_run(
		"SET ap_migrate.lock_timeout = '500ms'; SET ap_migrate.lock_retries = 6;"
		  . " SET ap_migrate.lock_retry_delay = '200ms';",
		$call);
	is($ret, 0, "P2 $mode: the step succeeds on a later attempt") or diag($err);
	my @retries = ($err =~ /could not get a lock, retrying in (\d+) ms/g);
	cmp_ok(scalar(@retries), '>=', 2, "P2 $mode: it was retried");
	is(join(',', @retries[0 .. 1]), '200,400', "P2 $mode: the delay doubles");
	cmp_ok($elapsed, '>=', $HOLD - 0.5, "P2 $mode: it got the lock after the hold");
	cmp_ok($worst, '<=', 0.5 + $MARGIN,
		"P2 $mode: the readers' worst latency stays within lock_timeout");
	diag(sprintf('P2 %s: %d retries, step done after %.2f s, readers worst %.3f s over %d queries',
		$mode, scalar(@retries), $elapsed, $worst, $n));
	is( $node->safe_psql(
			'postgres', qq{
			SELECT (SELECT count(*) FROM ledger WHERE rev = '$rev1') || ',' ||
			       (SELECT count(*) FROM ap_migrate.applied WHERE revision = '$rev1') || ',' ||
			       (SELECT count(*) FROM information_schema.columns
			         WHERE table_name = 't' AND column_name = 'c1')}),
		'1,1,1',
		"P2 $mode: the retried step ran once: one ledger row, applied, the column");
	$node->safe_psql('postgres', "SELECT ap_migrate_downgrade('base')");
}

# C8: the serializing lock's own wait limit.  Only an ap_migrate operation
# can hold the lock (no SQL function takes it): the holder is a function
# call whose transaction stays open.  An advisory lock on the old key does
# not block anything.
my $holder = $node->background_psql('postgres');
my $holder_pid = $holder->query_safe(
	"SELECT pg_backend_pid(); SELECT pg_advisory_lock(1634758247, 1)");
($holder_pid) = split /\n/, $holder_pid;
is($node->safe_psql('postgres', "SET ap_migrate.lock_wait_timeout = '1s'; SELECT ap_migrate_stamp('base') IS NULL"),
	't', 'C8: an advisory lock on the old key blocks no operation');
$holder->query_safe("BEGIN; SELECT ap_migrate_stamp('head')");
for my $call ("SELECT ap_migrate_upgrade('head')", "CALL ap_migrate_run('head')")
{
	my $t0 = time;
	my ($r, $o, $e) = $node->psql('postgres',
		"SET lock_timeout = '100ms'; SET ap_migrate.lock_wait_timeout = '2s'; $call");
	my $waited = time - $t0;
	like($e,
		qr/ERROR:  another ap_migrate operation is in progress\nDETAIL:  Process $holder_pid holds the ap_migrate lock/,
		"C8 $call: another operation is in progress, holder pid named");
	cmp_ok($waited, '>=', 1.9, "C8 $call: waited lock_wait_timeout, not lock_timeout");
	cmp_ok($waited, '<=', 2 + $MARGIN, "C8 $call: gave up at lock_wait_timeout");
	diag(sprintf('C8 %s: gave up after %.2f s', $call, $waited));
}
$holder->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM ap_migrate.applied"),
	'0', 'C8: nothing ran');
($ret) = $node->psql('postgres', "SET ap_migrate.lock_wait_timeout = '1s'; SELECT ap_migrate_upgrade('head')");
is($ret, 0, 'C8: once the holder is gone, the upgrade runs');

$node->stop;
done_testing();
