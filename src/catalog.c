/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Every read and write of the ap_migrate.* tables.
 *
 * Most writes and reads are SPI statements.  What covers the whole
 * catalog or runs at every deploy or every step (the graph, the messages
 * of a long plan, checksum validation, the heads of the no-op path, the
 * step bodies, the steps' applied and history rows) uses the tables and
 * their indexes directly, with a snapshot taken as SPI would take it: at
 * 100,000 revisions, copying every row into an SPI tuple table cost more
 * than all the graph work, and three statements per step were most of a
 * committed step's own cost.  They look up no name on a search_path and
 * run no user code, so they need no change of identity.
 *
 * The functions are the only way to change the tables: the installing role
 * holds INSERT, for pg_restore only, and the catalog_guard trigger (guard.c)
 * refuses its rows outside restore mode; nobody holds UPDATE, DELETE or
 * TRUNCATE.  Each statement here therefore runs as the tables' owner
 * (as pg_cron does for its job table), with search_path forced to
 * pg_catalog, pg_temp so that nothing in the caller's schemas can capture
 * a function, operator or type name, and is then switched back before
 * anything else happens.  The statements are fixed strings, qualified
 * throughout; every value is a parameter.  User migration SQL never runs
 * in this context.
 *
 * The caller is connected to SPI.  Results are copied into the memory
 * context that was current when a function was called, and SPI's tuple
 * tables are released at once, so a long run of steps does not accumulate
 * memory in SPI's procedure context.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "ap_migrate.h"
#include "compat.h"

static void refresh_heads(List *ids);

/* rows fetched at a time when scanning every revision's SQL */
#define APM_FETCH_BATCH 1000

/* nesting depth of catalog statements running (catalog_exec) */
static int	catalog_writing = 0;

/* identity and settings saved while a catalog statement runs */
typedef struct CatalogSave
{
	Oid			userid;
	int			sec_context;
	int			nestlevel;
} CatalogSave;

/*
 * The OID of a relation of the ap_migrate schema, which must exist.
 */
static Oid
catalog_relid(const char *name)
{
	Oid			nspid = get_namespace_oid(APM_SCHEMA_NAME, true);
	Oid			relid = OidIsValid(nspid) ? get_relname_relid(name, nspid) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ap_migrate catalog relation \"%s.%s\" does not exist",
						APM_SCHEMA_NAME, name),
				 errhint("The extension was dropped or damaged, possibly by migration SQL; reinstall it with CREATE EXTENSION ap_migrate.")));
	return relid;
}

/*
 * The number of column name of a catalog table, from the relation's
 * descriptor rather than the syscache: a new backend's no-op deploy opens
 * the tables anyway, and each syscache miss is an index scan of
 * pg_attribute.
 */
