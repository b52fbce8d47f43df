
# Copyright (c) 2026, ap_migrate developers

# The command-line client, ap-migrate (issue 12): every verb against a real
# cluster, both execution modes of upgrade and downgrade, usage errors and
# exit codes, --json, DATABASE_URL in SQLAlchemy's spelling, the project's
# config file, the importer dispatch, and escape sequences from the server
# kept off the terminal.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Path qw(make_path);
use FindBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib "$FindBin::RealBin/../perl";
use ApmCli;

my $node = PostgreSQL::Test::Cluster->new('cli_verbs');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE verbs');
my $db = $node->connstr('verbs');

my $r;
my @verbs = qw(init revision merge upgrade downgrade stamp current heads branches
  history show check plan sql validate import adopt);

# ---------------------------------------------------------------------------
# help and usage
# ---------------------------------------------------------------------------
my $p = project_dir();
$r = cli($node, $p, {}, '--help');
is($r->{rc}, 0, '--help exits 0');
like($r->{out}, qr/^  $_ /m, "--help lists $_") for @verbs;
for my $v (@verbs)
{
	$r = cli($node, $p, {}, $v, '--help');
	is($r->{rc}, 0, "$v --help exits 0");
	like($r->{out}, qr/Usage:\n  ap-migrate \Q$v\E/, "$v --help shows its usage");
}
like(cli($node, $p, {}, 'upgrade', '--help')->{out}, qr/CALL\s+ap_migrate_run/,
	'upgrade --help says it uses the procedure');
is(cli($node, $p, {})->{rc}, 2, 'no verb: exit 2');
is(cli($node, $p, {}, 'frobnicate')->{rc}, 2, 'unknown verb: exit 2');
is(cli($node, $p, {}, 'downgrade')->{rc}, 2, 'downgrade without a target: exit 2');
is(cli($node, $p, {}, 'revision')->{rc}, 2, 'revision without -m: exit 2');
is(cli($node, $p, {}, '-j', '0', 'current')->{rc}, 2, '-j 0: exit 2');
is(cli($node, $p, {}, '--bogus', 'current')->{rc}, 2, 'unknown option: exit 2');
like(cli($node, $p, {}, '--version')->{out}, qr/^ap-migrate \(ap_migrate\) \d/, '--version');

# ---------------------------------------------------------------------------
# init, revision, merge: files only, no database
# ---------------------------------------------------------------------------
my $proj = PostgreSQL::Test::Utils::tempdir();
$r = cli($node, $proj, { PGPORT => 1 }, 'init');
is($r->{rc}, 0, 'init exits 0');
ok(-d "$proj/migrations", 'init creates migrations/');
like(slurp_file("$proj/ap-migrate.conf"), qr/^dir = migrations$/m, 'init writes ap-migrate.conf');

$r = cli($node, $proj, {}, 'revision', '-m', 'Create account table');
is($r->{rc}, 0, 'revision exits 0');
my @files = glob("$proj/migrations/*.sql");
is(scalar @files, 1, 'revision writes one file');
like($files[0], qr{/([0-9a-f]{12})_create_account_table\.sql$}, 'file name: fresh 12-hex id and slug');
my ($first) = $files[0] =~ m{/([0-9a-f]{12})_};
like(slurp_file($files[0]), qr/^-- revision: $first\n-- down_revision:\n-- message: Create account table\n/,
	'the first revision is a base');
like(slurp_file($files[0]), qr/^-- \+upgrade\n.*^-- \+downgrade\n/ms, 'with both sections');

$r = cli($node, $proj, {}, '-q', 'revision', '-m', 'Add created_at');
is($r->{rc}, 0, 'second revision');
my ($second) = $r->{out} =~ m{/([0-9a-f]{12})_add_created_at\.sql$}m;
ok(defined $second, 'revision -q prints the path');
like(slurp_file("$proj/migrations/${second}_add_created_at.sql"), qr/^-- down_revision: $first$/m,
	'parent is the head of the files');
