/*-------------------------------------------------------------------------
 *
 * main.c
 *	  ap-migrate: command-line client of the ap_migrate extension, with
 *	  Alembic's verbs over a directory of migration files.
 *
 *	  ap-migrate [OPTION]... VERB [ARG]...
 *
 * This file parses the command line, prints help for each verb and hands
 * the verb to the code that runs it: authoring.c for the verbs that only
 * write files, fanout.c for those that run on one database or many
 * (apply.c changes them, inspect.c reads them), dispatch.c for the
 * importer.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/main.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

CliOptions	opts;

/* the command line, rearranged (file scope: usage errors exit early) */
static char **rest = NULL;
static int	nrest = 0;
static char **numbers = NULL;
static int	nnumbers = 0;
static char **args = NULL;
static int	nargs = 0;

typedef struct Verb
{
	const char *name;
	const char *summary;		/* for the list of verbs */
	VerbKind	kind;
	int			min_args;
	int			max_args;		/* -1: any */
	const char *synopsis;
	const char *help;
} Verb;

static const Verb verbs[] = {
	{"init", "create the migrations directory and ap-migrate.conf", VERB_LOCAL, 0, 1,
		"init [DIR]",
		"Create the migrations directory (default: migrations) and ap-migrate.conf, the\n"
	"project's configuration file, in the current directory."},
	{"revision", "write a new migration file (fresh id, parent = head of the files)", VERB_LOCAL, 0, 0,
		"revision -m MESSAGE [--head REV|LABEL@head] [--branch-label L]... [--depends-on REV]...\n"
		"                    [--non-transactional] [--rev-id ID]",
		"Write a new migration file <id>_<message>.sql in the migrations directory, with a\n"
		"fresh random 12-hex-digit id (or --rev-id) and the head of the files as parent.\n"
		"With several heads, --head names the parent (\"base\" starts a new base), or merge\n"
	"them first.  Needs no database."},
	{"merge", "write a merge revision of several heads", VERB_LOCAL, 1, -1, "merge -m MESSAGE REV... | heads",
	"Write a merge revision whose parents are the revisions named (\"heads\": every head)."},
	{"upgrade", "apply migrations up to a target (default head)", VERB_WRITE, 0, 1, "upgrade [TARGET] [--single-transaction] [--sql]",
		"Apply the migrations up to TARGET (default: head).  By default with CALL\n"
		"ap_migrate_run(): one commit per revision, non-transactional revisions allowed.\n"
		"--single-transaction uses ap_migrate_upgrade(): all or nothing, in the same\n"
		"transaction as the directory sync.  --sql prints the offline script instead\n"
	"(as the sql verb)."},
	{"downgrade", "revert migrations down to a target", VERB_WRITE, 1, 1, "downgrade TARGET [--single-transaction] [--sql]",
		"Revert the migrations above TARGET (-1, base, an id, label@-1, ...), with CALL\n"
	"ap_migrate_run_downgrade(), or ap_migrate_downgrade() with --single-transaction."},
	{"stamp", "record a target as current without running SQL", VERB_WRITE, 1, 1, "stamp TARGET",
	"Record TARGET as the current revision without running any SQL (ap_migrate_stamp)."},
	{"current", "show the current revisions", VERB_READ, 0, 0, "current [--verbose]",
	"Show the current revisions of the database (ap_migrate_current)."},
	{"heads", "show the heads of the revision graph", VERB_READ, 0, 0, "heads [--verbose]",
	"Show the heads of the revision graph (ap_migrate_heads)."},
	{"branches", "show the branch points", VERB_READ, 0, 0, "branches",
	"Show the branch points and their children (ap_migrate_branches)."},
	{"history", "list the revisions, newest first", VERB_READ, 0, 0, "history [-r START:END] [--verbose]",
	"List the revisions, newest first, in Alembic's order (ap_migrate_history)."},
	{"show", "show one revision", VERB_READ, 1, 1, "show REV [--verbose]",
		"Show one revision: an id, a prefix, current, head, label@head ...\n"
	"(ap_migrate_show); --verbose adds its SQL."},
	{"check", "exit 0 at head and valid, 3 when migrations are pending", VERB_READ, 0, 0, "check",
		"For CI: exit 0 when every head is applied and the graph is valid, 3 when\n"
	"migrations are pending, 1 on graph problems or drift."},
	{"plan", "dry run: the steps to a target", VERB_READ, 0, 1, "plan [TARGET]",
	"Dry run: the steps an upgrade or downgrade to TARGET (default: head) would take."},
	{"sql", "print the offline SQL script to a target", VERB_READ, 0, 1, "sql [TARGET]",
		"Print the offline SQL script of an upgrade or downgrade to TARGET (default:\n"
	"head), for review or for psql -f (ap_migrate_sql)."},
	{"lint", "lint the pending migrations: locks, rewrites, unsafe DDL", VERB_READ, 0, 1, "lint [TARGET]",
		"Lint the pending revisions (or the ones TARGET names) with ap_migrate_lint():\n"
		"the lock each statement takes on which relation and that relation's size,\n"
		"and unsafe patterns with their safe rewrite; exit 1 on a finding of severity\n"
	"error.  New files are linted too (they are registered in the rolled-back sync)."},
	{"verify", "check that every pending downgrade undoes its upgrade", VERB_READ, 0, 1, "verify [TARGET]",
		"Apply, revert and re-apply the pending revisions up to TARGET (default: heads)\n"
		"in a transaction that is rolled back (ap_migrate_verify()); exit 1 when a\n"
	"downgrade does not restore the schema or a step fails.  Changes nothing."},
	{"validate", "list the problems of the graph and the applied state", VERB_READ, 0, 0, "validate",
	"List every problem of the graph and the applied state; exit 1 on an error."},
	{"import", "convert another tool's migrations (ap-migrate-import)", VERB_EXEC, 2, 2, "import FORMAT SRC [--out DIR]",
	"Convert another tool's migrations (alembic, flyway, ...) with ap-migrate-import."},
	{"adopt", "stamp from another tool's state table (ap-migrate-import)", VERB_EXEC, 1, 1, "adopt FORMAT [-d CONNINFO] [--dir DIR]",
	"Stamp a database from another tool's state table, with ap-migrate-import."},
};