static AttrNumber
catalog_attnum(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("ap_migrate catalog column \"%s.%s\" does not exist",
					RelationGetRelationName(rel), name),
			 errhint("The extension was damaged; reinstall it with CREATE EXTENSION ap_migrate.")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * The owner of the catalog tables: the role that ran the install script,
 * which is the bootstrap superuser for a trusted install.
 */
static Oid
catalog_owner(void)
{
	Oid			relid = catalog_relid("revision");
	HeapTuple	tuple;
	Oid			owner;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/* Become the catalog owner, with a search_path nothing can hijack */
static void
catalog_enter(CatalogSave *save)
{
	Oid			owner = catalog_owner();

	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	SetUserIdAndSecContext(owner, save->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	save->nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/* Undo catalog_enter */
static void
catalog_leave(CatalogSave *save)
{
	AtEOXact_GUC(false, save->nestlevel);
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/*
 * Saved plans of the catalog statements, keyed by the address of their
 * text: every statement is a string constant of this file, so the address
 * identifies it for the life of the backend.  Planning each statement once
 * per backend, not once per call, is what keeps registration and
 * bookkeeping cheap.  The plan cache replans by itself when the tables
 * change (for instance after DROP and CREATE EXTENSION), and every
 * execution happens under the same pinned search_path.
 */
#define APM_MAX_PLANS 32

typedef struct SavedPlan
{
	const char *sql;
	SPIPlanPtr	plan;
} SavedPlan;

static SavedPlan saved_plans[APM_MAX_PLANS];
static int	nsaved_plans = 0;

/* The saved plan of a catalog statement, prepared on first use */
static SPIPlanPtr
catalog_plan(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan;
	int			i;

	for (i = 0; i < nsaved_plans; i++)
		if (saved_plans[i].sql == sql)
			return saved_plans[i].plan;

	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare ap_migrate catalog statement: %s",
			 SPI_result_code_string(SPI_result));
	if (nsaved_plans < APM_MAX_PLANS && SPI_keepplan(plan) == 0)
	{
		saved_plans[nsaved_plans].sql = sql;
		saved_plans[nsaved_plans].plan = plan;
		nsaved_plans++;
	}
	return plan;
}

/*
 * Run one catalog statement with parameters and check its result code.
 * CurrentMemoryContext is preserved (SPI would leave its own behind).
 */
static void
catalog_exec(const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls, bool read_only, int expected)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogSave save;
	int			ret;

	catalog_enter(&save);
	catalog_writing++;
	PG_TRY();
	{
		ret = SPI_execute_plan(catalog_plan(sql, nargs, types), values, nulls,
							   read_only, 0);
	}
	PG_FINALLY();
	{
		catalog_writing--;
	}
	PG_END_TRY();
	catalog_leave(&save);
	MemoryContextSwitchTo(cxt);

	if (ret != expected)
		elog(ERROR, "ap_migrate catalog statement failed: %s",
			 SPI_result_code_string(ret));
}

/*
 * apm_catalog_is_writing tells the catalog guard (guard.c) that a row comes
 * from a statement of this file, which needs no check; anything else
 * inserting into the tables is a restore or a superuser's hand.
 */
bool
apm_catalog_is_writing(void)
{
	return catalog_writing > 0;
}

/* The name of the role calling ap_migrate, for the log */
static Datum
caller_name(void)
{
	return CStringGetDatum(GetUserNameFromId(GetUserId(), false));
}

/* text value of column col of the current SPI row, or NULL */
static char *
get_text(HeapTuple tuple, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static bool
get_bool(HeapTuple tuple, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, SPI_tuptable->tupdesc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * A text[] value as a palloc'd C array of strings (NULL elements as empty
 * strings); returns the count.
 */
static int
text_array_items(Datum d, char ***out)
{
	Datum	   *elems;
	bool	   *elnulls;
	int			n,
				i;
	ArrayType  *array = DatumGetArrayTypeP(d);

	*out = NULL;
	if (ARR_NDIM(array) == 0)
	{
		/* most revisions have no dependencies and no labels */
		if ((Pointer) array != DatumGetPointer(d))
			pfree(array);
		return 0;
	}
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elnulls, &n);
	if (n > 0)
		*out = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		(*out)[i] = elnulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	pfree(elems);
	pfree(elnulls);
	if ((Pointer) array != DatumGetPointer(d))
		pfree(array);
	return n;
}

/* A text[] column of the current SPI row as a C array; returns the count */
static int
get_text_array(HeapTuple tuple, int col, char ***out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, SPI_tuptable->tupdesc, col, &isnull);

	*out = NULL;
	return isnull ? 0 : text_array_items(d, out);
}

/* The same, as a List */
static List *
get_text_list(HeapTuple tuple, int col)
{
	char	  **items;
	int			n = get_text_array(tuple, col, &items);
	List	   *list = NIL;
	int			i;

	for (i = 0; i < n; i++)
		list = lappend(list, items[i]);
	return list;
}

/* A text[] of C strings */
static Datum
text_array_of(char **items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* A revision row as the graph needs it, until it is put in order */
typedef struct LoadRow
{
	int64		seq;
	char	   *id;
	int			nparents;
	char	  **parent_ids;
	int			ndeps;
	char	  **dep_ids;
	int			nlabels;
	char	  **labels;
	bool		transactional;
	bool		has_downgrade;
	Oid			owner;
	char	   *checksum;
} LoadRow;

/* qsort comparator: registration order */
static int
compare_load_rows(const void *a, const void *b)
{
	int64		sa = ((const LoadRow *) a)->seq;
	int64		sb = ((const LoadRow *) b)->seq;

	return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/* qsort comparator: registration order of LoadRow pointers */
static int
compare_load_row_ptrs(const void *a, const void *b)
{
	return compare_load_rows(*(LoadRow *const *) a, *(LoadRow *const *) b);
}

/* list_sort comparator: registration order of LoadRow cells */
static int
compare_load_row_cells(const ListCell *a, const ListCell *b)
{
	return compare_load_rows(lfirst(a), lfirst(b));
}

/*
 * The snapshot a catalog read by scan uses: the one SPI would take for a
 * statement, that is a new one in READ COMMITTED (which sees what the
 * previous holder of the ap_migrate lock committed) and the transaction's
 * in REPEATABLE READ and SERIALIZABLE (where only the read-only functions
 * get here).
 */
static Snapshot
catalog_snapshot(void)
{
	return RegisterSnapshot(GetTransactionSnapshot());
}

/*
 * Read every revision row's structure (not its SQL) by scanning the table:
 * each row is deformed once.  What the graph's nodes keep (the id arrays)
 * is allocated in cxt; the rest in tmpcxt.  Returns the rows, in scan order.
 */
static LoadRow *
read_revision_rows(Relation revision, Snapshot snapshot, MemoryContext cxt,
				   MemoryContext tmpcxt, int *count)
{
	TupleDesc	desc = RelationGetDescr(revision);
	AttrNumber	att_id = catalog_attnum(revision, "id");
	AttrNumber	att_seq = catalog_attnum(revision, "seq");
	AttrNumber	att_parents = catalog_attnum(revision, "down_revision");
	AttrNumber	att_deps = catalog_attnum(revision, "depends_on");
	AttrNumber	att_labels = catalog_attnum(revision, "branch_labels");
	AttrNumber	att_transactional = catalog_attnum(revision, "transactional");
	AttrNumber	att_downgrade = catalog_attnum(revision, "downgrade_sql");
	AttrNumber	att_owner = catalog_attnum(revision, "owner");
	AttrNumber	att_checksum = catalog_attnum(revision, "checksum");
	Datum	   *values = MemoryContextAlloc(tmpcxt, sizeof(Datum) * desc->natts);
	bool	   *nulls = MemoryContextAlloc(tmpcxt, sizeof(bool) * desc->natts);
	int			maxrows = 1024;
	LoadRow    *rows = MemoryContextAlloc(tmpcxt, sizeof(LoadRow) * maxrows);
	int			nrows = 0;
	TableScanDesc scan;
	HeapTuple	tuple;
	MemoryContext oldcxt = MemoryContextSwitchTo(tmpcxt);

	scan = table_beginscan(revision, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		LoadRow    *row;

		CHECK_FOR_INTERRUPTS();
		if (nrows == maxrows)
		{
			maxrows *= 2;
			rows = repalloc_huge(rows, sizeof(LoadRow) * maxrows);
		}
		row = &rows[nrows++];
		heap_deform_tuple(tuple, desc, values, nulls);

		/* what the nodes keep is made where the graph lives */
		MemoryContextSwitchTo(cxt);
		row->nparents = text_array_items(values[att_parents - 1], &row->parent_ids);
		row->ndeps = text_array_items(values[att_deps - 1], &row->dep_ids);
		row->nlabels = text_array_items(values[att_labels - 1], &row->labels);
		MemoryContextSwitchTo(tmpcxt);
		row->seq = DatumGetInt64(values[att_seq - 1]);
		row->id = TextDatumGetCString(values[att_id - 1]);
		row->transactional = DatumGetBool(values[att_transactional - 1]);
		row->has_downgrade = !nulls[att_downgrade - 1];
		row->owner = DatumGetObjectId(values[att_owner - 1]);
		row->checksum = TextDatumGetCString(values[att_checksum - 1]);
	}
	table_endscan(scan);
	MemoryContextSwitchTo(oldcxt);
	*count = nrows;
	return rows;
}

/*
 * The graph of the rows, in registration order.  Pointers are sorted, not
 * rows: updates of is_head move rows away from registration order, and
 * whole rows are large.  order receives the sorted pointers (allocated in
 * tmpcxt), so that node i came from (*order)[i].
 */
static ApmGraph *
graph_from_rows(LoadRow *rows, int nrows, MemoryContext tmpcxt, LoadRow ***order)
{
	LoadRow   **sorted = MemoryContextAllocHuge(tmpcxt, sizeof(LoadRow *) * Max(nrows, 1));
	ApmGraph   *graph;
	int			i;

	for (i = 0; i < nrows; i++)
		sorted[i] = &rows[i];
	qsort(sorted, nrows, sizeof(LoadRow *), compare_load_row_ptrs);

	graph = apm_graph_create(nrows);
	for (i = 0; i < nrows; i++)
	{
		LoadRow    *row = sorted[i];
		ApmNode    *node = apm_graph_add_node(graph, row->id);

		node->nparents = row->nparents;
		node->parent_ids = row->parent_ids;
		node->ndeps = row->ndeps;
		node->dep_ids = row->dep_ids;
		node->nlabels = row->nlabels;
		node->labels = row->labels;
		node->transactional = row->transactional;
		node->has_downgrade = row->has_downgrade;
		node->owner = row->owner;
	}
	*order = sorted;
	return graph;
}

/*
 * Mark the applied revisions of the graph, each drifted when it was applied
 * with another checksum than the one it has now (order: graph_from_rows);
 * applied revisions that are not registered become the graph's orphans.
 */
static void
mark_applied_rows(ApmGraph *graph, LoadRow **order, Relation applied,
				  Snapshot snapshot)
{
	TupleDesc	desc = RelationGetDescr(applied);
	AttrNumber	att_rev = catalog_attnum(applied, "revision");
	AttrNumber	att_sum = catalog_attnum(applied, "checksum");
	TableScanDesc scan = table_beginscan(applied, snapshot, 0, NULL);
	HeapTuple	tuple;

	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		char	   *id = TextDatumGetCString(heap_getattr(tuple, att_rev, desc, &isnull));
		char	   *checksum = TextDatumGetCString(heap_getattr(tuple, att_sum, desc, &isnull));
		int			v = apm_graph_lookup(graph, id);

		CHECK_FOR_INTERRUPTS();
		if (v < 0)
			graph->orphans = lappend(graph->orphans, id);
		else
		{
			graph->nodes[v].applied = true;
			graph->nodes[v].drifted = strcmp(checksum, order[v]->checksum) != 0;
			pfree(id);
		}
		pfree(checksum);
	}
	table_endscan(scan);
}

/*
 * apm_catalog_load_graph reads every registered revision's structure (not
 * its SQL) with the applied state, and builds the graph.  Applied
 * revisions that are not registered come back as orphans.
 *
 * The graph is what every operation starts from, so, like
 * apm_catalog_heads, it scans the two tables directly instead of going
 * through SPI, which would copy every row into a tuple table first.  No
 * user SQL runs and no name is looked up on a search_path, so there is no
 * identity to switch.
 */
ApmGraph *
apm_catalog_load_graph(void)
{
	Relation	revision = table_open(catalog_relid("revision"), AccessShareLock);
	Relation	applied = table_open(catalog_relid("applied"), AccessShareLock);
	MemoryContext tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "ap_migrate graph load",
												 ALLOCSET_DEFAULT_SIZES);
	Snapshot	snapshot = catalog_snapshot();
	LoadRow    *rows;
	LoadRow   **order;
	ApmGraph   *graph;
	int			nrows;

	rows = read_revision_rows(revision, snapshot, CurrentMemoryContext, tmpcxt, &nrows);
	graph = graph_from_rows(rows, nrows, tmpcxt, &order);
	mark_applied_rows(graph, order, applied, snapshot);

	UnregisterSnapshot(snapshot);
	table_close(applied, NoLock);
	table_close(revision, NoLock);
	MemoryContextDelete(tmpcxt);

	apm_graph_link(graph);
	return graph;
}

/*
 * An equality key on a text column of rel, in the column's collation (the
 * index's: a key in another collation could miss entries).
 */
static void
text_key(ScanKey key, Relation rel, AttrNumber attno, const char *value)
{
	ScanKeyEntryInitialize(key, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   TupleDescAttr(RelationGetDescr(rel), attno - 1)->attcollation,
						   F_TEXTEQ, CStringGetTextDatum(value));
}

/*
 * Lookups of many ids in one table through an index on its id column: one
 * index scan restarted for each id, rather than a scan begun and ended per
 * id (which cost as much as the lookup itself).
 */
typedef struct IdProbe
{
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
} IdProbe;

/* Start looking up ids of rel through its index index_name */
static void
probe_begin(IdProbe *probe, Relation rel, const char *index_name,
			Snapshot snapshot)
{
	probe->index = index_open(catalog_relid(index_name), AccessShareLock);
	probe->scan = apm_index_beginscan(rel, probe->index, snapshot, 1, 0);
	probe->slot = table_slot_create(rel, NULL);
}

/*
 * The row with this id, its columns deformed into the slot, or NULL.  The
 * values point into the table's buffer until the next lookup.
 */
static TupleTableSlot *
probe_id(IdProbe *probe, const char *id)
{
	ScanKeyData key;

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   probe->index->rd_indcollation[0], F_TEXTEQ,
						   CStringGetTextDatum(id));
	index_rescan(probe->scan, &key, 1, NULL, 0);
	if (!index_getnext_slot(probe->scan, ForwardScanDirection, probe->slot))
		return NULL;
	slot_getallattrs(probe->slot);
	return probe->slot;
}

/* Finish the lookups */
static void
probe_end(IdProbe *probe)
{
	ExecDropSingleTupleTableSlot(probe->slot);
	index_endscan(probe->scan);
	index_close(probe->index, NoLock);
}

/* Is revision id in the applied set?  An index probe of applied's key. */
static bool
probe_applied(Relation applied, Oid pkey, AttrNumber attno, Snapshot snapshot,
			  const char *id)
{
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	text_key(&key, applied, attno, id);
	scan = systable_beginscan(applied, pkey, true, snapshot, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	return found;
}

/*
 * apm_catalog_heads returns the ids of the heads, in registration order,
 * reading only the partial index of heads and probing the applied set and
 * the dependency edges that name them: the whole of a no-op "upgrade head".
 * *all_applied tells whether every head is applied; *current gets the
 * applied heads that no applied revision depends on, which are then the
 * current revisions.
 *
 * This is the one catalog read done with index scans rather than SPI: it is
 * what every application instance runs at startup, in a new backend, where
 * planning a three-table query for the first time costs more than all the
 * rest of the call.  No user SQL runs here and no name is looked up on a
 * search_path, so there is no identity to switch.  The snapshot is taken
 * now, after the serializing lock, as SPI would take it.
 */
List *
apm_catalog_heads(bool *all_applied, List **current)
{
	Relation	revision = table_open(catalog_relid("revision"), AccessShareLock);
	Relation	applied = table_open(catalog_relid("applied"), AccessShareLock);
	Relation	edge = table_open(catalog_relid("revision_edge"), AccessShareLock);
	Oid			head_idx = catalog_relid("revision_head_idx");
	Oid			applied_pkey = catalog_relid("applied_pkey");
	Oid			edge_target_idx = catalog_relid("revision_edge_target_idx");
	AttrNumber	rev_id = catalog_attnum(revision, "id");
	AttrNumber	rev_seq = catalog_attnum(revision, "seq");
	AttrNumber	applied_rev = catalog_attnum(applied, "revision");
	AttrNumber	edge_rev = catalog_attnum(edge, "revision");
	AttrNumber	edge_target = catalog_attnum(edge, "target");
	AttrNumber	edge_kind = catalog_attnum(edge, "kind");
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	LoadRow    *rows;			/* only seq and id */
	int			nrows = 0;
	int			maxrows = 8;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *heads = NIL;
	int			i;

	rows = palloc(maxrows * sizeof(LoadRow));
	scan = systable_beginscan(revision, head_idx, true, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;

		if (nrows == maxrows)
		{
			maxrows *= 2;
			rows = repalloc(rows, maxrows * sizeof(LoadRow));
		}
		rows[nrows].id = TextDatumGetCString(heap_getattr(tuple, rev_id,
														  RelationGetDescr(revision), &isnull));
		rows[nrows].seq = DatumGetInt64(heap_getattr(tuple, rev_seq,
													 RelationGetDescr(revision), &isnull));
		nrows++;
	}
	systable_endscan(scan);
	if (nrows > 1)
		qsort(rows, nrows, sizeof(LoadRow), compare_load_rows);

	*all_applied = true;
	*current = NIL;
	for (i = 0; i < nrows; i++)
	{
		bool		is_current = true;
		ScanKeyData keys[2];

		heads = lappend(heads, rows[i].id);
		if (!probe_applied(applied, applied_pkey, applied_rev, snapshot, rows[i].id))
		{
			*all_applied = false;
			continue;
		}

		/* an applied revision that depends on this head makes it not current */
		text_key(&keys[0], edge, edge_target, rows[i].id);
		text_key(&keys[1], edge, edge_kind, "dependency");
		scan = systable_beginscan(edge, edge_target_idx, true, snapshot, 2, keys);
		while (is_current && HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			bool		isnull;
			char	   *dependent = TextDatumGetCString(heap_getattr(tuple, edge_rev,
																	 RelationGetDescr(edge), &isnull));

			if (probe_applied(applied, applied_pkey, applied_rev, snapshot, dependent))
				is_current = false;
		}
		systable_endscan(scan);
		if (is_current)
			*current = lappend(*current, rows[i].id);
	}

	UnregisterSnapshot(snapshot);
	table_close(edge, NoLock);
	table_close(applied, NoLock);
	table_close(revision, NoLock);
	return heads;
}

/*
 * apm_catalog_fetch returns a registered revision with everything stored
 * about it, or NULL.  The optional out-parameters return its state.
 */
ApmRevisionDef *
apm_catalog_fetch(const char *id, bool *applied, char **checksum,
				  TimestampTz *registered_at)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};
	ApmRevisionDef *def = NULL;

	catalog_exec("SELECT r.id, r.down_revision, r.message, r.upgrade_sql,"
				 "       r.downgrade_sql, r.branch_labels, r.depends_on,"
				 "       r.transactional, r.owner::pg_catalog.oid, r.checksum,"
				 "       r.registered_at, a.revision IS NOT NULL"
				 "  FROM ap_migrate.revision r"
				 "  LEFT JOIN ap_migrate.applied a"
				 "    ON a.revision OPERATOR(pg_catalog.=) r.id"
				 " WHERE r.id OPERATOR(pg_catalog.=) $1",
				 1, types, values, NULL, false, SPI_OK_SELECT);

	if (SPI_processed == 1)
	{
		HeapTuple	tuple = SPI_tuptable->vals[0];
		bool		isnull;

		def = palloc0(sizeof(ApmRevisionDef));
		def->id = get_text(tuple, 1);
		def->parents = get_text_list(tuple, 2);
		def->message = get_text(tuple, 3);
		def->upgrade_sql = get_text(tuple, 4);
		def->downgrade_sql = get_text(tuple, 5);
		def->branch_labels = get_text_list(tuple, 6);
		def->depends_on = get_text_list(tuple, 7);
		def->transactional = get_bool(tuple, 8);
		def->owner = DatumGetObjectId(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 9, &isnull));
		if (checksum)
			*checksum = get_text(tuple, 10);
		if (registered_at)
			*registered_at = DatumGetTimestampTz(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 11, &isnull));
		if (applied)
			*applied = get_bool(tuple, 12);
	}
	SPI_freetuptable(SPI_tuptable);
	return def;
}

