/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  The verbs that read the database: current, heads, branches, history,
 *	  show, plan, sql, validate, check.
 *
 * Each is one call of the extension's function of the same name, printed
 * the way Alembic prints its command of that name.  The directory is
 * synced first, inside a transaction that is rolled back at the end, so
 * these verbs show what the database would hold with the directory's files
 * registered, without registering them.  With --json the rows are turned
 * into JSON by the server (json_agg), so the client never re-encodes them.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/inspect.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ap_migrate_show's columns, lists as "a, b" */
#define SHOW_COLS \
	"s.revision, pg_catalog.array_to_string(s.down_revision, ', ') AS down_revision, " \
	"pg_catalog.array_to_string(s.children, ', ') AS children, s.message, " \
	"pg_catalog.array_to_string(s.branch_labels, ', ') AS branch_labels, " \
	"pg_catalog.array_to_string(s.depends_on, ', ') AS depends_on, s.transactional, s.applied, " \
	"s.owner, s.registered_at, s.checksum, s.upgrade_sql, s.downgrade_sql "
#define Q_CURRENT \
	"SELECT revision, is_head, message FROM pg_catalog.ap_migrate_current()"
#define Q_SHOW_CURRENT \
	"SELECT " SHOW_COLS "FROM pg_catalog.ap_migrate_current() c, " \
	"LATERAL pg_catalog.ap_migrate_show(c.revision) s"
#define Q_HEADS \
	"SELECT revision, is_current, pg_catalog.array_to_string(branch_labels, ', ') AS branch_labels, " \
	"message FROM pg_catalog.ap_migrate_heads()"
#define Q_SHOW_HEADS \
	"SELECT " SHOW_COLS "FROM pg_catalog.ap_migrate_heads() h, " \
	"LATERAL pg_catalog.ap_migrate_show(h.revision) s"
#define Q_BRANCHES \
	"SELECT b.revision, b.message, c.child, h.message AS child_message " \
	"  FROM pg_catalog.ap_migrate_branches() b " \
	"  CROSS JOIN LATERAL pg_catalog.unnest(b.children) WITH ORDINALITY AS c(child, n) " \
	"  LEFT JOIN pg_catalog.ap_migrate_history() h ON h.revision OPERATOR(pg_catalog.=) c.child " \
	" ORDER BY b.revision, c.n"
#define Q_HISTORY \
	"SELECT revision, pg_catalog.array_to_string(down_revision, ', ') AS down_revision, message, " \
	"is_head, is_branch_point, is_merge_point, is_current, applied " \
	"FROM pg_catalog.ap_migrate_history($1)"
#define Q_SHOW \
	"SELECT " SHOW_COLS "FROM pg_catalog.ap_migrate_show($1) s"
#define Q_PLAN \
	"SELECT step, operation, revision, " \
	"pg_catalog.array_to_string(from_revisions, ', ') AS from_revisions, " \
	"pg_catalog.array_to_string(to_revisions, ', ') AS to_revisions, message, transactional " \
	"FROM pg_catalog.ap_migrate_plan($1)"
#define Q_SQL \
	"SELECT pg_catalog.ap_migrate_sql($1) AS script"
#define Q_LINT \
	"SELECT revision, statement, line, rule, severity, message, hint " \
	"FROM pg_catalog.ap_migrate_lint($1)"
#define Q_VERIFY \
	"SELECT revision, status, detail, error FROM pg_catalog.ap_migrate_verify($1)"
#define Q_VALIDATE \
	"SELECT severity, problem, revision, detail FROM pg_catalog.ap_migrate_validate()"
#define Q_PROBLEMS \
	"SELECT severity, problem, revision, detail FROM pg_catalog.ap_migrate_validate() " \
	"WHERE severity OPERATOR(pg_catalog.=) 'error'"
#define Q_PENDING \
	"SELECT revision, message FROM pg_catalog.ap_migrate_plan('heads') " \
	"WHERE operation OPERATOR(pg_catalog.=) 'upgrade'"

/*
 * A result value cleaned for the terminal (cli_sanitize).  The copy lives in
 * the result's own memory (PQresultAlloc), so it is freed by PQclear with
 * everything else and the printing code below frees nothing value by value.
 */
