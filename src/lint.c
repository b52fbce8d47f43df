/*-------------------------------------------------------------------------
 *
 * lint.c
 *	  Lock-aware lint of migration SQL: rules over the server's parse tree
 *	  and the live catalog.
 *
 * Each statement of a revision's upgrade SQL is parsed with raw_parser()
 * and looked at together with what the catalog says about the relations it
 * names: whether they exist, how big they are now, which constraints they
 * have.  That is what a text linter cannot know: "CREATE INDEX without
 * CONCURRENTLY" matters on a 40 GB table and not on one created two
 * statements earlier.  Rules about existing data therefore exempt any
 * relation the same revision created earlier, and any relation that does
 * not exist yet or has no data.
 *
 * Every finding carries a stable rule code (the table below, documented
 * one row per code in docs/analysis.md).  Rules can be switched off with
 * ap_migrate.lint_disable (comma-separated codes), per revision with a
 * line "-- ap_migrate:lint-disable code, code" anywhere in its upgrade
 * SQL, and findings below ap_migrate.lint_min_severity are dropped.
 *
 * Only the catalog is read: no user code runs, nothing is locked beyond a
 * momentary conditional ACCESS SHARE to read a relation's size (a relation
 * whose lock is not free is sized from pg_class instead).  Names resolve
 * with the search_path the revision was registered with, as its SQL will.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/lint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/tablecmds.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ap_migrate.h"
#include "compat.h"

/* The rules: stable codes, default severity and the safe rewrite */
typedef struct LintRule
{
	const char *code;
	ApmLintSeverity severity;
	const char *hint;
} LintRule;

enum
{
	R_LOCK_LEVEL,
	R_INDEX_CONCURRENTLY,
	R_ADD_COLUMN_NOT_NULL,
	R_SET_NOT_NULL,
	R_CONSTRAINT_NOT_VALID,
	R_TYPE_REWRITE,
	R_RENAME,
	R_DROP_COLUMN,
	R_DROP_TABLE,
	R_VOLATILE_DEFAULT,
	R_LOCK_TIMEOUT,
	R_CONCURRENTLY_IN_TX,
	R_ENUM_VALUE_USED,
	NUM_RULES
};

static const LintRule rules[NUM_RULES] = {
	{"lock-level", APM_LINT_INFO,
	"The lock is held until the step commits; readers and writers queue behind it."},
	{"index-without-concurrently", APM_LINT_WARNING,
	"Use CREATE INDEX CONCURRENTLY in a revision registered with transactional => false."},
	{"add-column-not-null", APM_LINT_ERROR,
	"Add the column with a constant DEFAULT, or add it nullable, backfill it, then add NOT NULL."},
	{"set-not-null", APM_LINT_WARNING,
	"Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later step, then SET NOT NULL (no scan)."},
	{"constraint-without-not-valid", APM_LINT_WARNING,
	"Add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later step (SHARE UPDATE EXCLUSIVE only)."},
	{"column-type-rewrite", APM_LINT_WARNING,
	"Add a new column of the new type, backfill it in batches, and switch readers over."},
	{"rename-in-use", APM_LINT_WARNING,
	"Running application code still uses the old name: add the new name (view or column) first and drop the old one after the deploy."},
	{"drop-column", APM_LINT_WARNING,
	"Stop reading and writing the column in a deploy before the one that drops it."},
	{"drop-table", APM_LINT_WARNING,
	"Stop using the table in a deploy before the one that drops it; keep a backup."},
	{"volatile-default", APM_LINT_WARNING,
	"Add the column without a default (or with a constant one), then backfill in batches and SET DEFAULT."},
	{"missing-lock-timeout", APM_LINT_WARNING,
	"Set ap_migrate.lock_timeout, or SET lock_timeout at the top of the revision, so the step gives up instead of blocking all traffic."},
	{"concurrently-in-transaction", APM_LINT_ERROR,
	"Register the revision with transactional => false, with the concurrent statement alone in it."},
	{"enum-value-used", APM_LINT_ERROR,
	"Use the new enum value in a later revision: a value added in a transaction cannot be used before it commits."},
};

static const char *const severity_names[] = {"info", "warning", "error"};