/*
 * apm_catalog_fetch_steps reads what running n steps needs: the SQL of
 * both directions (the checksum covers both), the message, the search_path
 * and the stored checksum of each, in the order of ids.  This is the only
 * place bodies are read while applying; the caller bounds n, and with it
 * how many bodies are held at once.  A step that is not registered is an
 * error.
 *
 * Each row is found through the primary key and deformed once, as the
 * graph is read: through SQL, the join of the ids with the table cost three
 * times as much per step, and in the procedures the plan was checked again
 * after every commit.
 */
ApmRevisionDef **
apm_catalog_fetch_steps(char **ids, int n, char **checksums)
{
	Relation	revision = table_open(catalog_relid("revision"), AccessShareLock);
	AttrNumber	att_message = catalog_attnum(revision, "message");
	AttrNumber	att_up = catalog_attnum(revision, "upgrade_sql");
	AttrNumber	att_down = catalog_attnum(revision, "downgrade_sql");
	AttrNumber	att_transactional = catalog_attnum(revision, "transactional");
	AttrNumber	att_checksum = catalog_attnum(revision, "checksum");
	AttrNumber	att_path = catalog_attnum(revision, "search_path");
	Snapshot	snapshot = catalog_snapshot();
	ApmRevisionDef **defs = palloc0(sizeof(ApmRevisionDef *) * Max(n, 1));
	IdProbe		probe;
	int			i;

	probe_begin(&probe, revision, "revision_pkey", snapshot);
	for (i = 0; i < n; i++)
	{
		TupleTableSlot *row = probe_id(&probe, ids[i]);
		ApmRevisionDef *def;

		if (row == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" does not exist", ids[i])));
		def = palloc0(sizeof(ApmRevisionDef));
		def->id = ids[i];
		def->message = TextDatumGetCString(row->tts_values[att_message - 1]);
		def->upgrade_sql = TextDatumGetCString(row->tts_values[att_up - 1]);
		def->downgrade_sql = row->tts_isnull[att_down - 1] ? NULL :
			TextDatumGetCString(row->tts_values[att_down - 1]);
		def->transactional = DatumGetBool(row->tts_values[att_transactional - 1]);
		def->search_path = TextDatumGetCString(row->tts_values[att_path - 1]);
		checksums[i] = TextDatumGetCString(row->tts_values[att_checksum - 1]);
		defs[i] = def;
	}
	probe_end(&probe);
	UnregisterSnapshot(snapshot);
	table_close(revision, NoLock);
	return defs;
}