#define NVERBS ((int) (sizeof(verbs) / sizeof(verbs[0])))

static const char *const common_options =
"Connection options (libpq):\n"
"  -d, --dbname=CONNINFO  connection string or URI; repeat it for several databases\n"
"                         (default: DATABASE_URL, then libpq's PG* variables)\n"
"  --dbname-file=FILE     one connection string or database name per line\n"
"  --all-databases        every database of the server with the extension\n"
"  -j, --jobs=N           run on N databases in parallel (default 1)\n"
"  --continue-on-error    go on with the other databases after a failure\n"
"Other options:\n"
"  --dir=DIR              migrations directory (default: \"dir\" of ap-migrate.conf, or migrations)\n"
"  --no-sync              do not register the directory's files first\n"
"  -q, --quiet            print only errors and results\n"
"  --json                 one JSON object per database on stdout\n"
"  -v, --verbose          more detail (current, heads, history, show)\n"
"  -h, --help             show help (ap-migrate VERB --help for a verb)\n"
"  -V, --version          show the version\n"
"Exit status: 0 ok, 1 error, 2 usage error, 3 pending migrations (check).\n";

/* Print a usage error and the way to help; the caller exits with 2 */
void
cli_usage_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "ap-migrate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"ap-migrate%s%s --help\" for more information.\n",
			opts.verb ? " " : "", opts.verb ? opts.verb : "");
}

/* General help: every verb on one line */
static void
help(void)
{
	printf("ap-migrate migrates PostgreSQL databases with the ap_migrate extension, from a\n"
		   "directory of migration files, with Alembic's verbs.\n\n"
		   "Usage:\n  ap-migrate [OPTION]... VERB [ARG]...\n\nVerbs:\n");
	for (int i = 0; i < NVERBS; i++)
		printf("  %-10s %s\n", verbs[i].name, verbs[i].summary);
	printf("\n%s\nSee docs/cli.md of ap_migrate for the whole reference.\n", common_options);
}

