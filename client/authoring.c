/*-------------------------------------------------------------------------
 *
 * authoring.c
 *	  The verbs that write files and need no database: init, revision,
 *	  merge.
 *
 * "revision" must work where Alembic's does, on a developer's machine
 * without a database, so the parent of a new file is found from the files
 * themselves: the heads are the revisions no file names as a parent (the
 * one set difference the client computes; everything else about the graph
 * is the server's).  With several heads it refuses unless --head picks
 * one, or "merge" joins them.  label@head picks the head reached from the
 * file declaring the label.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/authoring.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Does the space-separated list contain the word? */
static bool
list_has(const char *list, const char *word)
{
	size_t		len = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL)
	{
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return true;
		p += len;
	}
	return false;
}

/* Is file i a head: does no other file name it as a parent? */
static bool
is_head(const MigrationDir *md, int i)
{
	for (int k = 0; k < md->nfiles; k++)
		if (md->files[k].parsed && list_has(md->files[k].parents, md->files[i].id))
			return false;
	return true;
}

/* Append the heads' ids to buf, space-separated; returns their number */
static int
collect_heads(const MigrationDir *md, PQExpBuffer buf)
{
	int			n = 0;

	for (int i = 0; i < md->nfiles; i++)
		if (md->files[i].parsed && is_head(md, i))
		{
			if (buf->len > 0)
				appendPQExpBufferChar(buf, ' ');
			appendPQExpBufferStr(buf, md->files[i].id);
			n++;
		}
	return n;
}

/*
 * The heads reached from file start by following children (files naming a
 * reached file as parent), appended to buf; returns their number.
 */
static int
heads_below(const MigrationDir *md, int start, PQExpBuffer buf)
{
	bool	   *reached = calloc(md->nfiles, sizeof(bool));
	int			n = 0;
	bool		grew = true;

	reached[start] = true;
	while (grew)
	{
		grew = false;
		for (int k = 0; k < md->nfiles; k++)
		{
			if (reached[k] || !md->files[k].parsed)
				continue;
			for (int i = 0; i < md->nfiles; i++)
				if (reached[i] && list_has(md->files[k].parents, md->files[i].id))
				{
					reached[k] = grew = true;
					break;
				}
		}
	}
	for (int i = 0; i < md->nfiles; i++)
		if (reached[i] && is_head(md, i))
		{
			if (buf->len > 0)
				appendPQExpBufferChar(buf, ' ');
			appendPQExpBufferStr(buf, md->files[i].id);
			n++;
		}
	free(reached);
	return n;
}

/*
 * Resolve a revision named on the command line against the files: "head"
 * (the only head), "heads" (every head, when allowed), "base" (none),
 * "label@head", an id or a unique prefix.  Appends ids to buf; false after
 * printing why.
 */
static bool
resolve(const MigrationDir *md, const char *name, bool allow_heads, PQExpBuffer buf)
{
	PQExpBufferData found;
	int			n = 0;
	const char *at = strstr(name, "@head");
	char	   *clean = cli_sanitize(name, false);
	bool		ok = true;

	initPQExpBuffer(&found);
	/* ids below come from the files: printed through cli_sanitize */
	if (strcmp(name, "base") == 0)
		;
	else if (strcmp(name, "head") == 0 || strcmp(name, "heads") == 0)
	{
		n = collect_heads(md, &found);
		if (n > 1 && !(allow_heads && strcmp(name, "heads") == 0))
		{
			char	   *ids = cli_sanitize(found.data, false);

			cli_err(NULL, "%s: the migration files have %d heads: %s\n"
					"HINT:  Name one with --head, or join them with \"ap-migrate merge -m MESSAGE heads\".",
					cli_paint("error", "1;31"), n, ids);
			free(ids);
			ok = false;
		}
	}
	else if (at != NULL && strcmp(at, "@head") == 0)
	{
		size_t		llen = at - name;
		int			start = -1;

		for (int i = 0; i < md->nfiles && start < 0; i++)
		{
			const char *labels = md->files[i].parsed ? md->files[i].branch_labels : "";
			char	   *label = strndup(name, llen);

			if (list_has(labels, label))
				start = i;
			free(label);
		}
		if (start < 0)
		{
			cli_err(NULL, "%s: no migration file declares branch label \"%.*s\"",
					cli_paint("error", "1;31"), (int) llen, clean);
			ok = false;
		}
		else if ((n = heads_below(md, start, &found)) != 1)
		{
			char	   *ids = cli_sanitize(found.data, false);

			cli_err(NULL, "%s: branch \"%s\" has %d heads: %s", cli_paint("error", "1;31"),
					clean, n, ids);
			free(ids);
			ok = false;
		}
	}
	else
	{
		size_t		len = strlen(name);

		for (int i = 0; i < md->nfiles; i++)
			if (md->files[i].parsed && strncmp(md->files[i].id, name, len) == 0)
			{
				if (found.len > 0)
					appendPQExpBufferChar(&found, ' ');
				appendPQExpBufferStr(&found, md->files[i].id);
				n++;
			}
		if (n != 1)
		{
			char	   *ids = cli_sanitize(found.data, false);

			cli_err(NULL, "%s: %s \"%s\" among the migration files%s%s",
					cli_paint("error", "1;31"), n == 0 ? "no revision" : "ambiguous revision",
					clean, n ? ": " : "", ids);
			free(ids);
			ok = false;
		}
	}
	if (ok && found.len > 0)
	{
		if (buf->len > 0)
			appendPQExpBufferChar(buf, ' ');
		appendPQExpBufferStr(buf, found.data);
	}
	termPQExpBuffer(&found);
	free(clean);
	return ok;
}

