
# Copyright (c) 2026, ap_migrate developers

# The accounts-payable example (examples/ap_intake) migrated entirely
# through ap-migrate, the seed's runbook (issue 12, item 7): upgrade head,
# current, history, downgrade -1, downgrade base, in both modes, with the
# same catalog fingerprint (examples/ap_intake/fingerprint.sql) after each
# step as the SQL path (ap_migrate_load + ap_migrate_upgrade/downgrade in
# psql) gives.

use strict;
use warnings;

use File::Basename qw(dirname basename);
use File::Copy qw(copy);
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib "$FindBin::RealBin/../perl";
use ApmCli;

my $topdir = "$FindBin::RealBin/../..";
my $exdir  = "$topdir/examples/ap_intake";
my @files  = sort glob("$exdir/[0-9a-f]*_*.sql");
is(scalar @files, 5, 'five example migrations');
my $fingerprint = slurp_file("$exdir/fingerprint.sql");

my $node = PostgreSQL::Test::Cluster->new('cli_example');
$node->init;
$node->start;

sub fp { return $node->safe_psql($_[0], $fingerprint); }

# the SQL path
$node->safe_psql('postgres', 'CREATE DATABASE sqlpath');
$node->safe_psql('sqlpath', 'CREATE EXTENSION ap_migrate');
my %sql = (base0 => fp('sqlpath'));
for my $f (@files)
{
	my $text = slurp_file($f);
	$node->safe_psql('sqlpath', "SELECT ap_migrate_load(\$apm\$$text\$apm\$)");
}
$node->safe_psql('sqlpath', "SELECT ap_migrate_upgrade('head')");
$sql{head} = fp('sqlpath');
$node->safe_psql('sqlpath', "SELECT ap_migrate_downgrade('-1')");
$sql{minus1} = fp('sqlpath');
$node->safe_psql('sqlpath', "SELECT ap_migrate_downgrade('base')");
$sql{base} = fp('sqlpath');
is($sql{base}, $sql{base0}, 'SQL path: downgrade base restores the schema');

# the client, as the seed's runbook: a project directory with the files
my $p = project_dir();
copy($_, "$p/migrations/" . basename($_)) or die for @files;

for my $mode ('procedure', 'function')
{
	my $db = "cli_$mode";
	my @m = $mode eq 'function' ? ('--single-transaction') : ();
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my $d = $node->connstr($db);

	my $r = cli($node, $p, { DATABASE_URL => "postgresql+asyncpg:///$db?host=" . $node->host . '&port=' . $node->port },
		'upgrade', 'head', @m);
	is($r->{rc}, 0, "$mode: ap-migrate upgrade head") or diag $r->{err};
	like($r->{err}, qr/^Running upgrade base -> ca4653c80b38, Initial migration for ap_intake database \(\d+ ms\)$/m,
		"$mode: first step");
	like($r->{err}, qr/^Running upgrade e9428b9dd556 -> 55a2502018a6, Add analytics performance indexes \(\d+ ms\)$/m,
		"$mode: last step");
	is(fp($db), $sql{head}, "$mode: at head, the same fingerprint as the SQL path");

	$r = cli($node, $p, {}, '-d', $d, 'current');
	is($r->{out}, "55a2502018a6 (head)\n", "$mode: ap-migrate current shows 55a2502018a6, as the runbook expects");
	$r = cli($node, $p, {}, '-d', $d, 'history');
	is($r->{out}, "e9428b9dd556 -> 55a2502018a6 (head) (current), Add analytics performance indexes\n"
		  . "797c75afebae -> e9428b9dd556, Add exception management indexes\n"
		  . "b1a2c3d4e5f6 -> 797c75afebae, Add QuickBooks integration tables\n"
		  . "ca4653c80b38 -> b1a2c3d4e5f6, Add storage audit and deduplication tables\n"
		  . "<base> -> ca4653c80b38, Initial migration for ap_intake database\n",
		"$mode: ap-migrate history");
	is(cli($node, $p, {}, '-d', $d, 'check')->{rc}, 0, "$mode: check passes at head");

	$r = cli($node, $p, {}, '-d', $d, 'downgrade', '-1', @m);
	is($r->{rc}, 0, "$mode: ap-migrate downgrade -1") or diag $r->{err};
	like($r->{err}, qr/^Running downgrade 55a2502018a6 -> e9428b9dd556, Add analytics performance indexes \(\d+ ms\)$/m,
		"$mode: one step down");
	is(fp($db), $sql{minus1}, "$mode: after downgrade -1, the same fingerprint as the SQL path");
	is(cli($node, $p, {}, '-d', $d, 'check')->{rc}, 3, "$mode: check says one is pending");

	$r = cli($node, $p, {}, '-d', $d, 'downgrade', 'base', @m);
	is($r->{rc}, 0, "$mode: ap-migrate downgrade base") or diag $r->{err};
	like($r->{err}, qr/^Downgraded 4 steps in /m, "$mode: four steps down");
	is(fp($db), $sql{base}, "$mode: after downgrade base, the same fingerprint as the SQL path (the schema before)");
	is(cli($node, $p, {}, '-d', $d, 'current')->{out}, '', "$mode: current is empty at base");
}

$node->stop;
done_testing();