/* Help of one verb */
static void
verb_help(const Verb *v)
{
	printf("Usage:\n  ap-migrate %s\n\n%s\n\n", v->synopsis, v->help);
	if (v->kind == VERB_LOCAL)
		printf("Options:\n  --dir=DIR   migrations directory\n  -q, --quiet\n");
	else
		printf("%s", common_options);
}

/* Append to a growable array of strings */
static void
push(char ***arr, int *n, char *value)
{
	*arr = realloc(*arr, (*n + 1) * sizeof(char *));
	(*arr)[(*n)++] = value;
}

/* Is the argument a negative number (downgrade -1), not an option? */
static bool
is_negative_number(const char *arg)
{
	if (arg[0] != '-' || arg[1] == '\0')
		return false;
	for (const char *p = arg + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

enum
{
	OPT_DBNAME_FILE = 256, OPT_ALL_DATABASES, OPT_CONTINUE, OPT_DIR, OPT_JSON,
	OPT_SINGLE, OPT_NO_SYNC, OPT_HEAD, OPT_LABEL, OPT_DEPENDS, OPT_NONTX,
	OPT_REV_ID, OPT_OUT, OPT_SQL
};

/*
 * Parse the command line (options anywhere, a negative number taken as an
 * argument), check the verb's arguments, read ap-migrate.conf, and run the
 * verb; the exit status is the verb's.
 */
int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"dbname-file", required_argument, NULL, OPT_DBNAME_FILE},
		{"all-databases", no_argument, NULL, OPT_ALL_DATABASES},
		{"jobs", required_argument, NULL, 'j'},
		{"continue-on-error", no_argument, NULL, OPT_CONTINUE},
		{"dir", required_argument, NULL, OPT_DIR},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, OPT_JSON},
		{"verbose", no_argument, NULL, 'v'},
		{"single-transaction", no_argument, NULL, OPT_SINGLE},
		{"no-sync", no_argument, NULL, OPT_NO_SYNC},
		{"message", required_argument, NULL, 'm'},
		{"head", required_argument, NULL, OPT_HEAD},
		{"branch-label", required_argument, NULL, OPT_LABEL},
		{"depends-on", required_argument, NULL, OPT_DEPENDS},
		{"non-transactional", no_argument, NULL, OPT_NONTX},
		{"rev-id", required_argument, NULL, OPT_REV_ID},
		{"rev-range", required_argument, NULL, 'r'},
		{"out", required_argument, NULL, OPT_OUT},
		{"sql", no_argument, NULL, OPT_SQL},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	bool		want_help = false;
	const Verb *verb = NULL;
	int			c;
	int			rc;

	opts.dir = CLI_DEFAULT_DIR;
	opts.jobs = 1;

	/* "downgrade -1": a negative number is an argument, not an option */
	push(&rest, &nrest, argv[0]);
	for (int i = 1; i < argc; i++)
	{
		if (is_negative_number(argv[i]) &&
			!(i > 1 && (strcmp(argv[i - 1], "-j") == 0 || strcmp(argv[i - 1], "-r") == 0 ||
						strcmp(argv[i - 1], "-m") == 0 || strcmp(argv[i - 1], "-d") == 0)))
			push(&numbers, &nnumbers, argv[i]);
		else
			push(&rest, &nrest, argv[i]);
	}
	push(&rest, &nrest, NULL);
	nrest--;

	while ((c = getopt_long(nrest, rest, "d:j:qvm:r:hV", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				push(&opts.dbnames, &opts.ndbnames, optarg);
				break;
			case OPT_DBNAME_FILE:
				opts.dbname_file = optarg;
				break;
			case OPT_ALL_DATABASES:
				opts.all_databases = true;
				break;
			case 'j':
				opts.jobs = atoi(optarg);
				if (opts.jobs < 1 || opts.jobs > 1024)
				{
					cli_usage_error("-j must be between 1 and 1024");
					exit(EXIT_USAGE);
				}
				break;
			case OPT_CONTINUE:
				opts.continue_on_error = true;
				break;
			case OPT_DIR:
				opts.dir = optarg;
				opts.dir_given = true;
				break;
			case 'q':
				opts.quiet = true;
				break;
			case OPT_JSON:
				opts.json = true;
				break;
			case 'v':
				opts.verbose = true;
				break;
			case OPT_SINGLE:
				opts.single_transaction = true;
				break;
			case OPT_NO_SYNC:
				opts.no_sync = true;
				break;
			case 'm':
				opts.message = optarg;
				break;
			case OPT_HEAD:
				opts.head = optarg;
				break;
			case OPT_LABEL:
				push(&opts.branch_labels, &opts.nbranch_labels, optarg);
				break;
			case OPT_DEPENDS:
				push(&opts.depends_on, &opts.ndepends_on, optarg);
				break;
			case OPT_NONTX:
				opts.non_transactional = true;
				break;
			case OPT_REV_ID:
				opts.rev_id = optarg;
				break;
			case 'r':
				opts.range = optarg;
				break;
			case OPT_OUT:
				opts.out = optarg;
				break;
			case OPT_SQL:
				opts.offline_sql = true;
				break;
			case 'h':
				want_help = true;
				break;
			case 'V':
				printf("ap-migrate (ap_migrate) %s\n", CLI_VERSION);
				exit(EXIT_OK);
			default:
				fprintf(stderr, "Try \"ap-migrate --help\" for more information.\n");
				exit(EXIT_USAGE);
		}
	}
	for (int i = optind; i < nrest; i++)
		push(&args, &nargs, rest[i]);
	for (int i = 0; i < nnumbers; i++)
		push(&args, &nargs, numbers[i]);

	if (nargs > 0)
	{
		for (int i = 0; i < NVERBS; i++)
			if (strcmp(args[0], verbs[i].name) == 0)
				verb = &verbs[i];
		if (verb == NULL)
		{
			char	   *clean = cli_sanitize(args[0], false);

			cli_usage_error("unknown verb \"%s\"", clean);
			free(clean);
			exit(EXIT_USAGE);
		}
	}
	if (want_help)
	{
		if (verb)
			verb_help(verb);
		else
			help();
		exit(EXIT_OK);
	}
	if (verb == NULL)
	{
		cli_usage_error("no verb given");
		exit(EXIT_USAGE);
	}
	opts.verb = verb->name;
	opts.kind = verb->kind;
	opts.args = args + 1;
	opts.nargs = nargs - 1;
	if (opts.nargs < verb->min_args || (verb->max_args >= 0 && opts.nargs > verb->max_args))
	{
		cli_usage_error("usage: ap-migrate %s", verb->synopsis);
		exit(EXIT_USAGE);
	}
	if (opts.offline_sql)
	{
		if (strcmp(opts.verb, "upgrade") != 0 && strcmp(opts.verb, "downgrade") != 0)
		{
			cli_usage_error("--sql goes with upgrade or downgrade");
			exit(EXIT_USAGE);
		}
		opts.verb = "sql";
		opts.kind = VERB_READ;
	}
	if (opts.range && strcmp(opts.verb, "history") != 0)
	{
		cli_usage_error("-r goes with history");
		exit(EXIT_USAGE);
	}
	if (opts.all_databases && opts.ndbnames > 1)
	{
		cli_usage_error("--all-databases takes at most one -d (the server to list)");
		exit(EXIT_USAGE);
	}
	if ((strcmp(opts.verb, "revision") == 0 || strcmp(opts.verb, "merge") == 0) &&
		opts.message == NULL)
	{
		cli_usage_error("%s needs -m MESSAGE", opts.verb);
		exit(EXIT_USAGE);
	}

	cli_read_config();
	cli_color = isatty(STDERR_FILENO) && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;

	switch (opts.kind)
	{
		case VERB_LOCAL:
			if (strcmp(opts.verb, "init") == 0)
				rc = cli_init();
			else
				rc = cli_revision(strcmp(opts.verb, "merge") == 0);
			break;
		case VERB_EXEC:
			rc = cli_exec_importer();
			break;
		default:
			cli_cancel_install();
			rc = cli_run_databases();
			cli_cancel_remove();
			break;
	}
	free(rest);
	free(numbers);
	free(args);
	free(opts.dbnames);
	free(opts.branch_labels);
	free(opts.depends_on);
	if (opts.dir != NULL && strcmp(opts.dir, CLI_DEFAULT_DIR) != 0 && !opts.dir_given)
		free((char *) opts.dir);
	return rc;
}