static const char *
val(PGresult *res, int row, const char *column)
{
	int			col = PQfnumber(res, column);
	char	   *clean;
	char	   *copy;

	if (col < 0 || PQgetisnull(res, row, col))
		return "";
	clean = cli_sanitize(PQgetvalue(res, row, col), true);
	copy = PQresultAlloc(res, strlen(clean) + 1);
	if (copy == NULL)
	{
		fprintf(stderr, "ap-migrate: out of memory\n");
		exit(EXIT_ERROR);
	}
	strcpy(copy, clean);
	free(clean);
	return copy;
}

/* Is a boolean column true? */
static bool
flag(const PGresult *res, int row, const char *column)
{
	int			col = PQfnumber(res, column);

	return col >= 0 && strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/*
 * Run a query for --json: the server turns its rows into a JSON array,
 * appended to the job's object under key.
 */
static bool
json_rows(DbJob *job, const char *key, const char *sql, int nparams,
		  const char *const *params)
{
	PQExpBufferData q;
	PGresult   *res;

	initPQExpBuffer(&q);
	appendPQExpBuffer(&q, "SELECT COALESCE(pg_catalog.array_to_json(pg_catalog.array_agg(q)), '[]') FROM (%s) q", sql);
	res = cli_exec(job, q.data, nparams, params);
	termPQExpBuffer(&q);
	if (res == NULL)
		return false;
	appendPQExpBuffer(&job->json, ", \"%s\": %s", key, PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/* Print one revision as Alembic's show and --verbose print it */
static void
print_revision(DbJob *job, PGresult *res, int row)
{
	const char *rev = val(res, row, "revision");
	const char *parents = val(res, row, "down_revision");
	const char *children = val(res, row, "children");
	const char *message = val(res, row, "message");
	const char *labels = val(res, row, "branch_labels");
	const char *depends = val(res, row, "depends_on");
	const char *owner = val(res, row, "owner");
	const char *registered = val(res, row, "registered_at");
	const char *checksum = val(res, row, "checksum");

	cli_out(job, "Rev: %s%s\nParent: %s\nChildren: %s\nBranch labels: %s\nDepends on: %s\n"
			"Transactional: %s\nApplied: %s\nOwner: %s\nRegistered: %s\nChecksum: %s\n\n    %s\n",
			rev, children[0] == '\0' ? " (head)" : "",
			parents[0] == '\0' ? "<base>" : parents, children, labels, depends,
			flag(res, row, "transactional") ? "yes" : "no",
			flag(res, row, "applied") ? "yes" : "no", owner, registered, checksum, message);
	if (opts.verbose && strcmp(opts.verb, "show") == 0)
	{
		const char *up = val(res, row, "upgrade_sql");
		const char *down = val(res, row, "downgrade_sql");

		cli_out(job, "-- +upgrade\n%s\n\n-- +downgrade\n%s\n", up,
				PQgetisnull(res, row, PQfnumber(res, "downgrade_sql")) ? "(irreversible)" : down);
	}
}

/* current, heads, show: plain lines, or revision blocks with --verbose */
static int
print_revisions(DbJob *job, const char *brief_sql, const char *show_sql,
				int nparams, const char *const *params)
{
	bool		blocks = opts.verbose || strcmp(opts.verb, "show") == 0;
	PGresult   *res = cli_exec(job, blocks ? show_sql : brief_sql, nparams, params);

	if (res == NULL)
		return EXIT_ERROR;
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (blocks)
			print_revision(job, res, i);
		else
		{
			const char *rev = val(res, i, "revision");
			const char *labels = val(res, i, "branch_labels");
			bool		head = strcmp(opts.verb, "heads") == 0 || flag(res, i, "is_head");

			cli_out(job, "%s%s%s%s%s", rev, labels[0] ? " (" : "", labels, labels[0] ? ")" : "",
					head ? " (head)" : "");
		}
	}
	if (PQntuples(res) == 0 && strcmp(opts.verb, "current") == 0 && !opts.quiet)
		cli_err(job, "(nothing applied: base)");
	PQclear(res);
	return EXIT_OK;
}

/* branches: each branch point and its children, as Alembic prints them */
static int
print_branches(DbJob *job)
{
	PGresult   *res = cli_exec(job, Q_BRANCHES, 0, NULL);
	const char *last = NULL;

	if (res == NULL)
		return EXIT_ERROR;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *rev = val(res, i, "revision");
		const char *child = val(res, i, "child");
		const char *msg = val(res, i, "child_message");

		if (last == NULL || strcmp(last, rev) != 0)
		{
			const char *bmsg = val(res, i, "message");

			cli_out(job, "%s (branchpoint), %s", rev, bmsg);
		}
		cli_out(job, "    -> %s, %s", child, msg);
		last = rev;
	}
	PQclear(res);
	return EXIT_OK;
}

/* history: Alembic's "parent -> rev (head) (current), message" lines */
static int
print_history(DbJob *job)
{
	const char *params[1] = {opts.range};
	PGresult   *res = cli_exec(job, Q_HISTORY, 1, params);

	if (res == NULL)
		return EXIT_ERROR;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *rev = val(res, i, "revision");
		const char *parents = val(res, i, "down_revision");
		const char *msg = val(res, i, "message");
		char		marks[80];

		snprintf(marks, sizeof(marks), "%s%s%s%s",
				 flag(res, i, "is_head") ? " (head)" : "",
				 flag(res, i, "is_current") ? " (current)" : "",
				 flag(res, i, "is_branch_point") ? " (branchpoint)" : "",
				 flag(res, i, "is_merge_point") ? " (mergepoint)" : "");
		if (opts.verbose)
			cli_out(job, "Rev: %s%s\nParent: %s\nApplied: %s\n\n    %s\n", rev, marks,
					parents[0] ? parents : "<base>", flag(res, i, "applied") ? "yes" : "no", msg);
		else
			cli_out(job, "%s -> %s%s, %s", parents[0] ? parents : "<base>", rev, marks, msg);
	}
	PQclear(res);
	return EXIT_OK;
}

