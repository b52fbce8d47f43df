/*-------------------------------------------------------------------------
 *
 * touched.c
 *	  Which schema objects the statements of a step create, alter or drop.
 *
 * ap_migrate_verify() compares the schema before an upgrade with the
 * schema after its downgrade.  Fingerprinting the whole schema around
 * every step costs O(steps x schema); instead, while verify runs, two
 * hooks collect what the steps touch, and only those objects are
 * fingerprinted (fingerprint.c, scoped).  The object access hook reports
 * every object the server creates, alters or drops, cascaded drops
 * included; the utility hook adds what it does not report (the target of
 * COMMENT ON) and, as a second net, the relation every ALTER TABLE,
 * RENAME, CREATE INDEX, CREATE TRIGGER and CREATE/ALTER POLICY names.
 *
 * Touched objects are reduced to the fingerprint's units: a relation (its
 * columns, defaults, constraints, triggers, policies and rules go with
 * it), a function, a type (domain constraints go with it), a schema, an
 * extension.  A dropped object is resolved when its drop is announced,
 * while it still exists; a created or altered one when the step is over,
 * once the catalog shows it.
 *
 * The hooks are installed by apm_touched_start() and removed by
 * apm_touched_stop(), which verify calls on every path out, errors
 * included; they chain to hooks installed before.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/touched.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ap_migrate.h"
#include "compat.h"

/* an object reported by a hook, resolved when the step is over */
typedef struct PendingObject
{
	Oid			classid;
	Oid			objid;
} PendingObject;

static object_access_hook_type prev_object_access_hook = NULL;
static ProcessUtility_hook_type prev_utility_hook = NULL;
static bool tracking = false;
static MemoryContext touched_cxt = NULL;
static List *pending = NIL;		/* of PendingObject */
static ApmScope *scope = NULL;	/* resolved so far */

/* Add an OID to a list once */
static List *
add_oid(List *list, Oid oid)
{
	return OidIsValid(oid) ? list_append_unique_oid(list, oid) : list;
}

/*
 * The value of an oid column of the catalog row of an object, found by
 * its OID index, or InvalidOid when the row is not there (any more).
 */
static Oid
owner_column(Oid classid, Oid indexid, AttrNumber oidcol, Oid objid, AttrNumber column)
{
	Relation	catalog = table_open(classid, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;
	bool		isnull;

	ScanKeyInit(&key, oidcol, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objid));
	scan = systable_beginscan(catalog, indexid, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Datum		d = heap_getattr(tuple, column, RelationGetDescr(catalog), &isnull);

		if (!isnull)
			result = DatumGetObjectId(d);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return result;
}

/* Reduce a touched object to the unit(s) of the fingerprint it belongs to */
static void
resolve(Oid classid, Oid objid)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(touched_cxt);

	switch (classid)
	{
		case RelationRelationId:
			scope->relations = add_oid(scope->relations, objid);
			break;
		case ProcedureRelationId:
			scope->functions = add_oid(scope->functions, objid);
			break;
		case NamespaceRelationId:
			scope->namespaces = add_oid(scope->namespaces, objid);
			break;
		case ExtensionRelationId:
			scope->extensions = add_oid(scope->extensions, objid);
			break;
		case ConstraintRelationId:
			{
				HeapTuple	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(objid));

				if (HeapTupleIsValid(tuple))
				{
					Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tuple);

					scope->relations = add_oid(scope->relations, con->conrelid);
					scope->types = add_oid(scope->types, con->contypid);
					ReleaseSysCache(tuple);
				}
			}
			break;
		case TypeRelationId:
			{
				HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objid));

				if (HeapTupleIsValid(tuple))
				{
					Form_pg_type type = (Form_pg_type) GETSTRUCT(tuple);

					scope->relations = add_oid(scope->relations, type->typrelid);
					scope->types = add_oid(scope->types,
										   IsTrueArrayType(type) ? type->typelem : objid);
					ReleaseSysCache(tuple);
				}
			}
			break;
		case TriggerRelationId:
			scope->relations = add_oid(scope->relations,
									   owner_column(classid, TriggerOidIndexId, Anum_pg_trigger_oid, objid,
													Anum_pg_trigger_tgrelid));
			break;
		case PolicyRelationId:
			scope->relations = add_oid(scope->relations,
									   owner_column(classid, PolicyOidIndexId, Anum_pg_policy_oid, objid,
													Anum_pg_policy_polrelid));
			break;
		case AttrDefaultRelationId:
			scope->relations = add_oid(scope->relations,
									   owner_column(classid, AttrDefaultOidIndexId, Anum_pg_attrdef_oid, objid,
													Anum_pg_attrdef_adrelid));
			break;
		case RewriteRelationId:
			scope->relations = add_oid(scope->relations,
									   owner_column(classid, RewriteOidIndexId, Anum_pg_rewrite_oid, objid,
													Anum_pg_rewrite_ev_class));
			break;
		default:
			break;
	}
	MemoryContextSwitchTo(oldcxt);
}

