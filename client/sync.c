/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Directory sync: register the directory's migration files that the
 *	  database does not have, refuse files edited after being applied, and
 *	  report revisions the directory no longer holds.
 *
 * The caller runs it inside the transaction of the operation that follows
 * (for the procedures, in the transaction committed just before the CALL),
 * so a deploy never registers files without also applying them, or the
 * reverse.  One query reads every registered revision's checksum and
 * header fields; the comparison happens here, so an unchanged directory
 * costs one round trip however many files it holds.  Only new or changed
 * pending files go to the server, one ap_migrate_load() call each, so an
 * error names its file.
 *
 * Reading ap_migrate.revision directly is the one place the client reads
 * the catalog rather than calling a function: no function returns every
 * revision's checksum.  The role needs SELECT on it, which the installing
 * role has.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/sync.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SYNC_QUERY \
	"SELECT r.id, r.checksum, r.message, " \
	"       pg_catalog.array_to_string(r.down_revision, ' '), " \
	"       pg_catalog.array_to_string(r.branch_labels, ' '), " \
	"       pg_catalog.array_to_string(r.depends_on, ' '), " \
	"       a.revision IS NOT NULL " \
	"  FROM ap_migrate.revision r " \
	"  LEFT JOIN ap_migrate.applied a ON a.revision OPERATOR(pg_catalog.=) r.id " \
	" ORDER BY r.seq"

/* column numbers of SYNC_QUERY */
enum
{
	COL_ID, COL_CHECKSUM, COL_MESSAGE, COL_PARENTS, COL_LABELS, COL_DEPENDS,
	COL_APPLIED
};

/* the result being sorted; per thread, since databases sync in parallel */
static __thread const PGresult *sort_res;

/* Order row numbers of the sync query by revision id */
static int
row_cmp(const void *a, const void *b)
{
	return strcmp(PQgetvalue(sort_res, *(const int *) a, COL_ID),
				  PQgetvalue(sort_res, *(const int *) b, COL_ID));
}

/* Find a revision id among the sorted rows; -1 if absent */
static int
find_row(const PGresult *res, const int *rows, int nrows, const char *id)
{
	int			lo = 0;
	int			hi = nrows - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(PQgetvalue(res, rows[mid], COL_ID), id);

		if (c == 0)
			return rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Append a JSON array of strings to the job's JSON object */
static void
json_list(DbJob *job, const char *key, char **items, int n)
{
	appendPQExpBuffer(&job->json, ", \"%s\": [", key);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendPQExpBufferStr(&job->json, ", ");
		cli_json_string(&job->json, items[i]);
	}
	appendPQExpBufferChar(&job->json, ']');
}

/* Print a list of ids on one line, or their number when there are many */
static void
print_ids(DbJob *job, const char *what, char **ids, int n)
{
	PQExpBufferData buf;

	if (n == 0 || opts.quiet)
		return;
	initPQExpBuffer(&buf);
	for (int i = 0; i < n && i < 8; i++)
	{
		char	   *clean = cli_sanitize(ids[i], false);

		appendPQExpBuffer(&buf, "%s%s", i ? ", " : "", clean);
		free(clean);
	}
	if (n > 8)
		appendPQExpBuffer(&buf, ", ... (%d more)", n - 8);
	cli_err(job, "%s %d revision%s: %s", what, n, n == 1 ? "" : "s", buf.data);
	termPQExpBuffer(&buf);
}

/*
 * Sync the directory into the job's database, in the caller's open
 * transaction.  Returns false after reporting the problem (an edited
 * applied file, a file the server refuses).
 */