isnt($first, $second, 'ids differ');

$r = cli($node, $proj, {}, 'revision', '-m', 'Reports branch', '--head', $first,
	'--rev-id', 'abcabcabcabc', '--branch-label', 'reports', '--depends-on', $second,
	'--non-transactional');
is($r->{rc}, 0, 'revision --head --rev-id --branch-label --depends-on --non-transactional');
my $text = slurp_file("$proj/migrations/abcabcabcabc_reports_branch.sql");
like($text, qr/^-- down_revision: $first$/m, '--head sets the parent');
like($text, qr/^-- branch_labels: reports$/m, '--branch-label');
like($text, qr/^-- depends_on: $second$/m, '--depends-on');
like($text, qr/^-- transactional: false$/m, '--non-transactional');

$r = cli($node, $proj, {}, 'revision', '-m', 'ambiguous');
is($r->{rc}, 1, 'revision refuses with several heads');
like($r->{err}, qr/2 heads: .*HINT:.*merge/s, 'naming the heads and the way out');
is(cli($node, $proj, {}, 'revision', '-m', 'dup', '--rev-id', 'abcabcabcabc', '--head', 'reports@head')->{rc},
	1, 'an existing --rev-id is refused');
$r = cli($node, $proj, {}, '-q', 'revision', '-m', 'On reports', '--head', 'reports@head');
is($r->{rc}, 0, '--head label@head');
my ($onreports) = $r->{out} =~ m{/([0-9a-f]{12})_on_reports\.sql$}m;
like(slurp_file("$proj/migrations/${onreports}_on_reports.sql"), qr/^-- down_revision: abcabcabcabc$/m,
	'label@head resolves to the head of the branch');
$r = cli($node, $proj, {}, '-q', 'merge', '-m', 'Join', 'heads');
is($r->{rc}, 0, 'merge heads');
my ($merge) = $r->{out} =~ m{/([0-9a-f]{12})_join\.sql$}m;
like(slurp_file("$proj/migrations/${merge}_join.sql"), qr/^-- down_revision: (?:$second $onreports|$onreports $second)$/m,
	'merge: both heads are parents');
is(cli($node, $proj, {}, 'merge', '-m', 'one', $merge)->{rc}, 1, 'merge of one revision is refused');
is(cli($node, $proj, {}, 'revision', '-m', "two\nlines")->{rc}, 2, 'a message with a newline is refused');
is(cli($node, $proj, {}, 'init')->{rc}, 1, 'init refuses a directory with files');

# the written files register and apply as they are
$r = cli($node, $proj, {}, '-d', $db, 'upgrade', 'heads');
is($r->{rc}, 0, 'the generated files upgrade') or diag $r->{err};
like($r->{err}, qr/Created extension ap_migrate/, 'upgrade creates the extension on first use');
like($r->{err}, qr/Registered 5 revisions/, 'and registers the five files');
is($node->safe_psql('verbs', 'SELECT revision FROM ap_migrate_current()'), $merge, 'at the merge');
$node->safe_psql('verbs', 'DROP EXTENSION ap_migrate');

# ---------------------------------------------------------------------------
# the database verbs, on a chain of hand-written files
# ---------------------------------------------------------------------------
my $m = "$p/migrations";
write_migration($m, 'a10000000001', '', 'create t1', 'CREATE TABLE t1 (id int);', 'DROP TABLE t1;');
write_migration($m, 'a10000000002', 'a10000000001', 'create t2', 'CREATE TABLE t2 (id int);', 'DROP TABLE t2;');
write_migration($m, 'a10000000003', 'a10000000002', 'create t3', 'CREATE TABLE t3 (id int);', 'DROP TABLE t3;');

$r = cli($node, $p, {}, '-d', $db, 'plan');
is($r->{rc}, 0, 'plan on a database without the extension');
like($r->{out}, qr/^1\. upgrade base -> a10000000001, create t1\n2\. /, 'shows the whole plan');
is($node->safe_psql('verbs', q{SELECT count(*) FROM pg_extension WHERE extname = 'ap_migrate'}), '0',
	'and leaves no extension behind (created in its rolled-back transaction)');

