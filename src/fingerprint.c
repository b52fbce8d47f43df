/*-------------------------------------------------------------------------
 *
 * fingerprint.c
 *	  A fingerprint of the user-visible schema, and comparisons of two.
 *
 * A fingerprint is one (object, description) pair per schema object of
 * the database outside the system schemas, ap_migrate's own schema and
 * extension members: schemas, extensions, relations (with owner,
 * persistence, row-level security flags, options, comment; views with
 * their definition; sequences with their parameters), columns (position
 * among the live columns, type, NOT NULL, default, identity, generation,
 * collation, comment), constraints, indexes (definition, comment),
 * triggers (definition, enabled state, comment), policies, functions
 * (definition, owner, comment) and types (enum labels in order, domain
 * definitions, owner, comment).  Objects are named, never numbered, so a
 * table dropped and created again with the same definition has the same
 * fingerprint.  Descriptions come from the server's own deparsers
 * (pg_get_indexdef, pg_get_constraintdef, pg_get_expr, ...) with
 * search_path set to pg_catalog, pg_temp, so they are schema-qualified and
 * do not depend on the caller's session.  The catalogs are read directly,
 * with no SQL: nothing a caller planted on a search_path is looked up.
 *
 * ap_migrate_verify() compares fingerprints taken before an upgrade and
 * after its downgrade; the drift check compares the live schema with the
 * fingerprint recorded after the last applied steps (catalog.c stores an
 * MD5 digest per object).
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/fingerprint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "executor/tuptable.h"
#include "catalog/dependency.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_description.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "common/md5.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "ap_migrate.h"
#include "compat.h"

/* One object of a fingerprint while it is being taken */
typedef struct FpRow
{
	char	   *object;
	char	   *description;
	char		unit_kind;
	Oid			unit;
} FpRow;

/*
 * Lookups in a catalog through one of its indexes: one index scan,
 * restarted for each lookup (beginning and ending a scan per object cost
 * more than the lookup).
 *
 * The scan always runs in the memory context it was begun in, whatever
 * context the caller is in.  An index access method allocates state that
 * lasts as long as the scan while it scans, in the context current then,
 * and frees it when the scan ends: nbtree allocates its list of entries
 * to mark dead (killedItems) the first time a lookup meets an entry whose
 * row is dead to every transaction, as rows of rolled-back DDL are.  Most
 * lookups are made while a description is built, in the work context
 * that is reset after each object: run there, the scan would write into
 * freed memory and index_endscan free it a second time.
 */
typedef struct FpLookup
{
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	MemoryContext cxt;			/* the scan's, for as long as it lasts */
} FpLookup;

/* Start lookups in heap through its index indexoid */
static void
lookup_begin(FpLookup *l, Relation heap, Oid indexoid, int nkeys)
{
	l->cxt = CurrentMemoryContext;
	l->snapshot = RegisterSnapshot(GetCatalogSnapshot(RelationGetRelid(heap)));
	l->index = index_open(indexoid, AccessShareLock);
	l->scan = apm_index_beginscan(heap, l->index, l->snapshot, nkeys, 0);
	l->slot = table_slot_create(heap, NULL);
}

/* The next row of the same lookup, or NULL */
static HeapTuple
lookup_next(FpLookup *l)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(l->cxt);
	bool		shouldfree;
	bool		found;

	found = index_getnext_slot(l->scan, ForwardScanDirection, l->slot);
	MemoryContextSwitchTo(oldcxt);
	return found ? ExecFetchSlotHeapTuple(l->slot, false, &shouldfree) : NULL;
}

/* The first row matching keys (index column numbers), or NULL */
static HeapTuple
lookup_first(FpLookup *l, ScanKey keys, int nkeys)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(l->cxt);

	index_rescan(l->scan, keys, nkeys, NULL, 0);
	MemoryContextSwitchTo(oldcxt);
	return lookup_next(l);
}

/* End the lookups */
static void
lookup_end(FpLookup *l)
{
	ExecDropSingleTupleTableSlot(l->slot);
	index_endscan(l->scan);
	index_close(l->index, AccessShareLock);
	UnregisterSnapshot(l->snapshot);
}

/* What taking a fingerprint needs along the way */
typedef struct FpState
{
	const ApmScope *scope;		/* NULL: the whole schema */
	MemoryContext cxt;			/* the result's */
	MemoryContext work;			/* reset after each object */
	int			nrows;
	int			maxrows;
	FpRow	   *rows;
	int			nns;			/* the schemas fingerprinted */
	Oid		   *ns;
	char	  **nsnames;		/* quoted */
	Relation	description;	/* pg_description */
	Relation	depend;			/* pg_depend */
	FpLookup	comments;		/* by (objoid, classoid, objsubid) */
	FpLookup	members;		/* pg_depend by (classid, objid) */
	int			lookups;		/* comments and members looked up so far */
	HTAB	   *comment_map;	/* all of them, once lookups are many */
	HTAB	   *member_map;
	/* the parts of a relation, by the relation's OID */
	Relation	attribute;
	Relation	attrdef;
	Relation	constraint;
	Relation	trigger;
	Relation	policy;
	FpLookup	columns;
	FpLookup	defaults;		/* by (adrelid, adnum) */
	FpLookup	constraints;
	FpLookup	triggers;
	FpLookup	policies;
} FpState;

