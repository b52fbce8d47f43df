/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  The verbs that change the database: upgrade, downgrade, stamp.
 *
 * upgrade and downgrade run the procedures by default (CALL ap_migrate_run,
 * CALL ap_migrate_run_downgrade): one commit per revision, so a long
 * deploy keeps what it finished when a later step fails or is canceled,
 * and revisions flagged non-transactional can run at all.  With
 * --single-transaction they call ap_migrate_upgrade() and
 * ap_migrate_downgrade() instead, in the same transaction as the directory
 * sync: all or nothing.  In procedure mode the sync is committed just
 * before the CALL, since a CALL that commits cannot run inside a
 * transaction block.
 *
 * Progress comes from the server's NOTICEs, one per step ("running upgrade
 * A -> B, message"); a step's duration is the time to the next step's
 * NOTICE or to the end of the call.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/apply.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/*
 * The database's current revisions, comma-separated (malloc'd; NULL on
 * error).  Not through cli_exec: after Ctrl-C this is the question still
 * worth asking, and it is quick.
 */
static char *
current_revisions(DbJob *job)
{
	PGresult   *res = PQexec(job->conn,
							 "SELECT pg_catalog.string_agg(revision, ',') FROM pg_catalog.ap_migrate_current()");
	char	   *cur = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		cur = strdup(PQgetisnull(res, 0, 0) ? "base" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return cur;
}

/*
 * After a failed or canceled call, say what the database holds now: in
 * function mode nothing of the call (it rolled back), in procedure mode the
 * steps committed before the failure.
 */
static void
report_partial(DbJob *job, bool procedure)
{
	char	   *cur;

	if (!procedure)
	{
		if (!opts.json)
			cli_err(job, "Nothing was applied: the transaction was rolled back.");
		return;
	}
	/* a canceled connection is still usable; read the state it left */
	cur = current_revisions(job);
	if (!opts.json)
		cli_err(job, "%d step%s committed before the %s; current revision%s: %s",
				job->steps, job->steps == 1 ? " was" : "s were",
				cli_interrupted() ? "cancel" : "error",
				cur && strchr(cur, ',') ? "s" : "", cur ? cur : "(unknown)");
	free(job->current);
	job->current = cur;
}

/*
 * Run upgrade, downgrade or stamp on the job's connection, after syncing
 * md into the database.  Returns the exit code.
 */
int
cli_apply(DbJob *job, MigrationDir *md)
{
	const char *verb = opts.verb;
	bool		stamp = strcmp(verb, "stamp") == 0;
	bool		downgrade = strcmp(verb, "downgrade") == 0;
	bool		procedure = !stamp && !opts.single_transaction;
	const char *target;
	const char *sql;
	const char *params[1];
	PGresult   *res;
	double		started = cli_now();

	if (opts.nargs > 0)
		target = opts.args[0];
	else
		target = "head";		/* only upgrade gets here without one */
	params[0] = target;

	if (!cli_command(job, "BEGIN"))
		return EXIT_ERROR;
	if (md && !cli_sync(job, md))
	{
		cli_command(job, "ROLLBACK");
		return EXIT_ERROR;
	}
	if (procedure)
	{
		/* the sync commits now: CALL must run outside a transaction block */
		if (!cli_command(job, "COMMIT"))
			return EXIT_ERROR;
		sql = downgrade ? "CALL pg_catalog.ap_migrate_run_downgrade($1)"
			: "CALL pg_catalog.ap_migrate_run($1)";
	}
	else if (stamp)
		sql = "SELECT pg_catalog.ap_migrate_stamp($1)";
	else
		sql = downgrade ? "SELECT pg_catalog.ap_migrate_downgrade($1)"
			: "SELECT pg_catalog.ap_migrate_upgrade($1)";

	res = cli_exec(job, sql, 1, params);
	if (res == NULL)
	{
		cli_step_finish(job, true);
		if (!procedure)
			cli_command(job, "ROLLBACK");
		job->status = cli_interrupted() ? JOB_INTERRUPTED : JOB_FAILED;
		if (!procedure)
			job->steps = 0;
		report_partial(job, procedure);
		return EXIT_ERROR;
	}
	cli_step_finish(job, false);
	if (!procedure)
	{
		free(job->current);
		job->current = strdup(PQgetisnull(res, 0, 0) ? "base" : PQgetvalue(res, 0, 0));
		PQclear(res);
		if (!cli_command(job, "COMMIT"))
		{
			job->steps = 0;
			return EXIT_ERROR;
		}
	}
	else
	{
		PQclear(res);
		free(job->current);
		job->current = current_revisions(job);
	}
	job->seconds = cli_now() - started;
	if (!opts.quiet && !opts.json)
	{
		char	   *cur = cli_sanitize(job->current ? job->current : "base", false);

		if (stamp)
			cli_err(job, "Stamped %s; current revision: %s", target, cur);
		else if (job->steps == 0)
			cli_err(job, "Nothing to do; current revision: %s", cur);
		else
			cli_err(job, "%s %d step%s in %.2f s (%s); current revision: %s",
					downgrade ? "Downgraded" : "Upgraded", job->steps,
					job->steps == 1 ? "" : "s", job->seconds,
					procedure ? "one commit per step" : "one transaction", cur);
		free(cur);
	}
	job->status = JOB_OK;
	return EXIT_OK;
}
