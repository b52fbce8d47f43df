/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The row trigger that guards direct inserts into the catalog tables.
 *
 * ap_migrate's own catalog layer (catalog.c) writes the tables, and rows it
 * inserts pass at once.  Anyone else who inserts is restoring a dump: the
 * role that installed the extension (it holds INSERT, so that it can
 * restore a dump of its own database) with the setting ap_migrate.restore
 * on, or a superuser.  Each row such a restore brings gets the checks
 * registration makes of the same data, so that a dump cannot carry what
 * ap_migrate_add() would refuse:
 *
 *	 - ids, parents, dependencies and labels must be well-formed (the
 *	   relaxed id format, the larger of the two: the setting of the database
 *	   the dump came from is not known), not repeated, not reserved words;
 *	   messages one line; upgrade and downgrade SQL must pass registration's
 *	   checks (no transaction control, no psql meta-command, ...);
 *	 - a revision's owner is mapped by the name the row carries (owner_name),
 *	   never by the OID a dump carries, which in another cluster can be any
 *	   role.  A name no role has (the owner was dropped, or does not exist
 *	   here) leaves the revision without owner: it cannot run until it is
 *	   registered again, which makes the registering role its owner, the
 *	   repair path for dropped owners.  So does a row without a name (a dump
 *	   of 0.2.0 or earlier);
 *	 - the mapped owner must be a role the inserting role is a member of, as
 *	   for ap_migrate_add's owner argument.  Otherwise the installer could
 *	   forge a revision "owned" by a superuser, which a superuser applying it
 *	   would then run with superuser rights;
 *	 - a revision's stored checksum must be the one computed from its SQL,
 *	   the invariant each step and ap_migrate_validate() check: a mismatch
 *	   found later then still means the row changed after it was written,
 *	   and an edited dump is refused at once instead.
 *
 * Rows of revision_edge, applied and history get the id checks.  The edges
 * and the applied set are what ap_migrate_add and ap_migrate_stamp let the
 * installer change anyway; the history log is as trustworthy as the
 * database owner, who can drop the extension with it.
 *
 * UPDATE, DELETE and TRUNCATE are granted to nobody, so the privilege check
 * refuses them before any trigger fires; restore mode does not change that.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "ap_migrate.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(ap_migrate_catalog_guard);

/* The attribute number of column name of the table, or 0 when it has none */
static int
find_column(Relation rel, const char *name)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i + 1;
	}
	return 0;
}

/*
 * The attribute number of column name of the table the trigger fires on.
 * The columns are the extension's own, so a missing one is a damaged
 * installation, not a user error.
 */
static int
column_number(Relation rel, const char *name)
{
	int			attno = find_column(rel, name);

	if (attno == 0)
		elog(ERROR, "column \"%s\" of ap_migrate catalog table \"%s\" does not exist",
			 name, RelationGetRelationName(rel));
	return attno;
}

/* Whether the table the trigger fires on has column name */
static bool
has_column(Relation rel, const char *name)
{
	return find_column(rel, name) > 0;
}

/*
 * The value of column name in tuple, or NULL.  A NULL in a NOT NULL column
 * is left for the constraint to refuse after the trigger.
 */
static Datum
column_value(Relation rel, HeapTuple tuple, const char *name, bool *isnull)
{
	return heap_getattr(tuple, column_number(rel, name), RelationGetDescr(rel),
						isnull);
}

/* The strings of a text[] value, as a List of C strings */
static List *
text_array_list(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a restored ap_migrate catalog row contains a null revision id")));
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

/* Check a list of ids a restored row carries, as registration would */
static void
check_restored_ids(const char *revision, List *ids, const char *what)
{
	ListCell   *lc;
	const char *twice;

	foreach(lc, ids)
	{
		CHECK_FOR_INTERRUPTS();
		apm_check_id_as(lfirst(lc), what, APM_ID_FORMAT_RELAXED);
		if (revision != NULL && strcmp(lfirst(lc), revision) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("revision \"%s\" cannot be its own %s", revision, what)));
	}
	twice = apm_find_duplicate(ids);
	if (twice != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("revision \"%s\" lists %s \"%s\" twice", revision, what, twice)));
}

