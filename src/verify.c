/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  ap_migrate_verify(): every pending revision applied, reverted and
 *	  re-applied in a subtransaction that is always rolled back.
 *
 * For each pending step up to the target, in upgrade order, the upgrade
 * runs, then the downgrade; the objects the two touched (touched.c) are
 * fingerprinted (fingerprint.c) and compared with what they were before
 * the upgrade: every difference is an object the downgrade does not
 * restore.  Then the upgrade runs again, after its downgrade; the revert
 * and the re-apply are rolled back and the next step starts from the
 * first application.  What objects were before a step comes
 * from a map of the whole schema, taken once at the start and kept up to
 * date with the fingerprints of what each step touched.
 *
 * Each run is a subtransaction of its own, so a failing step is reported
 * with its error (and, for a missing object, the revision that creates it)
 * and the steps that do not depend on it are still verified.  Everything
 * happens inside one more subtransaction, which is rolled back at the end
 * whatever happened: the database is left as it was (the function checks
 * that with a whole-schema fingerprint before and after), and since
 * nothing is committed no other session ever sees a step.
 *
 * Steps run as an upgrade runs them (execute.c, apm_run_step_sql): as the
 * revision's owner, with the registered search_path, the step lock timeout
 * and retries, and the same refusals beforehand (apm_check_steps): a
 * superuser-owned revision is verified only by a superuser.  They do take
 * their locks on real tables while the call runs.  Non-transactional
 * revisions cannot run inside a transaction and are reported as skipped,
 * with every revision that depends on them.
 *
 * Cost: each upgrade runs twice and each downgrade once, plus two
 * fingerprints of the objects the step touched and a pass over the map,
 * so verification does not fingerprint steps x schema (docs/analysis.md).
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "ap_migrate.h"
#include "compat.h"

/* what apm_verify hands to verify_body through apm_locked */
typedef struct VerifyArgs
{
	const char *target;
	MemoryContext callcxt;		/* where the rows go */
	List	   *rows;
} VerifyArgs;

/*
 * Run one upgrade or downgrade in a subtransaction.  On error roll it
 * back, copy the error into errcxt and return false; a query cancel or a
 * shutdown is not a failure of the step and is re-thrown.
 */
static bool
run_phase(const ApmNode *node, const ApmRevisionDef *def, ApmOperation operation,
		  MemoryContext errcxt, ErrorData **edata)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		apm_run_step_sql(node, def, operation);
		ReleaseCurrentSubTransaction();
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *copy;

		MemoryContextSwitchTo(errcxt);
		copy = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (copy->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			copy->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(copy);
		*edata = copy;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return ok;
}

/* The first double-quoted name of an error message, or NULL */
static char *
quoted_name(const char *message)
{
	const char *start = strchr(message, '"');
	const char *end;

	if (start == NULL || (end = strchr(start + 1, '"')) == NULL)
		return NULL;
	return pnstrdup(start + 1, end - start - 1);
}

/* The last component of a qualified name list */
static const char *
last_name(List *names)
{
	return names != NIL ? strVal(llast(names)) : "";
}

/* Does any statement of sql create an object whose name is name? */
static bool
creates(const char *sql, const char *name)
{
	List	   *stmts;
	ListCell   *lc;

	/* cheap test first: most revisions do not mention the name at all */
	if (strstr(sql, name) == NULL)
		return false;
	stmts = apm_sql_split(sql);
	foreach(lc, stmts)
	{
		Node	   *stmt = lfirst_node(RawStmt, lc)->stmt;
		const char *created = NULL;

		switch (nodeTag(stmt))
		{
			case T_CreateStmt:
				created = ((CreateStmt *) stmt)->relation->relname;
				break;
			case T_ViewStmt:
				created = ((ViewStmt *) stmt)->view->relname;
				break;
			case T_CreateTableAsStmt:
				created = ((CreateTableAsStmt *) stmt)->into->rel->relname;
				break;
			case T_CreateSeqStmt:
				created = ((CreateSeqStmt *) stmt)->sequence->relname;
				break;
			case T_IndexStmt:
				created = ((IndexStmt *) stmt)->idxname;
				break;
			case T_CreateEnumStmt:
				created = last_name(((CreateEnumStmt *) stmt)->typeName);
				break;
			case T_CompositeTypeStmt:
				created = ((CompositeTypeStmt *) stmt)->typevar->relname;
				break;
			case T_CreateDomainStmt:
				created = last_name(((CreateDomainStmt *) stmt)->domainname);
				break;
			case T_CreateFunctionStmt:
				created = last_name(((CreateFunctionStmt *) stmt)->funcname);
				break;
			case T_CreateSchemaStmt:
				created = ((CreateSchemaStmt *) stmt)->schemaname;
				break;
			default:
				break;
		}
		if (created != NULL && strcmp(created, name) == 0)
			return true;
	}
	return false;
}

