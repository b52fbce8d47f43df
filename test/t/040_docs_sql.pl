
# Copyright (c) 2026, ap_migrate developers

# The README and the reference pages in docs/ say what they show runs: so
# run it.  Every ```sql block runs, in the order of the page, as printed,
# with psql -v ON_ERROR_STOP=1, each block in a session of its own (as a
# reader pastes it), each page on a fresh database: the README's without
# the extension (its quick start creates it), the others' with it.  psql
# runs in a scratch directory where "examples" leads to the tree's
# examples/, so `cat examples/...` works as from the tree's root and files a
# block writes (\g upgrade.sql) stay out of the tree.
#
# Signatures and excerpts of files are shown in plain ``` blocks; output in
# plain blocks too.  A page whose sql block stops running as printed fails
# here.
#
# Also checked: the README starts with the two commands; every relative
# link of these pages names a file that exists and, with #anchor, a heading
# of it.  Pages written in parallel by others (cli, importing, analysis,
# versions) may still be missing: those links are only noted until they
# appear.

use strict;
use warnings;

use Cwd qw(abs_path getcwd);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $topdir = abs_path(dirname(__FILE__) . '/../..');

# the pages this test runs; a new reference page goes here
my @docs = qw(functions migration-files targets concurrency clients security settings
  catalog backup upgrading errors testing development);
my %pending = map { ("docs/$_.md" => 1) } qw(cli importing analysis versions);

sub slurp
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "cannot open $file: $!";
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

# [ [line, text], ... ] of the ```sql blocks of a page (indented ones too)
sub sql_blocks
{
	my ($text) = @_;
	my (@blocks, $indent, $start, @lines);
	my $n = 0;
	for my $line (split /\n/, $text)
	{
		$n++;
		if (!defined $indent)
		{
			if ($line =~ /^(\s*)```sql\s*$/)
			{
				($indent, $start, @lines) = ($1, $n + 1);
			}
			next;
		}
		if ($line =~ /^\s*```\s*$/)
		{
			push @blocks, [ $start, join("\n", @lines) . "\n" ];
			undef $indent;
			next;
		}
		$line =~ s/^\Q$indent\E//;
		push @lines, $line;
	}
	return @blocks;
}

my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
$node->start;

my $scratch = tempdir(CLEANUP => 1);
symlink("$topdir/examples", "$scratch/examples") or die "symlink: $!";
my $here = getcwd();
chdir($scratch) or die "chdir $scratch: $!";

my $dbno = 0;
for my $page ('README.md', map { "docs/$_.md" } @docs)
{
	ok(-f "$topdir/$page", "$page exists") or next;
	my $text   = slurp("$topdir/$page");
	my @blocks = sql_blocks($text);
	next unless @blocks;

	my $db = 'docs_' . $dbno++;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION ap_migrate') if $page ne 'README.md';
	for my $block (@blocks)
	{
		my ($line, $sql) = @$block;
		my ($stdout, $stderr);
		my $ret = $node->psql($db, $sql,
			stdout => \$stdout, stderr => \$stderr,
			on_error_stop => 1, extra_params => ['-X']);
		my $errors = join("\n", grep { /ERROR|FATAL|PANIC/ } split /\n/, $stderr // '');
		ok($ret == 0 && $errors eq '', "$page line $line runs as printed")
		  or diag("psql exit code $ret\n$stderr");
	}
}

chdir($here);

# the README starts with the two commands
my $readme = slurp("$topdir/README.md");
like($readme, qr/\A# ap_migrate\n[^#]*?```sh\nbash examples\/run_example\.sh[^\n]*\nbash test\/run_all\.sh[^\n]*\n```/,
	'the README starts with the two commands');

# links
sub slug
{
	my ($heading) = @_;
	$heading = lc $heading;
	$heading =~ s/[^a-z0-9 _-]//g;
	$heading =~ s/ /-/g;
	return $heading;
}

for my $page ('README.md', 'CHANGELOG.md', 'bench/README.md', map { "docs/$_.md" } @docs)
{
	my $text = slurp("$topdir/$page");
	$text =~ s/```.*?```//sg;    # code blocks hold no links
	my $dir = dirname("$topdir/$page");
	while ($text =~ /\]\(([^)\s]+)\)/g)
	{
		my $link = $1;
		next if $link =~ /^[a-z]+:/;    # http:, https:, mailto:
		my ($file, $anchor) = split /#/, $link, 2;
		my $target = $file eq '' ? "$topdir/$page" : abs_path("$dir/$file") // "$dir/$file";
		(my $rel = $target) =~ s/^\Q$topdir\E\///;
		if (!-e $target && $pending{$rel})
		{
			note("$page: link to $link: $rel is written in parallel, not here yet");
			next;
		}
		my $ok = -e $target;
		if ($ok && defined $anchor && $target =~ /\.md$/)
		{
			my %anchors = map { (slug($_) => 1) } (slurp($target) =~ /^#+ +(.*?)\s*$/mg);
			$ok = $anchors{$anchor};
		}
		ok($ok, "$page: link to $link");
	}
}

$node->stop;
done_testing();
