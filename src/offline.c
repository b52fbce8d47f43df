/*-------------------------------------------------------------------------
 *
 * offline.c
 *	  Offline mode: the SQL script an upgrade or downgrade would run, for a
 *	  DBA to review and run with psql, like "alembic upgrade --sql".
 *
 * The script does exactly what ap_migrate_upgrade()/ap_migrate_downgrade()
 * would do from the state it was generated in:
 *
 *	 \set ON_ERROR_STOP on
 *	 BEGIN;
 *	 -- running upgrade A -> B, message
 *	 SELECT pg_catalog.ap_migrate_expect('upgrade', 'B', '<checksum>');
 *	 SELECT 'SET standard_conforming_strings = on', $apm_1$<statement>$apm_1$ \gexec
 *	 ...
 *	 SELECT pg_catalog.ap_migrate_mark('upgrade', 'B', '<checksum>');
 *	 ...
 *	 COMMIT;
 *
 * ap_migrate_expect() takes the ap_migrate lock and refuses, before any
 * statement of the step runs, when the state or the revision is not what
 * the script expects; ap_migrate_mark() then does the step's bookkeeping
 * through the extension (the tables accept no direct writes).  So a script
 * run twice, run on another database or run after the revision changed
 * stops at the first step, non-transactional steps included.
 *
 * The script's structure must not depend on what the bodies contain.  psql
 * lexes a script with the server's standard_conforming_strings as reported
 * after each statement, so a body that turned it off could make psql read a
 * line the server saw inside a string literal as a meta-command (\! runs a
 * shell).  No body is therefore ever lexed by psql: each statement is a
 * dollar-quoted literal (a tag the statement does not contain; dollar
 * quoting does not depend on standard_conforming_strings, and psql neither
 * interpolates variables nor looks for backslash commands inside it) that
 * \gexec sends to the server as a query of its own, preceded by the lexing
 * setting every body was checked with.  Everything else printed (ids,
 * parents, messages, the target) goes through comment_text or
 * quote_literal_cstr.  Revisions flagged transactional = false are written
 * outside the transaction, each statement on its own, as they have to run.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/offline.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "ap_migrate.h"
#include "compat.h"

/*
 * A copy of text fit for one comment line: control characters (which
 * registration refuses in messages, but a catalog edited by hand may hold)
 * become spaces, so nothing can end the comment and run.
 */
static char *
comment_text(const char *text)
{
	char	   *copy = pstrdup(text);
	unsigned char *p;

	for (p = (unsigned char *) copy; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return copy;
}

/*
 * Append one statement of migration SQL as a query \gexec runs: the
 * statement as a dollar-quoted literal whose tag it does not contain, after
 * the lexing setting it was checked with (see the file header).
 */
static void
append_statement(StringInfo buf, const char *text, int len)
{
	char	   *stmt = pnstrdup(text, len);
	char		tag[32];
	int			n = 1;

	do
	{
		CHECK_FOR_INTERRUPTS();
		snprintf(tag, sizeof(tag), "$apm_%d$", n++);
	} while (strstr(stmt, tag) != NULL);
	appendStringInfo(buf, "SELECT 'SET standard_conforming_strings = on', %s%s%s \\gexec\n",
					 tag, stmt, tag);
}

/*
 * Append the SQL of a step, statement by statement: a wrapper's BEGIN and
 * COMMIT left out, a commit point (sqlcheck.c) written as COMMIT and BEGIN.
 */
static void
append_sql(StringInfo buf, const char *sql)
{
	List	   *stmts = apm_sql_split(sql);
	int			commit_points;
	ApmStmtRole *roles = apm_sql_roles(stmts, &commit_points);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		int			start = apm_sql_skip_blank(sql, raw->stmt_location);
		int			end = apm_sql_stmt_end(sql, raw);

		switch (roles[foreach_current_index(lc)])
		{
			case APM_STMT_SKIP:
				break;
			case APM_STMT_COMMIT_POINT:
				appendStringInfoString(buf, "COMMIT;\nBEGIN;\n");
				break;
			default:
				append_statement(buf, sql + start, end - start);
				break;
		}
	}
}