bool
cli_sync(DbJob *job, MigrationDir *md)
{
	PGresult   *res;
	int			nrows;
	int		   *rows;
	bool	   *matched;
	char	  **registered = malloc((md->nfiles + 1) * sizeof(char *));
	char	  **missing;
	int			nregistered = 0;
	int			nmissing = 0;
	int			nupdated = 0;
	int			nedited = 0;
	bool		ok = true;
	double		started = cli_now();

	res = cli_exec(job, SYNC_QUERY, 0, NULL);
	if (res == NULL)
	{
		free(registered);
		return false;
	}
	nrows = PQntuples(res);
	rows = malloc((nrows + 1) * sizeof(int));
	matched = calloc(nrows + 1, sizeof(bool));
	for (int i = 0; i < nrows; i++)
		rows[i] = i;
	sort_res = res;
	qsort(rows, nrows, sizeof(int), row_cmp);

	/* first pass: refuse edited applied files before registering anything */
	for (int i = 0; i < md->nfiles; i++)
	{
		const MigrationFile *f = &md->files[i];
		int			r;

		if (!f->parsed || (r = find_row(res, rows, nrows, f->id)) < 0)
			continue;
		matched[r] = true;
		if (strcmp(PQgetvalue(res, r, COL_APPLIED), "t") != 0)
			continue;
		if (strcmp(f->checksum, PQgetvalue(res, r, COL_CHECKSUM)) != 0 ||
			strcmp(f->message, PQgetvalue(res, r, COL_MESSAGE)) != 0 ||
			strcmp(f->parents, PQgetvalue(res, r, COL_PARENTS)) != 0 ||
			strcmp(f->branch_labels, PQgetvalue(res, r, COL_LABELS)) != 0 ||
			strcmp(f->depends_on, PQgetvalue(res, r, COL_DEPENDS)) != 0)
		{
			char	   *path = cli_sanitize(f->path, false);
			char	   *id = cli_sanitize(f->id, false);
			bool		sql_changed = strcmp(f->checksum, PQgetvalue(res, r, COL_CHECKSUM)) != 0;

			cli_err(job, "%s: %s was edited after revision %s was applied\n"
					"DETAIL:  %s: file checksum %s, checksum in the database %s.\n"
					"HINT:  Restore the file and put the change in a new revision (ap-migrate revision -m ...).",
					cli_paint("error", "1;31"), path, id,
					sql_changed ? "The SQL differs" : "The header (message, parents, labels or dependencies) differs",
					f->checksum, PQgetvalue(res, r, COL_CHECKSUM));
			if (opts.json)
			{
				appendPQExpBufferStr(&job->json, ", \"edited_file\": ");
				cli_json_string(&job->json, f->path);
				appendPQExpBufferStr(&job->json, ", \"file_checksum\": ");
				cli_json_string(&job->json, f->checksum);
				appendPQExpBufferStr(&job->json, ", \"database_checksum\": ");
				cli_json_string(&job->json, PQgetvalue(res, r, COL_CHECKSUM));
			}
			if (job->error == NULL)
			{
				PQExpBufferData e;

				initPQExpBuffer(&e);
				appendPQExpBuffer(&e, "%s edited after %s was applied", path, id);
				job->error = e.data;
			}
			free(path);
			free(id);
			nedited++;
		}
	}
	if (nedited > 0)
		ok = false;

	/* second pass: register new and changed pending files, in name order */
	cli_set_cancel(job, job->conn);
	for (int i = 0; i < md->nfiles && ok; i++)
	{
		MigrationFile *f = &md->files[i];
		int			r = f->parsed ? find_row(res, rows, nrows, f->id) : -1;
		const char *params[1];
		PGresult   *lres;

		if (r >= 0)
		{
			if (strcmp(PQgetvalue(res, r, COL_APPLIED), "t") == 0 ||
				(strcmp(f->checksum, PQgetvalue(res, r, COL_CHECKSUM)) == 0 &&
				 strcmp(f->message, PQgetvalue(res, r, COL_MESSAGE)) == 0 &&
				 strcmp(f->parents, PQgetvalue(res, r, COL_PARENTS)) == 0 &&
				 strcmp(f->branch_labels, PQgetvalue(res, r, COL_LABELS)) == 0 &&
				 strcmp(f->depends_on, PQgetvalue(res, r, COL_DEPENDS)) == 0))
				continue;
			nupdated++;
		}
		params[0] = cli_file_text(f);
		if (params[0] == NULL)
		{
			char	   *path = cli_sanitize(f->path, false);

			cli_err(job, "%s: could not read %s", cli_paint("error", "1;31"), path);
			free(path);
			ok = false;
			break;
		}
		lres = PQexecParams(job->conn, "SELECT pg_catalog.ap_migrate_load($1)",
							1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(lres) != PGRES_TUPLES_OK)
		{
			char	   *path = cli_sanitize(f->path, false);
			PQExpBufferData what;

			initPQExpBuffer(&what);
			appendPQExpBuffer(&what, "could not register %s", path);
			cli_report_error(job, lres, what.data);
			termPQExpBuffer(&what);
			free(path);
			ok = false;
		}
		else
		{
			char	   *id = PQgetvalue(lres, 0, 0);

			registered[nregistered++] = strdup(id);
			/* a file the client could not read but the server accepted */
			if (r < 0 && (r = find_row(res, rows, nrows, id)) >= 0)
				matched[r] = true;
		}
		PQclear(lres);
	}
	cli_set_cancel(job, NULL);

	/* revisions in the database without a file: reported, never deleted */
	missing = malloc((nrows + 1) * sizeof(char *));
	for (int i = 0; i < nrows; i++)
		if (!matched[i])
			missing[nmissing++] = PQgetvalue(res, i, COL_ID);
	if (nmissing > 0 && !opts.quiet)
	{
		char	   *dir = cli_sanitize(opts.dir, false);

		print_ids(job, "warning: no file in the directory for", missing, nmissing);
		cli_err(job, "         (registered in the database but missing from %s; kept)", dir);
		free(dir);
	}
	/* reading verbs roll the registration back: say so only when asked */
	if (ok && (opts.kind == VERB_WRITE || opts.verbose))
		print_ids(job, opts.kind == VERB_WRITE ?
				  (nupdated ? "Registered (new or changed)" : "Registered") :
				  "Registered for this command (rolled back)", registered, nregistered);
	if (opts.verbose && !opts.json)
		cli_err(job, "Synced %d files with %d registered revisions in %.0f ms (%d registered now)",
				md->nfiles, nrows, (cli_now() - started) * 1000.0, nregistered);
	if (opts.json)
	{
		json_list(job, "registered", registered, nregistered);
		json_list(job, "missing_files", missing, nmissing);
	}
	for (int i = 0; i < nregistered; i++)
		free(registered[i]);
	free(registered);
	free(missing);
	free(rows);
	free(matched);
	PQclear(res);
	return ok;
}