/*
 * apm_catalog_checksum returns the stored checksum of a revision, or NULL
 * when it is not registered: the cheap check after a step ran.
 */
char *
apm_catalog_checksum(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};
	char	   *checksum = NULL;

	catalog_exec("SELECT checksum FROM ap_migrate.revision"
				 " WHERE id OPERATOR(pg_catalog.=) $1",
				 1, types, values, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
		checksum = get_text(SPI_tuptable->vals[0], 1);
	SPI_freetuptable(SPI_tuptable);
	return checksum;
}

/*
 * apm_catalog_last_id returns the most recently registered id, or NULL.
 */
char *
apm_catalog_last_id(void)
{
	char	   *id = NULL;

	catalog_exec("SELECT id FROM ap_migrate.revision ORDER BY seq DESC LIMIT 1",
				 0, NULL, NULL, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
		id = get_text(SPI_tuptable->vals[0], 1);
	SPI_freetuptable(SPI_tuptable);
	return id;
}

/*
 * Whether the revision table has the owner_name column of 0.3.0.  The
 * library is installed before ALTER EXTENSION ... UPDATE runs, and must keep
 * working with the tables of the version still installed until then.
 */
static bool
catalog_has_owner_name(void)
{
	return get_attnum(catalog_relid("revision"), "owner_name") != InvalidAttrNumber;
}

/*
 * Whether the catalog has the schema_fingerprint table of 0.3.0 (see
 * catalog_has_owner_name): without it no drift can be recorded or judged.
 */
static bool
catalog_has_fingerprint(void)
{
	Oid			nspid = get_namespace_oid(APM_SCHEMA_NAME, true);

	return OidIsValid(nspid) &&
		OidIsValid(get_relname_relid("schema_fingerprint", nspid));
}

/*
 * The name of a revision's owner, stored next to its OID: a dump maps the
 * owner by this name on restore (guard.c), never by the OID.
 */
static Datum
owner_name_datum(Oid owner)
{
	return DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(owner, false)));
}

/* Fill the parameter values shared by insert and update */
static void
revision_values(const ApmRevisionDef *def, const char *checksum, Datum *values,
				char *nulls)
{
	values[0] = CStringGetTextDatum(def->id);
	values[1] = apm_text_array(def->parents);
	values[2] = CStringGetTextDatum(def->message);
	values[3] = CStringGetTextDatum(def->upgrade_sql);
	values[4] = def->downgrade_sql ? CStringGetTextDatum(def->downgrade_sql) : (Datum) 0;
	nulls[4] = def->downgrade_sql ? ' ' : 'n';
	values[5] = apm_text_array(def->branch_labels);
	values[6] = apm_text_array(def->depends_on);
	values[7] = BoolGetDatum(def->transactional);
	values[8] = CStringGetTextDatum(checksum);
	values[9] = Int16GetDatum(APM_CHECKSUM_ALGORITHM);
	values[10] = ObjectIdGetDatum(def->owner);
	values[11] = CStringGetTextDatum(def->search_path);
	values[12] = owner_name_datum(def->owner);
}

static Oid	revision_types[13] = {
	TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID,
	TEXTARRAYOID, BOOLOID, TEXTOID, INT2OID, REGROLEOID, TEXTOID, NAMEOID
};

