/*-------------------------------------------------------------------------
 *
 * funcs.c
 *	  The SQL-callable functions of ap_migrate: argument checks, then a call
 *	  into registration, execution or the graph, then the result.
 *
 * No function is declared STRICT: a NULL argument is an error naming the
 * argument (22004), never a silent NULL result.  The exceptions are
 * documented where they mean something: a NULL down_revision is a base, a
 * NULL downgrade makes a revision irreversible, a NULL owner is the caller.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/funcs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "nodes/parsenodes.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ap_migrate.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(ap_migrate_add);
PG_FUNCTION_INFO_V1(ap_migrate_load);
PG_FUNCTION_INFO_V1(ap_migrate_upgrade);
PG_FUNCTION_INFO_V1(ap_migrate_downgrade);
PG_FUNCTION_INFO_V1(ap_migrate_stamp);
PG_FUNCTION_INFO_V1(ap_migrate_run);
PG_FUNCTION_INFO_V1(ap_migrate_run_downgrade);
PG_FUNCTION_INFO_V1(ap_migrate_plan);
PG_FUNCTION_INFO_V1(ap_migrate_sql);
PG_FUNCTION_INFO_V1(ap_migrate_mark);
PG_FUNCTION_INFO_V1(ap_migrate_expect);
PG_FUNCTION_INFO_V1(ap_migrate_current);
PG_FUNCTION_INFO_V1(ap_migrate_heads);
PG_FUNCTION_INFO_V1(ap_migrate_branches);
PG_FUNCTION_INFO_V1(ap_migrate_history);
PG_FUNCTION_INFO_V1(ap_migrate_show);
PG_FUNCTION_INFO_V1(ap_migrate_validate);
PG_FUNCTION_INFO_V1(ap_migrate_check);
PG_FUNCTION_INFO_V1(ap_migrate_history_append_only);
PG_FUNCTION_INFO_V1(ap_migrate_lint);
PG_FUNCTION_INFO_V1(ap_migrate_lint_sql);
PG_FUNCTION_INFO_V1(ap_migrate_verify);
PG_FUNCTION_INFO_V1(ap_migrate_drift);

/* A text argument that must not be NULL, as a C string */
static char *
text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* A text[] argument as a List of C strings; NULL is an empty list */
static List *
text_array_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	List	   *items = NIL;

	if (PG_ARGISNULL(argno))
		return NIL;
	array = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements", name)));
		items = lappend(items, TextDatumGetCString(elems[i]));
	}
	return items;
}

/* C array of node indexes' ids as a text[] Datum */
static Datum
ids_to_array(const ApmGraph *graph, const int *indexes, int n)
{
	List	   *items = NIL;
	int			i;

	for (i = 0; i < n; i++)
		items = lappend(items, indexes[i] >= 0 ? graph->nodes[indexes[i]].id : "?");
	return apm_text_array(items);
}

/* C array of strings as a text[] Datum */
static Datum
strings_to_array(char **strings, int n)
{
	List	   *items = NIL;
	int			i;

	for (i = 0; i < n; i++)
		items = lappend(items, strings[i]);
	return apm_text_array(items);
}

/* what register_def hands to register_body through apm_locked */
typedef struct RegisterArgs
{
	ApmRevisionDef *def;
	bool		registered;
} RegisterArgs;

static void
register_body(void *arg)
{
	RegisterArgs *args = (RegisterArgs *) arg;

	args->registered = apm_register(args->def);
}

/* Register one definition under the operation lock */
static bool
register_def(ApmRevisionDef *def, const char *funcname)
{
	RegisterArgs args;

	args.def = def;
	args.registered = false;
	apm_locked(funcname, register_body, &args);
	return args.registered;
}

/* A List of node indexes as a C array; *n gets its length */
static int *
index_array(List *indexes, int *n)
{
	int		   *array = palloc(sizeof(int) * Max(list_length(indexes), 1));
	ListCell   *lc;

	*n = 0;
	foreach(lc, indexes)
		array[(*n)++] = lfirst_int(lc);
	return array;
}

/*
 * A List of node indexes as flags over the graph's nodes, for membership
 * tests in a loop over many rows (list_member_int would make it quadratic).
 */
static bool *
index_flags(const ApmGraph *graph, List *indexes)
{
	bool	   *flags = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	ListCell   *lc;

	foreach(lc, indexes)
		flags[lfirst_int(lc)] = true;
	return flags;
}