/* A fresh revision id: 12 random lowercase hex digits, as Alembic makes */
static bool
random_id(char *id)
{
	unsigned char bytes[6];
	int			fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, bytes, sizeof(bytes)) != (ssize_t) sizeof(bytes))
	{
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	for (int i = 0; i < 6; i++)
		sprintf(id + 2 * i, "%02x", bytes[i]);
	return true;
}

/* The file name's slug: the message in lowercase words, at most 40 bytes */
static void
slugify(const char *message, char *slug, size_t size)
{
	size_t		n = 0;
	bool		gap = false;

	for (const char *p = message; *p && n + 1 < size && n < 40; p++)
	{
		if (isalnum((unsigned char) *p))
		{
			if (gap && n > 0)
				slug[n++] = '_';
			if (n + 1 < size)
				slug[n++] = tolower((unsigned char) *p);
			gap = false;
		}
		else
			gap = true;
	}
	slug[n] = '\0';
}

/* Join repeated options (--branch-label, --depends-on) with spaces */
static char *
join(char **items, int n)
{
	PQExpBufferData buf;

	initPQExpBuffer(&buf);
	for (int i = 0; i < n; i++)
		appendPQExpBuffer(&buf, "%s%s", i ? " " : "", items[i]);
	return buf.data;
}

/* A value written into a header line must be one line of plain text */
static bool
plain_line(const char *what, const char *value)
{
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
		{
			cli_usage_error("%s must be one line without control characters", what);
			return false;
		}
	return true;
}

/*
 * init: create the migrations directory and the project's config file.
 * Refuses a directory that already holds files, as alembic init does.
 */
int
cli_init(void)
{
	const char *dir = opts.nargs > 0 ? opts.args[0] : opts.dir;
	char	   *clean = cli_sanitize(dir, false);
	DIR		   *d = opendir(dir);
	FILE	   *f;

	if (d != NULL)
	{
		struct dirent *de;
		bool		empty = true;

		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				empty = false;
		closedir(d);
		if (!empty)
		{
			cli_err(NULL, "%s: directory %s already exists and is not empty",
					cli_paint("error", "1;31"), clean);
			free(clean);
			return EXIT_ERROR;
		}
	}
	else if (mkdir(dir, 0777) != 0)
	{
		cli_err(NULL, "%s: could not create directory %s: %s", cli_paint("error", "1;31"),
				clean, strerror(errno));
		free(clean);
		return EXIT_ERROR;
	}
	if (!opts.quiet)
		printf("  Creating directory %s ...  done\n", clean);
	if (access(CLI_CONFIG_FILE, F_OK) == 0)
	{
		if (!opts.quiet)
			printf("  %s exists; not changed (its \"dir\" should name %s)\n", CLI_CONFIG_FILE, clean);
	}
	else
	{
		f = fopen(CLI_CONFIG_FILE, "w");
		if (f == NULL)
		{
			cli_err(NULL, "%s: could not write %s: %s", cli_paint("error", "1;31"),
					CLI_CONFIG_FILE, strerror(errno));
			free(clean);
			return EXIT_ERROR;
		}
		fprintf(f, "# ap-migrate configuration (see docs/cli.md of ap_migrate)\n"
				"# The database comes from -d, DATABASE_URL or libpq's PG* variables,\n"
				"# never from this file, so no password ends up in the repository.\n"
				"dir = %s\n", dir);
		fclose(f);
		if (!opts.quiet)
			printf("  Generating %s ...  done\n", CLI_CONFIG_FILE);
	}
	if (!opts.quiet)
		printf("Next: ap-migrate revision -m \"create the first table\"\n");
	free(clean);
	return EXIT_OK;
}

/*
 * revision and merge: write a new migration file with a fresh id whose
 * parents are the files' head (revision), the --head, or the revisions
 * named (merge).
 */
