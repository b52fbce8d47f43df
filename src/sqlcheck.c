/*-------------------------------------------------------------------------
 *
 * sqlcheck.c
 *	  Checks of migration SQL with the server's own parser.
 *
 * Registration parses every upgrade and downgrade body with raw_parser(),
 * so a syntax error, a psql meta-command, transaction control, COPY to or
 * from the client, or a statement that cannot run inside a transaction
 * block is refused when the revision is registered rather than when it is
 * deployed.  Only the raw grammar is used: no catalog lookup happens, so a
 * body may refer to objects that earlier revisions create.
 *
 * The same parse splits a body into statements at execution time, so that
 * an error can name the statement that failed.
 *
 * Transaction control that real migration files contain keeps the meaning
 * its tool gives it (apm_sql_roles):
 *
 *	 - a whole-body wrapper, BEGIN (or START TRANSACTION) first and COMMIT
 *	   (or END) last, as golang-migrate files often have, is the atomic step
 *	   ap_migrate makes anyway: both statements are skipped.  So is a lone
 *	   COMMIT at the end (in psql's autocommit it does nothing);
 *	 - COMMIT AND CHAIN in the middle of a body, or COMMIT directly followed
 *	   by BEGIN, is a commit point: the statements before it are committed
 *	   before the ones after it run, as a tool that splits a long data
 *	   migration means it.  Only CALL ap_migrate_run(), which commits, can
 *	   run such a revision; a function call refuses it, since everything it
 *	   does is one transaction;
 *	 - anything else (ROLLBACK, SAVEPOINT, PREPARE TRANSACTION, BEGIN with
 *	   options, BEGIN without a COMMIT at the end) cannot keep its meaning
 *	   and is refused, as is any transaction control in a non-transactional
 *	   revision, whose statements each run in a transaction of their own.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/sqlcheck.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/memutils.h"

#include "ap_migrate.h"
#include "compat.h"

/* what the error context callback of a check needs */
typedef struct CheckContext
{
	const char *sql;
	const char *revision;
	const char *section;
} CheckContext;

/*
 * Name the body being checked, and turn a syntax error position in it into
 * an internal query position, so the client shows the migration SQL rather
 * than the ap_migrate_add() call around it (as SPI does for its queries).
 */
static void
check_error_callback(void *arg)
{
	CheckContext *ctx = (CheckContext *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(ctx->sql);
	}
	errcontext("%s SQL of revision \"%s\"", ctx->section, ctx->revision);
}

/*
 * Is the syntax error at byte offset pos of sql a backslash: a psql
 * meta-command such as \i, \set or \gset that a migration file carried
 * over?  (Outside literals the server's grammar has no use for one.)
 */
static bool
meta_command_at(const char *sql, int pos)
{
	return pos >= 0 && sql[pos] == '\\';
}

/*
 * raw_parser() with the lexing every body is checked and run with:
 * standard_conforming_strings on, whatever the session says (stepenv.c).
 * The scanner reads the setting when it starts, so the variable is set
 * around the call, not through the GUC machinery.
 */
static List *
parse_fixed(const char *sql)
{
	bool		save = standard_conforming_strings;
	List	   *stmts;

	standard_conforming_strings = true;
	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_FINALLY();
	{
		standard_conforming_strings = save;
	}
	PG_END_TRY();
	return stmts;
}

/*
 * Parse sql, re-raising a syntax error with a hint when it is a psql
 * meta-command.
 */
static List *
parse_sql(const char *sql)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *stmts = NIL;

	PG_TRY();
	{
		stmts = parse_fixed(sql);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* raw_parser holds no resources; it is safe to replace its error */
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* the context callback has already made the position internal */
		if (meta_command_at(sql, edata->internalpos - 1))
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("psql meta-commands are not allowed in migration SQL"),
					 errposition(edata->internalpos),
					 errhint("Commands starting with a backslash are interpreted by psql, not by the server.")));
		ReThrowError(edata);
	}
	PG_END_TRY();

	return stmts;
}

/*
 * Is this statement transaction control?  SET TRANSACTION [SNAPSHOT] counts:
 * it must come first in a transaction, which a step is not.
 */
static bool
is_transaction_control(Node *stmt)
{
	if (IsA(stmt, TransactionStmt))
		return true;
	if (IsA(stmt, VariableSetStmt))
	{
		VariableSetStmt *set = (VariableSetStmt *) stmt;

		return set->kind == VAR_SET_MULTI &&
			(strcmp(set->name, "TRANSACTION") == 0 ||
			 strcmp(set->name, "TRANSACTION SNAPSHOT") == 0);
	}
	return false;
}

/* Is this BEGIN or START TRANSACTION without options? */
static bool
is_plain_begin(Node *stmt)
{
	TransactionStmt *ts = (TransactionStmt *) stmt;

	return IsA(stmt, TransactionStmt) &&
		(ts->kind == TRANS_STMT_BEGIN || ts->kind == TRANS_STMT_START) &&
		ts->options == NIL;
}

