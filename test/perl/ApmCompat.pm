
# Copyright (c) 2026, ap_migrate developers

# What the TAP tests use of PostgreSQL::Test::Cluster that PostgreSQL 13's
# lacks (13's PostgreSQL::Test::Cluster is its PostgresNode under the new
# name).  Each method is defined only where the cluster class has none, as
# 15's Cluster.pm defines it.

package ApmCompat;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# log_check($name, $offset, log_like => [...], log_unlike => [...]): the
# server log from byte $offset on matches every log_like pattern and no
# log_unlike pattern (one test each).
unless (PostgreSQL::Test::Cluster->can('log_check'))
{
	no strict 'refs';
	*{'PostgreSQL::Test::Cluster::log_check'} = sub {
		my ($self, $name, $offset, %params) = @_;
		my $log = slurp_file($self->logfile, $offset);
		like($log, $_, "$name: log matches") for @{ $params{log_like} // [] };
		unlike($log, $_, "$name: log does not match") for @{ $params{log_unlike} // [] };
		return;
	};
}

# command_fails_like(\@cmd, $expected_stderr, $name) with the cluster's
# PGHOST and PGPORT, as 13's command_ok does.
unless (PostgreSQL::Test::Cluster->can('command_fails_like'))
{
	no strict 'refs';
	*{'PostgreSQL::Test::Cluster::command_fails_like'} = sub {
		my $self = shift;
		local $ENV{PGHOST} = $self->host;
		local $ENV{PGPORT} = $self->port;
		return PostgreSQL::Test::Utils::command_fails_like(@_);
	};
}

1;