/*
 * ap_migrate_add(revision text, down_revision text[], upgrade text,
 *				  downgrade text, message text, branch_labels text[],
 *				  depends_on text[], transactional boolean, owner regrole)
 *
 * Registers one revision; returns false when identical content was already
 * registered under that id.
 */
Datum
ap_migrate_add(PG_FUNCTION_ARGS)
{
	ApmRevisionDef *def = palloc0(sizeof(ApmRevisionDef));

	def->id = text_arg(fcinfo, 0, "revision");
	def->parents = text_array_arg(fcinfo, 1, "down_revision");
	def->upgrade_sql = text_arg(fcinfo, 2, "upgrade");
	def->downgrade_sql = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	def->message = text_arg(fcinfo, 4, "message");
	def->branch_labels = text_array_arg(fcinfo, 5, "branch_labels");
	def->depends_on = text_array_arg(fcinfo, 6, "depends_on");
	if (PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transactional must not be NULL")));
	def->transactional = PG_GETARG_BOOL(7);
	def->owner = PG_ARGISNULL(8) ? InvalidOid : PG_GETARG_OID(8);

	PG_RETURN_BOOL(register_def(def, "ap_migrate_add()"));
}

/*
 * ap_migrate_load(script text, owner regrole)
 *
 * Registers the revision a migration file describes (see script.c for the
 * format); returns its id.
 */
Datum
ap_migrate_load(PG_FUNCTION_ARGS)
{
	char	   *script = text_arg(fcinfo, 0, "script");
	ApmRevisionDef *def = apm_script_parse(script);

	def->owner = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	(void) register_def(def, "ap_migrate_load()");
	PG_RETURN_TEXT_P(cstring_to_text(def->id));
}

/* The shared body of upgrade, downgrade and stamp */
static Datum
operation_call(FunctionCallInfo fcinfo, ApmOperation operation)
{
	char	   *target = text_arg(fcinfo, 0, "target");
	char	   *current = apm_run(operation, target);

	if (current == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(current));
}

/*
 * ap_migrate_upgrade(target text DEFAULT 'head') returns the current
 * revisions after applying everything target needs.
 */
Datum
ap_migrate_upgrade(PG_FUNCTION_ARGS)
{
	return operation_call(fcinfo, APM_UPGRADE);
}

/*
 * ap_migrate_downgrade(target text) returns the current revisions after
 * reverting everything above target.
 */
Datum
ap_migrate_downgrade(PG_FUNCTION_ARGS)
{
	return operation_call(fcinfo, APM_DOWNGRADE);
}

/*
 * ap_migrate_stamp(target text) sets the applied set as an upgrade or
 * downgrade to target would, without running SQL.
 */
Datum
ap_migrate_stamp(PG_FUNCTION_ARGS)
{
	return operation_call(fcinfo, APM_STAMP);
}

/* The shared body of the two procedures */
static Datum
run_procedure(FunctionCallInfo fcinfo, ApmOperation operation, const char *name)
{
	char	   *target = text_arg(fcinfo, 0, "target");
	bool		nonatomic = false;

	if (fcinfo->context != NULL && IsA(fcinfo->context, CallContext))
		nonatomic = !castNode(CallContext, fcinfo->context)->atomic;

	if (!nonatomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", name),
				 errdetail("It commits after each revision, which needs a CALL outside a transaction block."),
				 errhint("Run it as a CALL of its own, or use the function, which runs every step in the caller's transaction.")));
	apm_run_stepwise(operation, target);
	PG_RETURN_VOID();
}

/*
 * CALL ap_migrate_run(target text DEFAULT 'head') upgrades to target,
 * committing after each revision.
 */
Datum
ap_migrate_run(PG_FUNCTION_ARGS)
{
	return run_procedure(fcinfo, APM_UPGRADE, "ap_migrate_run()");
}

/*
 * CALL ap_migrate_run_downgrade(target text) downgrades to target,
 * committing after each revision.
 */
Datum
ap_migrate_run_downgrade(PG_FUNCTION_ARGS)
{
	return run_procedure(fcinfo, APM_DOWNGRADE, "ap_migrate_run_downgrade()");
}

/*
 * ap_migrate_plan(target text DEFAULT 'head') returns the steps an
 * upgrade to target would take, or, when target is already applied, the
 * steps of a downgrade to it.  Nothing is locked or changed.
 */
