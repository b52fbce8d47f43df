
# Copyright (c) 2026, ap_migrate developers

# ap-migrate over many databases (issue 12, item 6) and Ctrl-C (item 5).
#
# Fan-out: 50 tenant databases, one of which fails (a table in the way), with
# -j 4: --continue-on-error migrates the other 49 and the result table says
# which failed; without it, no new database starts after the failure;
# --dbname-file and --all-databases (databases without the extension are
# skipped); one JSON line per database.
#
# Cancel: SIGINT while a step runs cancels the statement with PQcancel; in
# procedure mode the steps before it stay committed and the client says
# which, in function mode nothing is applied.

use strict;
use warnings;

use FindBin;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use lib "$FindBin::RealBin/../perl";
use ApmCli;

my $node = PostgreSQL::Test::Cluster->new('cli_fanout');
$node->init;
$node->append_conf('postgresql.conf', 'max_connections = 100');
$node->start;

my $p = project_dir();
my $m = "$p/migrations";
write_migration($m, '100000000001', '', 'accounts', 'CREATE TABLE accounts (id bigint PRIMARY KEY);', 'DROP TABLE accounts;');
write_migration($m, '100000000002', '100000000001', 'name', 'ALTER TABLE accounts ADD COLUMN name text;',
	'ALTER TABLE accounts DROP COLUMN name;');
write_migration($m, '100000000003', '100000000002', 'index', 'CREATE INDEX accounts_name ON accounts (name);',
	'DROP INDEX accounts_name;');

my @dbs = map { sprintf('tenant_%02d', $_) } 1 .. 50;
$node->safe_psql('postgres', "CREATE DATABASE $_") for @dbs;
# tenant_37 has a table in the way of the first migration
$node->safe_psql('tenant_37', 'CREATE TABLE accounts (x int)');
my @d = map { ('-d', $node->connstr($_)) } @dbs;

# --continue-on-error: 49 ok, 1 failed
my $t0 = time;
my $r = cli($node, $p, {}, '-j', '4', '--continue-on-error', @d, 'upgrade');
my $elapsed = time - $t0;
is($r->{rc}, 1, '50 databases, one failing: exit 1');
like($r->{out}, qr/^50 databases: 49 ok, 1 failed, 0 pending, 0 skipped, 0 interrupted, 0 not run$/m, 'the table counts 49 ok, 1 failed');
like($r->{out}, qr/^tenant_37\s+FAILED\s+0\s+[\d.]+s\s+relation "accounts" already exists$/m, 'and names the failure');
like($r->{out}, qr/^tenant_01\s+ok\s+3\s+[\d.]+s\s+100000000003$/m, 'a row per database: steps, time, current');
like($r->{err}, qr/^\[tenant_37\] ERROR:  relation "accounts" already exists$/m, 'errors carry the database');
like($r->{err}, qr/^\[tenant_12\] Running upgrade 100000000002 -> 100000000003, index \(\d+ ms\)$/m, 'so do progress lines');
my $at_head = 0;
for my $db (@dbs)
{
	$at_head++ if $node->safe_psql($db, 'SELECT revision FROM ap_migrate_current()') eq '100000000003';
}
is($at_head, 49, '49 databases at head');
diag sprintf('fan-out: 50 databases x 3 steps with -j 4 in %.2f s', $elapsed);

# stop at the first failure (the default): no new database starts
my $list = "$p/dbs.txt";
open my $fh, '>', $list or die;
print $fh "# tenants, the failing one first\n" . $node->connstr('tenant_37') . "\n\n";
print $fh "$_\n" for grep { $_ ne 'tenant_37' } @dbs;
close $fh;
$r = cli($node, $p, {}, '-j', '1', '--dbname-file', $list, 'upgrade');
is($r->{rc}, 1, '--dbname-file, stop at the first failure: exit 1');
like($r->{out}, qr/^50 databases: 0 ok, 1 failed, 0 pending, 0 skipped, 0 interrupted, 49 not run$/m,
	'nothing started after the failure');