/* Store the edges of a revision: parents, dependencies, labels, in order */
static void
insert_edges(const ApmRevisionDef *def)
{
	Oid			types[4] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[4];

	if (def->parents == NIL && def->depends_on == NIL && def->branch_labels == NIL)
		return;
	values[0] = CStringGetTextDatum(def->id);
	values[1] = apm_text_array(def->parents);
	values[2] = apm_text_array(def->depends_on);
	values[3] = apm_text_array(def->branch_labels);
	catalog_exec("INSERT INTO ap_migrate.revision_edge (revision, kind, target, position)"
				 " SELECT $1, 'parent', u.target, u.position"
				 "   FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(target, position)"
				 " UNION ALL"
				 " SELECT $1, 'dependency', u.target, u.position"
				 "   FROM pg_catalog.unnest($3) WITH ORDINALITY AS u(target, position)"
				 " UNION ALL"
				 " SELECT $1, 'label', u.target, u.position"
				 "   FROM pg_catalog.unnest($4) WITH ORDINALITY AS u(target, position)",
				 4, types, values, NULL, false, SPI_OK_INSERT);
}

/*
 * apm_catalog_name_owner tells who already uses name as a revision id or a
 * branch label: the revision's id, or NULL.  *is_label says which.
 */
char *
apm_catalog_name_owner(const char *name, bool *is_label)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	char	   *owner = NULL;

	catalog_exec("SELECT r.id, false FROM ap_migrate.revision r"
				 " WHERE r.id OPERATOR(pg_catalog.=) $1"
				 " UNION ALL"
				 " SELECT e.revision, true FROM ap_migrate.revision_edge e"
				 " WHERE e.target OPERATOR(pg_catalog.=) $1"
				 "   AND e.kind OPERATOR(pg_catalog.=) 'label'"
				 " LIMIT 1",
				 1, types, values, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		owner = get_text(SPI_tuptable->vals[0], 1);
		*is_label = get_bool(SPI_tuptable->vals[0], 2);
	}
	SPI_freetuptable(SPI_tuptable);
	return owner;
}

/*
 * apm_catalog_insert stores a new revision and its edges, marks its parents
 * as no longer heads, and returns whether some registered revision already
 * refers to the new one (as a parent or a dependency): only then can the
 * new revision close a cycle.
 */
bool
apm_catalog_insert(const ApmRevisionDef *def, const char *checksum)
{
	Datum		values[13];
	char		nulls[13];
	bool		referenced;

	memset(nulls, ' ', sizeof(nulls));
	revision_values(def, checksum, values, nulls);
	if (catalog_has_owner_name())
		catalog_exec("INSERT INTO ap_migrate.revision"
					 " (id, down_revision, message, upgrade_sql, downgrade_sql,"
					 "  branch_labels, depends_on, transactional, checksum,"
					 "  checksum_algorithm, owner, search_path, owner_name, registered_at,"
					 "  is_head)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
					 "  pg_catalog.now(),"
					 "  NOT EXISTS (SELECT FROM ap_migrate.revision_edge e"
					 "               WHERE e.target OPERATOR(pg_catalog.=) $1"
					 "                 AND e.kind OPERATOR(pg_catalog.=) 'parent'))"
					 " RETURNING EXISTS (SELECT FROM ap_migrate.revision_edge e"
					 "                    WHERE e.target OPERATOR(pg_catalog.=) $1"
					 "                      AND e.kind OPERATOR(pg_catalog.<>) 'label')",
					 13, revision_types, values, nulls, false, SPI_OK_INSERT_RETURNING);
	else
		catalog_exec("INSERT INTO ap_migrate.revision"
					 " (id, down_revision, message, upgrade_sql, downgrade_sql,"
					 "  branch_labels, depends_on, transactional, checksum,"
					 "  checksum_algorithm, owner, search_path, registered_at, is_head)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
					 "  pg_catalog.now(),"
					 "  NOT EXISTS (SELECT FROM ap_migrate.revision_edge e"
					 "               WHERE e.target OPERATOR(pg_catalog.=) $1"
					 "                 AND e.kind OPERATOR(pg_catalog.=) 'parent'))"
					 " RETURNING EXISTS (SELECT FROM ap_migrate.revision_edge e"
					 "                    WHERE e.target OPERATOR(pg_catalog.=) $1"
					 "                      AND e.kind OPERATOR(pg_catalog.<>) 'label')",
					 12, revision_types, values, nulls, false, SPI_OK_INSERT_RETURNING);
	referenced = get_bool(SPI_tuptable->vals[0], 1);
	SPI_freetuptable(SPI_tuptable);

	insert_edges(def);
	refresh_heads(def->parents);
	return referenced;
}

/*
 * apm_catalog_update replaces the content and owner of a registered
 * revision, keeping its place in registration order.  Its edges are
 * replaced and the heads flags of its old and new parents recomputed.
 */
void
apm_catalog_update(const ApmRevisionDef *def, const char *checksum,
				   List *old_parents)
{
	Datum		values[13];
	char		nulls[13];

	memset(nulls, ' ', sizeof(nulls));
	revision_values(def, checksum, values, nulls);
	if (catalog_has_owner_name())
		catalog_exec("UPDATE ap_migrate.revision"
					 "   SET down_revision = $2, message = $3, upgrade_sql = $4,"
					 "       downgrade_sql = $5, branch_labels = $6, depends_on = $7,"
					 "       transactional = $8, checksum = $9, checksum_algorithm = $10,"
					 "       owner = $11, search_path = $12, owner_name = $13,"
					 "       registered_at = pg_catalog.now()"
					 " WHERE id OPERATOR(pg_catalog.=) $1",
					 13, revision_types, values, nulls, false, SPI_OK_UPDATE);
	else
		catalog_exec("UPDATE ap_migrate.revision"
					 "   SET down_revision = $2, message = $3, upgrade_sql = $4,"
					 "       downgrade_sql = $5, branch_labels = $6, depends_on = $7,"
					 "       transactional = $8, checksum = $9, checksum_algorithm = $10,"
					 "       owner = $11, search_path = $12, registered_at = pg_catalog.now()"
					 " WHERE id OPERATOR(pg_catalog.=) $1",
					 12, revision_types, values, nulls, false, SPI_OK_UPDATE);
	catalog_exec("DELETE FROM ap_migrate.revision_edge"
				 " WHERE revision OPERATOR(pg_catalog.=) $1",
				 1, revision_types, values, NULL, false, SPI_OK_DELETE);
	insert_edges(def);
	refresh_heads(list_concat_copy(old_parents, def->parents));
}

/*
 * apm_catalog_set_owner records a new owner for a revision whose content
 * is unchanged (its old owner was dropped).
 */
void
apm_catalog_set_owner(const char *id, Oid owner)
{
	Oid			types[3] = {TEXTOID, REGROLEOID, NAMEOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(id);
	values[1] = ObjectIdGetDatum(owner);
	values[2] = owner_name_datum(owner);
	if (catalog_has_owner_name())
		catalog_exec("UPDATE ap_migrate.revision SET owner = $2, owner_name = $3"
					 " WHERE id OPERATOR(pg_catalog.=) $1",
					 3, types, values, NULL, false, SPI_OK_UPDATE);
	else
		catalog_exec("UPDATE ap_migrate.revision SET owner = $2"
					 " WHERE id OPERATOR(pg_catalog.=) $1",
					 2, types, values, NULL, false, SPI_OK_UPDATE);
}

/*
 * refresh_heads recomputes the is_head flag of the given
 * revisions from the parent edges that name them.
 */
static void
refresh_heads(List *ids)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];

	if (ids == NIL)
		return;
	values[0] = apm_text_array(ids);
	catalog_exec("UPDATE ap_migrate.revision r"
				 "   SET is_head = NOT EXISTS"
				 "       (SELECT FROM ap_migrate.revision_edge e"
				 "         WHERE e.target OPERATOR(pg_catalog.=) r.id"
				 "           AND e.kind OPERATOR(pg_catalog.=) 'parent')"
				 " WHERE r.id OPERATOR(pg_catalog.=) ANY ($1)",
				 1, types, values, NULL, false, SPI_OK_UPDATE);
}