Datum
ap_migrate_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *target = text_arg(fcinfo, 0, "target");
	ApmGraph   *graph;
	ApmPlan    *plan;
	char	  **messages;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_plan()", false);

	graph = apm_load_usable_graph(true);
	plan = apm_resolve_plan(graph, target, APM_STAMP);
	messages = apm_catalog_messages(graph, plan->steps, plan->nsteps);

	for (i = 0; i < plan->nsteps; i++)
	{
		const ApmNode *node = &graph->nodes[plan->steps[i]];
		Datum		values[7];
		bool		nulls[7] = {0};
		Datum		self = apm_text_array(list_make1(node->id));
		Datum		parents = strings_to_array(node->parent_ids, node->nparents);

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(plan->operation == APM_UPGRADE ? "upgrade" : "downgrade");
		values[2] = CStringGetTextDatum(node->id);
		values[3] = plan->operation == APM_UPGRADE ? parents : self;
		values[4] = plan->operation == APM_UPGRADE ? self : parents;
		values[5] = CStringGetTextDatum(messages[i]);
		values[6] = BoolGetDatum(node->transactional);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	apm_end(false);
	return (Datum) 0;
}

/*
 * ap_migrate_sql(target text DEFAULT 'head') returns the psql script that
 * does what ap_migrate_plan(target) shows: the steps' SQL with the
 * bookkeeping (offline.c).  Nothing is locked or changed.
 */
Datum
ap_migrate_sql(PG_FUNCTION_ARGS)
{
	char	   *target = text_arg(fcinfo, 0, "target");
	MemoryContext callcxt = CurrentMemoryContext;
	ApmGraph   *graph;
	ApmPlan    *plan;
	char	   *script;

	apm_begin("ap_migrate_sql()", false);
	graph = apm_load_usable_graph(true);
	plan = apm_resolve_plan(graph, target, APM_STAMP);
	apm_check_steps(graph, plan, true);
	script = MemoryContextStrdup(callcxt, apm_offline_script(graph, plan, target));
	apm_end(false);
	PG_RETURN_TEXT_P(cstring_to_text(script));
}

/* The operation argument of ap_migrate_mark and ap_migrate_expect */
static ApmOperation
step_operation(FunctionCallInfo fcinfo)
{
	char	   *operation = text_arg(fcinfo, 0, "operation");

	if (strcmp(operation, "upgrade") != 0 && strcmp(operation, "downgrade") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operation must be \"upgrade\" or \"downgrade\", not \"%s\"", operation)));
	return strcmp(operation, "upgrade") == 0 ? APM_UPGRADE : APM_DOWNGRADE;
}

/*
 * ap_migrate_mark(operation text, revision text, checksum text) records
 * one step an offline script ran; see apm_mark.
 */
Datum
ap_migrate_mark(PG_FUNCTION_ARGS)
{
	ApmOperation operation = step_operation(fcinfo);
	char	   *revision = text_arg(fcinfo, 1, "revision");
	char	   *checksum = text_arg(fcinfo, 2, "checksum");
	char	   *current;

	current = apm_mark(operation, revision, checksum, true);
	if (current == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(current));
}

/*
 * ap_migrate_expect(operation text, revision text, checksum text) makes
 * ap_migrate_mark's checks without recording anything: an offline script
 * calls it before each step's statements, so that a script run twice, on
 * another database or after the revision changed stops before running
 * any of them (non-transactional ones included).
 */
Datum
ap_migrate_expect(PG_FUNCTION_ARGS)
{
	ApmOperation operation = step_operation(fcinfo);
	char	   *revision = text_arg(fcinfo, 1, "revision");
	char	   *checksum = text_arg(fcinfo, 2, "checksum");

	(void) apm_mark(operation, revision, checksum, false);
	PG_RETURN_VOID();
}

/*
 * ap_migrate_current() returns the current revisions: applied revisions
 * none of whose children is applied.
 */
