/*-------------------------------------------------------------------------
 *
 * config.c
 *	  The project's configuration file, ap-migrate.conf, as "ap-migrate
 *	  init" writes it at the project root.
 *
 * It holds where the migrations directory is ("dir = migrations"), so the
 * client can be run from anywhere below the project root, as alembic.ini
 * lets Alembic be run.  It holds no connection parameters: those come from
 * -d, DATABASE_URL or libpq's environment, and passwords stay out of the
 * repository.  --dir on the command line wins.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/config.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Read one config file; sets opts.dir unless --dir was given */
static void
read_file(const char *path, const char *root)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	int			lineno = 0;

	if (f == NULL)
		return;
	while (getline(&line, &cap, f) >= 0)
	{
		char	   *p = line;
		char	   *eq;
		char	   *key_end;
		char	   *value;
		size_t		len;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0' || *p == '[')
			continue;
		eq = strchr(p, '=');
		if (eq == NULL)
		{
			cli_err(NULL, "warning: %s line %d: expected \"key = value\"", CLI_CONFIG_FILE, lineno);
			continue;
		}
		key_end = eq;
		while (key_end > p && (key_end[-1] == ' ' || key_end[-1] == '\t'))
			key_end--;
		*key_end = '\0';
		value = eq + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		len = strlen(value);
		while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\r' ||
						   value[len - 1] == ' ' || value[len - 1] == '\t'))
			value[--len] = '\0';
		if (strcmp(p, "dir") == 0)
		{
			if (!opts.dir_given && len > 0)
			{
				char	   *dir;

				if (value[0] == '/' || strcmp(root, ".") == 0)
					dir = strdup(value);
				else
				{
					dir = malloc(strlen(root) + len + 2);
					sprintf(dir, "%s/%s", root, value);
				}
				opts.dir = dir;
			}
		}
		else
		{
			char	   *clean = cli_sanitize(p, false);

			cli_err(NULL, "warning: %s line %d: unknown key \"%s\"", CLI_CONFIG_FILE, lineno, clean);
			free(clean);
		}
	}
	free(line);
	fclose(f);
}

/*
 * Find ap-migrate.conf in the current directory or the nearest parent (the
 * project root) and read it.
 */
void
cli_read_config(void)
{
	char		cwd[PATH_MAX];
	char		path[PATH_MAX + sizeof(CLI_CONFIG_FILE) + 1];
	char	   *slash;

	if (access(CLI_CONFIG_FILE, R_OK) == 0)
	{
		read_file(CLI_CONFIG_FILE, ".");
		return;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	while ((slash = strrchr(cwd, '/')) != NULL && slash != cwd)
	{
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/%s", cwd, CLI_CONFIG_FILE);
		if (access(path, R_OK) == 0)
		{
			read_file(path, cwd);
			return;
		}
	}
}