/*
 * apm_catalog_is_referenced tells whether any revision names id as a
 * parent or a dependency.
 */
bool
apm_catalog_is_referenced(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};
	bool		result;

	catalog_exec("SELECT EXISTS (SELECT FROM ap_migrate.revision_edge"
				 "                WHERE target OPERATOR(pg_catalog.=) $1"
				 "                  AND kind OPERATOR(pg_catalog.<>) 'label')",
				 1, types, values, NULL, false, SPI_OK_SELECT);
	result = get_bool(SPI_tuptable->vals[0], 1);
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * apm_catalog_mark_applied adds a revision to the applied set, recording
 * the checksum it was applied with.
 */
void
apm_catalog_mark_applied(const char *id, const char *checksum)
{
	Oid			types[3] = {TEXTOID, TEXTOID, NAMEOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(id);
	values[1] = CStringGetTextDatum(checksum);
	values[2] = DirectFunctionCall1(namein, caller_name());
	catalog_exec("INSERT INTO ap_migrate.applied (revision, checksum, applied_at, applied_by)"
				 " VALUES ($1, $2, pg_catalog.clock_timestamp(), $3)",
				 3, types, values, NULL, false, SPI_OK_INSERT);
}

/*
 * apm_catalog_unmark_applied removes a revision from the applied set.
 */
void
apm_catalog_unmark_applied(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};

	catalog_exec("DELETE FROM ap_migrate.applied WHERE revision OPERATOR(pg_catalog.=) $1",
				 1, types, values, NULL, false, SPI_OK_DELETE);
}

/*
 * apm_catalog_repair_applied makes the applied set agree with the
 * registered revisions again: it forgets applied revisions that are not
 * registered and records the current checksum of those that changed.
 */
void
apm_catalog_repair_applied(void)
{
	catalog_exec("DELETE FROM ap_migrate.applied a"
				 " WHERE NOT EXISTS (SELECT FROM ap_migrate.revision r"
				 "                    WHERE r.id OPERATOR(pg_catalog.=) a.revision)",
				 0, NULL, NULL, NULL, false, SPI_OK_DELETE);
	catalog_exec("UPDATE ap_migrate.applied a SET checksum = r.checksum"
				 "  FROM ap_migrate.revision r"
				 " WHERE r.id OPERATOR(pg_catalog.=) a.revision"
				 "   AND r.checksum OPERATOR(pg_catalog.<>) a.checksum",
				 0, NULL, NULL, NULL, false, SPI_OK_UPDATE);
}

/*
 * apm_catalog_log appends one row to the history log.
 */
void
apm_catalog_log(ApmOperation operation, const char *revision, List *from,
				List *to, TimestampTz started_at, TimestampTz finished_at,
				bool success)
{
	static const char *const operation_names[] = {"upgrade", "downgrade", "stamp"};
	Oid			types[8] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, NAMEOID,
	TIMESTAMPTZOID, INTERVALOID, BOOLOID};
	Datum		values[8];
	char		nulls[8];
	Interval   *duration = palloc0(sizeof(Interval));

	memset(nulls, ' ', sizeof(nulls));
	duration->time = finished_at - started_at;
	values[0] = CStringGetTextDatum(operation_names[operation]);
	values[1] = revision ? CStringGetTextDatum(revision) : (Datum) 0;
	nulls[1] = revision ? ' ' : 'n';
	values[2] = apm_text_array(from);
	values[3] = apm_text_array(to);
	values[4] = DirectFunctionCall1(namein, caller_name());
	values[5] = TimestampTzGetDatum(started_at);
	values[6] = IntervalPGetDatum(duration);
	values[7] = BoolGetDatum(success);
	catalog_exec("INSERT INTO ap_migrate.history"
				 " (operation, revision, from_revisions, to_revisions, role,"
				 "  started_at, duration, success)"
				 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				 8, types, values, nulls, false, SPI_OK_INSERT);
}

/*
 * A catalog table opened for writing rows with the table access method:
 * the relation, its indexes and an executor state for their entries.
 */
typedef struct CatalogWriter
{
	Relation	rel;
	ResultRelInfo *rri;
	EState	   *estate;
	TupleTableSlot *slot;
	bool		pushed_snapshot;	/* writer_open pushed an active snapshot */
} CatalogWriter;

/* Open the catalog table name for writing rows (writer_insert) */
static void
writer_open(CatalogWriter *w, const char *name)
{
	/* heap_insert (TOAST) and unique checks need an active snapshot */
	w->pushed_snapshot = apm_push_snapshot_if_none();
	w->rel = table_open(catalog_relid(name), RowExclusiveLock);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->slot = table_slot_create(w->rel, NULL);
}

/* Close what writer_open opened; the locks stay until the transaction ends */
static void
writer_close(CatalogWriter *w)
{
	ExecDropSingleTupleTableSlot(w->slot);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
	if (w->pushed_snapshot)
		PopActiveSnapshot();
}

/*
 * Insert one row (values and nulls in the table's column order) and its
 * index entries.  Unique indexes are checked as INSERT checks them.
 */
static void
writer_insert(CatalogWriter *w, Datum *values, bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(w->rel);

	ExecClearTuple(w->slot);
	memcpy(w->slot->tts_values, values, sizeof(Datum) * desc->natts);
	memcpy(w->slot->tts_isnull, nulls, sizeof(bool) * desc->natts);
	ExecStoreVirtualTuple(w->slot);
	table_tuple_insert(w->rel, w->slot, GetCurrentCommandId(true), 0, NULL);
	apm_insert_index_tuples(w->rri, w->slot, w->estate);
	ResetPerTupleExprContext(w->estate);
}

/* The values of a new row of rel, all NULL until row_set sets them */
static void
row_start(Relation rel, Datum **values, bool **nulls)
{
	TupleDesc	desc = RelationGetDescr(rel);

	*values = palloc0(sizeof(Datum) * desc->natts);
	*nulls = palloc(sizeof(bool) * desc->natts);
	memset(*nulls, true, sizeof(bool) * desc->natts);
}

/* Set column attnum of a row started by row_start */
static inline void
row_set(Datum *values, bool *nulls, AttrNumber attnum, Datum value)
{
	values[attnum - 1] = value;
	nulls[attnum - 1] = false;
}

/*
 * Check that a row leaves no NOT NULL column of rel empty: a column this
 * library does not know about (a catalog newer than the library) is an
 * error rather than a row that breaks the table's constraint.
 */
static void
row_check(Relation rel, bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (nulls[i] && att->attnotnull && !att->attisdropped)
			elog(ERROR, "ap_migrate catalog column \"%s.%s\" is not known to this library",
				 RelationGetRelationName(rel), NameStr(att->attname));
	}
}

/* A comma-separated list of ids ("" for none) as a text[] */
static Datum
id_list_array(const char *list)
{
	List	   *items = NIL;
	char	   *copy;
	char	   *item;
	char	   *next;

	if (list[0] == '\0')
		return apm_text_array(NIL);
	copy = pstrdup(list);
	for (item = copy; item != NULL; item = next)
	{
		next = strchr(item, ',');
		if (next != NULL)
			*next++ = '\0';
		items = lappend(items, item);
	}
	return apm_text_array(items);
}