/*
 * A description is built as SQL's concat_ws(' ', ...) would: the non-NULL
 * parts, separated by one space.
 */
typedef struct Words
{
	StringInfoData buf;
	bool		any;
} Words;

static void
words_start(Words *w)
{
	initStringInfo(&w->buf);
	w->any = false;
}

static void
words_add(Words *w, const char *part)
{
	if (part == NULL)
		return;
	if (w->any)
		appendStringInfoChar(&w->buf, ' ');
	appendStringInfoString(&w->buf, part);
	w->any = true;
}

/* The text output of the SQL types the descriptions use */
static const char *
bool_word(bool b)
{
	return b ? "t" : "f";
}

static char *
char_word(char c)
{
	char	   *s = palloc(2);

	s[0] = c;
	s[1] = '\0';
	return s;
}

/* pg_get_userbyid(): the role's name, or what SQL shows for a missing one */
static char *
role_word(Oid role)
{
	char	   *name = GetUserNameFromId(role, true);

	return name ? name : psprintf("unknown (OID=%u)", role);
}

/*
 * Call a deparsing function of the server (pg_get_indexdef() and friends)
 * as SQL would, and return its text, or NULL where SQL would get NULL (the
 * object is gone).
 */
static char *
deparse(PGFunction fn, int nargs, Datum arg0, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg0;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg1;
	fcinfo->args[1].isnull = false;
	result = (*fn) (fcinfo);
	return fcinfo->isnull ? NULL : TextDatumGetCString(result);
}

/* An array's text output (array_out), as SQL's ::text gives it */
static char *
array_word(Datum array, Oid elemtype)
{
	ArrayType  *a = DatumGetArrayTypePCopy(array);

	if (OidIsValid(elemtype))
		ARR_ELEMTYPE(a) = elemtype;
	return OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(a));
}

/*
 * Lookups of comments and extension membership, one per object, cost an
 * index search each (about 5,000 instructions); past this many, the few
 * rows that can match are read once, with one scan of each catalog, into
 * hash tables (about a million instructions each, less than 200 lookups).
 */
#define FP_MAX_LOOKUPS 256

/* A key of the comment and membership maps */
typedef struct FpObjectKey
{
	Oid			classoid;
	Oid			objoid;
	int32		objsubid;		/* 0 for membership */
} FpObjectKey;

typedef struct FpCommentEntry
{
	FpObjectKey key;
	char	   *description;
} FpCommentEntry;

/* An empty map of FpObjectKey to entrysize bytes, in the result's context */
static HTAB *
object_map(FpState *st, const char *name, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(FpObjectKey);
	ctl.entrysize = entrysize;
	ctl.hcxt = st->cxt;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Read every comment an object of the fingerprint can have: those of
 * schemas, and of objects made after initdb (the public schema is the one
 * object initdb makes that a fingerprint describes).
 */
static void
load_comments(FpState *st)
{
	SysScanDesc scan = systable_beginscan(st->description, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;

	st->comment_map = object_map(st, "ap_migrate fingerprint comments", sizeof(FpCommentEntry));
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_description d = (Form_pg_description) GETSTRUCT(tuple);
		FpObjectKey key;
		FpCommentEntry *entry;
		bool		isnull;
		Datum		value;

		if (d->objoid < FirstNormalObjectId && d->classoid != NamespaceRelationId)
			continue;
		value = heap_getattr(tuple, Anum_pg_description_description,
							 RelationGetDescr(st->description), &isnull);
		if (isnull)
			continue;
		memset(&key, 0, sizeof(key));
		key.classoid = d->classoid;
		key.objoid = d->objoid;
		key.objsubid = d->objsubid;
		entry = hash_search(st->comment_map, &key, HASH_ENTER, NULL);
		entry->description = MemoryContextStrdup(st->cxt, TextDatumGetCString(value));
	}
	systable_endscan(scan);
}

/* Read every extension membership (pg_depend, deptype 'e') */
static void
load_members(FpState *st)
{
	SysScanDesc scan = systable_beginscan(st->depend, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;

	st->member_map = object_map(st, "ap_migrate fingerprint members", sizeof(FpObjectKey));
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend d = (Form_pg_depend) GETSTRUCT(tuple);
		FpObjectKey key;

		if (d->deptype != DEPENDENCY_EXTENSION)
			continue;
		memset(&key, 0, sizeof(key));
		key.classoid = d->classid;
		key.objoid = d->objid;
		(void) hash_search(st->member_map, &key, HASH_ENTER, NULL);
	}
	systable_endscan(scan);
}

/* The comment of an object, or NULL */
static char *
comment_of(FpState *st, Oid classoid, Oid objoid, int32 objsubid)
{
	ScanKeyData keys[3];
	HeapTuple	tuple;
	char	   *result = NULL;

	if (st->comment_map == NULL && ++st->lookups > FP_MAX_LOOKUPS)
		load_comments(st);
	if (st->comment_map != NULL)
	{
		FpObjectKey key;
		FpCommentEntry *entry;

		memset(&key, 0, sizeof(key));
		key.classoid = classoid;
		key.objoid = objoid;
		key.objsubid = objsubid;
		entry = hash_search(st->comment_map, &key, HASH_FIND, NULL);
		return entry ? pstrdup(entry->description) : NULL;
	}

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objoid));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(classoid));
	ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(objsubid));
	if (HeapTupleIsValid(tuple = lookup_first(&st->comments, keys, 3)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, Anum_pg_description_description,
									 RelationGetDescr(st->description), &isnull);

		if (!isnull)
			result = TextDatumGetCString(d);
	}
	return result;
}