/* Is this COMMIT (or END), with AND CHAIN when chain? */
static bool
is_commit(Node *stmt, bool chain)
{
	TransactionStmt *ts = (TransactionStmt *) stmt;

	return IsA(stmt, TransactionStmt) && ts->kind == TRANS_STMT_COMMIT &&
		ts->chain == chain;
}

/*
 * apm_sql_roles tells what each statement of a body (apm_sql_split) is to
 * ap_migrate: run, skipped (a wrapper's BEGIN and COMMIT), a commit point,
 * or refused transaction control (see the file header).  *commit_points is
 * set to the number of commit points.
 */
ApmStmtRole *
apm_sql_roles(List *stmts, int *commit_points)
{
	int			n = list_length(stmts);
	ApmStmtRole *roles = palloc(sizeof(ApmStmtRole) * Max(n, 1));
	Node	  **nodes = palloc(sizeof(Node *) * Max(n, 1));
	bool		wrapped;
	int			i;

	*commit_points = 0;
	for (i = 0; i < n; i++)
	{
		nodes[i] = list_nth_node(RawStmt, stmts, i)->stmt;
		roles[i] = is_transaction_control(nodes[i]) ? APM_STMT_REFUSED : APM_STMT_RUN;
	}
	if (n == 0)
		return roles;

	/* a wrapper, or a lone COMMIT at the end */
	wrapped = n >= 2 && is_plain_begin(nodes[0]) &&
		(is_commit(nodes[n - 1], false) || is_commit(nodes[n - 1], true));
	if (wrapped)
		roles[0] = APM_STMT_SKIP;
	if (is_commit(nodes[n - 1], false) || (wrapped && is_commit(nodes[n - 1], true)))
		roles[n - 1] = APM_STMT_SKIP;

	/* commit points between the statements that run */
	for (i = wrapped ? 1 : 0; i < n - 1; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (is_commit(nodes[i], true))
		{
			roles[i] = APM_STMT_COMMIT_POINT;
			(*commit_points)++;
		}
		else if (is_commit(nodes[i], false) && is_plain_begin(nodes[i + 1]))
		{
			roles[i] = APM_STMT_COMMIT_POINT;
			roles[i + 1] = APM_STMT_SKIP;
			(*commit_points)++;
			i++;
		}
	}
	pfree(nodes);
	return roles;
}

/*
 * The setting a SET, SET LOCAL or RESET statement changes that a step must
 * keep (stepenv.c): the role it runs as, or the lexing of the statements
 * after it.  NULL for any other statement.
 */
static const char *
pinned_setting(Node *stmt)
{
	VariableSetStmt *set;

	if (!IsA(stmt, VariableSetStmt))
		return NULL;
	set = (VariableSetStmt *) stmt;
	if (set->name == NULL)
		return NULL;
	if (strcmp(set->name, "role") == 0 ||
		strcmp(set->name, "session_authorization") == 0 ||
		strcmp(set->name, "standard_conforming_strings") == 0)
		return set->name;
	return NULL;
}

/* Does a list of DefElem options contain the named one? */
static bool
has_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		if (strcmp(((DefElem *) lfirst(lc))->defname, name) == 0)
			return true;
	}
	return false;
}

/*
 * Is this a statement the server refuses to run inside a transaction block
 * (PreventInTransactionBlock)?  Such statements need a revision flagged
 * transactional = false.  Subscription commands depend on their options
 * and are left to the server.
 */
static bool
needs_top_level(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd;
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent;
		case T_ReindexStmt:
			{
				ReindexStmt *reindex = (ReindexStmt *) stmt;

				return reindex->kind == REINDEX_OBJECT_SCHEMA ||
					reindex->kind == REINDEX_OBJECT_SYSTEM ||
					reindex->kind == REINDEX_OBJECT_DATABASE ||
					has_option(apm_reindex_params(reindex), "concurrently");
			}
		case T_ClusterStmt:
			return ((ClusterStmt *) stmt)->relation == NULL;
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterTableStmt *) stmt)->cmds)
				{
					AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

					if (cmd->subtype == AT_DetachPartition &&
						apm_detach_concurrently((PartitionCmd *) cmd->def))
						return true;
				}
				return false;
			}
		case T_AlterDatabaseStmt:
			return has_option(((AlterDatabaseStmt *) stmt)->options, "tablespace");
		case T_DiscardStmt:
			return ((DiscardStmt *) stmt)->target == DISCARD_ALL;
		case T_CreatedbStmt:
		case T_DropdbStmt:
		case T_CreateTableSpaceStmt:
		case T_DropTableSpaceStmt:
		case T_AlterSystemStmt:
			return true;
		default:
			return false;
	}
}

/* Is this COPY from or to the client, which SPI cannot serve? */
static bool
is_client_copy(Node *stmt)
{
	CopyStmt   *copy;

	if (!IsA(stmt, CopyStmt))
		return false;
	copy = (CopyStmt *) stmt;
	return copy->filename == NULL && !copy->is_program;
}