/*
 * apm_catalog_record_steps records that the upgrade (or downgrade) of n
 * revisions ran, in order: it adds them to (or removes them from) the
 * applied set and appends their history rows, but only if every one of
 * them still has the checksum it had before its SQL ran.  froms and tos
 * are comma-separated lists of ids ("" for none).  Returns NULL when all
 * was recorded; otherwise the first revision that changed or (*missing) is
 * gone, and nothing was written.
 *
 * This runs after every step of the procedures and for every step of a
 * function call, so the rows are written with the table access method, as
 * the graph is read, rather than through SQL: as three statements (a check
 * joining the steps to revision, and two inserts from unnested arrays) a
 * step's bookkeeping cost 245,000 instructions in the procedures, mostly
 * starting and ending executor nodes and reading the CHECK constraint of
 * history back from its stored form, for one row each.  What SQL would add
 * is not needed here: the catalog guard admits ap_migrate's own rows
 * anyway, the values satisfy the tables' NOT NULL and CHECK constraints by
 * construction (the operation is "upgrade" or "downgrade"), and the index
 * entries, uniqueness checks included, are made as INSERT makes them.  The
 * caller holds the ap_migrate lock, and the catalog guard refuses changes
 * to revisions from anybody else, so the check sees what the writes see.
 */
char *
apm_catalog_record_steps(ApmOperation operation, int n, char **ids,
						 char **checksums, char **froms, char **tos,
						 TimestampTz *started, TimestampTz *finished,
						 bool *missing)
{
	Datum		role = DirectFunctionCall1(namein, caller_name());
	Relation	revision;
	Relation	applied;
	Oid			history_seq = catalog_relid("history_seq");
	AttrNumber	rev_checksum;
	Snapshot	snapshot;
	IdProbe		probe;
	CatalogWriter history;
	Datum		operation_name = CStringGetTextDatum(operation == APM_UPGRADE ?
													 "upgrade" : "downgrade");
	AttrNumber	att[9];
	Datum	   *values;
	bool	   *nulls;
	int			i;

	/* the steps' own changes to the catalog are visible to the check */
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());

	revision = table_open(catalog_relid("revision"), AccessShareLock);
	rev_checksum = catalog_attnum(revision, "checksum");
	probe_begin(&probe, revision, "revision_pkey", snapshot);
	for (i = 0; i < n; i++)
	{
		TupleTableSlot *row = probe_id(&probe, ids[i]);

		*missing = row == NULL;
		if (row == NULL ||
			strcmp(TextDatumGetCString(row->tts_values[rev_checksum - 1]), checksums[i]) != 0)
		{
			probe_end(&probe);
			UnregisterSnapshot(snapshot);
			table_close(revision, NoLock);
			return pstrdup(ids[i]);
		}
	}
	probe_end(&probe);
	table_close(revision, NoLock);

	/* the applied set */
	if (operation == APM_UPGRADE)
	{
		CatalogWriter w;

		writer_open(&w, "applied");
		row_start(w.rel, &values, &nulls);
		att[0] = catalog_attnum(w.rel, "revision");
		att[1] = catalog_attnum(w.rel, "checksum");
		att[2] = catalog_attnum(w.rel, "applied_at");
		att[3] = catalog_attnum(w.rel, "applied_by");
		for (i = 0; i < n; i++)
		{
			row_set(values, nulls, att[0], CStringGetTextDatum(ids[i]));
			row_set(values, nulls, att[1], CStringGetTextDatum(checksums[i]));
			row_set(values, nulls, att[2], TimestampTzGetDatum(finished[i]));
			row_set(values, nulls, att[3], role);
			if (i == 0)
				row_check(w.rel, nulls);
			writer_insert(&w, values, nulls);
		}
		writer_close(&w);
	}
	else
	{
		applied = table_open(catalog_relid("applied"), RowExclusiveLock);
		probe_begin(&probe, applied, "applied_pkey", snapshot);
		for (i = 0; i < n; i++)
		{
			TupleTableSlot *row = probe_id(&probe, ids[i]);

			if (row != NULL)
				simple_table_tuple_delete(applied, &row->tts_tid, snapshot);
		}
		probe_end(&probe);
		table_close(applied, NoLock);
	}
	UnregisterSnapshot(snapshot);

	/* the history, in the order the steps ran */
	writer_open(&history, "history");
	row_start(history.rel, &values, &nulls);
	att[0] = catalog_attnum(history.rel, "id");
	att[1] = catalog_attnum(history.rel, "operation");
	att[2] = catalog_attnum(history.rel, "revision");
	att[3] = catalog_attnum(history.rel, "from_revisions");
	att[4] = catalog_attnum(history.rel, "to_revisions");
	att[5] = catalog_attnum(history.rel, "role");
	att[6] = catalog_attnum(history.rel, "started_at");
	att[7] = catalog_attnum(history.rel, "duration");
	att[8] = catalog_attnum(history.rel, "success");
	for (i = 0; i < n; i++)
	{
		Interval   *duration = palloc0(sizeof(Interval));

		duration->time = finished[i] - started[i];
		row_set(values, nulls, att[0], Int64GetDatum(nextval_internal(history_seq, false)));
		row_set(values, nulls, att[1], operation_name);
		row_set(values, nulls, att[2], CStringGetTextDatum(ids[i]));
		row_set(values, nulls, att[3], id_list_array(froms[i]));
		row_set(values, nulls, att[4], id_list_array(tos[i]));
		row_set(values, nulls, att[5], role);
		row_set(values, nulls, att[6], TimestampTzGetDatum(started[i]));
		row_set(values, nulls, att[7], IntervalPGetDatum(duration));
		row_set(values, nulls, att[8], BoolGetDatum(true));
		if (i == 0)
			row_check(history.rel, nulls);
		writer_insert(&history, values, nulls);
	}
	writer_close(&history);
	return NULL;
}

/*
 * apm_catalog_messages returns the messages of the given nodes, in the
 * same order.  For a few nodes one query looks each one up by id; for a
 * good part of the graph (a plan from base, the history) a scan of the
 * table reads every message and places them through the graph's id map,
 * which costs a scan instead of one index lookup per node and keeps the
 * list of ids out of a tuplestore that would spill to disk.
 */