/* Is the object a member of an extension (pg_depend deptype 'e')? */
static bool
extension_member(FpState *st, Oid classid, Oid objid)
{
	ScanKeyData keys[2];
	HeapTuple	tuple;

	if (st->member_map == NULL && ++st->lookups > FP_MAX_LOOKUPS)
		load_members(st);
	if (st->member_map != NULL)
	{
		FpObjectKey key;

		memset(&key, 0, sizeof(key));
		key.classoid = classid;
		key.objoid = objid;
		return hash_search(st->member_map, &key, HASH_FIND, NULL) != NULL;
	}
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(classid));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objid));
	for (tuple = lookup_first(&st->members, keys, 2); tuple != NULL;
		 tuple = lookup_next(&st->members))
		if (((Form_pg_depend) GETSTRUCT(tuple))->deptype == DEPENDENCY_EXTENSION)
			return true;
	return false;
}

/* Keep one object: its name and description are copied to the result */
static void
add_row(FpState *st, const char *object, Words *description, char unit_kind,
		Oid unit)
{
	FpRow	   *row;

	if (st->nrows == st->maxrows)
	{
		st->maxrows *= 2;
		st->rows = repalloc_huge(st->rows, sizeof(FpRow) * st->maxrows);
	}
	row = &st->rows[st->nrows++];
	row->object = MemoryContextStrdup(st->cxt, object);
	row->description = MemoryContextStrdup(st->cxt, description->buf.data);
	row->unit_kind = unit_kind;
	row->unit = unit;
}

/* The position of a schema among the fingerprinted ones, or -1 */
static int
schema_index(FpState *st, Oid nsp)
{
	int			i;

	for (i = 0; i < st->nns; i++)
		if (st->ns[i] == nsp)
			return i;
	return -1;
}

/*
 * The schemas whose objects are fingerprinted: all but the system schemas,
 * ap_migrate's own, temporary and toast schemas, and extension members.
 * Their own rows are added here (in scope, when there is a scope).
 */
static void
fp_schemas(FpState *st)
{
	Relation	rel = table_open(NamespaceRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;
	int			max = 16;

	st->ns = MemoryContextAlloc(st->cxt, sizeof(Oid) * max);
	st->nsnames = MemoryContextAlloc(st->cxt, sizeof(char *) * max);
	st->nns = 0;
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_namespace nsp = (Form_pg_namespace) GETSTRUCT(tuple);
		const char *name = NameStr(nsp->nspname);
		MemoryContext oldcxt;
		Words		d;

		if (strcmp(name, "pg_catalog") == 0 || strcmp(name, "information_schema") == 0 ||
			strcmp(name, APM_SCHEMA_NAME) == 0 ||
			strncmp(name, "pg_toast", 8) == 0 || strncmp(name, "pg_temp_", 8) == 0 ||
			extension_member(st, NamespaceRelationId, nsp->oid))
			continue;
		if (st->nns == max)
		{
			max *= 2;
			st->ns = repalloc(st->ns, sizeof(Oid) * max);
			st->nsnames = repalloc(st->nsnames, sizeof(char *) * max);
		}
		st->ns[st->nns] = nsp->oid;
		st->nsnames[st->nns] = MemoryContextStrdup(st->cxt, quote_identifier(name));
		st->nns++;

		if (st->scope != NULL && !list_member_oid(st->scope->namespaces, nsp->oid))
			continue;
		oldcxt = MemoryContextSwitchTo(st->work);
		words_start(&d);
		words_add(&d, "owner");
		words_add(&d, role_word(nsp->nspowner));
		words_add(&d, "comment");
		words_add(&d, comment_of(st, NamespaceRelationId, nsp->oid, 0));
		add_row(st, psprintf("schema %s", quote_identifier(name)), &d, 'n', nsp->oid);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(st->work);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* The installed extensions, but plpgsql and ap_migrate */
static void
fp_extensions(FpState *st)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;

	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_extension ext = (Form_pg_extension) GETSTRUCT(tuple);
		MemoryContext oldcxt;
		bool		isnull;
		Datum		version;
		Words		d;

		if (strcmp(NameStr(ext->extname), "plpgsql") == 0 ||
			strcmp(NameStr(ext->extname), "ap_migrate") == 0 ||
			(st->scope != NULL && !list_member_oid(st->scope->extensions, ext->oid)))
			continue;
		oldcxt = MemoryContextSwitchTo(st->work);
		version = heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);
		words_start(&d);
		words_add(&d, "version");
		words_add(&d, isnull ? NULL : TextDatumGetCString(version));
		words_add(&d, "schema");
		words_add(&d, get_namespace_name(ext->extnamespace));
		add_row(st, psprintf("extension %s", quote_identifier(NameStr(ext->extname))), &d,
				'e', ext->oid);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(st->work);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* The columns of a relation (not of an index or a sequence) */
static void
fp_columns(FpState *st, Oid relid, const char *qname)
{
	ScanKeyData key;
	HeapTuple	tuple;
	int			position = 0;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	for (tuple = lookup_first(&st->columns, &key, 1); tuple != NULL;
		 tuple = lookup_next(&st->columns))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tuple);
		MemoryContext oldcxt;
		char	   *deflt = NULL;
		Words		d;

		if (att->attnum <= 0 || att->attisdropped)
			continue;
		position++;
		oldcxt = MemoryContextSwitchTo(st->work);
		if (att->atthasdef)
		{
			ScanKeyData keys[2];
			HeapTuple	dtuple;

			ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
			ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum(att->attnum));
			if ((dtuple = lookup_first(&st->defaults, keys, 2)) != NULL)
			{
				bool		isnull;
				Datum		bin = heap_getattr(dtuple, Anum_pg_attrdef_adbin,
											   RelationGetDescr(st->attrdef), &isnull);

				if (!isnull)
					deflt = deparse(pg_get_expr, 2, bin, ObjectIdGetDatum(relid));
			}
		}
		words_start(&d);
		words_add(&d, "position");
		words_add(&d, psprintf("%d", position));
		words_add(&d, "type");
		words_add(&d, format_type_extended(att->atttypid, att->atttypmod,
										   FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_ALLOW_INVALID));
		words_add(&d, "not_null");
		words_add(&d, bool_word(att->attnotnull));
		words_add(&d, "default");
		words_add(&d, deflt);
		words_add(&d, "identity");
		words_add(&d, char_word(att->attidentity));
		words_add(&d, "generated");
		words_add(&d, char_word(att->attgenerated));
		words_add(&d, "collation");
		words_add(&d, DatumGetCString(DirectFunctionCall1(regcollationout,
														  ObjectIdGetDatum(att->attcollation))));
		words_add(&d, "comment");
		words_add(&d, comment_of(st, RelationRelationId, relid, att->attnum));
		add_row(st, psprintf("column %s.%s", qname, quote_identifier(NameStr(att->attname))),
				&d, 'r', relid);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(st->work);
	}
}