/* plan: the steps an upgrade or downgrade to the target would take */
static int
print_plan(DbJob *job, const char *target)
{
	const char *params[1] = {target};
	PGresult   *res = cli_exec(job, Q_PLAN, 1, params);

	if (res == NULL)
		return EXIT_ERROR;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *op = val(res, i, "operation");
		const char *rev = val(res, i, "revision");
		const char *from = val(res, i, "from_revisions");
		const char *to = val(res, i, "to_revisions");
		const char *msg = val(res, i, "message");
		bool		down = strcmp(op, "downgrade") == 0;

		cli_out(job, "%d. %s %s -> %s, %s%s", i + 1, op,
				down ? rev : (from[0] ? from : "base"), down ? (to[0] ? to : "base") : rev,
				msg, flag(res, i, "transactional") ? "" : " (non-transactional)");
	}
	if (PQntuples(res) == 0 && !opts.quiet)
		cli_err(job, "Nothing to do.");
	PQclear(res);
	return EXIT_OK;
}

/* sql: the offline script, verbatim unless stdout is a terminal */
static int
print_sql(DbJob *job, const char *target)
{
	const char *params[1] = {target};
	PGresult   *res = cli_exec(job, Q_SQL, 1, params);

	if (res == NULL)
		return EXIT_ERROR;
	if (!opts.json)
	{
		cli_lock_output();
		if (isatty(STDOUT_FILENO))
		{
			char	   *clean = cli_sanitize(PQgetvalue(res, 0, 0), true);

			fputs(clean, stdout);
			free(clean);
		}
		else
			fputs(PQgetvalue(res, 0, 0), stdout);
		fflush(stdout);
		cli_unlock_output();
	}
	else
	{
		appendPQExpBufferStr(&job->json, ", \"script\": ");
		cli_json_string(&job->json, PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return EXIT_OK;
}

/*
 * lint: one line per finding, as a compiler prints one, and its hint; exit 1
 * when a finding has severity error.  target NULL: the pending revisions.
 */
static int
print_lint(DbJob *job, const char *target)
{
	const char *params[1] = {target};
	PGresult   *res = cli_exec(job, Q_LINT, 1, params);
	bool		errors = false;

	if (res == NULL)
		return EXIT_ERROR;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *rev = val(res, i, "revision");
		const char *stmt = val(res, i, "statement");
		const char *line = val(res, i, "line");
		const char *rule = val(res, i, "rule");
		const char *sev = val(res, i, "severity");
		const char *msg = val(res, i, "message");
		const char *hint = val(res, i, "hint");
		bool		error = strcmp(sev, "error") == 0;

		cli_out(job, "%s: statement %s, line %s: %s [%s] %s", rev, stmt, line,
				cli_paint(sev, error ? "1;31" : strcmp(sev, "warning") == 0 ? "33" : "36"),
				rule, msg);
		if (hint[0] && !opts.quiet)
			cli_out(job, "    hint: %s", hint);
		errors |= error;
	}
	if (PQntuples(res) == 0 && !opts.quiet)
		cli_out(job, "No findings.");
	PQclear(res);
	if (errors)
		job->error = strdup("lint found errors");
	return errors ? EXIT_ERROR : EXIT_OK;
}

/*
 * verify: one line per revision (ok, differs, failed, skipped, ...); exit 1
 * when a downgrade does not restore the schema or a step fails.
 */
static int
print_verify(DbJob *job, const char *target)
{
	const char *params[1] = {target};
	PGresult   *res = cli_exec(job, Q_VERIFY, 1, params);
	bool		bad = false;

	if (res == NULL)
		return EXIT_ERROR;
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *rev = val(res, i, "revision");
		const char *status = val(res, i, "status");
		const char *detail = val(res, i, "detail");
		const char *error = val(res, i, "error");
		bool		failed = strcmp(status, "differs") == 0 || strcmp(status, "failed") == 0;

		cli_out(job, "%s: %s%s%s%s%s", rev, cli_paint(status, failed ? "1;31" : "32"),
				detail[0] ? ": " : "", detail, error[0] ? ": " : "", error);
		bad |= failed;
	}
	if (PQntuples(res) == 0 && !opts.quiet)
		cli_out(job, "Nothing to verify: no pending revision.");
	PQclear(res);
	if (bad)
		job->error = strdup("verification found downgrades that do not undo their upgrades, or failing steps");
	return bad ? EXIT_ERROR : EXIT_OK;
}