# --all-databases: the databases without the extension are skipped
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$r = cli($node, $p, {}, '--all-databases', '-j', '4', 'check');
is($r->{rc}, 3, '--all-databases check: exit 3 (tenant_37 is behind)');
like($r->{out}, qr/^52 databases: 49 ok, 0 failed, 1 pending, 2 skipped, 0 interrupted, 0 not run$/m,
	'49 ok, tenant_37 pending, postgres and plain skipped');
like($r->{out}, qr/^plain\s+skipped\s+.*extension ap_migrate not installed$/m, 'skipped: no extension');

# --json: one line per database
$r = cli($node, $p, {}, '--json', '-j', '4', '--continue-on-error', @d, 'current');
my @lines = split /\n/, $r->{out};
is(scalar @lines, 50, '--json: one line per database');
my %status = map { my $j = decode_json($_); ($j->{database} => $j->{status}) } @lines;
is($status{tenant_05}, 'ok', '--json: status per database');

# repaired, the whole server in parallel
$node->safe_psql('tenant_37', 'DROP TABLE accounts');
$r = cli($node, $p, {}, '--all-databases', '-j', '4', 'upgrade');
is($r->{rc}, 0, '--all-databases upgrade after the repair: exit 0') or diag $r->{out}, $r->{err};
like($r->{out}, qr/^tenant_37\s+ok\s+3\s/m, 'tenant_37 migrated');
like($r->{out}, qr/^tenant_01\s+ok\s+0\s/m, 'the others had nothing to do');

# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------
my $c = project_dir();
write_migration("$c/migrations", '200000000001', '', 'first', 'CREATE TABLE c1 (id int);', 'DROP TABLE c1;');
write_migration("$c/migrations", '200000000002', '200000000001', 'slow', 'SELECT pg_sleep(60);', '');
write_migration("$c/migrations", '200000000003', '200000000002', 'third', 'CREATE TABLE c3 (id int);', 'DROP TABLE c3;');

for my $mode ('procedure', 'function')
{
	my $db = "cancel_$mode";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my ($out, $err) = ('', '');
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{XDG_CACHE_HOME} = PostgreSQL::Test::Utils::tempdir();
	my @args = ('ap-migrate', '-d', $node->connstr($db), 'upgrade');
	push @args, '--single-transaction' if $mode eq 'function';
	my $h = IPC::Run::start(\@args, '<', \'', '>', \$out, '2>', \$err,
		init => sub { chdir $c or die; });
	$node->poll_query_until($db, q{SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'})
	  or die 'the slow step did not start';
	$t0 = time;
	$h->signal('INT');
	$h->finish;
	my $took = time - $t0;
	is($h->result(0), 1, "$mode mode: Ctrl-C exits 1");
	cmp_ok($took, '<', 30, "$mode mode: the statement was canceled, not waited for");
	like($err, qr/interrupted, canceling the running statement/, "$mode mode: says it cancels");
	like($err, qr/^ERROR:  canceling statement due to user request$/m, "$mode mode: the server's report");
	like($err, qr/^Running upgrade 200000000001 -> 200000000002, slow \.\.\. FAILED/m, "$mode mode: the step that was running");
	if ($mode eq 'procedure')
	{
		like($err, qr/^1 step was committed before the cancel; current revision: 200000000001$/m,
			'procedure mode: reports what was applied');
		is($node->safe_psql($db, 'SELECT string_agg(revision, \',\') FROM ap_migrate_current()'), '200000000001',
			'procedure mode: the first step is committed');
	}
	else
	{
		like($err, qr/^Nothing was applied: the transaction was rolled back\.$/m, 'function mode: nothing applied');
		is($node->safe_psql($db, 'SELECT count(*) FROM ap_migrate.applied'), '0', 'function mode: nothing applied');
	}
	is($node->safe_psql($db, q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}), '0',
		"$mode mode: no lock left behind");
}

$node->stop;
done_testing();