/* The state of the lint of one revision */
typedef struct LintState
{
	const char *revision;
	const char *sql;
	bool		transactional;
	bool		disabled[NUM_RULES];
	ApmLintSeverity min_severity;
	List	   *rows;			/* of ApmLintRow */
	int			stmtno;
	int			line;
	int			stmt_start;
	int			stmt_end;
	List	   *created;		/* RangeVars created earlier in the revision */
	List	   *notnull_checks; /* "conname:column" of CHECK (col IS NOT NULL) */
	List	   *validated_columns;	/* columns with a validated NOT NULL check */
	List	   *enum_values;	/* values added by ALTER TYPE ... ADD VALUE */
	bool		lock_timeout_set;
	bool		lock_timeout_reported;
} LintState;

/* What the catalog says about a relation a statement names */
typedef struct RelInfo
{
	Oid			relid;			/* InvalidOid: does not exist */
	bool		created_here;	/* created earlier in the revision */
	bool		has_data;		/* exists, was not created here, has blocks */
	char	   *name;			/* as written, for messages */
	BlockNumber nblocks;
	double		reltuples;
} RelInfo;

/* SQL name of a lock mode */
static const char *
lock_name(LOCKMODE mode)
{
	static const char *const names[] = {
		"NO", "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE",
		"SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE",
		"EXCLUSIVE", "ACCESS EXCLUSIVE"
	};

	return mode >= 0 && mode <= AccessExclusiveLock ? names[mode] : "?";
}

/* Parse a list of rule codes (commas or blanks) into disabled[] */
static void
disable_codes(const char *list, bool *disabled)
{
	char	   *copy = pstrdup(list);
	char	   *tok;
	char	   *save = NULL;
	int			i;

	for (tok = strtok_r(copy, ", \t\r\n", &save); tok != NULL;
		 tok = strtok_r(NULL, ", \t\r\n", &save))
		for (i = 0; i < NUM_RULES; i++)
			if (pg_strcasecmp(tok, rules[i].code) == 0)
				disabled[i] = true;
	pfree(copy);
}

/* Apply "-- ap_migrate:lint-disable code, ..." lines of sql */
static void
disable_from_sql(const char *sql, bool *disabled)
{
	static const char marker[] = "ap_migrate:lint-disable";
	const char *p = sql;

	while ((p = strstr(p, marker)) != NULL)
	{
		const char *end = strchr(p, '\n');
		char	   *codes;

		p += sizeof(marker) - 1;
		codes = end ? pnstrdup(p, end - p) : pstrdup(p);
		disable_codes(codes, disabled);
		pfree(codes);
	}
}

/* Record a finding of rule at the current statement, if it is enabled */
static void report(LintState *st, int rule, const char *fmt,...) pg_attribute_printf(3, 4);

static void
report(LintState *st, int rule, const char *fmt,...)
{
	ApmLintRow *row;
	StringInfoData buf;
	va_list		args;

	if (st->disabled[rule] || rules[rule].severity < st->min_severity)
		return;

	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}

	row = palloc(sizeof(ApmLintRow));
	row->revision = st->revision;
	row->stmtno = st->stmtno;
	row->line = st->line;
	row->code = rules[rule].code;
	row->severity = severity_names[rules[rule].severity];
	row->level = rules[rule].severity;
	row->message = buf.data;
	row->hint = rules[rule].hint;
	st->rows = lappend(st->rows, row);
}

/* Does rv name a relation created earlier in the revision? */
static bool
created_here(LintState *st, const RangeVar *rv)
{
	ListCell   *lc;

	foreach(lc, st->created)
	{
		RangeVar   *c = lfirst(lc);

		if (strcmp(c->relname, rv->relname) == 0 &&
			(c->schemaname == NULL || rv->schemaname == NULL ||
			 strcmp(c->schemaname, rv->schemaname) == 0))
			return true;
	}
	return false;
}

/*
 * Look a relation up: existence, and its current size (blocks on disk,
 * read under a conditional ACCESS SHARE lock released at once; pg_class's
 * relpages when the lock is not free).
 */
