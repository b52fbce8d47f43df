
# Copyright (c) 2026, ap_migrate developers

# The packaging files agree with each other: META.json (PGXN) is valid JSON
# whose version, and the version of the extension it provides, equal
# default_version in ap_migrate.control; the install script it names exists
# for that version and is installed by the Makefile; CHANGELOG.md has a
# section for that version; typedefs.list names every typedef in src/ and client/.

use strict;
use warnings;

use File::Basename qw(dirname);
use JSON::PP;
use Test::More;

my $topdir = dirname(__FILE__) . '/../..';

sub slurp
{
	my ($file) = @_;
	open(my $fh, '<', "$topdir/$file") or die "cannot open $file: $!";
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

my ($default_version) = slurp('ap_migrate.control') =~ /^default_version\s*=\s*'([^']+)'/m;
ok(defined $default_version, "ap_migrate.control has a default_version");
$default_version //= '';

my $meta = eval { JSON::PP->new->decode(slurp('META.json')) };
ok($meta, 'META.json is valid JSON') or diag($@);
$meta //= {};

is($meta->{name}, 'ap_migrate', 'META.json: name');
is($meta->{version}, $default_version, "META.json: version is default_version ($default_version)");
my $provides = $meta->{provides}{ap_migrate} // {};
is($provides->{version}, $default_version, 'META.json: provides.ap_migrate.version is default_version');
is($provides->{file}, "ap_migrate--$default_version.sql",
	'META.json: provides.ap_migrate.file is the install script of default_version');
ok(-f "$topdir/ap_migrate--$default_version.sql", "ap_migrate--$default_version.sql exists");
like(slurp('Makefile'), qr/^\s*ap_migrate--\Q$default_version\E\.sql\b/m,
	'the Makefile installs that script');
ok(-f "$topdir/$provides->{docfile}", 'META.json: the docfile exists') if $provides->{docfile};
is($meta->{'meta-spec'}{version}, '1.0.0', 'META.json: meta-spec 1.0.0');
for my $key (qw(abstract maintainer license))
{
	ok(defined $meta->{$key}, "META.json: $key (required by the spec)");
}

like(slurp('CHANGELOG.md'), qr/^## \Q$default_version\E\b/m, "CHANGELOG.md has a section for $default_version");

# every typedef in src/ is in typedefs.list (pgindent needs them)
my %listed = map { $_ => 1 } grep { length } split /\n/, slurp('typedefs.list');
my @missing;
for my $file (glob("$topdir/src/*.[ch] $topdir/client/*.[ch]"))
{
	my $text = do { local (@ARGV, $/) = ($file); <> };
	while ($text =~ /typedef\s+(?:struct|enum|union)\s+\w*\s*\{.*?\}\s*(\w+)\s*;/sg)
	{
		push @missing, $1 unless $listed{$1};
	}
	while ($text =~ /typedef\s+(?:struct|enum|union)\s+\w+\s+(\w+)\s*;/g)
	{
		push @missing, $1 unless $listed{$1};
	}
}
is_deeply(\@missing, [], 'typedefs.list names every typedef in src/ and client/');

done_testing();