/* Ids joined with ", " for a comment line, each cleaned, or "base" */
static char *
comment_ids(List *ids)
{
	List	   *clean = NIL;
	ListCell   *lc;

	if (ids == NIL)
		return "base";
	foreach(lc, ids)
		clean = lappend(clean, comment_text(lfirst(lc)));
	return apm_join_strings(clean, ", ");
}

/* A call of an offline-step function: operation, revision, checksum */
static void
append_step_call(StringInfo buf, const char *function, bool upgrade,
				 const char *revision, const char *checksum)
{
	appendStringInfo(buf, "SELECT pg_catalog.%s(%s, %s, %s);\n", function,
					 quote_literal_cstr(upgrade ? "upgrade" : "downgrade"),
					 quote_literal_cstr(revision), quote_literal_cstr(checksum));
}

/*
 * apm_offline_script renders the plan as a psql script.  graph and plan
 * come from the caller (connected to SPI); target is shown in the header.
 */
char *
apm_offline_script(const ApmGraph *graph, const ApmPlan *plan,
				   const char *target)
{
	StringInfoData buf;
	bool		upgrade = plan->operation == APM_UPGRADE;
	bool		in_transaction = false;
	List	   *current = apm_graph_current(graph);
	char	  **ids = palloc(sizeof(char *) * Max(plan->nsteps, 1));
	char	  **checksums = palloc(sizeof(char *) * Max(plan->nsteps, 1));
	ApmRevisionDef **defs;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "-- ap_migrate offline %s to \"%s\" from %s: %d step(s)\n",
					 upgrade ? "upgrade" : "downgrade", comment_text(target),
					 comment_ids(apm_graph_ids(graph, current)), plan->nsteps);
	appendStringInfoString(&buf, "-- Run it with: psql -v ON_ERROR_STOP=1 -f <this file>\n");
	appendStringInfoString(&buf, "\\set ON_ERROR_STOP on\n");

	/* the script holds every body anyway: read them all in one query */
	for (i = 0; i < plan->nsteps; i++)
		ids[i] = graph->nodes[plan->steps[i]].id;
	defs = apm_catalog_fetch_steps(ids, plan->nsteps, checksums);

	for (i = 0; i < plan->nsteps; i++)
	{
		const ApmNode *node = &graph->nodes[plan->steps[i]];
		const char *checksum = checksums[i];
		ApmRevisionDef *def = defs[i];
		List	   *parents = NIL;
		List	   *self = list_make1(node->id);
		int			j;

		CHECK_FOR_INTERRUPTS();
		for (j = 0; j < node->nparents; j++)
			parents = lappend(parents, node->parent_ids[j]);

		/* transactional steps share one transaction, as in the function */
		if (def->transactional && !in_transaction)
		{
			appendStringInfoString(&buf, "\nBEGIN;\n");
			in_transaction = true;
		}
		else if (!def->transactional && in_transaction)
		{
			appendStringInfoString(&buf, "COMMIT;\n");
			in_transaction = false;
		}

		appendStringInfo(&buf, "\n-- running %s %s -> %s%s%s\n",
						 upgrade ? "upgrade" : "downgrade",
						 comment_ids(upgrade ? parents : self),
						 comment_ids(upgrade ? self : parents),
						 def->message[0] ? ", " : "", comment_text(def->message));
		if (!def->transactional)
			appendStringInfoString(&buf, "-- (not transactional: each statement runs on its own)\n");
		append_step_call(&buf, "ap_migrate_expect", upgrade, node->id, checksum);
		append_sql(&buf, upgrade ? def->upgrade_sql : def->downgrade_sql);
		append_step_call(&buf, "ap_migrate_mark", upgrade, node->id, checksum);
	}
	if (in_transaction)
		appendStringInfoString(&buf, "\nCOMMIT;\n");
	return buf.data;
}
