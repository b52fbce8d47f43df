
# Copyright (c) 2026, ap_migrate developers

# ap-migrate's directory sync (issue 12, item 3): new files are registered
# in the transaction of the operation (committed just before the first step
# in procedure mode), files edited after their revision was applied are
# refused with the file name and both checksums, changed pending files are
# registered again, revisions without a file are reported and kept, and a
# file the server refuses is named.  The client's checksums equal the
# server's for every shape of file the format allows, so an unchanged
# directory registers nothing; 10,000 unchanged files sync in well under a
# second.

use strict;
use warnings;

use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use lib "$FindBin::RealBin/../perl";
use ApmCli;

my $node = PostgreSQL::Test::Cluster->new('cli_sync');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE sync');
my $db = $node->connstr('sync');
my $p  = project_dir();
my $m  = "$p/migrations";
my $r;

sub registered
{
	return $node->safe_psql('sync', 'SELECT string_agg(id, \' \' ORDER BY id) FROM ap_migrate.revision');
}

# Files of every shape the format allows: the client must compute the
# checksum the server stores for each, or the second run would register
# them again.
write_migration($m, 'e00000000001', '', 'plain', 'CREATE TABLE e1 (id int);', 'DROP TABLE e1;');
write_migration($m, 'e00000000002', 'e00000000001', 'no downgrade', 'CREATE TABLE e2 (id int);', undef);
write_migration($m, 'e00000000003', 'e00000000002', 'empty downgrade', 'CREATE TABLE e3 (id int);', '');
open my $fh, '>', "$m/e00000000004_crlf.sql" or die;
print $fh "-- revision: e00000000004\r\n-- down_revision:  e00000000003 ,\r\n-- message: CRLF and   spaces  \r\n"
  . "-- A free comment: with a colon? no, it has spaces before the colon\r\n--\r\n"
  . "-- transactional: TRUE\r\n\r\n-- +upgrade   \r\n\r\n  CREATE TABLE e4 (id int);  \r\n\r\n-- +downgrade\r\nDROP TABLE e4;\r\n\r\n";
close $fh;
write_migration($m, 'e00000000005', 'e00000000004', 'labels and deps', 'SELECT 1;', 'SELECT 2;',
	labels => 'alpha, beta', depends => 'e00000000002,e00000000003');
write_migration($m, 'e00000000006', 'e00000000005', 'non-transactional',
	'CREATE INDEX CONCURRENTLY e1_id ON e1 (id);', 'DROP INDEX CONCURRENTLY e1_id;', nontx => 1);
open $fh, '>', "$m/e00000000007_unicode.sql" or die;
print $fh "-- revision: e00000000007\n-- down_revision: e00000000006\n-- message: Grüße, ünïcödé\n\n-- +upgrade\nCOMMENT ON TABLE e1 IS 'naïve';\n-- +downgrade\nCOMMENT ON TABLE e1 IS NULL;";
close $fh;

$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 0, 'upgrade registers and applies every shape of file') or diag $r->{err};
like($r->{err}, qr/^Registered 7 revisions: /m, 'seven registered');
like($r->{err}, qr/Running upgrade e00000000005 -> e00000000006, non-transactional/, 'the procedure runs the non-transactional one');
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 0, 'second upgrade');
unlike($r->{err}, qr/Registered/, 'client checksums equal the server\'s: nothing registered again');
like($r->{err}, qr/^Nothing to do/m, 'nothing to do');

# an applied file edited: refused with the file name and both checksums
my $stored = $node->safe_psql('sync', q{SELECT checksum FROM ap_migrate.revision WHERE id = 'e00000000003'});
my $path = "$m/e00000000003_m.sql";
my $orig = slurp_file($path);
(my $edited = $orig) =~ s/CREATE TABLE e3 \(id int\);/CREATE TABLE e3 (id bigint);/;
open $fh, '>', $path or die;
print $fh $edited;
close $fh;
write_migration($m, 'e00000000008', 'e00000000007', 'new', 'CREATE TABLE e8 (id int);', 'DROP TABLE e8;');
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 1, 'an edited applied file: exit 1');
like($r->{err}, qr{error: \S*migrations/e00000000003_m\.sql was edited after revision e00000000003 was applied}, 'naming the file');
like($r->{err}, qr/DETAIL:  The SQL differs: file checksum ([0-9a-f]{64}), checksum in the database $stored\./,
	'with both checksums');
my ($filesum) = $r->{err} =~ /file checksum ([0-9a-f]{64})/;
isnt($filesum, $stored, 'which differ');
like($r->{err}, qr/^HINT:  .*new revision/m, 'and a hint');
is($node->safe_psql('sync', q{SELECT count(*) FROM ap_migrate.revision WHERE id = 'e00000000008'}), '0',
	'nothing else was registered');
is(cli($node, $p, {}, '-d', $db, 'current')->{rc}, 1, 'reading verbs refuse too');

# the header of an applied file edited
(my $msg_edited = $orig) =~ s/^-- message: empty downgrade$/-- message: renamed/m;
open $fh, '>', $path or die;
print $fh $msg_edited;
close $fh;
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 1, 'an applied file with an edited message: exit 1');
like($r->{err}, qr/DETAIL:  The header \(message, parents, labels or dependencies\) differs/, 'saying the header differs');
open $fh, '>', $path or die;
print $fh $orig;
close $fh;