/* The constraints of a relation */
static void
fp_constraints(FpState *st, Oid relid, const char *qname)
{
	ScanKeyData key;
	HeapTuple	tuple;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	for (tuple = lookup_first(&st->constraints, &key, 1); tuple != NULL;
		 tuple = lookup_next(&st->constraints))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tuple);
		MemoryContext oldcxt = MemoryContextSwitchTo(st->work);
		Words		d;

		words_start(&d);
		words_add(&d, deparse(pg_get_constraintdef, 1, ObjectIdGetDatum(con->oid), 0));
		words_add(&d, "validated");
		words_add(&d, bool_word(con->convalidated));
		words_add(&d, "comment");
		words_add(&d, comment_of(st, ConstraintRelationId, con->oid, 0));
		add_row(st, psprintf("constraint %s on %s", quote_identifier(NameStr(con->conname)), qname),
				&d, 'r', relid);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(st->work);
	}
}

/* The triggers of a relation, but internal ones */
static void
fp_triggers(FpState *st, Oid relid, const char *qname)
{
	ScanKeyData key;
	HeapTuple	tuple;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	for (tuple = lookup_first(&st->triggers, &key, 1); tuple != NULL;
		 tuple = lookup_next(&st->triggers))
	{
		Form_pg_trigger trg = (Form_pg_trigger) GETSTRUCT(tuple);
		MemoryContext oldcxt;
		Words		d;

		if (trg->tgisinternal)
			continue;
		oldcxt = MemoryContextSwitchTo(st->work);
		words_start(&d);
		words_add(&d, deparse(pg_get_triggerdef, 1, ObjectIdGetDatum(trg->oid), 0));
		words_add(&d, "enabled");
		words_add(&d, char_word(trg->tgenabled));
		words_add(&d, "comment");
		words_add(&d, comment_of(st, TriggerRelationId, trg->oid, 0));
		add_row(st, psprintf("trigger %s on %s", quote_identifier(NameStr(trg->tgname)), qname),
				&d, 'r', relid);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(st->work);
	}
}

/* The row-level security policies of a relation */
static void
fp_policies(FpState *st, Oid relid, const char *qname)
{
	TupleDesc	desc = RelationGetDescr(st->policy);
	ScanKeyData key;
	HeapTuple	tuple;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	for (tuple = lookup_first(&st->policies, &key, 1); tuple != NULL;
		 tuple = lookup_next(&st->policies))
	{
		Form_pg_policy pol = (Form_pg_policy) GETSTRUCT(tuple);
		MemoryContext oldcxt = MemoryContextSwitchTo(st->work);
		bool		isnull;
		Datum		roles = heap_getattr(tuple, Anum_pg_policy_polroles, desc, &isnull);
		Datum		qual;
		Words		d;

		words_start(&d);
		words_add(&d, "command");
		words_add(&d, char_word(pol->polcmd));
		words_add(&d, "permissive");
		words_add(&d, bool_word(pol->polpermissive));
		words_add(&d, "roles");
		words_add(&d, isnull ? NULL : array_word(roles, REGROLEOID));
		words_add(&d, "using");
		qual = heap_getattr(tuple, Anum_pg_policy_polqual, desc, &isnull);
		words_add(&d, isnull ? NULL : deparse(pg_get_expr, 2, qual, ObjectIdGetDatum(relid)));
		words_add(&d, "check");
		qual = heap_getattr(tuple, Anum_pg_policy_polwithcheck, desc, &isnull);
		words_add(&d, isnull ? NULL : deparse(pg_get_expr, 2, qual, ObjectIdGetDatum(relid)));
		words_add(&d, "comment");
		words_add(&d, comment_of(st, PolicyRelationId, pol->oid, 0));
		add_row(st, psprintf("policy %s on %s", quote_identifier(NameStr(pol->polname)), qname),
				&d, 'r', relid);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(st->work);
	}
}