static RelInfo
lookup_rel(LintState *st, const RangeVar *rv)
{
	RelInfo		info;
	HeapTuple	tuple;

	memset(&info, 0, sizeof(info));
	info.name = rv->schemaname ? psprintf("%s.%s", rv->schemaname, rv->relname) :
		pstrdup(rv->relname);
	info.created_here = created_here(st, rv);
	if (info.created_here)
		return info;
	info.relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(info.relid))
		return info;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(info.relid));
	if (!HeapTupleIsValid(tuple))
	{
		info.relid = InvalidOid;
		return info;
	}
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);

		info.nblocks = form->relpages;
		info.reltuples = form->reltuples;
		if (RELKIND_HAS_STORAGE(form->relkind) &&
			ConditionalLockRelationOid(info.relid, AccessShareLock))
		{
			Relation	rel = RelationIdGetRelation(info.relid);

			if (RelationIsValid(rel))
			{
				info.nblocks = RelationGetNumberOfBlocks(rel);
				RelationClose(rel);
			}
			UnlockRelationOid(info.relid, AccessShareLock);
		}
	}
	ReleaseSysCache(tuple);
	info.has_data = info.nblocks > 0;
	return info;
}

/* "about N rows, SIZE" for a message */
static char *
size_text(const RelInfo *info)
{
	int64		bytes = (int64) info->nblocks * BLCKSZ;
	Datum		pretty = DirectFunctionCall1(pg_size_pretty, Int64GetDatum(bytes));
	const char *size = text_to_cstring(DatumGetTextPP(pretty));

	if (info->reltuples >= 0)
		return psprintf("about %.0f rows, %s", info->reltuples, size);
	return psprintf("row count unknown, %s", size);
}

/*
 * The lock-level finding, and the missing-lock-timeout one when the lock
 * is ACCESS EXCLUSIVE on a table with data.
 */
static void
report_lock(LintState *st, const char *what, const RelInfo *info, LOCKMODE mode)
{
	if (!OidIsValid(info->relid))
		return;
	report(st, R_LOCK_LEVEL, "%s takes %s lock on \"%s\" (%s)",
		   what, lock_name(mode), info->name, size_text(info));
	if (mode == AccessExclusiveLock && info->has_data &&
		apm_lock_timeout <= 0 && !st->lock_timeout_set &&
		!st->lock_timeout_reported)
	{
		report(st, R_LOCK_TIMEOUT,
			   "%s takes ACCESS EXCLUSIVE lock on \"%s\" (%s) with no lock_timeout",
			   what, info->name, size_text(info));
		st->lock_timeout_reported = true;
	}
}

/* The column name of a NullTest "col IS NOT NULL" in a raw expression */
static char *
raw_not_null_column(Node *expr)
{
	NullTest   *test;
	ColumnRef  *ref;

	if (expr == NULL || !IsA(expr, NullTest))
		return NULL;
	test = (NullTest *) expr;
	if (test->nulltesttype != IS_NOT_NULL || !IsA(test->arg, ColumnRef))
		return NULL;
	ref = (ColumnRef *) test->arg;
	if (list_length(ref->fields) != 1 || !IsA(linitial(ref->fields), String))
		return NULL;
	return strVal(linitial(ref->fields));
}

/*
 * Does the relation have a validated CHECK (column IS NOT NULL)?  Then
 * SET NOT NULL uses it instead of scanning the table (PostgreSQL 12+).
 */
static bool
has_validated_not_null_check(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);
	Relation	conrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found = false;

	if (attnum == InvalidAttrNumber)
		return false;
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true,
							  NULL, 1, &key);
	while (!found && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tuple);
		bool		isnull;
		Datum		bin;
		Node	   *expr;

		if (con->contype != CONSTRAINT_CHECK || !con->convalidated)
			continue;
		bin = heap_getattr(tuple, Anum_pg_constraint_conbin,
						   RelationGetDescr(conrel), &isnull);
		if (isnull)
			continue;
		expr = stringToNode(TextDatumGetCString(bin));
		if (IsA(expr, NullTest) &&
			((NullTest *) expr)->nulltesttype == IS_NOT_NULL &&
			IsA(((NullTest *) expr)->arg, Var) &&
			((Var *) ((NullTest *) expr)->arg)->varattno == attnum)
			found = true;
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	return found;
}

/* Is there a volatile function by this name (any argument count)? */
static bool
volatile_function(List *funcname, int nargs)
{
	FuncCandidateList c;

	for (c = FuncnameGetCandidates(funcname, nargs, NIL, false, false, false, true);
		 c != NULL; c = c->next)
		if (func_volatile(c->oid) == PROVOLATILE_VOLATILE)
			return true;
	return false;
}

