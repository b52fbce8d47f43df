
# Copyright (c) 2026, ap_migrate developers

# ap-migrate under Valgrind's memcheck (issue 12, "memory check on the client
# too"): the verbs that read files, sync, apply with progress, fan out over
# threads, print JSON and fail, each with --leak-check=full; any invalid
# access or definite, indirect or possible leak fails the test.  Skipped
# when valgrind is not installed.

use strict;
use warnings;

use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib "$FindBin::RealBin/../perl";
use ApmCli;

plan skip_all => 'valgrind is not installed'
  unless grep { -x "$_/valgrind" } split /:/, $ENV{PATH};

my $node = PostgreSQL::Test::Cluster->new('cli_valgrind');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE vg1');
$node->safe_psql('postgres', 'CREATE DATABASE vg2');
my $p = project_dir();
my $m = "$p/migrations";
write_migration($m, '300000000001', '', 'one', 'CREATE TABLE v1 (id int);', 'DROP TABLE v1;');
write_migration($m, '300000000002', '300000000001', 'two', 'CREATE TABLE v2 (id int);', 'DROP TABLE v2;', labels => 'main');
write_migration($m, '300000000003', '300000000001', 'side', 'SELECT 1;', 'SELECT 2;');
write_migration($m, '300000000004', '300000000002 300000000003', 'merge', '', '');
my @d1 = ('-d', $node->connstr('vg1'));
my $cache = PostgreSQL::Test::Utils::tempdir();	# the client's header cache
my @both = (@d1, '-d', $node->connstr('vg2'));

my @runs = (
	[ 'upgrade', @both, '-j', '2', 'upgrade' ],
	[ 'current', @d1, 'current', '--verbose' ],
	[ 'history', @d1, 'history', '-r', '300000000001:', '--verbose' ],
	[ 'branches', @d1, 'branches' ],
	[ 'show', @d1, 'show', '--verbose', 'main@head' ],
	[ 'plan', @d1, 'plan', 'base' ],
	[ 'sql', @d1, 'sql', '300000000001' ],
	[ 'validate', @d1, 'validate' ],
	[ 'check --json', '--json', @both, 'check' ],
	[ 'downgrade, single transaction', @d1, 'downgrade', '--single-transaction', '-1' ],
	[ 'downgrade, procedure', @d1, 'downgrade', 'base' ],
	[ 'stamp', @d1, 'stamp', 'heads' ],
	[ 'a failing target', @d1, 'upgrade', 'nosuchrevision' ],
	[ 'revision', 'revision', '-m', 'valgrind', '--head', 'main@head' ],
	[ 'usage error', 'downgrade' ],);

for my $run (@runs)
{
	my ($label, @args) = @$run;
	my ($out, $err) = ('', '');
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{XDG_CACHE_HOME} = $cache;
	my $h = IPC::Run::start(
		[ 'valgrind', '--leak-check=full', '--show-leak-kinds=definite,indirect,possible',
		  '--errors-for-leak-kinds=definite,indirect,possible', '--error-exitcode=99', '-q',
		  'ap-migrate', @args ],
		'<', \'', '>', \$out, '2>', \$err, init => sub { chdir $p or die; });
	$h->finish;
	isnt($h->result(0), 99, "valgrind: $label") or diag $err;
	unlike($err, qr/^==\d+== /m, "valgrind: $label: no report") or diag $err;
}

$node->stop;
done_testing();