$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 0, 'upgrade (default head) exits 0') or diag $r->{err};
like($r->{err}, qr/^Running upgrade base -> a10000000001, create t1 \(\d+ ms\)$/m, 'Alembic-style progress line with duration');
like($r->{err}, qr/^Running upgrade a10000000002 -> a10000000003, create t3 \(\d+ ms\)$/m, 'one per step');
like($r->{err}, qr/^Upgraded 3 steps in [\d.]+ s \(one commit per step\); current revision: a10000000003$/m, 'summary');
unlike($r->{err}, qr/\033/, 'no colour when not a terminal');
$r = cli($node, $p, {}, '-d', $db, 'current');
is($r->{rc}, 0, 'current exits 0');
is($r->{out}, "a10000000003 (head)\n", 'current prints the revision as Alembic does');
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
like($r->{err}, qr/^Nothing to do; current revision: a10000000003$/m, 'a second upgrade does nothing');
is(cli($node, $p, {}, '-q', '-d', $db, 'upgrade')->{err}, '', '-q prints nothing');

# procedure mode: the steps before a failure stay committed
write_migration($m, 'a10000000004', 'a10000000003', 'create t4', 'CREATE TABLE t4 (id int);', 'DROP TABLE t4;');
write_migration($m, 'a10000000005', 'a10000000004', 'fails', "CREATE TABLE t5 (id int);\nSELECT 1/0;", 'DROP TABLE t5;');
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 1, 'a failing step: exit 1');
like($r->{err}, qr/^ERROR:  division by zero$/m, 'the server message as psql prints it');
like($r->{err}, qr/^CONTEXT:  .*revision "a10000000005" \(fails\), statement 2 at line 2/ms,
	'CONTEXT names revision, statement and line');
like($r->{err}, qr/^Running upgrade a10000000004 -> a10000000005, fails ... FAILED \(\d+ ms\)\nERROR:  division by zero\n/m,
	"the failed step's line, then the error");
like($r->{err}, qr/^1 step was committed before the error; current revision: a10000000004$/m,
	'procedure mode: the step before the failure is committed');
is($node->safe_psql('verbs', 'SELECT revision FROM ap_migrate_current()'), 'a10000000004', 'a10000000004 applied');

# --single-transaction: all or nothing, the sync included
write_migration($m, 'a10000000005', 'a10000000004', 'create t5', 'CREATE TABLE t5 (id int);', 'DROP TABLE t5;');
write_migration($m, 'a10000000006', 'a10000000005', 'fails', 'SELECT 1/0;', '');
$r = cli($node, $p, {}, '-d', $db, 'upgrade', '--single-transaction');
is($r->{rc}, 1, '--single-transaction: failure exits 1');
like($r->{err}, qr/^Nothing was applied: the transaction was rolled back\.$/m, 'and says nothing was applied');
is($node->safe_psql('verbs', q{SELECT revision FROM ap_migrate_current()}), 'a10000000004', 'still at a10000000004');
is($node->safe_psql('verbs', q{SELECT count(*) FROM ap_migrate.revision WHERE id = 'a10000000006'}), '0',
	'the new file was not registered either: the sync rolled back with the operation');
is($node->safe_psql('verbs', q{SELECT message FROM ap_migrate.revision WHERE id = 'a10000000005'}), 'fails',
	'nor the changed pending file');
write_migration($m, 'a10000000006', 'a10000000005', 'create t6', 'CREATE TABLE t6 (id int);', 'DROP TABLE t6;');
$r = cli($node, $p, {}, '-d', $db, 'upgrade', '--single-transaction');
is($r->{rc}, 0, '--single-transaction upgrade') or diag $r->{err};
like($r->{err}, qr/^Upgraded 2 steps in [\d.]+ s \(one transaction\); current revision: a10000000006$/m, 'summary');
like($r->{err}, qr/^Registered \(new or changed\) 2 revisions: a10000000005, a10000000006$/m,
	'the changed pending file was registered again');