/*
 * Check a revision row a restore brings, by registration's rules (see the
 * file header), and return it with its owner mapped by name.
 */
static HeapTuple
check_restored_revision(Relation rel, HeapTuple tuple)
{
	bool		id_null,
				owner_null,
				name_null,
				parents_null,
				labels_null,
				deps_null,
				message_null,
				up_null,
				down_null,
				trans_null,
				sum_null,
				alg_null;
	Datum		id = column_value(rel, tuple, "id", &id_null);
	Datum		owner = column_value(rel, tuple, "owner", &owner_null);
	Datum		owner_name = (Datum) 0;
	Datum		parents = column_value(rel, tuple, "down_revision", &parents_null);
	Datum		labels = column_value(rel, tuple, "branch_labels", &labels_null);
	Datum		deps = column_value(rel, tuple, "depends_on", &deps_null);
	Datum		message = column_value(rel, tuple, "message", &message_null);
	Datum		upgrade_sql = column_value(rel, tuple, "upgrade_sql", &up_null);
	Datum		downgrade_sql = column_value(rel, tuple, "downgrade_sql", &down_null);
	Datum		transactional = column_value(rel, tuple, "transactional", &trans_null);
	Datum		checksum = column_value(rel, tuple, "checksum", &sum_null);
	Datum		algorithm = column_value(rel, tuple, "checksum_algorithm", &alg_null);
	char	   *revision;
	char	   *stored;
	char	   *computed;
	Oid			mapped;
	ListCell   *lc;

	/* the owner's name, which the tables of 0.2.0 and earlier do not have */
	name_null = true;
	if (has_column(rel, "owner_name"))
		owner_name = column_value(rel, tuple, "owner_name", &name_null);

	/* the NOT NULL constraints refuse such a row after the trigger */
	if (id_null || owner_null || parents_null || labels_null || deps_null ||
		message_null || up_null || trans_null || sum_null || alg_null)
		return tuple;
	revision = TextDatumGetCString(id);

	/* what registration checks of the revision itself */
	apm_check_id_as(revision, "revision id", APM_ID_FORMAT_RELAXED);
	check_restored_ids(revision, text_array_list(parents), "parent");
	check_restored_ids(revision, text_array_list(deps), "dependency");
	foreach(lc, text_array_list(labels))
		apm_check_label(lfirst(lc));
	if (apm_find_duplicate(text_array_list(labels)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("revision \"%s\" lists branch label \"%s\" twice",
						revision, apm_find_duplicate(text_array_list(labels)))));
	apm_check_message(revision, TextDatumGetCString(message));
	apm_sql_check(TextDatumGetCString(upgrade_sql), revision, "upgrade",
				  DatumGetBool(transactional));
	if (!down_null)
		apm_sql_check(TextDatumGetCString(downgrade_sql), revision, "downgrade",
					  DatumGetBool(transactional));

	/* the owner, by name */
	mapped = name_null ? InvalidOid :
		get_role_oid(NameStr(*DatumGetName(owner_name)), true);
	if (OidIsValid(mapped) && !is_member_of_role(GetUserId(), mapped))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to restore revision \"%s\" for role \"%s\"",
						revision, NameStr(*DatumGetName(owner_name))),
				 errdetail("Only members of a role can register revisions that run as that role."),
				 errtable(rel)));
	if (!OidIsValid(mapped))
		ereport(WARNING,
				(errmsg("revision \"%s\" is restored without an owner", revision),
				 name_null ?
				 errdetail("The row does not name its owner (a dump of ap_migrate 0.2.0 or earlier).") :
				 errdetail("No role is called \"%s\".", NameStr(*DatumGetName(owner_name))),
				 errhint("Register the revision again (ap_migrate_load() or ap_migrate_add() with the same content) to make the registering role its owner; it cannot run before.")));

	/*
	 * A row whose checksum does not follow from its content breaks a rule
	 * about the table's rows, which is what check_violation reports; a CHECK
	 * constraint cannot express it because the checksum is computed in C. The
	 * CHECK constraint on checksum_algorithm, which fires after this trigger,
	 * reports an unknown algorithm with the same code.
	 */
	if (DatumGetInt16(algorithm) != APM_CHECKSUM_ALGORITHM)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("revision \"%s\" has unknown checksum algorithm %d",
						revision, (int) DatumGetInt16(algorithm)),
				 errdetail("This version of ap_migrate computes checksum algorithm %d.",
						   APM_CHECKSUM_ALGORITHM),
				 errtable(rel)));
	stored = TextDatumGetCString(checksum);
	computed = apm_checksum(TextDatumGetCString(upgrade_sql),
							down_null ? NULL : TextDatumGetCString(downgrade_sql),
							DatumGetBool(transactional));
	if (strcmp(stored, computed) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("checksum of revision \"%s\" does not match its SQL", revision),
				 errdetail("The row's checksum is %s; its SQL has checksum %s.",
						   stored, computed),
				 errhint("The dump was changed after pg_dump wrote it, or the row was not written by ap_migrate."),
				 errtable(rel)));

	if (mapped != DatumGetObjectId(owner))
	{
		int			col = column_number(rel, "owner");
		Datum		value = ObjectIdGetDatum(mapped);
		bool		isnull = false;

		tuple = heap_modify_tuple_by_cols(tuple, RelationGetDescr(rel), 1, &col,
										  &value, &isnull);
	}
	return tuple;
}