# a pending file edited: registered again
$r = cli($node, $p, {}, '-d', $db, 'upgrade', 'e00000000007');
is($r->{rc}, 0, 'restored file accepted') or diag $r->{err};
like($r->{err}, qr/^Registered 1 revision: e00000000008$/m, 'the new file is registered by a write verb');
write_migration($m, 'e00000000008', 'e00000000007', 'new, renamed', 'CREATE TABLE e8 (id int, v text);', 'DROP TABLE e8;');
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 0, 'a changed pending file') or diag $r->{err};
like($r->{err}, qr/^Registered \(new or changed\) 1 revision: e00000000008$/m, 'is registered again');
is($node->safe_psql('sync', q{SELECT message FROM ap_migrate.revision WHERE id = 'e00000000008'}), 'new, renamed',
	'with its new content');

# a revision without a file: reported, kept
unlink "$m/e00000000008_m.sql" or die;
$r = cli($node, $p, {}, '-d', $db, 'current');
is($r->{rc}, 0, 'a missing file is not an error');
like($r->{err}, qr/^warning: no file in the directory for 1 revision: e00000000008\n.*kept/m, 'it is reported');
is(registered(), join(' ', map { sprintf('e0000000000%d', $_) } 1 .. 8), 'and kept in the database');
write_migration($m, 'e00000000008', 'e00000000007', 'new, renamed', 'CREATE TABLE e8 (id int, v text);', 'DROP TABLE e8;');

# a file the server refuses is named, with the server's report
open $fh, '>', "$m/e00000000009_bad.sql" or die;
print $fh "-- revision: e00000000009\n-- down_revison: e00000000008\n\n-- +upgrade\nSELECT 1;\n";
close $fh;
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 1, 'a malformed file: exit 1');
like($r->{err}, qr{error: could not register \S*e00000000009_bad\.sql\nERROR:  invalid migration script\nDETAIL:  Unknown header key "down_revison"\.\nHINT:  .*\nCONTEXT:  line 2 of the migration script}s,
	'the file, then the server\'s report as psql prints it');
unlink "$m/e00000000009_bad.sql";

# procedure mode: the sync is committed before the first step
write_migration($m, 'e00000000010', 'e00000000008', 'fails', 'SELECT 1/0;', '');
$r = cli($node, $p, {}, '-d', $db, 'upgrade');
is($r->{rc}, 1, 'procedure mode, failing step');
is($node->safe_psql('sync', q{SELECT count(*) FROM ap_migrate.revision WHERE id = 'e00000000010'}), '1',
	'the new file stays registered (committed before the first step)');
unlink "$m/e00000000010_m.sql";

# --no-sync: the directory is not read
$r = cli($node, $p, {}, '-d', $db, '--dir', '/nonexistent', 'current');
is($r->{rc}, 1, 'a missing directory is an error');
like($r->{err}, qr/could not open migrations directory "\/nonexistent".*HINT:.*--no-sync/s, 'with a hint');
$r = cli($node, $p, {}, '-d', $db, '--dir', '/nonexistent', '--no-sync', 'current');
is($r->{rc}, 0, '--no-sync needs no directory');

# 10,000 unchanged files: one round trip, well under a second
my $big = project_dir();
my $prev = '';
for my $i (1 .. 10000)
{
	my $rev = sprintf('f%011x', $i);
	write_migration("$big/migrations", $rev, $prev, "step $i", "SELECT $i;", "SELECT -$i;");
	$prev = $rev;
}
$node->safe_psql('postgres', 'CREATE DATABASE big');
my $bigdb = $node->connstr('big');
my $t0 = time;
$r = cli($node, $big, {}, '-d', $bigdb, 'stamp', 'head');
my $first = time - $t0;
is($r->{rc}, 0, '10,000 files registered and stamped') or diag $r->{err};
note sprintf('registering 10,000 files and stamping: %.2f s', $first);
my (@times, @syncs, @cpus);
for (1 .. 3)
{
	$t0 = time;
	$r = cli($node, $big, {}, '-v', '-d', $bigdb, 'upgrade');
	push @times, time - $t0;
	is($r->{rc}, 0, 'no-op upgrade over 10,000 unchanged files');
	unlike($r->{err}, qr/Registered/, 'registers nothing');
	my ($read, $cpu) = $r->{err} =~ /^Read 10000 files of \S+ in (\d+) ms \(CPU (\d+) ms\)$/m;
	my ($sync) = $r->{err} =~ /^Synced 10000 files with 10000 registered revisions in (\d+) ms \(0 registered now\)$/m;
	ok(defined $read && defined $sync, 'verbose mode reports the sync\'s times');
	push @syncs, ($read // 1e6) + ($sync // 1e6);
	push @cpus, $cpu // 1e6;
}
# Times are measured by bench/, not asserted here (a shared machine makes
# any bound flaky); what is asserted is the mechanism: the sync reads the
# directory and compares it in one round trip (the verbose report above),
# and registers nothing.
my ($load) = split ' ', slurp_file('/proc/loadavg');
diag sprintf('10,000 unchanged files (load %.1f): sync (read + one query + compare) %s ms, client CPU %s ms; whole no-op upgrade %s s',
	$load, join(', ', @syncs), join(', ', @cpus), join(', ', map { sprintf('%.3f', $_) } @times));
$t0 = time;
$r = cli($node, $big, {}, '-d', $bigdb, 'current');
diag sprintf('current over 10,000 files: %.3f s', time - $t0);
like($r->{out}, qr/^f00000002710 \(head\)$/m, 'at the 10,000th revision');

$node->stop;
done_testing();