# downgrade, both modes
$r = cli($node, $p, {}, '-d', $db, 'downgrade', '-1');
is($r->{rc}, 0, 'downgrade -1');
like($r->{err}, qr/^Running downgrade a10000000006 -> a10000000005, create t6 \(\d+ ms\)$/m, 'downgrade progress line');
$r = cli($node, $p, {}, '-d', $db, 'downgrade', '--single-transaction', '-1');
is($r->{rc}, 0, 'downgrade --single-transaction -1');
is($node->safe_psql('verbs', q{SELECT revision FROM ap_migrate_current()}), 'a10000000004', 'two steps down');
is(cli($node, $p, {}, '-d', $db, 'downgrade', 'a10000000006')->{rc}, 1, 'downgrade to a pending revision fails');

# stamp: no SQL runs
$r = cli($node, $p, {}, '-d', $db, 'stamp', 'a10000000002');
is($r->{rc}, 0, 'stamp');
like($r->{err}, qr/^Stamped a10000000002; current revision: a10000000002$/m, 'stamp summary');
is($node->safe_psql('verbs', q{SELECT to_regclass('t4') IS NOT NULL}), 't', 'stamp ran no SQL');
is(cli($node, $p, {}, '-d', $db, 'stamp', 'a10000000004')->{rc}, 0, 'stamp back');

# branches, heads, history, show
write_migration($m, 'b10000000001', 'a10000000002', 'side branch', 'CREATE TABLE s1 (id int);', 'DROP TABLE s1;',
	labels => 'side');
$r = cli($node, $p, {}, '-d', $db, 'heads');
is($r->{out}, "a10000000006 (head)\nb10000000001 (side) (head)\n", 'heads, with labels');
$r = cli($node, $p, {}, '-d', $db, 'branches');
is($r->{out}, "a10000000002 (branchpoint), create t2\n    -> a10000000003, create t3\n    -> b10000000001, side branch\n",
	'branches');
$r = cli($node, $p, {}, '-d', $db, 'history');
like($r->{out}, qr/^a10000000003 -> a10000000004 \(current\), create t4$/m, 'history marks current');
like($r->{out}, qr/^<base> -> a10000000001, create t1$/m, 'history: base');
like($r->{out}, qr/^a10000000001 -> a10000000002 \(branchpoint\), create t2$/m, 'history: branch point');
$r = cli($node, $p, {}, '-d', $db, 'history', '-r', 'a10000000002:a10000000004');
is(scalar(() = $r->{out} =~ /\n/g), 3, 'history -r START:END');
like(cli($node, $p, {}, '-d', $db, 'history', '--verbose')->{out}, qr/^Rev: a10000000006 \(head\)\nParent: a10000000005\nApplied: no\n\n    create t6$/m,
	'history --verbose');
$r = cli($node, $p, {}, '-d', $db, 'show', 'a1000000000');
is($r->{rc}, 1, 'show with an ambiguous prefix fails');
like($r->{err}, qr/ERROR:/, 'with the server error');
$r = cli($node, $p, {}, '-d', $db, 'show', 'a10000000003');
like($r->{out}, qr/^Rev: a10000000003\nParent: a10000000002\nChildren: a10000000004\n/, 'show');
like(cli($node, $p, {}, '-d', $db, 'show', '-v', 'side@head')->{out}, qr/^-- \+upgrade\nCREATE TABLE s1/m, 'show --verbose shows the SQL');
like(cli($node, $p, {}, '-d', $db, 'current', '--verbose')->{out}, qr/^Rev: a10000000004\n/, 'current --verbose');
like(cli($node, $p, {}, '-d', $db, 'heads', '--verbose')->{out}, qr/^Rev: b10000000001 \(head\)\n/m, 'heads --verbose');