/*
 * For a step that failed because an object does not exist (the seed's
 * "table referenced before creation"), name the registered revision whose
 * upgrade creates it, and say where it stands relative to the failing
 * one.  NULL when the error is of another kind.
 */
static char *
blame(const ApmGraph *graph, int failing, ErrorData *edata)
{
	char	   *name;
	char	   *qualified;
	bool	   *ancestors;
	int			i;

	if (edata->sqlerrcode != ERRCODE_UNDEFINED_TABLE &&
		edata->sqlerrcode != ERRCODE_UNDEFINED_OBJECT &&
		edata->sqlerrcode != ERRCODE_UNDEFINED_FUNCTION &&
		edata->sqlerrcode != ERRCODE_UNDEFINED_SCHEMA)
		return NULL;
	qualified = quoted_name(edata->message);
	if (qualified == NULL)
		return NULL;
	name = strrchr(qualified, '.') ? strrchr(qualified, '.') + 1 : qualified;
	ancestors = apm_graph_ancestors_by_parents(graph, failing);

	for (i = 0; i < graph->nnodes; i += APM_LINT_BATCH)
	{
		int			count = Min(APM_LINT_BATCH, graph->nnodes - i);
		char	   *ids[APM_LINT_BATCH];
		char	   *checksums[APM_LINT_BATCH];
		ApmRevisionDef **defs;
		int			j;

		for (j = 0; j < count; j++)
			ids[j] = graph->nodes[i + j].id;
		defs = apm_catalog_fetch_steps(ids, count, checksums);
		for (j = 0; j < count; j++)
		{
			if (i + j == failing || !creates(defs[j]->upgrade_sql, name))
				continue;
			if (ancestors[i + j])
				return psprintf("\"%s\" is created by revision \"%s\", an ancestor of this one: a step between them drops it.",
								qualified, ids[j]);
			return psprintf("\"%s\" is created by revision \"%s\", which is not an ancestor of this one: this revision's down_revision (or depends_on) should lead to it.",
							qualified, ids[j]);
		}
	}
	return psprintf("No registered revision creates \"%s\".", qualified);
}