/* validate and check: one line per problem; true when there is an error */
static bool
print_problems(DbJob *job, PGresult *res)
{
	bool		errors = false;

	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *sev = val(res, i, "severity");
		const char *problem = val(res, i, "problem");
		const char *rev = val(res, i, "revision");
		const char *detail = val(res, i, "detail");
		bool		error = strcmp(sev, "error") == 0;

		cli_out(job, "%s: %s%s%s: %s", cli_paint(sev, error ? "1;31" : "33"), problem,
				rev[0] ? " " : "", rev, detail);
		errors |= error;
	}
	return errors;
}

/* check: graph problems (exit 1), pending migrations (exit 3), or fine */
static int
run_check(DbJob *job)
{
	PGresult   *res = cli_exec(job, Q_PROBLEMS, 0, NULL);
	int			npending;

	if (res == NULL)
		return EXIT_ERROR;
	if (PQntuples(res) > 0)
	{
		print_problems(job, res);
		job->error = strdup("the revision graph or the applied state has problems");
		PQclear(res);
		if (opts.json)
			json_rows(job, "problems", Q_PROBLEMS, 0, NULL);
		return EXIT_ERROR;
	}
	PQclear(res);
	res = cli_exec(job, Q_PENDING, 0, NULL);
	if (res == NULL)
		return EXIT_ERROR;
	npending = PQntuples(res);
	if (opts.json)
		json_rows(job, "pending", Q_PENDING, 0, NULL);
	else if (npending > 0)
	{
		cli_out(job, "%d pending migration%s:", npending, npending == 1 ? "" : "s");
		for (int i = 0; i < npending; i++)
		{
			const char *rev = val(res, i, "revision");
			const char *msg = val(res, i, "message");

			cli_out(job, "  %s, %s", rev, msg);
		}
	}
	else
		cli_out(job, "No pending migrations: every head is applied and the graph is valid.");
	PQclear(res);
	if (npending > 0)
	{
		job->status = JOB_BEHIND;
		return EXIT_PENDING;
	}
	return EXIT_OK;
}

/*
 * Run one reading verb: sync the directory in a transaction, query, roll
 * back.  Returns the exit code.
 */