/* The parameters of a sequence, or NULL */
static char *
sequence_words(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(SEQRELID, ObjectIdGetDatum(relid));
	Form_pg_sequence seq;
	Words		d;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	seq = (Form_pg_sequence) GETSTRUCT(tuple);
	words_start(&d);
	words_add(&d, DatumGetCString(DirectFunctionCall1(regtypeout, ObjectIdGetDatum(seq->seqtypid))));
	words_add(&d, psprintf(INT64_FORMAT, seq->seqstart));
	words_add(&d, psprintf(INT64_FORMAT, seq->seqincrement));
	words_add(&d, psprintf(INT64_FORMAT, seq->seqmax));
	words_add(&d, psprintf(INT64_FORMAT, seq->seqmin));
	words_add(&d, psprintf(INT64_FORMAT, seq->seqcache));
	words_add(&d, bool_word(seq->seqcycle));
	ReleaseSysCache(tuple);
	return d.buf.data;
}

/*
 * One relation (table, view, materialized view, sequence, foreign table or
 * index) of a fingerprinted schema, with its columns, constraints, triggers
 * and policies.
 */
static void
fp_relation(FpState *st, HeapTuple tuple, TupleDesc desc)
{
	Form_pg_class cls = (Form_pg_class) GETSTRUCT(tuple);
	int			ns = schema_index(st, cls->relnamespace);
	const char *kind;
	char	   *qname;
	MemoryContext oldcxt;
	bool		isnull;
	Datum		options;
	Words		d;

	switch (cls->relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
			kind = "table";
			break;
		case RELKIND_VIEW:
			kind = "view";
			break;
		case RELKIND_MATVIEW:
			kind = "materialized view";
			break;
		case RELKIND_SEQUENCE:
			kind = "sequence";
			break;
		case RELKIND_FOREIGN_TABLE:
			kind = "foreign table";
			break;
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			kind = "index";
			break;
		default:
			return;
	}
	if (ns < 0 || extension_member(st, RelationRelationId, cls->oid))
		return;

	qname = MemoryContextStrdup(st->cxt, psprintf("%s.%s", st->nsnames[ns],
												  quote_identifier(NameStr(cls->relname))));
	oldcxt = MemoryContextSwitchTo(st->work);
	options = heap_getattr(tuple, Anum_pg_class_reloptions, desc, &isnull);
	words_start(&d);
	words_add(&d, "kind");
	words_add(&d, char_word(cls->relkind));
	words_add(&d, "owner");
	words_add(&d, role_word(cls->relowner));
	words_add(&d, "persistence");
	words_add(&d, char_word(cls->relpersistence));
	words_add(&d, "rls");
	words_add(&d, bool_word(cls->relrowsecurity));
	words_add(&d, "force_rls");
	words_add(&d, bool_word(cls->relforcerowsecurity));
	words_add(&d, "options");
	words_add(&d, isnull ? NULL : array_word(options, InvalidOid));
	if (cls->relkind == RELKIND_INDEX || cls->relkind == RELKIND_PARTITIONED_INDEX)
		words_add(&d, deparse(pg_get_indexdef, 1, ObjectIdGetDatum(cls->oid), 0));
	if (cls->relkind == RELKIND_VIEW || cls->relkind == RELKIND_MATVIEW)
		words_add(&d, deparse(pg_get_viewdef, 1, ObjectIdGetDatum(cls->oid), 0));
	words_add(&d, sequence_words(cls->oid));
	words_add(&d, "comment");
	words_add(&d, comment_of(st, RelationRelationId, cls->oid, 0));
	add_row(st, psprintf("%s %s", kind, qname), &d, 'r', cls->oid);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(st->work);

	if (cls->relkind != RELKIND_INDEX && cls->relkind != RELKIND_PARTITIONED_INDEX &&
		cls->relkind != RELKIND_SEQUENCE)
		fp_columns(st, cls->oid, qname);
	fp_constraints(st, cls->oid, qname);
	fp_triggers(st, cls->oid, qname);
	fp_policies(st, cls->oid, qname);
}

/* The relations of the fingerprinted schemas (those in scope, if any) */
static void
fp_relations(FpState *st)
{
	Relation	rel = table_open(RelationRelationId, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tuple;

	if (st->scope != NULL)
	{
		ListCell   *lc;

		foreach(lc, st->scope->relations)
		{
			tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));
			if (!HeapTupleIsValid(tuple))
				continue;
			fp_relation(st, tuple, desc);
			ReleaseSysCache(tuple);
		}
	}
	else
	{
		SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);

		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
			fp_relation(st, tuple, desc);
		systable_endscan(scan);
	}
	table_close(rel, AccessShareLock);
}