/* "SQLSTATE: message" of an error */
static char *
error_text(ErrorData *edata)
{
	return psprintf("%s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
}

/* Append a row to the result, in the call's memory context */
static void
add_row(VerifyArgs *args, const char *revision, const char *status,
		const char *detail, const char *error)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(args->callcxt);
	ApmVerifyRow *row = palloc0(sizeof(ApmVerifyRow));

	row->revision = pstrdup(revision);
	row->status = status;
	row->detail = detail ? pstrdup(detail) : NULL;
	row->error = error ? pstrdup(error) : NULL;
	args->rows = lappend(args->rows, row);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The first parent or dependency of a node that failed or was skipped
 * (index), or -1.
 */
static int
blocked_by(const ApmGraph *graph, const ApmNode *node, const bool *unusable)
{
	int			j;

	for (j = 0; j < node->nparents + node->ndeps; j++)
	{
		int			p = j < node->nparents ? node->parents[j] : node->deps[j - node->nparents];

		if (p >= 0 && unusable[p])
			return p;
	}
	return -1;
}

/*
 * The schema as the steps verified so far left it: every object of the
 * fingerprint, by name, with its description and unit.  Filled from the
 * whole-schema fingerprint taken first, then kept up to date from the
 * fingerprints of what each step touched, so that the state before a step
 * is known without fingerprinting the whole schema again.
 */
typedef struct SchemaEntry
{
	char	   *name;			/* the key */
	char	   *description;
	char		unit_kind;
	Oid			unit;
} SchemaEntry;

static MemoryContext schema_cxt = NULL;

/* hash of the string a key points to */
static uint32
entry_hash(const void *key, Size keysize)
{
	const char *name = *(char *const *) key;

	return string_hash(name, strlen(name) + 1);
}

/* comparison of the strings two keys point to */
static int
entry_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

/* Create the map in cxt */
static HTAB *
schema_create(MemoryContext cxt)
{
	HASHCTL		ctl;

	schema_cxt = cxt;
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(SchemaEntry);
	ctl.hash = entry_hash;
	ctl.match = entry_match;
	ctl.hcxt = cxt;
	return hash_create("ap_migrate verify schema", 1024, &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/* Enter the objects of fp into the map */
static void
schema_add(HTAB *schema, const ApmFingerprint *fp)
{
	int			i;

	for (i = 0; i < fp->n; i++)
	{
		char	   *key = fp->objects[i];
		bool		found;
		SchemaEntry *entry = hash_search(schema, &key, HASH_ENTER, &found);

		if (found)
			pfree(entry->description);
		else
			entry->name = MemoryContextStrdup(schema_cxt, fp->objects[i]);
		entry->description = MemoryContextStrdup(schema_cxt, fp->descriptions[i]);
		entry->unit_kind = fp->unit_kinds[i];
		entry->unit = fp->units[i];
	}
}

/* Is the unit in scope? */
static bool
in_scope(const ApmScope *scope, char kind, Oid unit)
{
	switch (kind)
	{
		case 'r':
			return list_member_oid(scope->relations, unit);
		case 'f':
			return list_member_oid(scope->functions, unit);
		case 't':
			return list_member_oid(scope->types, unit);
		case 'n':
			return list_member_oid(scope->namespaces, unit);
		case 'e':
			return list_member_oid(scope->extensions, unit);
		default:
			return false;
	}
}

/* qsort comparator of SchemaEntry pointers by name */
static int
compare_entries(const void *a, const void *b)
{
	return strcmp((*(SchemaEntry *const *) a)->name, (*(SchemaEntry *const *) b)->name);
}

/*
 * The objects of the map that belong to the units of scope, as a
 * fingerprint sorted by name whose strings are the map's; with remove,
 * they are also taken out of the map (the caller frees the strings).
 */
static ApmFingerprint *
schema_select(HTAB *schema, const ApmScope *scope, bool remove)
{
	HASH_SEQ_STATUS status;
	SchemaEntry *entry;
	SchemaEntry **found = palloc(sizeof(SchemaEntry *) * 16);
	int			n = 0;
	int			size = 16;
	ApmFingerprint *fp = palloc0(sizeof(ApmFingerprint));
	int			i;

	hash_seq_init(&status, schema);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!in_scope(scope, entry->unit_kind, entry->unit))
			continue;
		if (n == size)
		{
			size *= 2;
			found = repalloc(found, sizeof(SchemaEntry *) * size);
		}
		found[n] = palloc(sizeof(SchemaEntry));
		memcpy(found[n], entry, sizeof(SchemaEntry));
		n++;
		if (remove)
			(void) hash_search(schema, &entry->name, HASH_REMOVE, NULL);
	}
	qsort(found, n, sizeof(SchemaEntry *), compare_entries);
	fp->n = n;
	fp->objects = palloc(sizeof(char *) * Max(n, 1));
	fp->descriptions = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		fp->objects[i] = found[i]->name;
		fp->descriptions[i] = found[i]->description;
	}
	return fp;
}