char	  **
apm_catalog_messages(const ApmGraph *graph, const int *indexes, int count)
{
	char	  **messages = palloc0(sizeof(char *) * Max(count, 1));
	uint64		i;

	if (count == 0)
		return messages;
	if (count > graph->nnodes / 4)
	{
		Relation	revision = table_open(catalog_relid("revision"), AccessShareLock);
		TupleDesc	desc = RelationGetDescr(revision);
		AttrNumber	att_id = catalog_attnum(revision, "id");
		AttrNumber	att_message = catalog_attnum(revision, "message");
		Snapshot	snapshot = catalog_snapshot();
		char	  **bynode = palloc0(sizeof(char *) * Max(graph->nnodes, 1));
		TableScanDesc scan = table_beginscan(revision, snapshot, 0, NULL);
		HeapTuple	tuple;

		while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			bool		isnull;
			char	   *id = TextDatumGetCString(heap_getattr(tuple, att_id, desc, &isnull));
			int			v = apm_graph_lookup(graph, id);

			CHECK_FOR_INTERRUPTS();
			if (v >= 0)
				bynode[v] = TextDatumGetCString(heap_getattr(tuple, att_message,
															 desc, &isnull));
			pfree(id);
		}
		table_endscan(scan);
		UnregisterSnapshot(snapshot);
		table_close(revision, NoLock);
		for (i = 0; i < count; i++)
			messages[i] = bynode[indexes[i]];
		pfree(bynode);
	}
	else
	{
		Oid			types[1] = {TEXTARRAYOID};
		Datum		values[1];
		Datum	   *ids = palloc(sizeof(Datum) * count);

		for (i = 0; i < count; i++)
			ids[i] = CStringGetTextDatum(graph->nodes[indexes[i]].id);
		values[0] = PointerGetDatum(construct_array(ids, count, TEXTOID, -1,
													false, TYPALIGN_INT));
		catalog_exec("SELECT u.n, r.message"
					 "  FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(id, n)"
					 "  JOIN ap_migrate.revision r ON r.id OPERATOR(pg_catalog.=) u.id",
					 1, types, values, NULL, false, SPI_OK_SELECT);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 1, &isnull));

			messages[n - 1] = get_text(SPI_tuptable->vals[i], 2);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	for (i = 0; i < count; i++)
		if (messages[i] == NULL)
			messages[i] = pstrdup("");
	return messages;
}

/*
 * apm_catalog_checksum_mismatches recomputes the checksum of every
 * registered revision from its stored SQL and returns the ids whose stored
 * checksum differs: rows changed behind ap_migrate's back.  A scan of the
 * table, one row's SQL at a time (detoasted, hashed, freed), so memory
 * stays bounded; one hash context and one buffer serve every row.
 */
List *
apm_catalog_checksum_mismatches(void)
{
	Relation	revision = table_open(catalog_relid("revision"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(revision);
	AttrNumber	att_id = catalog_attnum(revision, "id");
	AttrNumber	att_up = catalog_attnum(revision, "upgrade_sql");
	AttrNumber	att_down = catalog_attnum(revision, "downgrade_sql");
	AttrNumber	att_transactional = catalog_attnum(revision, "transactional");
	AttrNumber	att_checksum = catalog_attnum(revision, "checksum");
	AttrNumber	att_seq = catalog_attnum(revision, "seq");
	Snapshot	snapshot = catalog_snapshot();
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	ListCell   *lc;
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	StringInfoData buf;
	char		computed[APM_CHECKSUM_LEN + 1];
	List	   *result = NIL;
	TableScanDesc scan;
	HeapTuple	tuple;

	initStringInfo(&buf);
	scan = table_beginscan(revision, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		text	   *up;
		text	   *down = NULL;
		text	   *stored;

		CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(tuple, desc, values, nulls);
		up = DatumGetTextPP(values[att_up - 1]);
		if (!nulls[att_down - 1])
			down = DatumGetTextPP(values[att_down - 1]);
		stored = DatumGetTextPP(values[att_checksum - 1]);
		apm_checksum_compute(ctx, &buf, VARDATA_ANY(up), VARSIZE_ANY_EXHDR(up),
							 down ? VARDATA_ANY(down) : NULL,
							 down ? VARSIZE_ANY_EXHDR(down) : -1,
							 DatumGetBool(values[att_transactional - 1]), computed);
		if (VARSIZE_ANY_EXHDR(stored) != APM_CHECKSUM_LEN ||
			memcmp(VARDATA_ANY(stored), computed, APM_CHECKSUM_LEN) != 0)
		{
			LoadRow    *bad = palloc0(sizeof(LoadRow));

			bad->seq = DatumGetInt64(values[att_seq - 1]);
			bad->id = TextDatumGetCString(values[att_id - 1]);
			result = lappend(result, bad);
		}

		/* detoasted copies only; the others point into the page */
		if ((Pointer) up != DatumGetPointer(values[att_up - 1]))
			pfree(up);
		if (down && (Pointer) down != DatumGetPointer(values[att_down - 1]))
			pfree(down);
		if ((Pointer) stored != DatumGetPointer(values[att_checksum - 1]))
			pfree(stored);
	}
	table_endscan(scan);

	/* in registration order, as ids */
	list_sort(result, compare_load_row_cells);
	foreach(lc, result)
	{
		LoadRow    *bad = lfirst(lc);

		lfirst(lc) = bad->id;
		pfree(bad);
	}
	pg_cryptohash_free(ctx);
	pfree(buf.data);
	UnregisterSnapshot(snapshot);
	table_close(revision, NoLock);
	pfree(values);
	pfree(nulls);
	return result;
}

/*
 * apm_catalog_save_fingerprint records fp (objects and digests, sorted by
 * object) as the schema the applied revisions produced, replacing the
 * previous one (there is one row).
 */
void
apm_catalog_save_fingerprint(const ApmFingerprint *fp)
{
	Oid			types[2] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[2];

	if (!catalog_has_fingerprint())
		return;
	values[0] = text_array_of(fp->objects, fp->n);
	values[1] = text_array_of(fp->descriptions, fp->n);
	catalog_exec("INSERT INTO ap_migrate.schema_fingerprint AS f"
				 "       (id, recorded_at, objects, digests)"
				 " VALUES (1, pg_catalog.clock_timestamp(), $1, $2)"
				 " ON CONFLICT (id) DO UPDATE"
				 "   SET recorded_at = excluded.recorded_at,"
				 "       objects = excluded.objects, digests = excluded.digests",
				 2, types, values, NULL, false, SPI_OK_INSERT);
}

/*
 * apm_catalog_load_fingerprint returns the recorded fingerprint (digests
 * as descriptions) and when it was recorded, or NULL when none was.
 */
ApmFingerprint *
apm_catalog_load_fingerprint(TimestampTz *recorded_at)
{
	ApmFingerprint *fp = NULL;

	if (!catalog_has_fingerprint())
		return NULL;
	catalog_exec("SELECT recorded_at, objects, digests FROM ap_migrate.schema_fingerprint",
				 0, NULL, NULL, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tuple = SPI_tuptable->vals[0];
		bool		isnull;
		char	  **objects;
		char	  **digests;

		*recorded_at = DatumGetTimestampTz(SPI_getbinval(tuple, SPI_tuptable->tupdesc,
														 1, &isnull));
		fp = palloc(sizeof(ApmFingerprint));
		fp->n = get_text_array(tuple, 2, &objects);
		(void) get_text_array(tuple, 3, &digests);
		fp->objects = objects;
		fp->descriptions = digests;
		fp->unit_kinds = NULL;	/* not recorded */
		fp->units = NULL;
	}
	SPI_freetuptable(SPI_tuptable);
	return fp;
}

/*
 * apm_catalog_last_step_end is when the last recorded upgrade or downgrade
 * step ended (its start plus its duration), or DT_NOBEGIN when none is
 * recorded: the drift check (fingerprint.c) needs a fingerprint taken
 * after it.
 */
TimestampTz
apm_catalog_last_step_end(void)
{
	TimestampTz result = DT_NOBEGIN;
	bool		isnull;
	Datum		value;

	catalog_exec("SELECT pg_catalog.max(h.started_at OPERATOR(pg_catalog.+) h.duration)"
				 "  FROM ap_migrate.history h"
				 " WHERE h.operation OPERATOR(pg_catalog.<>) 'stamp' AND h.success",
				 0, NULL, NULL, NULL, true, SPI_OK_SELECT);
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		result = DatumGetTimestampTz(value);
	SPI_freetuptable(SPI_tuptable);
	return result;
}