/*
 * apm_sql_check refuses migration SQL that cannot run inside an ap_migrate
 * step.  transactional is the revision's flag: statements that need to run
 * at top level are accepted only when it is false.  Empty and comment-only
 * SQL is accepted: it runs nothing (merge revisions often have no SQL).
 */
void
apm_sql_check(const char *sql, const char *revision, const char *section,
			  bool transactional)
{
	ErrorContextCallback errcallback;
	CheckContext ctx;
	List	   *stmts;
	ApmStmtRole *roles;
	int			commit_points;
	ListCell   *lc;
	int			stmtno = 0;

	ctx.sql = sql;
	ctx.revision = revision;
	ctx.section = section;
	errcallback.callback = check_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	stmts = parse_sql(sql);
	roles = apm_sql_roles(stmts, &commit_points);

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		Node	   *stmt = raw->stmt;

		/* point at the statement's first token, not at what precedes it */
		int			pos = apm_sql_skip_blank(sql, raw->stmt_location) + 1;

		stmtno++;

		if (roles[stmtno - 1] == APM_STMT_REFUSED ||
			(!transactional && is_transaction_control(stmt)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
					 errmsg("transaction control statements are not allowed in migration SQL"),
					 errdetail("Statement %d is %s.", stmtno,
							   GetCommandTagName(CreateCommandTag(stmt))),
					 transactional ?
					 errhint("A transactional revision may be wrapped in BEGIN ... COMMIT and split by COMMIT AND CHAIN (run by CALL ap_migrate_run()); other transaction control cannot keep its meaning in a step.") :
					 errhint("Each statement of a non-transactional revision runs in a transaction of its own; register it as transactional to use BEGIN, COMMIT or COMMIT AND CHAIN."),
					 errposition(pos)));
		if (pinned_setting(stmt) != NULL)
			ereport(ERROR,
					(errcode(strcmp(pinned_setting(stmt), "standard_conforming_strings") == 0 ?
							 ERRCODE_FEATURE_NOT_SUPPORTED : ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("migration SQL must not change %s",
							strcmp(pinned_setting(stmt), "standard_conforming_strings") == 0 ?
							"standard_conforming_strings" : "the role it runs as"),
					 errdetail("Statement %d is %s.  A step runs with exactly the rights of its revision's owner, and every statement is lexed with standard_conforming_strings on.",
							   stmtno, GetCommandTagName(CreateCommandTag(stmt))),
					 errposition(pos)));
		if (is_client_copy(stmt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("COPY from stdin or to stdout is not allowed in migration SQL"),
					 errdetail("Statement %d copies from or to the client.", stmtno),
					 errhint("Use INSERT statements, or COPY from a server-side file."),
					 errposition(pos)));
		if (transactional && needs_top_level(stmt))
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("%s cannot run inside a transaction block",
							GetCommandTagName(CreateCommandTag(stmt))),
					 errdetail("Statement %d of a transactional revision needs to run at top level.",
							   stmtno),
					 errhint("Register the revision with transactional => false."),
					 errposition(pos)));
	}

	error_context_stack = errcallback.previous;
}

/*
 * apm_sql_split parses sql into statements and returns them as a list of
 * RawStmt, whose stmt_location and stmt_len delimit each statement's text
 * (stmt_len 0 = to the end).
 */
List *
apm_sql_split(const char *sql)
{
	return parse_fixed(sql);
}

/*
 * apm_sql_stmt_end returns the offset just past raw's text in sql: the
 * parser gives no length for the last statement, which runs to the end.
 */
int
apm_sql_stmt_end(const char *sql, const RawStmt *raw)
{
	if (raw->stmt_len > 0)
		return raw->stmt_location + raw->stmt_len;
	return (int) strlen(sql);
}

/*
 * apm_sql_skip_blank returns the offset of the first character at or after
 * offset that is neither white space nor part of a comment ("--" to the
 * end of the line, or a block comment, which nests in SQL).  RawStmt
 * locations start right after the previous semicolon, so this finds where
 * a statement really begins.
 */
int
apm_sql_skip_blank(const char *sql, int offset)
{
	for (;;)
	{
		char		c = sql[offset];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
			offset++;
		else if (c == '-' && sql[offset + 1] == '-')
		{
			while (sql[offset] != '\0' && sql[offset] != '\n')
				offset++;
		}
		else if (c == '/' && sql[offset + 1] == '*')
		{
			int			depth = 1;

			offset += 2;
			while (sql[offset] != '\0' && depth > 0)
			{
				if (sql[offset] == '/' && sql[offset + 1] == '*')
				{
					depth++;
					offset += 2;
				}
				else if (sql[offset] == '*' && sql[offset + 1] == '/')
				{
					depth--;
					offset += 2;
				}
				else
					offset++;
			}
		}
		else
			return offset;
	}
}

/*
 * apm_sql_line_of returns the 1-based line of byte offset in sql.
 */
int
apm_sql_line_of(const char *sql, int offset)
{
	int			line = 1;
	int			i;

	for (i = 0; i < offset && sql[i] != '\0'; i++)
		if (sql[i] == '\n')
			line++;
	return line;
}