/* raw_expression_tree_walker callback: finds a volatile FuncCall */
static bool
volatile_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		FuncCall   *call = (FuncCall *) node;

		if (volatile_function(call->funcname, list_length(call->args)))
		{
			*(char **) context = NameListToString(call->funcname);
			return true;
		}
	}
	return raw_expression_tree_walker(node, volatile_walker, context);
}

/* Is the type name one of the serial pseudo-types (a nextval default)? */
static bool
is_serial(TypeName *type)
{
	char	   *name;

	if (type == NULL || list_length(type->names) != 1)
		return false;
	name = strVal(linitial(type->names));
	return strcmp(name, "serial") == 0 || strcmp(name, "bigserial") == 0 ||
		strcmp(name, "smallserial") == 0 || strcmp(name, "serial4") == 0 ||
		strcmp(name, "serial8") == 0 || strcmp(name, "serial2") == 0;
}

/* ALTER TABLE ... ADD COLUMN on an existing relation */
static void
lint_add_column(LintState *st, const RelInfo *info, ColumnDef *col)
{
	ListCell   *lc;
	bool		not_null = false;
	bool		has_default = false;
	char	   *volatile_name = NULL;

	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		if (con->contype == CONSTR_NOTNULL || con->contype == CONSTR_PRIMARY)
			not_null = true;
		else if (con->contype == CONSTR_DEFAULT)
		{
			has_default = true;
			(void) volatile_walker(con->raw_expr, &volatile_name);
		}
		else if (con->contype == CONSTR_IDENTITY)
		{
			has_default = true;
			volatile_name = "an identity sequence";
		}
		else if (con->contype == CONSTR_GENERATED)
			has_default = true;
	}
	if (is_serial(col->typeName))
	{
		has_default = true;
		volatile_name = "nextval (serial)";
	}
	if (!info->has_data)
		return;
	if (not_null && !has_default)
		report(st, R_ADD_COLUMN_NOT_NULL,
			   "column \"%s\" is added NOT NULL without a default to \"%s\", which has rows (%s)",
			   col->colname, info->name, size_text(info));
	if (volatile_name != NULL)
		report(st, R_VOLATILE_DEFAULT,
			   "column \"%s\" is added to \"%s\" with a volatile default (%s): the table is rewritten (%s)",
			   col->colname, info->name, volatile_name, size_text(info));
}

/* Would ALTER COLUMN TYPE from the current type to this one rewrite? */
static bool
type_change_rewrites(Oid relid, ColumnDef *def, const char *column)
{
	HeapTuple	tuple;
	Oid			oldtype;
	int32		oldmod;
	Type		newtyp;
	Oid			newtype;
	int32		newmod;

	if (def->raw_default != NULL)
		return true;			/* USING */
	tuple = SearchSysCacheAttName(relid, column);
	if (!HeapTupleIsValid(tuple))
		return true;
	oldtype = ((Form_pg_attribute) GETSTRUCT(tuple))->atttypid;
	oldmod = ((Form_pg_attribute) GETSTRUCT(tuple))->atttypmod;
	ReleaseSysCache(tuple);

	newtyp = LookupTypeName(NULL, def->typeName, &newmod, true);
	if (newtyp == NULL)
		return true;
	newtype = ((Form_pg_type) GETSTRUCT(newtyp))->oid;
	ReleaseSysCache(newtyp);

	/* binary-coercible widenings the server does without a rewrite */
	if ((oldtype == VARCHAROID || oldtype == TEXTOID) &&
		(newtype == TEXTOID || (newtype == VARCHAROID && newmod < 0)))
		return false;
	if (oldtype == newtype && (oldtype == VARCHAROID || oldtype == VARBITOID))
		return !(newmod < 0 || (oldmod >= 0 && newmod >= oldmod));
	if (oldtype == NUMERICOID && newtype == NUMERICOID)
	{
		if (newmod < 0)
			return false;
		if (oldmod < 0)
			return true;
		/* same scale, no smaller precision */
		return !((((newmod - VARHDRSZ) & 0x7ff) == ((oldmod - VARHDRSZ) & 0x7ff)) &&
				 (((newmod - VARHDRSZ) >> 16) >= ((oldmod - VARHDRSZ) >> 16)));
	}
	if (oldtype == newtype && newmod == oldmod)
		return false;
	return true;
}

