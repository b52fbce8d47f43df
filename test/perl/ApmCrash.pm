
# Copyright (c) 2026, ap_migrate developers

# What the crash tests (test/t/001_crash_restart.pl for the function,
# test/t/004_procedure_crash.pl for the procedure) do alike: crash the
# server while a call waits inside a step, wait until it accepts
# connections again, and check that the calling session lost its
# connection without a result.

package ApmCrash;

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(crash_server expect_lost_connection);

# Crash $node while backend $pid runs: 'kill9' sends it SIGKILL (the
# postmaster crash-restarts; $killed->{$pid} records it for the log check
# at the end), 'immediate' stops the postmaster in immediate mode and starts
# it again.  Returns when the server accepts connections.
sub crash_server
{
	my ($node, $how, $pid, $label, $killed) = @_;
	my $log_offset = -s $node->logfile;

	if ($how eq 'kill9')
	{
		$killed->{$pid} = 1;
		is(kill('KILL', $pid), 1, "$label: SIGKILL sent to backend $pid");
		# "server process" until 17; since 18 the process's type
		$node->wait_for_log(
			qr/(?:server process|client backend) \(PID $pid\) was terminated by signal 9/,
			$log_offset);
		$node->wait_for_log(qr/all server processes terminated; reinitializing/,
			$log_offset);
		$node->wait_for_log(
			qr/database system is ready to accept connections/, $log_offset);
	}
	else
	{
		$node->stop('immediate');
		$node->start;
	}
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'),
		"$label: server accepts connections again");
	return;
}

# The background psql session $session lost its connection; it is killed
# afterwards, with the other sessions given.
sub expect_lost_connection
{
	my ($session, $label, @others) = @_;
	my $lost =
	  qr/server closed the connection unexpectedly|connection to server was lost/;

	pump_until($session->{run}, $session->{timeout}, \$session->{stderr}, $lost);
	like($session->{stderr}, $lost, "$label: the calling session lost its connection");
	eval { $_->{run}->kill_kill; } for ($session, @others);
	return;
}

1;