/*
 * Bring the map up to date after a step touched the units of scope:
 * fingerprint them as they are now and replace what the map had.
 */
static void
schema_refresh(HTAB *schema, const ApmScope *scope)
{
	ApmFingerprint *old = schema_select(schema, scope, true);
	int			i;

	for (i = 0; i < old->n; i++)
	{
		pfree(old->objects[i]);
		pfree(old->descriptions[i]);
	}
	schema_add(schema, apm_fingerprint_take(scope));
}

/*
 * Verify one step: apply it; then, in a subtransaction, revert it, compare
 * the objects the two touched (touched.c) with what the map says they
 * were before, and apply it again.  The subtransaction is always rolled
 * back, which leaves the step applied as first: the steps after it can be
 * verified even when the revert or the re-apply failed, and verify holds
 * no more locks than an upgrade of the same steps would (a chain of a
 * thousand CREATE TABLE otherwise runs out of lock table).  The map
 * follows.
 * The step's row is added; false when the step could not be applied at
 * all, so that the revisions depending on it are skipped.
 */
static bool
verify_step(VerifyArgs *args, ApmGraph *graph, int index,
			const ApmRevisionDef *def, HTAB *schema, MemoryContext stepcxt)
{
	ApmNode    *node = &graph->nodes[index];
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *edata = NULL;
	ApmScope   *volatile scope = NULL;
	List	   *volatile changes = NIL;
	volatile ApmOperation phase = APM_DOWNGRADE;
	ApmScope   *touched;
	const char *status;
	char	   *detail = NULL;

	(void) apm_touched_take();	/* start from an empty set */

	if (!run_phase(node, def, APM_UPGRADE, stepcxt, &edata))
	{
		add_row(args, node->id, "failed", blame(graph, index, edata), error_text(edata));
		return false;
	}
	node->applied = true;
	if (!node->has_downgrade)
	{
		schema_refresh(schema, apm_touched_take());
		add_row(args, node->id, "irreversible",
				"The revision has no downgrade; it was applied and not reverted.", NULL);
		return true;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		ApmFingerprint *after_down;

		apm_run_step_sql(node, def, APM_DOWNGRADE);
		MemoryContextSwitchTo(stepcxt);
		scope = apm_touched_take();
		after_down = apm_fingerprint_take(scope);
		changes = apm_fingerprint_diff(schema_select(schema, scope, false), after_down);
		MemoryContextSwitchTo(oldcxt);
		phase = APM_UPGRADE;
		apm_run_step_sql(node, def, APM_UPGRADE);
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(stepcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
		{
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			ReThrowError(edata);
		}
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	/* what the step left, whichever way it ended */
	touched = apm_touched_take();
	if (scope != NULL)
		apm_scope_union(touched, scope);
	schema_refresh(schema, touched);

	status = changes != NIL ? "differs" : "ok";
	if (changes != NIL)
		detail = psprintf("The downgrade does not restore the schema: %s.",
						  apm_fingerprint_describe_changes(changes));
	if (edata != NULL && phase == APM_DOWNGRADE)
	{
		status = "failed";
		detail = "The downgrade failed.";
	}
	else if (edata != NULL)
	{
		if (changes == NIL)
			status = "failed";
		detail = psprintf("%s%sThe upgrade failed when applied again after the downgrade.",
						  detail ? detail : "", detail ? "  " : "");
	}
	add_row(args, node->id, status, detail, edata ? error_text(edata) : NULL);
	return true;
}

/*
 * Verify the steps of plan, inside the subtransaction the caller rolls
 * back.
 */
static void
verify_steps(VerifyArgs *args, ApmGraph *graph, ApmPlan *plan, HTAB *schema,
			 MemoryContext workcxt)
{
	MemoryContext stepcxt = AllocSetContextCreate(workcxt, "ap_migrate verify step",
												  ALLOCSET_DEFAULT_SIZES);
	bool	   *unusable = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	int			i;

	for (i = 0; i < plan->nsteps; i++)
	{
		int			index = plan->steps[i];
		ApmNode    *node = &graph->nodes[index];
		MemoryContext oldcxt;
		ApmRevisionDef **defs;
		char	   *checksum;
		int			blocker;

		CHECK_FOR_INTERRUPTS();
		blocker = blocked_by(graph, node, unusable);
		if (blocker >= 0)
		{
			unusable[index] = true;
			add_row(args, node->id, "skipped",
					psprintf("Revision \"%s\" could not be verified.", graph->nodes[blocker].id),
					NULL);
			continue;
		}
		if (!node->transactional)
		{
			unusable[index] = true;
			add_row(args, node->id, "skipped",
					"The revision is not transactional and cannot run inside the rolled-back transaction.",
					NULL);
			continue;
		}

		oldcxt = MemoryContextSwitchTo(stepcxt);
		defs = apm_catalog_fetch_steps(&node->id, 1, &checksum);
		if (strcmp(apm_checksum(defs[0]->upgrade_sql, defs[0]->downgrade_sql,
								defs[0]->transactional), checksum) != 0)
		{
			unusable[index] = true;
			add_row(args, node->id, "failed",
					"Its SQL does not match its stored checksum; it was not run.", NULL);
		}
		else if (!verify_step(args, graph, index, defs[0], schema, stepcxt))
			unusable[index] = true;
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(stepcxt);
	}
	MemoryContextDelete(stepcxt);
}

/* The body of apm_verify, under the operation lock */
static void
verify_body(void *arg)
{
	VerifyArgs *args = (VerifyArgs *) arg;
	MemoryContext workcxt = AllocSetContextCreate(CurrentMemoryContext,
												  "ap_migrate verify",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ApmGraph   *graph = apm_load_usable_graph(true);
	ApmPlan    *plan = apm_resolve_plan(graph, args->target, APM_UPGRADE);
	ApmPlan		runnable;
	ApmFingerprint *before;
	ApmFingerprint *after;
	List	   *changes;
	bool	   *unusable = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	int			i;

	/* refuse up front what an upgrade would refuse, among the steps to run */
	runnable.operation = APM_UPGRADE;
	runnable.nsteps = 0;
	runnable.steps = palloc(sizeof(int) * Max(plan->nsteps, 1));
	for (i = 0; i < plan->nsteps; i++)
	{
		ApmNode    *node = &graph->nodes[plan->steps[i]];

		if (!node->transactional || blocked_by(graph, node, unusable) >= 0)
			unusable[plan->steps[i]] = true;
		else
			runnable.steps[runnable.nsteps++] = plan->steps[i];
	}
	apm_check_steps(graph, &runnable, false);

	oldcxt = MemoryContextSwitchTo(workcxt);
	before = apm_fingerprint_take(NULL);
	MemoryContextSwitchTo(oldcxt);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		HTAB	   *schema = schema_create(workcxt);

		schema_add(schema, before);
		apm_touched_start(workcxt);
		verify_steps(args, graph, plan, schema, workcxt);
		apm_touched_stop();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* roll everything back first, then report the error as it was */
		apm_touched_stop();
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	/* the proof that nothing is left behind */
	MemoryContextSwitchTo(workcxt);
	after = apm_fingerprint_take(NULL);
	changes = apm_fingerprint_diff(before, after);
	if (changes != NIL)
		elog(ERROR, "ap_migrate_verify() left the schema changed: %s",
			 apm_fingerprint_describe_changes(changes));
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(workcxt);
}

/*
 * apm_verify verifies every pending revision up to target and returns one
 * ApmVerifyRow per revision, in upgrade order.  It takes the ap_migrate
 * lock like an upgrade, so no other operation runs meanwhile.
 */
List *
apm_verify(const char *target)
{
	VerifyArgs	args;

	args.target = target;
	args.callcxt = CurrentMemoryContext;
	args.rows = NIL;
	apm_locked("ap_migrate_verify()", verify_body, &args);
	return args.rows;
}