/* The relation a table-level FOREIGN KEY refers to: lock and existence */
static void
lint_fk_target(LintState *st, const char *what, Constraint *con)
{
	RelInfo		target;

	if (con->pktable == NULL)
		return;
	target = lookup_rel(st, con->pktable);
	report_lock(st, what, &target, ShareRowExclusiveLock);
}

/* ALTER TABLE: lock level, then every subcommand's rules */
static void
lint_alter_table(LintState *st, AlterTableStmt *stmt)
{
	RelInfo		info = lookup_rel(st, stmt->relation);
	LOCKMODE	mode = AlterTableGetLockLevel(stmt->cmds);
	const char *what = apm_alter_table_objtype(stmt) == OBJECT_INDEX ? "ALTER INDEX" : "ALTER TABLE";
	ListCell   *lc;

	report_lock(st, what, &info, mode);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				lint_add_column(st, &info, castNode(ColumnDef, cmd->def));
				break;
			case AT_SetNotNull:
				if (info.has_data &&
					!list_member(st->validated_columns, makeString(cmd->name)) &&
					!has_validated_not_null_check(info.relid, cmd->name))
					report(st, R_SET_NOT_NULL,
						   "SET NOT NULL on \"%s\".\"%s\" scans the table under ACCESS EXCLUSIVE lock (%s)",
						   info.name, cmd->name, size_text(&info));
				break;
			case AT_AddConstraint:
				{
					Constraint *con = castNode(Constraint, cmd->def);
					char	   *col;

					if (con->contype == CONSTR_FOREIGN)
						lint_fk_target(st, what, con);
					if ((con->contype == CONSTR_FOREIGN || con->contype == CONSTR_CHECK) &&
						!con->skip_validation && info.has_data)
						report(st, R_CONSTRAINT_NOT_VALID,
							   "%s constraint %s%s%sis added to \"%s\" without NOT VALID: every row is checked under the lock (%s)",
							   con->contype == CONSTR_FOREIGN ? "FOREIGN KEY" : "CHECK",
							   con->conname ? "\"" : "", con->conname ? con->conname : "",
							   con->conname ? "\" " : "", info.name, size_text(&info));
					col = con->contype == CONSTR_CHECK ? raw_not_null_column(con->raw_expr) : NULL;
					if (col != NULL && con->conname != NULL)
					{
						if (con->skip_validation)
							st->notnull_checks = lappend(st->notnull_checks,
														 psprintf("%s:%s", con->conname, col));
						else
							st->validated_columns = lappend(st->validated_columns,
															makeString(col));
					}
				}
				break;
			case AT_ValidateConstraint:
				{
					ListCell   *nc;
					size_t		len = strlen(cmd->name);

					foreach(nc, st->notnull_checks)
					{
						char	   *entry = lfirst(nc);

						if (strncmp(entry, cmd->name, len) == 0 && entry[len] == ':')
							st->validated_columns = lappend(st->validated_columns,
															makeString(entry + len + 1));
					}
				}
				break;
			case AT_AlterColumnType:
				if (info.has_data &&
					type_change_rewrites(info.relid, castNode(ColumnDef, cmd->def), cmd->name))
					report(st, R_TYPE_REWRITE,
						   "changing the type of \"%s\".\"%s\" rewrites the table under ACCESS EXCLUSIVE lock (%s)",
						   info.name, cmd->name, size_text(&info));
				break;
			case AT_DropColumn:
				if (OidIsValid(info.relid))
					report(st, R_DROP_COLUMN,
						   "column \"%s\" of \"%s\" is dropped while the running application may still use it",
						   cmd->name, info.name);
				break;
			default:
				break;
		}
	}
}

/* CREATE TABLE: remember it; its FOREIGN KEYs lock the referenced tables */
static void
lint_create_table(LintState *st, CreateStmt *stmt)
{
	ListCell   *lc;
	ListCell   *cc;

	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);

		if (IsA(elt, Constraint) && ((Constraint *) elt)->contype == CONSTR_FOREIGN)
			lint_fk_target(st, "CREATE TABLE", (Constraint *) elt);
		else if (IsA(elt, ColumnDef))
		{
			foreach(cc, ((ColumnDef *) elt)->constraints)
			{
				Constraint *con = lfirst_node(Constraint, cc);

				if (con->contype == CONSTR_FOREIGN)
					lint_fk_target(st, "CREATE TABLE", con);
			}
		}
	}
	st->created = lappend(st->created, stmt->relation);
}