/* One function, procedure or aggregate of a fingerprinted schema */
static void
fp_function(FpState *st, HeapTuple tuple)
{
	Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tuple);
	MemoryContext oldcxt;
	const char *kind;
	Words		d;

	if (schema_index(st, proc->pronamespace) < 0 ||
		extension_member(st, ProcedureRelationId, proc->oid))
		return;
	kind = proc->prokind == PROKIND_PROCEDURE ? "procedure" :
		proc->prokind == PROKIND_AGGREGATE ? "aggregate" : "function";
	oldcxt = MemoryContextSwitchTo(st->work);
	words_start(&d);
	words_add(&d, "owner");
	words_add(&d, role_word(proc->proowner));
	if (proc->prokind != PROKIND_AGGREGATE)
		words_add(&d, deparse(pg_get_functiondef, 1, ObjectIdGetDatum(proc->oid), 0));
	words_add(&d, "comment");
	words_add(&d, comment_of(st, ProcedureRelationId, proc->oid, 0));
	add_row(st, psprintf("%s %s", kind, format_procedure(proc->oid)), &d, 'f', proc->oid);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(st->work);
}

/* The enum labels of a type in order, quoted, or NULL */
static char *
enum_words(Oid type)
{
	Relation	rel = table_open(EnumRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	StringInfoData buf;

	initStringInfo(&buf);
	ScanKeyInit(&key, Anum_pg_enum_enumtypid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(type));
	scan = systable_beginscan(rel, EnumTypIdSortOrderIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 quote_literal_cstr(NameStr(((Form_pg_enum) GETSTRUCT(tuple))->enumlabel)));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return buf.len > 0 ? buf.data : NULL;
}

/* qsort comparator of C strings, for domain constraints by name */
static int
compare_cstrings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A domain: its base type, NOT NULL, default and constraints by name */
static char *
domain_words(HeapTuple tuple, TupleDesc desc)
{
	Form_pg_type typ = (Form_pg_type) GETSTRUCT(tuple);
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	ctuple;
	bool		isnull;
	Datum		deflt = heap_getattr(tuple, Anum_pg_type_typdefault, desc, &isnull);
	char	  **cons = NULL;
	int			ncons = 0;
	StringInfoData list;
	Words		d;
	int			i;

	ScanKeyInit(&key, Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(typ->oid));
	scan = systable_beginscan(rel, ConstraintTypidIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(ctuple = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(ctuple);

		cons = cons ? repalloc(cons, sizeof(char *) * (ncons + 1)) : palloc(sizeof(char *));
		cons[ncons++] = psprintf("%s %s", NameStr(con->conname),
								 deparse(pg_get_constraintdef, 1, ObjectIdGetDatum(con->oid), 0));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (ncons > 1)
		qsort(cons, ncons, sizeof(char *), compare_cstrings);
	initStringInfo(&list);
	for (i = 0; i < ncons; i++)
		appendStringInfo(&list, "%s%s", i > 0 ? ", " : "", cons[i]);

	words_start(&d);
	words_add(&d, format_type_extended(typ->typbasetype, typ->typtypmod,
									   FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_ALLOW_INVALID));
	words_add(&d, "not_null");
	words_add(&d, bool_word(typ->typnotnull));
	words_add(&d, "default");
	words_add(&d, isnull ? NULL : TextDatumGetCString(deflt));
	words_add(&d, ncons > 0 ? list.data : NULL);
	return d.buf.data;
}

/* The attributes of a composite type, or NULL */
static char *
composite_words(Oid typrelid)
{
	Relation	rel = table_open(AttributeRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	StringInfoData buf;

	initStringInfo(&buf);
	ScanKeyInit(&key, Anum_pg_attribute_attrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(typrelid));
	scan = systable_beginscan(rel, AttributeRelidNumIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tuple);

		if (att->attnum <= 0 || att->attisdropped)
			continue;
		appendStringInfo(&buf, "%s%s %s", buf.len > 0 ? ", " : "", NameStr(att->attname),
						 format_type_extended(att->atttypid, att->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_ALLOW_INVALID));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * One type of a fingerprinted schema: enums, domains, ranges, multiranges,
 * base types and stand-alone composite types (not arrays, not the row
 * types of tables).
 */
static void
fp_type(FpState *st, HeapTuple tuple, TupleDesc desc)
{
	Form_pg_type typ = (Form_pg_type) GETSTRUCT(tuple);
	MemoryContext oldcxt;
	Words		d;

	if (schema_index(st, typ->typnamespace) < 0 || typ->typcategory == TYPCATEGORY_ARRAY)
		return;
	if (typ->typtype == TYPTYPE_COMPOSITE)
	{
		if (get_rel_relkind(typ->typrelid) != RELKIND_COMPOSITE_TYPE)
			return;
	}
	else if (typ->typtype != TYPTYPE_ENUM && typ->typtype != TYPTYPE_DOMAIN &&
			 typ->typtype != TYPTYPE_RANGE && typ->typtype != TYPTYPE_MULTIRANGE &&
			 typ->typtype != TYPTYPE_BASE)
		return;

	oldcxt = MemoryContextSwitchTo(st->work);
	words_start(&d);
	words_add(&d, "kind");
	words_add(&d, char_word(typ->typtype));
	words_add(&d, "owner");
	words_add(&d, role_word(typ->typowner));
	words_add(&d, enum_words(typ->oid));
	if (typ->typtype == TYPTYPE_DOMAIN)
		words_add(&d, domain_words(tuple, desc));
	if (typ->typtype == TYPTYPE_COMPOSITE)
		words_add(&d, composite_words(typ->typrelid));
	words_add(&d, "comment");
	words_add(&d, comment_of(st, TypeRelationId, typ->oid, 0));
	add_row(st, psprintf("type %s", format_type_extended(typ->oid, -1, FORMAT_TYPE_ALLOW_INVALID)),
			&d, 't', typ->oid);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(st->work);
}

/*
 * Scan a catalog of schema objects (pg_proc, pg_type) for fp_function or
 * fp_type: all of it, or the rows of the OIDs in scope.
 */
static void
fp_catalog(FpState *st, Oid catalog, int cacheid, List *scoped,
		   void (*each) (FpState *st, HeapTuple tuple, TupleDesc desc))
{
	Relation	rel = table_open(catalog, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tuple;

	if (st->scope != NULL)
	{
		ListCell   *lc;

		foreach(lc, scoped)
		{
			tuple = SearchSysCache1(cacheid, ObjectIdGetDatum(lfirst_oid(lc)));
			if (!HeapTupleIsValid(tuple))
				continue;
			each(st, tuple, desc);
			ReleaseSysCache(tuple);
		}
	}
	else
	{
		SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);

		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
			each(st, tuple, desc);
		systable_endscan(scan);
	}
	table_close(rel, AccessShareLock);
}

/* fp_function with fp_catalog's signature */
static void
fp_function_row(FpState *st, HeapTuple tuple, TupleDesc desc)
{
	fp_function(st, tuple);
}

/* qsort comparator: by object name, bytewise (the C collation) */
static int
compare_rows(const void *a, const void *b)
{
	return strcmp(((const FpRow *) a)->object, ((const FpRow *) b)->object);
}

/*
 * apm_fingerprint_take fingerprints the schema as it is now: all of it
 * (scope NULL), or only the units of scope (touched.c) that exist.  The
 * result is allocated in the caller's memory context, sorted by object.
 *
 * The catalogs are read directly and each description is built from the
 * server's deparsers called as functions, exactly as the SQL query this
 * replaced built them (concat_ws of the same parts): as one query, a
 * new backend spent more on parsing and planning it, and on the hash joins
 * and sort of its nine branches, than on describing the objects, about
 * 10 ms for an empty schema, on every deploy that applied a step.
 */
ApmFingerprint *
apm_fingerprint_take(const ApmScope *scope)
{
	FpState		st;
	ApmFingerprint *fp;
	bool		pushed_snapshot;
	int			nestlevel;
	int			i;

	/*
	 * pg_get_constraintdef reads pg_constraint with the active snapshot, and
	 * the transaction's first snapshot must be taken before the lookups below
	 * register theirs: as SPI did for the query this replaced.
	 */
	pushed_snapshot = apm_push_snapshot_if_none();

	st.scope = scope;
	st.cxt = CurrentMemoryContext;
	st.work = AllocSetContextCreate(CurrentMemoryContext, "ap_migrate fingerprint",
									ALLOCSET_DEFAULT_SIZES);
	st.nrows = 0;
	st.maxrows = 256;
	st.lookups = 0;
	st.comment_map = NULL;
	st.member_map = NULL;
	st.rows = palloc(sizeof(FpRow) * st.maxrows);
	st.description = table_open(DescriptionRelationId, AccessShareLock);
	st.depend = table_open(DependRelationId, AccessShareLock);
	lookup_begin(&st.comments, st.description, DescriptionObjIndexId, 3);
	lookup_begin(&st.members, st.depend, DependDependerIndexId, 2);
	st.attribute = table_open(AttributeRelationId, AccessShareLock);
	st.attrdef = table_open(AttrDefaultRelationId, AccessShareLock);
	st.constraint = table_open(ConstraintRelationId, AccessShareLock);
	st.trigger = table_open(TriggerRelationId, AccessShareLock);
	st.policy = table_open(PolicyRelationId, AccessShareLock);
	lookup_begin(&st.columns, st.attribute, AttributeRelidNumIndexId, 1);
	lookup_begin(&st.defaults, st.attrdef, AttrDefaultIndexId, 2);
	lookup_begin(&st.constraints, st.constraint, ConstraintRelidTypidNameIndexId, 1);
	lookup_begin(&st.triggers, st.trigger, TriggerRelidNameIndexId, 1);
	lookup_begin(&st.policies, st.policy, PolicyPolrelidPolnameIndexId, 1);

	/* the deparsers qualify every name that is not in pg_catalog */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	fp_schemas(&st);
	fp_extensions(&st);
	fp_relations(&st);
	fp_catalog(&st, ProcedureRelationId, PROCOID, scope ? scope->functions : NIL,
			   fp_function_row);
	fp_catalog(&st, TypeRelationId, TYPEOID, scope ? scope->types : NIL, fp_type);
	AtEOXact_GUC(false, nestlevel);

	lookup_end(&st.policies);
	lookup_end(&st.triggers);
	lookup_end(&st.constraints);
	lookup_end(&st.defaults);
	lookup_end(&st.columns);
	table_close(st.policy, AccessShareLock);
	table_close(st.trigger, AccessShareLock);
	table_close(st.constraint, AccessShareLock);
	table_close(st.attrdef, AccessShareLock);
	table_close(st.attribute, AccessShareLock);
	lookup_end(&st.members);
	lookup_end(&st.comments);
	table_close(st.depend, AccessShareLock);
	table_close(st.description, AccessShareLock);
	MemoryContextDelete(st.work);
	if (pushed_snapshot)
		PopActiveSnapshot();

	qsort(st.rows, st.nrows, sizeof(FpRow), compare_rows);
	fp = palloc(sizeof(ApmFingerprint));
	fp->n = st.nrows;
	fp->objects = palloc(sizeof(char *) * Max(fp->n, 1));
	fp->descriptions = palloc(sizeof(char *) * Max(fp->n, 1));
	fp->unit_kinds = palloc(sizeof(char) * Max(fp->n, 1));
	fp->units = palloc(sizeof(Oid) * Max(fp->n, 1));
	for (i = 0; i < st.nrows; i++)
	{
		fp->objects[i] = st.rows[i].object;
		fp->descriptions[i] = st.rows[i].description;
		fp->unit_kinds[i] = st.rows[i].unit_kind;
		fp->units[i] = st.rows[i].unit;
	}
	pfree(st.rows);
	if (st.comment_map != NULL)
		hash_destroy(st.comment_map);
	if (st.member_map != NULL)
		hash_destroy(st.member_map);
	return fp;
}

/*
 * digest_descriptions replaces each description of fp with its MD5
 * digest (hex), the form in which a fingerprint is recorded.
 */
static void
digest_descriptions(ApmFingerprint *fp)
{
	int			i;

	for (i = 0; i < fp->n; i++)
	{
		char	   *hex = palloc(33);
		const char *errstr = NULL;

		if (!pg_md5_hash(fp->descriptions[i], strlen(fp->descriptions[i]), hex, &errstr))
			elog(ERROR, "could not compute an MD5 digest: %s", errstr);
		pfree(fp->descriptions[i]);
		fp->descriptions[i] = hex;
	}
}

/*
 * apm_fingerprint_diff compares two fingerprints (both sorted by object)
 * and returns one ApmSchemaChange per object that differs: present only
 * in after ("added"), only in before ("removed"), or in both with another
 * description ("changed").
 */
List *
apm_fingerprint_diff(const ApmFingerprint *before, const ApmFingerprint *after)
{
	List	   *changes = NIL;
	int			i = 0;
	int			j = 0;

	while (i < before->n || j < after->n)
	{
		int			cmp;
		ApmSchemaChange *change;

		if (i >= before->n)
			cmp = 1;
		else if (j >= after->n)
			cmp = -1;
		else
			cmp = strcmp(before->objects[i], after->objects[j]);

		if (cmp == 0)
		{
			if (strcmp(before->descriptions[i], after->descriptions[j]) != 0)
			{
				change = palloc(sizeof(ApmSchemaChange));
				change->object = pstrdup(after->objects[j]);
				change->change = "changed";
				changes = lappend(changes, change);
			}
			i++;
			j++;
			continue;
		}
		change = palloc(sizeof(ApmSchemaChange));
		if (cmp < 0)
		{
			change->object = pstrdup(before->objects[i++]);
			change->change = "removed";
		}
		else
		{
			change->object = pstrdup(after->objects[j++]);
			change->change = "added";
		}
		changes = lappend(changes, change);
	}
	return changes;
}

/*
 * apm_fingerprint_describe_changes renders changes as one line of text:
 * "changed index public.x, removed trigger t on public.y".
 */
char *
apm_fingerprint_describe_changes(List *changes)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, changes)
	{
		ApmSchemaChange *change = lfirst(lc);

		appendStringInfo(&buf, "%s%s %s", buf.len > 0 ? ", " : "",
						 change->change, change->object);
	}
	return buf.data;
}

/*
 * apm_fingerprint_record records the fingerprint of the schema as it is
 * now, after steps were applied or reverted: what the drift check compares
 * the live schema with.  See docs/analysis.md for when it is taken.
 */
void
apm_fingerprint_record(void)
{
	ApmFingerprint *fp = apm_fingerprint_take(NULL);

	digest_descriptions(fp);
	apm_catalog_save_fingerprint(fp);
}

/*
 * apm_fingerprint_drift compares the live schema with the recorded
 * fingerprint and returns the objects that differ (ApmSchemaChange), or
 * NIL.  *recorded tells whether a fingerprint was recorded at all; without
 * one nothing can be said and NIL is returned.
 */
List *
apm_fingerprint_drift(bool *recorded, TimestampTz *recorded_at)
{
	ApmFingerprint *stored = apm_catalog_load_fingerprint(recorded_at);
	ApmFingerprint *live;

	*recorded = stored != NULL;
	if (stored == NULL)
		return NIL;

	/*
	 * A step recorded after the fingerprint (a procedure that failed after
	 * some commits, an offline script) changed the schema since: the
	 * fingerprint cannot tell drift from migrations, so say nothing.
	 */
	if (apm_catalog_last_step_end() > *recorded_at)
	{
		*recorded = false;
		return NIL;
	}
	live = apm_fingerprint_take(NULL);
	digest_descriptions(live);
	return apm_fingerprint_diff(stored, live);
}