Datum
ap_migrate_current(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApmGraph   *graph;
	int		   *indexes;
	char	  **messages;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_current()", false);

	graph = apm_catalog_load_graph();
	indexes = index_array(apm_graph_current(graph), &n);
	messages = apm_catalog_messages(graph, indexes, n);

	for (i = 0; i < n; i++)
	{
		const ApmNode *node = &graph->nodes[indexes[i]];
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = CStringGetTextDatum(node->id);
		values[1] = BoolGetDatum(node->nchildren == 0);
		values[2] = CStringGetTextDatum(messages[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	apm_end(false);
	return (Datum) 0;
}

/*
 * ap_migrate_heads() returns the heads of the revision graph.
 */
Datum
ap_migrate_heads(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApmGraph   *graph;
	bool	   *current;
	int		   *indexes;
	char	  **messages;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_heads()", false);

	graph = apm_catalog_load_graph();
	current = index_flags(graph, apm_graph_current(graph));
	indexes = index_array(apm_graph_heads(graph), &n);
	messages = apm_catalog_messages(graph, indexes, n);

	for (i = 0; i < n; i++)
	{
		const ApmNode *node = &graph->nodes[indexes[i]];
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(node->id);
		values[1] = BoolGetDatum(current[indexes[i]]);
		values[2] = strings_to_array(node->labels, node->nlabels);
		values[3] = CStringGetTextDatum(messages[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	apm_end(false);
	return (Datum) 0;
}

/*
 * The real heads: the heads no revision depends on.  They are what
 * Alembic's "heads" names and where its history walks down from.
 */
static List *
real_heads(const ApmGraph *graph)
{
	List	   *real = NIL;
	ListCell   *lc;

	foreach(lc, apm_graph_heads(graph))
	{
		if (graph->nodes[lfirst_int(lc)].ndependents == 0)
			real = lappend_int(real, lfirst_int(lc));
	}
	return real;
}

/*
 * Every revision in the order of alembic history (walk_revisions from the
 * real heads down to base, children before parents).  On a graph with a
 * cycle the order is a plain reverse topological one; revisions the walk
 * does not reach (a cycle's) come last, in registration order.
 */
static int *
history_order(const ApmGraph *graph, int *count)
{
	int		   *order;
	bool	   *listed;
	int			i;

	if (apm_graph_find_cycle(graph) == NIL)
	{
		bool	   *all = palloc(sizeof(bool) * Max(graph->nnodes, 1));

		memset(all, true, sizeof(bool) * graph->nnodes);
		order = apm_graph_walk_order(graph, all, real_heads(graph), count, NULL);
	}
	else
		order = apm_graph_order(graph, NULL, true, count);
	if (*count < graph->nnodes)
	{
		listed = palloc0(sizeof(bool) * graph->nnodes);
		for (i = 0; i < *count; i++)
			listed[order[i]] = true;
		order = repalloc(order, sizeof(int) * graph->nnodes);
		for (i = 0; i < graph->nnodes; i++)
			if (!listed[i])
				order[(*count)++] = i;
	}
	return order;
}

/*
 * ap_migrate_branches() returns the branch points: revisions with more
 * than one child, in history order, as alembic branches lists them.
 */
Datum
ap_migrate_branches(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApmGraph   *graph;
	int		   *order;
	int		   *indexes;
	char	  **messages;
	int			count;
	int			n = 0;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_branches()", false);

	graph = apm_catalog_load_graph();
	order = history_order(graph, &count);
	indexes = palloc(sizeof(int) * Max(graph->nnodes, 1));
	for (i = 0; i < count; i++)
		if (graph->nodes[order[i]].nchildren > 1)
			indexes[n++] = order[i];
	messages = apm_catalog_messages(graph, indexes, n);

	for (i = 0; i < n; i++)
	{
		const ApmNode *node = &graph->nodes[indexes[i]];
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = CStringGetTextDatum(node->id);
		values[1] = ids_to_array(graph, node->children, node->nchildren);
		values[2] = CStringGetTextDatum(messages[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	apm_end(false);
	return (Datum) 0;
}

/*
 * ap_migrate_history(range text DEFAULT NULL) lists revisions newest first,
 * in the order of alembic history: its walk down from the heads, children
 * before parents.  range is alembic's "start:end" (either side may be
 * left out, and "current" names the current revisions); NULL lists all,
 * as ":" does.  Without a range it works on a broken graph too (that is
 * when it is needed; see history_order).
 */
Datum
ap_migrate_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ApmGraph   *graph;
	int		   *order;
	char	  **messages;
	bool	   *current;
	int			count;
	int			i;

	char	   *range = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_history()", false);

	graph = apm_catalog_load_graph();
	current = index_flags(graph, apm_graph_current(graph));
	if (range != NULL)
	{
		/* start:end, as alembic history -r; needs a navigable graph */
		List	   *top;
		bool	   *members;
		int			unreached;

		apm_graph_check_usable(graph, false);
		members = apm_resolve_range(graph, range, &top);
		order = apm_graph_walk_order(graph, members, top, &count, &unreached);
		if (unreached > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("history range \"%s\" cannot be listed", range),
					 errdetail("Revision \"%s\" lies in the range but is reached from its end only through a dependency.",
							   graph->nodes[order[count - 1]].id)));
	}
	else
		order = history_order(graph, &count);
	messages = apm_catalog_messages(graph, order, count);

	for (i = 0; i < count; i++)
	{
		const ApmNode *node = &graph->nodes[order[i]];
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = CStringGetTextDatum(node->id);
		values[1] = strings_to_array(node->parent_ids, node->nparents);
		values[2] = CStringGetTextDatum(messages[i]);
		values[3] = BoolGetDatum(node->nchildren == 0);
		values[4] = BoolGetDatum(node->nchildren > 1);
		values[5] = BoolGetDatum(node->nparents > 1);
		values[6] = BoolGetDatum(current[order[i]]);
		values[7] = BoolGetDatum(node->applied);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	apm_end(false);
	return (Datum) 0;
}

/*
 * ap_migrate_show(rev text) returns everything stored about one revision,
 * named by id, unique prefix or a target naming exactly one revision.
 */
Datum
ap_migrate_show(PG_FUNCTION_ARGS)
{
	char	   *rev = text_arg(fcinfo, 0, "rev");
	MemoryContext callcxt = CurrentMemoryContext;
	TupleDesc	tupdesc;
	ApmGraph   *graph;
	List	   *set;
	const ApmNode *node;
	ApmRevisionDef *def;
	bool		applied;
	char	   *checksum;
	TimestampTz registered_at;
	Datum		values[13];
	bool		nulls[13] = {0};
	HeapTuple	tuple;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	apm_begin("ap_migrate_show()", false);
	graph = apm_catalog_load_graph();
	/* as alembic show current: the current revision, when there is one */
	set = strcmp(rev, "current") == 0 ? apm_graph_current(graph) :
		apm_resolve_target(graph, rev, APM_STAMP);
	if (list_length(set) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" does not name exactly one revision", rev),
				 errdetail("It names %d revisions.", list_length(set))));
	node = &graph->nodes[linitial_int(set)];
	def = apm_catalog_fetch(node->id, &applied, &checksum, &registered_at);

	values[0] = CStringGetTextDatum(def->id);
	values[1] = apm_text_array(def->parents);
	values[2] = ids_to_array(graph, node->children, node->nchildren);
	values[3] = CStringGetTextDatum(def->message);
	values[4] = apm_text_array(def->branch_labels);
	values[5] = apm_text_array(def->depends_on);
	values[6] = BoolGetDatum(def->transactional);
	values[7] = BoolGetDatum(applied);
	values[8] = ObjectIdGetDatum(def->owner);
	values[9] = TimestampTzGetDatum(registered_at);
	values[10] = CStringGetTextDatum(checksum);
	values[11] = CStringGetTextDatum(def->upgrade_sql);
	values[12] = def->downgrade_sql ? CStringGetTextDatum(def->downgrade_sql) : (Datum) 0;
	nulls[12] = def->downgrade_sql == NULL;

	/* build the result outside SPI's memory, which apm_end releases */
	MemoryContextSwitchTo(callcxt);
	tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
	apm_end(false);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/*
 * ap_migrate_validate() returns one row per problem: severity ('error' or
 * 'warning'), problem code, the revision concerned and a description.
 */
Datum
ap_migrate_validate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *problems;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_validate()", false);

	problems = apm_validate(apm_catalog_load_graph());
	foreach(lc, problems)
	{
		ApmProblem *problem = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(problem->is_error ? "error" : "warning");
		values[1] = CStringGetTextDatum(problem->code);
		values[2] = problem->revision ? CStringGetTextDatum(problem->revision) : (Datum) 0;
		nulls[2] = problem->revision == NULL;
		values[3] = CStringGetTextDatum(problem->detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	apm_end(false);
	return (Datum) 0;
}

/*
 * Compare the live schema with the fingerprint recorded after the last
 * applied steps; a WARNING names each object that differs.  False when
 * one does.
 */
static bool
report_drift(void)
{
	bool		recorded;
	TimestampTz recorded_at;
	List	   *changes = apm_fingerprint_drift(&recorded, &recorded_at);
	ListCell   *lc;

	foreach(lc, changes)
	{
		ApmSchemaChange *change = lfirst(lc);

		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("schema drift: %s was %s since the last migration",
						change->object, change->change),
				 errhint("See ap_migrate_drift(); write the change as a revision, or undo it.")));
	}
	return changes == NIL;
}

/*
 * ap_migrate_check() is true when every head is applied and validation
 * reports no error: the question a health check or a CI job asks.
 */
Datum
ap_migrate_check(PG_FUNCTION_ARGS)
{
	ApmGraph   *graph;
	List	   *problems;
	ListCell   *lc;
	bool		ok = true;
	int			i;

	apm_begin("ap_migrate_check()", false);
	graph = apm_catalog_load_graph();
	for (i = 0; i < graph->nnodes && ok; i++)
		if (graph->nodes[i].nchildren == 0 && !graph->nodes[i].applied)
			ok = false;
	if (ok)
	{
		problems = apm_validate(graph);
		foreach(lc, problems)
		{
			if (((ApmProblem *) lfirst(lc))->is_error)
				ok = false;
		}
	}
	if (ok)
		ok = report_drift();	/* live schema vs. recorded (fingerprint.c) */
	apm_end(false);
	PG_RETURN_BOOL(ok);
}

/*
 * ap_migrate.history_append_only() is a statement trigger that keeps the
 * history log append-only, even for the owner of the table.
 */
Datum
ap_migrate_history_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	/* the server refuses to call a trigger function any other way */
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "ap_migrate.history_append_only() was not called as a trigger");
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the ap_migrate history log is append-only"),
			 errdetail("%s on table \"%s\" is not allowed.",
					   TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
					   TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" : "TRUNCATE",
					   RelationGetRelationName(trigdata->tg_relation))));
	PG_RETURN_NULL();
}

/* Put the lint findings rows into the result of an SRF */
static void
put_lint_rows(FunctionCallInfo fcinfo, List *rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	foreach(lc, rows)
	{
		ApmLintRow *row = lfirst(lc);
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = CStringGetTextDatum(row->revision);
		values[1] = Int32GetDatum(row->stmtno);
		values[2] = Int32GetDatum(row->line);
		values[3] = CStringGetTextDatum(row->code);
		values[4] = CStringGetTextDatum(row->severity);
		values[5] = CStringGetTextDatum(row->message);
		values[6] = CStringGetTextDatum(row->hint);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * ap_migrate_lint(revision) lints the upgrade SQL of the pending revisions
 * (revision NULL) or of the revisions a target names, against the live
 * catalog: one row per finding.
 */
Datum
ap_migrate_lint(PG_FUNCTION_ARGS)
{
	const char *target = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_lint()", false);
	put_lint_rows(fcinfo, apm_lint_revisions(target));
	apm_end(false);
	return (Datum) 0;
}

/*
 * ap_migrate_lint_sql(sql, transactional, revision) lints SQL that is not
 * registered (a migration file before it is loaded), with the same rules.
 */
Datum
ap_migrate_lint_sql(PG_FUNCTION_ARGS)
{
	char	   *sql = text_arg(fcinfo, 0, "sql");
	bool		transactional;
	char	   *revision = text_arg(fcinfo, 2, "name");

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transactional must not be NULL")));
	transactional = PG_GETARG_BOOL(1);
	InitMaterializedSRF(fcinfo, 0);
	put_lint_rows(fcinfo, apm_lint_sql(revision, sql, transactional, NULL));
	return (Datum) 0;
}

/*
 * ap_migrate_verify(target) applies, reverts and re-applies every pending
 * revision up to target in a subtransaction that is always rolled back,
 * one row per revision.
 */
Datum
ap_migrate_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *target = text_arg(fcinfo, 0, "target");
	List	   *rows;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	rows = apm_verify(target);
	foreach(lc, rows)
	{
		ApmVerifyRow *row = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(row->revision);
		values[1] = CStringGetTextDatum(row->status);
		values[2] = row->detail ? CStringGetTextDatum(row->detail) : (Datum) 0;
		nulls[2] = row->detail == NULL;
		values[3] = row->error ? CStringGetTextDatum(row->error) : (Datum) 0;
		nulls[3] = row->error == NULL;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ap_migrate_drift() returns one row per schema object that differs from
 * the fingerprint recorded after the last applied steps.
 */
Datum
ap_migrate_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		recorded;
	TimestampTz recorded_at;
	List	   *changes;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	apm_begin("ap_migrate_drift()", false);
	changes = apm_fingerprint_drift(&recorded, &recorded_at);
	foreach(lc, changes)
	{
		ApmSchemaChange *change = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = CStringGetTextDatum(change->object);
		values[1] = CStringGetTextDatum(change->change);
		values[2] = TimestampTzGetDatum(recorded_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	apm_end(false);
	return (Datum) 0;
}