# plan and sql: nothing changes
$r = cli($node, $p, {}, '-d', $db, 'plan', 'heads');
is($r->{out}, "1. upgrade a10000000002 -> b10000000001, side branch\n2. upgrade a10000000004 -> a10000000005, create t5\n3. upgrade a10000000005 -> a10000000006, create t6\n",
	'plan heads');
$r = cli($node, $p, {}, '-d', $db, 'sql', 'a10000000005');
is($r->{rc}, 0, 'sql');
like($r->{out}, qr/ap_migrate_expect.*\$apm_1\$CREATE TABLE t5 \(id int\)\$apm_1\$ \\gexec.*ap_migrate_mark/s,
	'sql prints the offline script');
is(cli($node, $p, {}, '-d', $db, 'upgrade', '--sql', 'a10000000005')->{out}, $r->{out}, 'upgrade --sql is the same');
is($node->safe_psql('verbs', q{SELECT count(*) FROM ap_migrate.revision WHERE id = 'b10000000001'}), '0',
	'reading verbs register nothing (their sync is rolled back)');
my $script = PostgreSQL::Test::Utils::tempdir() . '/offline.sql';
PostgreSQL::Test::Utils::append_to_file($script, $r->{out});
$node->command_ok(['psql', '-X', '-q', '-d', $db, '-f', $script],
	'the offline script runs in psql');

# check and validate
$r = cli($node, $p, {}, '-d', $db, 'check');
is($r->{rc}, 3, 'check with pending migrations: exit 3');
like($r->{out}, qr/^2 pending migrations:\n  b10000000001, side branch\n  a10000000006, create t6$/m, 'and lists them');
is(cli($node, $p, {}, '-d', $db, 'upgrade', 'heads')->{rc}, 0, 'upgrade heads');
$r = cli($node, $p, {}, '-d', $db, 'check');
is($r->{rc}, 0, 'check at every head: exit 0');
$r = cli($node, $p, {}, '-d', $db, 'validate');
is($r->{rc}, 0, 'validate: warnings only, exit 0');
like($r->{out}, qr/^warning: multiple_heads/m, 'validate prints the warnings');
write_migration($m, 'c10000000001', 'ffffffffffff', 'dangling', 'SELECT 1;', '');
$r = cli($node, $p, {}, '-d', $db, 'validate');
is($r->{rc}, 1, 'validate with an error: exit 1');
like($r->{out}, qr/^error: dangling_parent c10000000001: /m, 'naming the problem');
is(cli($node, $p, {}, '-d', $db, 'check')->{rc}, 1, 'check with a graph error: exit 1');
unlink glob("$m/c10000000001_*.sql");

# --json
$r = cli($node, $p, {}, '--json', '-d', $db, 'current');
my $j = decode_json($r->{out});
is($j->{status}, 'ok', '--json current: status');
is_deeply([ map { $_->{revision} } @{ $j->{rows} } ], ['a10000000006', 'b10000000001'], '--json current: rows');
is($r->{err}, '', '--json: nothing on stderr');
write_migration($m, 'a10000000007', 'a10000000006', 'create t7', 'CREATE TABLE t7 (id int);', 'DROP TABLE t7;');
$r = cli($node, $p, {}, '--json', '-d', $db, 'upgrade', 'a10000000007');
$j = decode_json($r->{out});
is(scalar @{ $j->{steps} }, 1, '--json upgrade: the steps');
like($j->{steps}[0]{step}, qr/^Running upgrade a10000000006 -> a10000000007/, '--json: step text');
is_deeply($j->{registered}, ['a10000000007'], '--json: registered files');
$r = cli($node, $p, {}, '--json', '-d', $db, 'downgrade', 'a10000000042');
$j = decode_json($r->{out});
is($j->{status}, 'failed', '--json: a failure');
like($j->{error}, qr/a10000000042/, '--json: the error');

