# ap-migrate lint and verify: thin layers over ap_migrate_lint() and
# ap_migrate_verify(); files not registered yet are analysed too (the sync
# registers them in the rolled-back transaction), nothing is changed, and
# the exit code says whether something needs attention.
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib "$FindBin::RealBin/../perl";
use ApmCli;

my $node = PostgreSQL::Test::Cluster->new('cli_analysis');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE an');
my $db = $node->connstr('an');
my $p = project_dir();
my $m = "$p/migrations";

write_migration($m, 'a10000000001', '', 'table with data',
	'CREATE TABLE lt (a int); INSERT INTO lt SELECT generate_series(1, 1000);', 'DROP TABLE lt;');
my $r = cli($node, $p, {}, '-q', '-d', $db, 'upgrade', 'head');
is($r->{rc}, 0, 'the first revision is applied') or diag $r->{err};

# a pending file: an index without CONCURRENTLY on a table with data, and a
# downgrade that forgets the comment it should remove
write_migration($m, 'a10000000002', 'a10000000001', 'index',
	"CREATE INDEX lt_a ON lt (a);\nCOMMENT ON TABLE lt IS 'audited';", 'DROP INDEX lt_a;');

$r = cli($node, $p, {}, '-d', $db, 'lint');
is($r->{rc}, 0, 'lint: warnings only, exit 0') or diag $r->{err};
like($r->{out}, qr/^a10000000002: statement 1, line 1: warning \[index-without-concurrently\]/m,
	'lint names the revision, statement, line and rule');
like($r->{out}, qr/hint: Use CREATE INDEX CONCURRENTLY/, 'lint prints the safe rewrite');
$r = cli($node, $p, {}, '-d', $db, '--json', 'lint');
like($r->{out}, qr/"rule":\s*"index-without-concurrently"/, 'lint --json');

$r = cli($node, $p, {}, '-d', $db, 'verify');
is($r->{rc}, 1, 'verify: a downgrade that does not undo its upgrade exits 1');
like($r->{out}, qr/^a10000000002: differs: .*table public\.lt/m, 'verify names the revision and the object');

# neither registered nor applied anything
is($node->safe_psql('an', q{SELECT count(*) FROM ap_migrate.revision WHERE id = 'a10000000002'}),
	'0', 'lint and verify register nothing (their sync is rolled back)');
is($node->safe_psql('an', q{SELECT count(*) FROM pg_indexes WHERE indexname = 'lt_a'}),
	'0', 'verify leaves no index behind');

# once the downgrade is right, verify passes
write_migration($m, 'a10000000002', 'a10000000001', 'index',
	"CREATE INDEX lt_a ON lt (a);\nCOMMENT ON TABLE lt IS 'audited';",
	"DROP INDEX lt_a;\nCOMMENT ON TABLE lt IS NULL;");
$r = cli($node, $p, {}, '-d', $db, 'verify');
is($r->{rc}, 0, 'verify: a faithful downgrade exits 0') or diag $r->{out} . $r->{err};
like($r->{out}, qr/^a10000000002: ok/m, 'verify reports ok');

# a finding of severity error makes lint exit 1 (lint_min_severity keeps it)
write_migration($m, 'a10000000003', 'a10000000002', 'not null',
	'ALTER TABLE lt ADD COLUMN b int NOT NULL;', 'ALTER TABLE lt DROP COLUMN b;');
$r = cli($node, $p, {}, '-d', $db, 'lint');
like($r->{out}, qr/^a10000000003: statement 1, line 1: error \[add-column-not-null\]/m,
	'lint: ADD COLUMN NOT NULL without a default is an error');
is($r->{rc}, 1, 'lint exits 1 when a finding has severity error') or diag $r->{out};

$node->stop;
done_testing();