/* Remember an object to resolve when the step is over */
static void
remember(Oid classid, Oid objid)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(touched_cxt);
	PendingObject *p = palloc(sizeof(PendingObject));

	p->classid = classid;
	p->objid = objid;
	pending = lappend(pending, p);
	MemoryContextSwitchTo(oldcxt);
}

/* The object access hook: creations, alterations, drops */
static void
touched_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					  int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (!tracking)
		return;
	if (access == OAT_DROP)
		resolve(classId, objectId);
	else if (access == OAT_POST_CREATE || access == OAT_POST_ALTER)
		remember(classId, objectId);
}

/* The relation a RangeVar names now, if any */
static void
remember_relation(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
		remember(RelationRelationId, relid);
}

/*
 * The utility hook: before the statement runs, note the relation it names
 * (its OID survives a rename) and the target of COMMENT ON.
 */
static void
touched_utility(PlannedStmt *pstmt, const char *queryString, APM_READONLY_TREE_PARAM
				ProcessUtilityContext context, ParamListInfo params,
				QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (tracking)
	{
		switch (nodeTag(stmt))
		{
			case T_AlterTableStmt:
				remember_relation(((AlterTableStmt *) stmt)->relation);
				break;
			case T_RenameStmt:
				remember_relation(((RenameStmt *) stmt)->relation);
				break;
			case T_IndexStmt:
				remember_relation(((IndexStmt *) stmt)->relation);
				break;
			case T_CreateTrigStmt:
				remember_relation(((CreateTrigStmt *) stmt)->relation);
				break;
			case T_CreatePolicyStmt:
				remember_relation(((CreatePolicyStmt *) stmt)->table);
				break;
			case T_AlterPolicyStmt:
				remember_relation(((AlterPolicyStmt *) stmt)->table);
				break;
			case T_CommentStmt:
				{
					CommentStmt *comment = (CommentStmt *) stmt;
					Relation	relation = NULL;
					ObjectAddress address;

					address = get_object_address(comment->objtype, comment->object,
												 &relation, AccessShareLock, true);
					if (relation != NULL)
						relation_close(relation, NoLock);
					if (OidIsValid(address.objectId))
						remember(address.classId, address.objectId);
				}
				break;
			default:
				break;
		}
	}

	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, APM_READONLY_TREE_ARG context, params,
						  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, APM_READONLY_TREE_ARG context, params,
								queryEnv, dest, qc);
}

/*
 * apm_touched_start installs the hooks and starts an empty set, kept in a
 * memory context under parent.
 */
void
apm_touched_start(MemoryContext parent)
{
	touched_cxt = AllocSetContextCreate(parent, "ap_migrate touched objects",
										ALLOCSET_SMALL_SIZES);
	scope = MemoryContextAllocZero(touched_cxt, sizeof(ApmScope));
	pending = NIL;
	prev_object_access_hook = object_access_hook;
	object_access_hook = touched_object_access;
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = touched_utility;
	tracking = true;
}

/*
 * apm_touched_stop removes the hooks.  Safe to call when they are not
 * installed, and on an error path.
 */
void
apm_touched_stop(void)
{
	if (!tracking)
		return;
	tracking = false;
	object_access_hook = prev_object_access_hook;
	ProcessUtility_hook = prev_utility_hook;
	touched_cxt = NULL;			/* deleted with its parent */
	scope = NULL;
	pending = NIL;
}

/*
 * apm_touched_take returns the units touched since the start or the last
 * take, allocated in the caller's memory context, and starts a new set.
 */
ApmScope *
apm_touched_take(void)
{
	ApmScope   *result = palloc0(sizeof(ApmScope));
	ListCell   *lc;

	/* let the catalog show what the last statement created */
	CommandCounterIncrement();
	foreach(lc, pending)
	{
		PendingObject *p = lfirst(lc);

		resolve(p->classid, p->objid);
	}
	result->relations = list_copy(scope->relations);
	result->functions = list_copy(scope->functions);
	result->types = list_copy(scope->types);
	result->namespaces = list_copy(scope->namespaces);
	result->extensions = list_copy(scope->extensions);
	MemoryContextReset(touched_cxt);
	scope = MemoryContextAllocZero(touched_cxt, sizeof(ApmScope));
	pending = NIL;
	return result;
}

/*
 * apm_scope_union adds the units of b to a.
 */
void
apm_scope_union(ApmScope *a, const ApmScope *b)
{
	a->relations = list_concat_unique_oid(a->relations, b->relations);
	a->functions = list_concat_unique_oid(a->functions, b->functions);
	a->types = list_concat_unique_oid(a->types, b->types);
	a->namespaces = list_concat_unique_oid(a->namespaces, b->namespaces);
	a->extensions = list_concat_unique_oid(a->extensions, b->extensions);
}