int
cli_revision(bool merge)
{
	MigrationDir md;
	PQExpBufferData parents;
	PQExpBufferData path;
	char		id[13];
	char		slug[48];
	char	   *labels;
	char	   *depends;
	const char *message = opts.message ? opts.message : "";
	char		stamp[64];
	time_t		now = time(NULL);
	FILE	   *f;
	int			rc = EXIT_ERROR;

	if (!plain_line("the message", message) ||
		(opts.rev_id && !plain_line("--rev-id", opts.rev_id)))
		return EXIT_USAGE;
	if (opts.rev_id && (opts.rev_id[0] == '\0' || strpbrk(opts.rev_id, " ,/")))
	{
		cli_usage_error("--rev-id must be one revision id");
		return EXIT_USAGE;
	}
	if (merge && opts.nargs < 1)
	{
		cli_usage_error("merge needs the revisions to join (or \"heads\")");
		return EXIT_USAGE;
	}
	if (!cli_read_dir(opts.dir, &md, false))
		return EXIT_ERROR;
	for (int i = 0; i < md.nfiles; i++)
		if (!md.files[i].parsed)
		{
			char	   *clean = cli_sanitize(md.files[i].path, false);

			cli_err(NULL, "%s: cannot read the header of %s; \"ap-migrate validate\" shows why",
					cli_paint("error", "1;31"), clean);
			free(clean);
			cli_free_dir(&md);
			return EXIT_ERROR;
		}

	initPQExpBuffer(&parents);
	initPQExpBuffer(&path);
	labels = join(opts.branch_labels, opts.nbranch_labels);
	depends = join(opts.depends_on, opts.ndepends_on);
	if (merge)
	{
		for (int i = 0; i < opts.nargs; i++)
			if (!resolve(&md, opts.args[i], true, &parents))
				goto done;
	}
	else if (!resolve(&md, opts.head ? opts.head : "head", false, &parents))
		goto done;
	if (merge && strchr(parents.data, ' ') == NULL)
	{
		cli_err(NULL, "%s: a merge needs at least two revisions; these name %s",
				cli_paint("error", "1;31"), parents.len ? parents.data : "none");
		goto done;
	}

	if (opts.rev_id)
		snprintf(id, sizeof(id), "%s", opts.rev_id);
	else if (!random_id(id))
	{
		cli_err(NULL, "%s: could not read /dev/urandom", cli_paint("error", "1;31"));
		goto done;
	}
	for (int i = 0; i < md.nfiles; i++)
		if (strcmp(md.files[i].id, opts.rev_id ? opts.rev_id : id) == 0)
		{
			char	   *name = cli_sanitize(md.files[i].name, false);

			cli_err(NULL, "%s: revision %s already exists (%s)", cli_paint("error", "1;31"),
					opts.rev_id ? opts.rev_id : id, name);
			free(name);
			goto done;
		}
	slugify(message, slug, sizeof(slug));
	appendPQExpBuffer(&path, "%s/%s%s%s.sql", opts.dir, opts.rev_id ? opts.rev_id : id,
					  slug[0] ? "_" : "", slug);
	f = fopen(path.data, "wx");
	if (f == NULL)
	{
		cli_err(NULL, "%s: could not create %s: %s", cli_paint("error", "1;31"), path.data,
				strerror(errno));
		goto done;
	}
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	/* "-- key:" with no trailing blank when the value is empty */
	fprintf(f, "-- revision: %s\n-- down_revision:%s%s\n-- message:%s%s\n-- branch_labels:%s%s\n"
			"-- depends_on:%s%s\n-- transactional: %s\n--\n-- %s by ap-migrate %s, %s.\n",
			opts.rev_id ? opts.rev_id : id, parents.len ? " " : "", parents.data,
			message[0] ? " " : "", message, labels[0] ? " " : "", labels,
			depends[0] ? " " : "", depends,
			opts.non_transactional ? "false" : "true",
			merge ? "Merge revision created" : "Created", merge ? "merge" : "revision", stamp);
	if (opts.non_transactional)
		fprintf(f, "-- Not transactional: applied only by \"ap-migrate upgrade\" without\n"
				"-- --single-transaction (CALL ap_migrate_run), each statement on its own.\n");
	fprintf(f, "\n-- +upgrade\n\n\n-- +downgrade\n\n");
	if (fclose(f) != 0)
	{
		cli_err(NULL, "%s: could not write %s", cli_paint("error", "1;31"), path.data);
		goto done;
	}
	{
		char	   *clean = cli_sanitize(path.data, false);

		/* -q prints just the path, for scripts */
		printf(opts.quiet ? "%s\n" : "  Generating %s ...  done\n", clean);
		free(clean);
	}
	rc = EXIT_OK;

done:
	termPQExpBuffer(&parents);
	termPQExpBuffer(&path);
	free(labels);
	free(depends);
	cli_free_dir(&md);
	return rc;
}
