
# Copyright (c) 2026, ap_migrate developers

# The packaging files agree with each other: META.json (PGXN) is valid JSON
# whose version, and the version of the extension it provides, equal
# default_version in ap_migrate.control; the install script it names exists
# for that version and is installed by the Makefile; CHANGELOG.md has a
# section for that version; typedefs.list names every typedef in src/ and client/;
# the installed library exports its entry points only.

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

# the installed library exports its entry points only: the SQL-callable
# functions, _PG_init, the worker's main function and the magic block
# (everything src/ap_migrate.h declares is hidden)
my $pkglibdir = `pg_config --pkglibdir 2>/dev/null` // '';
chomp $pkglibdir;
my $so = "$pkglibdir/ap_migrate.so";
SKIP:
{
	skip 'nm (binutils) or the installed library is missing', 2
	  unless -f $so && system('nm --version >/dev/null 2>&1') == 0;
	my @syms = map { (split)[2] } grep { /^\S+ [TDBR] / } split /\n/, `nm -D --defined-only $so`;
	my @internal =
	  grep { !/^(?:Pg_magic_func|_PG_init|apm_worker_main|ap_migrate_\w+|pg_finfo_ap_migrate_\w+)$/ } @syms;
	is_deeply(\@internal, [], 'the library exports its entry points only');
	ok(scalar(grep { $_ eq 'ap_migrate_upgrade' } @syms), '... the SQL-callable functions among them');
}

done_testing();