/* DROP TABLE / INDEX / VIEW ... */
static void
lint_drop(LintState *st, DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE && stmt->removeType != OBJECT_INDEX &&
		stmt->removeType != OBJECT_VIEW && stmt->removeType != OBJECT_MATVIEW)
		return;
	foreach(lc, stmt->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList(lfirst(lc));
		RelInfo		info = lookup_rel(st, rv);

		report_lock(st, stmt->removeType == OBJECT_INDEX ? "DROP INDEX" : "DROP",
					&info, stmt->concurrent ? ShareUpdateExclusiveLock : AccessExclusiveLock);
		if (stmt->removeType == OBJECT_TABLE && OidIsValid(info.relid))
			report(st, R_DROP_TABLE,
				   "table \"%s\" (%s) is dropped while the running application may still use it",
				   info.name, size_text(&info));
	}
}

/* ALTER ... RENAME of a table or a column */
static void
lint_rename(LintState *st, RenameStmt *stmt)
{
	RelInfo		info;

	if (stmt->relation == NULL)
		return;
	info = lookup_rel(st, stmt->relation);
	report_lock(st, "RENAME", &info, AccessExclusiveLock);
	if (!OidIsValid(info.relid))
		return;
	if (stmt->renameType == OBJECT_COLUMN)
		report(st, R_RENAME,
			   "column \"%s\" of \"%s\" is renamed to \"%s\" while the running application uses the old name",
			   stmt->subname, info.name, stmt->newname);
	else if (stmt->renameType == OBJECT_TABLE || stmt->renameType == OBJECT_VIEW ||
			 stmt->renameType == OBJECT_MATVIEW)
		report(st, R_RENAME,
			   "\"%s\" is renamed to \"%s\" while the running application uses the old name",
			   info.name, stmt->newname);
}

/* A statement that needs to run outside a transaction block */
static bool
is_concurrent(Node *stmt)
{
	ListCell   *lc;

	if (IsA(stmt, IndexStmt))
		return ((IndexStmt *) stmt)->concurrent;
	if (IsA(stmt, DropStmt))
		return ((DropStmt *) stmt)->concurrent;
	if (IsA(stmt, ReindexStmt))
	{
		foreach(lc, apm_reindex_params((ReindexStmt *) stmt))
		{
			if (strcmp(((DefElem *) lfirst(lc))->defname, "concurrently") == 0)
				return true;
		}
	}
	return false;
}

/* Does the text of the current statement contain the literal 'value'? */
static bool
statement_uses_literal(LintState *st, const char *value)
{
	char	   *text = pnstrdup(st->sql + st->stmt_start, st->stmt_end - st->stmt_start);
	char	   *quoted = psprintf("'%s'", value);
	bool		found = strstr(text, quoted) != NULL;

	pfree(text);
	pfree(quoted);
	return found;
}