int
cli_inspect(DbJob *job, MigrationDir *md)
{
	const char *verb = opts.verb;
	const char *target = opts.nargs > 0 ? opts.args[0] : "head";
	int			rc = EXIT_ERROR;
	bool		ok = true;

	if (!cli_command(job, "BEGIN"))
		return EXIT_ERROR;
	if (job->create_extension && !cli_command(job, "CREATE EXTENSION ap_migrate"))
	{
		cli_err(job, "HINT:  ap_migrate is not installed in this database, and this role cannot install it.");
		cli_command(job, "ROLLBACK");
		return EXIT_ERROR;
	}
	if (md && !cli_sync(job, md))
	{
		cli_command(job, "ROLLBACK");
		return EXIT_ERROR;
	}

	if (opts.json && strcmp(verb, "check") != 0 && strcmp(verb, "sql") != 0)
	{
		const char *params[1] = {target};

		if (strcmp(verb, "current") == 0)
			ok = json_rows(job, "rows", opts.verbose ? Q_SHOW_CURRENT : Q_CURRENT, 0, NULL);
		else if (strcmp(verb, "heads") == 0)
			ok = json_rows(job, "rows", opts.verbose ? Q_SHOW_HEADS : Q_HEADS, 0, NULL);
		else if (strcmp(verb, "branches") == 0)
			ok = json_rows(job, "rows", Q_BRANCHES, 0, NULL);
		else if (strcmp(verb, "history") == 0)
		{
			params[0] = opts.range;
			ok = json_rows(job, "rows", Q_HISTORY, 1, params);
		}
		else if (strcmp(verb, "show") == 0)
			ok = json_rows(job, "rows", Q_SHOW, 1, params);
		else if (strcmp(verb, "plan") == 0)
			ok = json_rows(job, "rows", Q_PLAN, 1, params);
		else if (strcmp(verb, "lint") == 0)
		{
			params[0] = opts.nargs > 0 ? opts.args[0] : NULL;
			ok = json_rows(job, "rows", Q_LINT, 1, params);
		}
		else if (strcmp(verb, "verify") == 0)
		{
			params[0] = opts.nargs > 0 ? opts.args[0] : "heads";
			ok = json_rows(job, "rows", Q_VERIFY, 1, params);
		}
		else if (strcmp(verb, "validate") == 0)
		{
			PGresult   *res;

			ok = json_rows(job, "rows", Q_VALIDATE, 0, NULL);
			if (ok && (res = cli_exec(job, Q_PROBLEMS, 0, NULL)) != NULL)
			{
				if (PQntuples(res) > 0)
					ok = false;
				PQclear(res);
			}
		}
		rc = ok ? EXIT_OK : EXIT_ERROR;
	}
	else if (strcmp(verb, "current") == 0)
		rc = print_revisions(job, Q_CURRENT, Q_SHOW_CURRENT, 0, NULL);
	else if (strcmp(verb, "heads") == 0)
		rc = print_revisions(job, Q_HEADS, Q_SHOW_HEADS, 0, NULL);
	else if (strcmp(verb, "show") == 0)
	{
		const char *params[1] = {target};

		rc = print_revisions(job, Q_SHOW, Q_SHOW, 1, params);
	}
	else if (strcmp(verb, "branches") == 0)
		rc = print_branches(job);
	else if (strcmp(verb, "history") == 0)
		rc = print_history(job);
	else if (strcmp(verb, "plan") == 0)
		rc = print_plan(job, target);
	else if (strcmp(verb, "sql") == 0)
		rc = print_sql(job, target);
	else if (strcmp(verb, "lint") == 0)
		rc = print_lint(job, opts.nargs > 0 ? opts.args[0] : NULL);
	else if (strcmp(verb, "verify") == 0)
		rc = print_verify(job, opts.nargs > 0 ? opts.args[0] : "heads");
	else if (strcmp(verb, "validate") == 0)
	{
		PGresult   *res = cli_exec(job, Q_VALIDATE, 0, NULL);

		if (res != NULL)
		{
			bool		errors = print_problems(job, res);

			if (PQntuples(res) == 0 && !opts.quiet)
				cli_out(job, "No problems found.");
			rc = errors ? EXIT_ERROR : EXIT_OK;
			if (errors)
				job->error = strdup("validation found errors");
			PQclear(res);
		}
	}
	else if (strcmp(verb, "check") == 0)
		rc = run_check(job);

	cli_command(job, "ROLLBACK");
	if (rc == EXIT_OK)
		job->status = JOB_OK;
	else if (rc == EXIT_ERROR)
		job->status = cli_interrupted() ? JOB_INTERRUPTED : JOB_FAILED;
	return rc;
}
