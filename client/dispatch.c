/*-------------------------------------------------------------------------
 *
 * dispatch.c
 *	  import and adopt: run the importer, ap-migrate-import, a separate
 *	  program that turns other tools' migration directories into ap_migrate
 *	  files and stamps databases from their state tables.
 *
 * The importer drives the other tools' own libraries (Alembic's, YAML
 * parsers), which is no job for a C client; this file only finds it (next
 * to this binary first, then in PATH) and replaces the process with it.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/dispatch.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/*
 * Exec the importer with "import FORMAT SRC --out DIR" or "adopt FORMAT
 * --dbname CONNINFO --dir DIR".  Returns only on failure.
 */
int
cli_exec_importer(void)
{
	bool		adopt = strcmp(opts.verb, "adopt") == 0;
	char		self[PATH_MAX];
	char		beside[PATH_MAX + sizeof(CLI_IMPORTER) + 1];
	ssize_t		len;
	const char *argv[10];
	int			n = 0;
	char	   *url = NULL;

	if (opts.nargs != (adopt ? 1 : 2))
	{
		cli_usage_error(adopt ? "adopt takes FORMAT (and connection options)"
						: "import takes FORMAT and SRC");
		return EXIT_USAGE;
	}
	argv[n++] = CLI_IMPORTER;
	argv[n++] = opts.verb;
	argv[n++] = opts.args[0];
	if (adopt)
	{
		if (opts.ndbnames > 1)
		{
			cli_usage_error("adopt takes one database");
			return EXIT_USAGE;
		}
		url = opts.ndbnames == 1 ? strdup(opts.dbnames[0]) : cli_database_url();
		argv[n++] = "--dbname";
		argv[n++] = url ? url : "";
		argv[n++] = "--dir";
		argv[n++] = opts.dir;
	}
	else
	{
		argv[n++] = opts.args[1];
		argv[n++] = "--out";
		argv[n++] = opts.out ? opts.out : opts.dir;
	}
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0)
	{
		char	   *slash;

		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash)
		{
			*slash = '\0';
			snprintf(beside, sizeof(beside), "%s/%s", self, CLI_IMPORTER);
			if (access(beside, X_OK) == 0)
			{
				execv(beside, (char *const *) argv);
				cli_err(NULL, "%s: could not run %s: %s", cli_paint("error", "1;31"),
						beside, strerror(errno));
				free(url);
				return EXIT_ERROR;
			}
		}
	}
	execvp(CLI_IMPORTER, (char *const *) argv);
	cli_err(NULL, "%s: %s is not installed (looked next to this program and in PATH): %s\n"
			"HINT:  It is installed with the extension's importers (make install); %s needs it.",
			cli_paint("error", "1;31"), CLI_IMPORTER, strerror(errno), opts.verb);
	free(url);
	return EXIT_ERROR;
}