/* Check the ids a restored edge, applied or history row carries */
static void
check_restored_row(Relation rel, HeapTuple tuple)
{
	const char *table = RelationGetRelationName(rel);
	bool		isnull;
	Datum		value;

	if (strcmp(table, "revision_edge") == 0)
	{
		bool		kind_null;
		Datum		kind = column_value(rel, tuple, "kind", &kind_null);

		value = column_value(rel, tuple, "revision", &isnull);
		if (!isnull)
			apm_check_id_as(TextDatumGetCString(value), "revision id", APM_ID_FORMAT_RELAXED);
		value = column_value(rel, tuple, "target", &isnull);
		if (isnull || kind_null)
			return;
		if (strcmp(TextDatumGetCString(kind), "label") == 0)
			apm_check_label(TextDatumGetCString(value));
		else
			apm_check_id_as(TextDatumGetCString(value), "revision id", APM_ID_FORMAT_RELAXED);
	}
	else if (strcmp(table, "applied") == 0 || strcmp(table, "history") == 0)
	{
		value = column_value(rel, tuple, "revision", &isnull);
		if (!isnull)
			apm_check_id_as(TextDatumGetCString(value), "revision id", APM_ID_FORMAT_RELAXED);
		if (strcmp(table, "history") == 0)
		{
			value = column_value(rel, tuple, "from_revisions", &isnull);
			if (!isnull)
				check_restored_ids(NULL, text_array_list(value), "revision id");
			value = column_value(rel, tuple, "to_revisions", &isnull);
			if (!isnull)
				check_restored_ids(NULL, text_array_list(value), "revision id");
		}
	}
}

/*
 * ap_migrate.catalog_guard() is a BEFORE INSERT row trigger on every
 * catalog table.  It fires for every row the catalog layer writes, so that
 * case is decided first, without a catalog lookup.
 */
Datum
ap_migrate_catalog_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;

	/* only the install script attaches it, and only this way */
	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "ap_migrate.catalog_guard() must be fired BEFORE INSERT FOR EACH ROW");

	rel = trigdata->tg_relation;
	if (apm_catalog_is_writing())
		return PointerGetDatum(trigdata->tg_trigtuple);

	if (!apm_restore && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot write to ap_migrate catalog table \"%s\" directly",
						RelationGetRelationName(rel)),
				 errhint("Change the catalog with the ap_migrate functions (ap_migrate_add(), ap_migrate_stamp(), ...); "
						 "to restore a dump, run pg_restore with PGOPTIONS='-c ap_migrate.restore=on'."),
				 errtable(rel)));

	if (strcmp(RelationGetRelationName(rel), "revision") == 0)
		return PointerGetDatum(check_restored_revision(rel, trigdata->tg_trigtuple));
	check_restored_row(rel, trigdata->tg_trigtuple);
	return PointerGetDatum(trigdata->tg_trigtuple);
}
