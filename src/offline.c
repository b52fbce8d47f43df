/*-------------------------------------------------------------------------
 *
 * offline.c
 *	  Offline mode: the SQL script an upgrade or downgrade would run, for a
 *	  DBA to review and run with psql, like "alembic upgrade --sql".
 *
 * The script does exactly what ap_migrate_upgrade()/ap_migrate_downgrade()
 * would do from the state it was generated in:
 *
 *	 BEGIN;
 *	 SELECT pg_catalog.pg_advisory_xact_lock(1634758247, 1);
 *	 -- running upgrade A -> B, message
 *	 <the revision's SQL, statement by statement>
 *	 SELECT pg_catalog.ap_migrate_mark('upgrade', 'B', '<checksum>');
 *	 ...
 *	 COMMIT;
 *
 * ap_migrate_mark() does each step's bookkeeping through the extension
 * (the tables accept no direct writes) and refuses when the state or the
 * revision is not what the script expects, so a script run twice, run on
 * another database or run after the revision changed stops at the first
 * step and rolls back.  Revisions flagged transactional = false are
 * written outside the transaction, each statement on its own, as they
 * have to run.
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

/* Append one statement of migration SQL, terminated so psql runs it */
static void
append_statement(StringInfo buf, const char *text, int len)
{
	const char *last_line;
	char	   *stmt = pnstrdup(text, len);
	int			end = strlen(stmt);

	while (end > 0 && (stmt[end - 1] == ' ' || stmt[end - 1] == '\t' ||
					   stmt[end - 1] == '\n' || stmt[end - 1] == '\r'))
		end--;
	stmt[end] = '\0';
	appendStringInfoString(buf, stmt);

	/* a statement may end in a line comment: put the semicolon after it */
	last_line = strrchr(stmt, '\n');
	if (strstr(last_line ? last_line : stmt, "--") != NULL)
		appendStringInfoString(buf, "\n;\n");
	else
		appendStringInfoString(buf, ";\n");
}

/* Append the SQL of a step, statement by statement */
static void
append_sql(StringInfo buf, const char *sql)
{
	List	   *stmts = apm_sql_split(sql);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		int			start = apm_sql_skip_blank(sql, raw->stmt_location);
		int			end = raw->stmt_len > 0 ? raw->stmt_location + raw->stmt_len :
			(int) strlen(sql);

		append_statement(buf, sql + start, end - start);
	}
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
					 current != NIL ? apm_graph_join_ids(graph, current, ", ") : "base",
					 plan->nsteps);
	appendStringInfoString(&buf, "-- Run it with: psql -v ON_ERROR_STOP=1 -f <this file>\n");

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
		int			j;

		for (j = 0; j < node->nparents; j++)
			parents = lappend(parents, node->parent_ids[j]);

		/* transactional steps share one transaction, as in the function */
		if (def->transactional && !in_transaction)
		{
			appendStringInfoString(&buf, "\nBEGIN;\n");
			appendStringInfo(&buf, "SELECT pg_catalog.pg_advisory_xact_lock(%d, %d);\n",
							 APM_LOCK_KEY1, APM_LOCK_KEY2);
			in_transaction = true;
		}
		else if (!def->transactional && in_transaction)
		{
			appendStringInfoString(&buf, "COMMIT;\n");
			in_transaction = false;
		}

		appendStringInfo(&buf, "\n-- running %s %s -> %s%s%s\n",
						 upgrade ? "upgrade" : "downgrade",
						 upgrade ? (parents ? apm_join_strings(parents, ", ") : "base") : node->id,
						 upgrade ? node->id : (parents ? apm_join_strings(parents, ", ") : "base"),
						 def->message[0] ? ", " : "", comment_text(def->message));
		if (!def->transactional)
			appendStringInfoString(&buf, "-- (not transactional: each statement runs on its own)\n");
		append_sql(&buf, upgrade ? def->upgrade_sql : def->downgrade_sql);
		appendStringInfo(&buf, "SELECT pg_catalog.ap_migrate_mark(%s, %s, %s);\n",
						 quote_literal_cstr(upgrade ? "upgrade" : "downgrade"),
						 quote_literal_cstr(node->id), quote_literal_cstr(checksum));
	}
	if (in_transaction)
		appendStringInfoString(&buf, "\nCOMMIT;\n");
	return buf.data;
}
