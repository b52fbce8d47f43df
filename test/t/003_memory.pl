# Copyright (c) 2026, ap_migrate developers

# RELIABILITY.md M4: no memory leak across many calls in one session.
#
# In ONE backend: register 50 revisions and upgrade to head, then
#   phase 1: 2,000 no-op ap_migrate_upgrade('head') calls (the startup path
#            of every application instance), sampling at call 100 and at
#            call 2,000;
#   phase 2: 500 cycles of register a new revision + upgrade('head') +
#            downgrade('-1'), sampling after cycle 50 and after cycle 500.
# Each sample is the backend's total memory-context size
# (pg_backend_memory_contexts) and its resident set size (VmRSS of
# /proc/<pid>/status; RssAnon, its private part, is checked too).  Pass: between the two samples of a phase the
# contexts grow by less than 1 MB and the RSS by less than 5 MB.
#
# Every call is its own statement, hence its own transaction, as an
# application issues them.  The revisions' SQL touches one ledger table and
# creates no objects, so caches do not grow for reasons of their own.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $CONTEXT_LIMIT = 1024 * 1024;         # bytes
my $RSS_LIMIT     = 5 * 1024 * 1024;     # bytes
my $BATCH         = 100;                 # statements sent to psql at once

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION ap_migrate;
	CREATE TABLE ledger (id int NOT NULL);
});

my $started = time();
my $session = $node->background_psql('postgres', timeout => 300);
$session->query_safe('SET client_min_messages = warning');
my $pid = $session->query_safe('SELECT pg_backend_pid()');
chomp $pid;
my $status_file = "/proc/$pid/status";

# One sample: (context bytes, VmRSS bytes, RssAnon bytes); the last two are
# undef where /proc is missing, the first before 14.  VmRSS also counts the shared buffers the
# backend has touched, RssAnon only its private memory.
# pg_backend_memory_contexts came with 14: on 13 the context bytes are
# undef, and the RSS checks below are the memory check.
my $has_contexts = $node->safe_psql('postgres', 'SHOW server_version_num') >= 140000;
sub sample
{
	my $bytes;
	if ($has_contexts)
	{
		$bytes = $session->query_safe('SELECT sum(total_bytes) FROM pg_backend_memory_contexts');
		chomp $bytes;
	}
	my ($rss, $anon);
	if (open my $fh, '<', $status_file)
	{
		while (<$fh>)
		{
			$rss  = $1 * 1024 if /^VmRSS:\s+(\d+)\s+kB/;
			$anon = $1 * 1024 if /^RssAnon:\s+(\d+)\s+kB/;
		}
		close $fh;
	}
	return ($bytes, $rss, $anon);
}

# Send $count copies of a statement built by $make->(i), $BATCH at a time.
sub run_statements
{
	my ($first, $count, $make) = @_;
	for (my $i = $first; $i < $first + $count; $i += $BATCH)
	{
		my $last = $i + $BATCH - 1;
		$last = $first + $count - 1 if $last > $first + $count - 1;
		$session->query_safe(join("\n", map { $make->($_) } $i .. $last));
	}
}

sub rev { return sprintf('3e3000%06x', $_[0]) }

sub add_revision
{
	my ($i) = @_;
	my $parent = $i == 1 ? 'NULL' : "'{" . rev($i - 1) . "}'";
	return sprintf(
		"SELECT ap_migrate_add('%s', %s, 'INSERT INTO ledger VALUES (%d)', "
		  . "'DELETE FROM ledger WHERE id = %d', 'revision %d');",
		rev($i), $parent, $i, $i, $i);
}

# 50 revisions, applied.
run_statements(1, 50, \&add_revision);
is($session->query_safe("SELECT ap_migrate_upgrade('head')"), rev(50), 'upgrade to the 50th revision');

# Phase 1: no-op upgrades.
my $noop = sub { "SELECT ap_migrate_upgrade('head');" };
run_statements(1, 100, $noop);
my ($ctx_a, $rss_a, $anon_a) = sample();
run_statements(101, 1900, $noop);
my ($ctx_b, $rss_b, $anon_b) = sample();
is($session->query_safe('SELECT count(*) FROM ap_migrate.history'), '50',
	'2,000 no-op calls changed nothing');

# Phase 2: register + upgrade + downgrade.
my $cycle = sub {
	my ($c) = @_;
	return add_revision(50 + $c)
	  . "\nSELECT ap_migrate_upgrade('head');\nSELECT ap_migrate_downgrade('-1');";
};
run_statements(1, 50, $cycle);
my ($ctx_c, $rss_c, $anon_c) = sample();
run_statements(51, 450, $cycle);
my ($ctx_d, $rss_d, $anon_d) = sample();
is( $session->query_safe(
		'SELECT count(*) FROM ap_migrate.revision; SELECT revision FROM ap_migrate_current()'),
	"550\n" . rev(549),
	'500 cycles ran: 550 revisions, the last one reverted');
my $elapsed = time() - $started;
$session->quit;

note sprintf('backend %d, %.1f s for 2,000 no-op calls and 500 cycles', $pid, $elapsed);
# "a -> b (+d)" for two samples that may be undef
sub growth
{
	my ($x, $y) = @_;
	return 'n/a' unless defined $x && defined $y;
	return sprintf('%d -> %d (%+d)', $x, $y, $y - $x);
}
note 'no-op calls 100 -> 2,000: contexts ' . growth($ctx_a, $ctx_b)
  . ', VmRSS ' . growth($rss_a, $rss_b) . ', RssAnon ' . growth($anon_a, $anon_b);
note 'cycles 50 -> 500: contexts ' . growth($ctx_c, $ctx_d)
  . ', VmRSS ' . growth($rss_c, $rss_d) . ', RssAnon ' . growth($anon_c, $anon_d);

SKIP:
{
	skip 'no pg_backend_memory_contexts before PostgreSQL 14', 2 unless $has_contexts;
	cmp_ok($ctx_b - $ctx_a, '<', $CONTEXT_LIMIT,
		'memory contexts grow < 1 MB from no-op call 100 to call 2,000');
	cmp_ok($ctx_d - $ctx_c, '<', $CONTEXT_LIMIT,
		'memory contexts grow < 1 MB from cycle 50 to cycle 500');
}
SKIP:
{
	skip "no $status_file on this platform", 2 unless defined $rss_a;
	cmp_ok($rss_b - $rss_a, '<', $RSS_LIMIT, 'RSS grows < 5 MB from no-op call 100 to call 2,000');
	cmp_ok($rss_d - $rss_c, '<', $RSS_LIMIT, 'RSS grows < 5 MB from cycle 50 to cycle 500');
}
SKIP:
{
	skip 'no RssAnon in /proc/<pid>/status', 2 unless defined $anon_a;
	cmp_ok($anon_b - $anon_a, '<', $RSS_LIMIT, 'private memory grows < 5 MB over the no-op calls');
	cmp_ok($anon_d - $anon_c, '<', $RSS_LIMIT, 'private memory grows < 5 MB over the cycles');
}

# The server survived and logged no crash.
$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no crash in the server log');

done_testing();