/* Lint one statement */
static void
lint_statement(LintState *st, Node *stmt)
{
	ListCell   *lc;

	if (st->transactional && is_concurrent(stmt))
		report(st, R_CONCURRENTLY_IN_TX,
			   "%s cannot run inside the transaction of a transactional revision",
			   GetCommandTagName(CreateCommandTag(stmt)));

	foreach(lc, st->enum_values)
	{
		if (statement_uses_literal(st, strVal(lfirst(lc))))
			report(st, R_ENUM_VALUE_USED,
				   "enum value '%s' is used in the revision that adds it",
				   strVal(lfirst(lc)));
	}

	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			lint_alter_table(st, (AlterTableStmt *) stmt);
			break;
		case T_IndexStmt:
			{
				IndexStmt  *index = (IndexStmt *) stmt;
				RelInfo		info = lookup_rel(st, index->relation);

				report_lock(st, "CREATE INDEX", &info,
							index->concurrent ? ShareUpdateExclusiveLock : ShareLock);
				if (!index->concurrent && info.has_data)
					report(st, R_INDEX_CONCURRENTLY,
						   "CREATE INDEX%s%s on \"%s\" blocks writes while it builds (%s)",
						   index->idxname ? " " : "", index->idxname ? index->idxname : "",
						   info.name, size_text(&info));
			}
			break;
		case T_CreateStmt:
			lint_create_table(st, (CreateStmt *) stmt);
			break;
		case T_CreateTableAsStmt:
			st->created = lappend(st->created, ((CreateTableAsStmt *) stmt)->into->rel);
			break;
		case T_DropStmt:
			lint_drop(st, (DropStmt *) stmt);
			break;
		case T_RenameStmt:
			lint_rename(st, (RenameStmt *) stmt);
			break;
		case T_CreateTrigStmt:
			{
				RelInfo		info = lookup_rel(st, ((CreateTrigStmt *) stmt)->relation);

				report_lock(st, "CREATE TRIGGER", &info, ShareRowExclusiveLock);
			}
			break;
		case T_CreatePolicyStmt:
			{
				RelInfo		info = lookup_rel(st, ((CreatePolicyStmt *) stmt)->table);

				report_lock(st, "CREATE POLICY", &info, AccessExclusiveLock);
			}
			break;
		case T_AlterPolicyStmt:
			{
				RelInfo		info = lookup_rel(st, ((AlterPolicyStmt *) stmt)->table);

				report_lock(st, "ALTER POLICY", &info, AccessExclusiveLock);
			}
			break;
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) stmt)->relations)
			{
				RelInfo		info = lookup_rel(st, lfirst(lc));

				report_lock(st, "TRUNCATE", &info, AccessExclusiveLock);
			}
			break;
		case T_RefreshMatViewStmt:
			{
				RefreshMatViewStmt *refresh = (RefreshMatViewStmt *) stmt;
				RelInfo		info = lookup_rel(st, refresh->relation);

				report_lock(st, "REFRESH MATERIALIZED VIEW", &info,
							refresh->concurrent ? ExclusiveLock : AccessExclusiveLock);
			}
			break;
		case T_ClusterStmt:
			if (((ClusterStmt *) stmt)->relation != NULL)
			{
				RelInfo		info = lookup_rel(st, ((ClusterStmt *) stmt)->relation);

				report_lock(st, "CLUSTER", &info, AccessExclusiveLock);
			}
			break;
		case T_VacuumStmt:
			foreach(lc, ((VacuumStmt *) stmt)->rels)
			{
				VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);
				ListCell   *oc;
				bool		full = false;
				RelInfo		info;

				foreach(oc, ((VacuumStmt *) stmt)->options)
				{
					if (strcmp(((DefElem *) lfirst(oc))->defname, "full") == 0)
						full = true;
				}
				if (vrel->relation == NULL)
					continue;
				info = lookup_rel(st, vrel->relation);
				report_lock(st, full ? "VACUUM FULL" : "VACUUM", &info,
							full ? AccessExclusiveLock : ShareUpdateExclusiveLock);
			}
			break;
		case T_VariableSetStmt:
			{
				VariableSetStmt *set = (VariableSetStmt *) stmt;

				if (set->name != NULL && strcmp(set->name, "lock_timeout") == 0 &&
					set->kind == VAR_SET_VALUE)
					st->lock_timeout_set = true;
			}
			break;
		case T_AlterEnumStmt:
			{
				AlterEnumStmt *alter = (AlterEnumStmt *) stmt;

				if (alter->oldVal == NULL && alter->newVal != NULL)
					st->enum_values = lappend(st->enum_values, makeString(alter->newVal));
			}
			break;
		default:
			break;
	}
}

/* Error context of the lint of a revision */
static void
lint_error_callback(void *arg)
{
	LintState  *st = (LintState *) arg;

	if (st->stmtno > 0)
		errcontext("lint of revision \"%s\", statement %d at line %d",
				   st->revision, st->stmtno, st->line);
	else
		errcontext("lint of revision \"%s\"", st->revision);
}

/*
 * apm_lint_sql lints the upgrade SQL of one revision and returns its
 * findings (ApmLintRow) in statement order.  search_path, when not NULL,
 * is the one names resolve with (the revision's recorded one).
 */
