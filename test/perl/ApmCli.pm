
# Copyright (c) 2026, ap_migrate developers

# What the client's TAP tests (test/t/010_cli_*.pl to 013) share: run the
# ap-migrate binary (installed next to the server's programs, so in PATH
# under prove_installcheck) in a project directory, and write migration
# files.

package ApmCli;

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(cli write_migration project_dir);

# The client's cache of file headers (client/cache.c) goes to a directory of
# the test's own, not to the home directory of the user running the tests.
my $cache_home;

# A fresh project directory with an empty migrations/ folder.
sub project_dir
{
	my $dir = PostgreSQL::Test::Utils::tempdir();
	mkdir "$dir/migrations" or die "mkdir: $!";
	return $dir;
}

# Run ap-migrate in $cwd with the node's connection in PGHOST/PGPORT;
# returns { rc, out, err }.  %$env adds or (undef) removes variables.
sub cli
{
	my ($node, $cwd, $env, @args) = @_;
	my ($out, $err) = ('', '');
	local %ENV = %ENV;
	$ENV{PGHOST} = $node->host;
	$ENV{PGPORT} = $node->port;
	$cache_home //= PostgreSQL::Test::Utils::tempdir();
	$ENV{XDG_CACHE_HOME} = $cache_home;
	delete $ENV{DATABASE_URL};
	delete $ENV{PGDATABASE};
	for my $k (keys %{ $env || {} })
	{
		if (defined $env->{$k}) { $ENV{$k} = $env->{$k}; }
		else { delete $ENV{$k}; }
	}
	my $h = IPC::Run::start(['ap-migrate', @args], '<', \'', '>', \$out, '2>', \$err,
		init => sub { chdir $cwd or die "chdir $cwd: $!"; });
	$h->finish;
	return { rc => $h->result(0), out => $out, err => $err };
}

# Write a migration file in ap_migrate's format; returns its path.
sub write_migration
{
	my ($dir, $rev, $parents, $message, $up, $down, %opt) = @_;
	my $path = "$dir/${rev}_" . ($opt{slug} // 'm') . '.sql';
	my $text = "-- revision: $rev\n-- down_revision: $parents\n-- message: $message\n";
	$text .= "-- branch_labels: $opt{labels}\n" if $opt{labels};
	$text .= "-- depends_on: $opt{depends}\n" if $opt{depends};
	$text .= "-- transactional: false\n" if $opt{nontx};
	$text .= "\n-- +upgrade\n$up\n";
	$text .= "\n-- +downgrade\n$down\n" if defined $down;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	return $path;
}

1;