# DATABASE_URL in SQLAlchemy's spelling; PG* variables
my $host = $node->host;
my $port = $node->port;
for my $scheme ('postgresql+psycopg2', 'postgresql+asyncpg', 'postgresql')
{
	$r = cli($node, $p, { DATABASE_URL => "$scheme:///verbs?host=$host&port=$port", PGPORT => 1 }, 'current');
	is($r->{rc}, 0, "DATABASE_URL $scheme://") or diag $r->{err};
}
$r = cli($node, $p, { PGDATABASE => 'verbs' }, 'current');
like($r->{out}, qr/^a10000000007 \(head\)$/m, 'PG* variables');

# the config file, from a subdirectory of the project
my $cproj = PostgreSQL::Test::Utils::tempdir();
make_path("$cproj/db/versions", "$cproj/src/deep");
write_migration("$cproj/db/versions", 'd10000000001', '', 'cfg', 'SELECT 1;', '');
open my $fh, '>', "$cproj/ap-migrate.conf" or die;
print $fh "# test\ndir = db/versions\n";
close $fh;
$node->safe_psql('postgres', 'CREATE DATABASE cfg');
$r = cli($node, "$cproj/src/deep", {}, '-d', $node->connstr('cfg'), 'upgrade');
is($r->{rc}, 0, 'the config file is found from a subdirectory') or diag $r->{err};
like($r->{err}, qr/Running upgrade base -> d10000000001, cfg/, 'and its dir is used');

# escape sequences from the server never reach the terminal as such
write_migration($m, 'a10000000008', 'a10000000007', 'evil',
	qq{DO \$\$ BEGIN RAISE EXCEPTION E'bad \\033[2J\\033]0;title\\007 news'; END \$\$;}, '');
$r = cli($node, $p, {}, '-d', $db, 'upgrade', 'a10000000008');
is($r->{rc}, 1, 'a failing step with escape sequences in its error');
unlike($r->{err}, qr/[\033\007]/, 'no ESC or BEL reaches the terminal');
like($r->{err}, qr/bad \\x1b\[2J\\x1b\]0;title\\x07 news/, 'they are shown escaped');
unlink glob("$m/a10000000008_*.sql");

# import and adopt run ap-migrate-import (next to the binary, else in PATH)
my $bindir = dirname((grep { -x "$_/ap-migrate" } split /:/, $ENV{PATH})[0] . '/ap-migrate');
SKIP:
{
	skip 'a real ap-migrate-import is installed next to ap-migrate', 6 if -x "$bindir/ap-migrate-import";
	$r = cli($node, $p, {}, 'import', 'alembic', 'src');
	is($r->{rc}, 1, 'import without the importer: exit 1');
	like($r->{err}, qr/ap-migrate-import is not installed/, 'with a clear message');
	my $fake = PostgreSQL::Test::Utils::tempdir();
	open my $fh, '>', "$fake/ap-migrate-import" or die;
	print $fh "#!/bin/sh\necho \"args: \$*\"\n";
	close $fh;
	chmod 0755, "$fake/ap-migrate-import";
	$r = cli($node, $p, { PATH => "$fake:$ENV{PATH}" }, 'import', 'alembic', 'old/alembic', '--out', 'newdir');
	is($r->{rc}, 0, 'import runs the importer from PATH');
	is($r->{out}, "args: import alembic old/alembic --out newdir\n", 'import passes FORMAT SRC --out DIR');
	$r = cli($node, $p, { PATH => "$fake:$ENV{PATH}" }, 'adopt', 'flyway', '-d', 'dbname=x', '--dir', 'm2');
	is($r->{out}, "args: adopt flyway --dbname dbname=x --dir m2\n", 'adopt passes FORMAT --dbname CONNINFO --dir DIR');
	$r = cli($node, $p, { PATH => "$fake:$ENV{PATH}" }, 'import', 'alembic');
	is($r->{rc}, 2, 'import without SRC: exit 2');
}

$node->stop;
done_testing();