List *
apm_lint_sql(const char *revision, const char *sql, bool transactional,
			 const char *search_path)
{
	LintState	st;
	ErrorContextCallback errcallback;
	List	   *stmts;
	ListCell   *lc;
	int			nestlevel = NewGUCNestLevel();

	memset(&st, 0, sizeof(st));
	st.revision = revision;
	st.sql = sql;
	st.transactional = transactional;
	st.min_severity = (ApmLintSeverity) apm_lint_min_severity;
	if (apm_lint_disable != NULL)
		disable_codes(apm_lint_disable, st.disabled);
	disable_from_sql(sql, st.disabled);

	errcallback.callback = lint_error_callback;
	errcallback.arg = &st;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	if (search_path != NULL)
		(void) set_config_option("search_path", search_path[0] ? search_path : "pg_catalog",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);

	stmts = apm_sql_split(sql);
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);

		CHECK_FOR_INTERRUPTS();
		st.stmtno++;
		st.stmt_start = apm_sql_skip_blank(sql, raw->stmt_location);
		st.stmt_end = apm_sql_stmt_end(sql, raw);
		st.line = apm_sql_line_of(sql, st.stmt_start);
		lint_statement(&st, raw->stmt);
	}

	AtEOXact_GUC(false, nestlevel);
	error_context_stack = errcallback.previous;
	return st.rows;
}

/*
 * apm_lint_revisions lints the upgrade SQL of registered revisions: with
 * target NULL every pending one, in the order an upgrade to the heads
 * would run them, else the revisions target names.  Each revision's
 * statements are parsed in a memory context reset after it; the findings
 * are kept in the caller's context.
 */
List *
apm_lint_revisions(const char *target)
{
	ApmGraph   *graph = apm_catalog_load_graph();
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext revcxt;
	List	   *rows = NIL;
	int		   *order;
	int			n;
	int			i;

	if (graph->nnodes == 0)
		return NIL;
	if (target == NULL)
	{
		ApmPlan    *plan;

		apm_graph_check_usable(graph, true);
		plan = apm_resolve_plan(graph, "heads", APM_UPGRADE);
		order = plan->steps;
		n = plan->nsteps;
	}
	else
	{
		List	   *revs = apm_resolve_target(graph, target, APM_STAMP);
		ListCell   *lc;

		n = 0;
		order = palloc(sizeof(int) * Max(list_length(revs), 1));
		foreach(lc, revs)
			order[n++] = lfirst_int(lc);
	}

	revcxt = AllocSetContextCreate(CurrentMemoryContext, "ap_migrate lint",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i += APM_LINT_BATCH)
	{
		int			count = Min(APM_LINT_BATCH, n - i);
		char	   *ids[APM_LINT_BATCH];
		char	   *checksums[APM_LINT_BATCH];
		ApmRevisionDef **defs;
		int			j;

		for (j = 0; j < count; j++)
			ids[j] = graph->nodes[order[i + j]].id;
		MemoryContextSwitchTo(revcxt);
		defs = apm_catalog_fetch_steps(ids, count, checksums);
		for (j = 0; j < count; j++)
		{
			List	   *found = apm_lint_sql(ids[j], defs[j]->upgrade_sql,
											 defs[j]->transactional,
											 defs[j]->search_path);
			ListCell   *lc;

			MemoryContextSwitchTo(callcxt);
			foreach(lc, found)
			{
				ApmLintRow *row = palloc(sizeof(ApmLintRow));

				memcpy(row, lfirst(lc), sizeof(ApmLintRow));
				row->message = pstrdup(row->message);
				rows = lappend(rows, row);
			}
			MemoryContextSwitchTo(revcxt);
		}
		MemoryContextSwitchTo(callcxt);
		MemoryContextReset(revcxt);
	}
	MemoryContextDelete(revcxt);
	return rows;
}

/*
 * apm_lint_on_register lints a revision being registered, as
 * ap_migrate.lint_on_register says: off, warn (a WARNING per finding of
 * severity warning or error) or refuse (an error for the first such
 * finding, naming the rule to disable if the finding is accepted).
 */
void
apm_lint_on_register(const ApmRevisionDef *def)
{
	List	   *rows;
	ListCell   *lc;

	if (apm_lint_on_register_mode == APM_LINT_REGISTER_OFF)
		return;
	rows = apm_lint_sql(def->id, def->upgrade_sql, def->transactional, NULL);
	foreach(lc, rows)
	{
		ApmLintRow *row = lfirst(lc);

		if (row->level < APM_LINT_WARNING)
			continue;
		ereport(apm_lint_on_register_mode == APM_LINT_REGISTER_REFUSE ? ERROR : WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\", statement %d at line %d: %s [%s]",
						row->revision, row->stmtno, row->line, row->message, row->code),
				 errhint("%s  To accept it, add \"-- ap_migrate:lint-disable %s\" to the upgrade SQL.",
						 row->hint, row->code)));
	}
}
