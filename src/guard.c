/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The row trigger that guards direct inserts into the catalog tables.
 *
 * ap_migrate's own catalog layer (catalog.c) writes the tables as their
 * owner, so rows it inserts pass at once.  Anyone else who may insert (only
 * the role that installed the extension holds INSERT, so that it can
 * restore a dump of its own database) is refused unless the setting
 * ap_migrate.restore is on.  In restore mode each row gets the checks
 * registration makes of the same data:
 *
 *	 - a revision's owner must be a role the inserting role is a member of,
 *	   as for ap_migrate_add's owner argument.  Otherwise the installer
 *	   could forge a revision "owned" by a superuser, which a superuser
 *	   applying it would then run with superuser rights;
 *	 - a revision's stored checksum must be the one computed from its SQL,
 *	   the invariant each step and ap_migrate_validate() check: a mismatch
 *	   found later then still means the row changed after it was written,
 *	   and an edited dump is refused at once instead.
 *
 * Rows of revision_edge, applied and history are accepted as they come.
 * The edges and the applied set are what ap_migrate_add and
 * ap_migrate_stamp let the installer change anyway; the history log is as
 * trustworthy as the database owner, who can drop the extension with it.
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
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "ap_migrate.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(ap_migrate_catalog_guard);

/*
 * The attribute number of column name of the table the trigger fires on.
 * The columns are the extension's own, so a missing one is a damaged
 * installation, not a user error.
 */
static int
column_number(Relation rel, const char *name)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i + 1;
	}
	elog(ERROR, "column \"%s\" of ap_migrate catalog table \"%s\" does not exist",
		 name, RelationGetRelationName(rel));
	return 0;					/* keep compiler quiet */
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

/*
 * Check a revision row a restore brings, by registration's rules: the
 * inserting role may register for the row's owner, and the row's checksum
 * is the one its SQL has.
 */
static void
check_restored_revision(Relation rel, HeapTuple tuple)
{
	bool		id_null,
				owner_null,
				up_null,
				down_null,
				trans_null,
				sum_null,
				alg_null;
	Datum		id = column_value(rel, tuple, "id", &id_null);
	Datum		owner = column_value(rel, tuple, "owner", &owner_null);
	Datum		upgrade_sql = column_value(rel, tuple, "upgrade_sql", &up_null);
	Datum		downgrade_sql = column_value(rel, tuple, "downgrade_sql", &down_null);
	Datum		transactional = column_value(rel, tuple, "transactional", &trans_null);
	Datum		checksum = column_value(rel, tuple, "checksum", &sum_null);
	Datum		algorithm = column_value(rel, tuple, "checksum_algorithm", &alg_null);
	char	   *revision;
	char	   *stored;
	char	   *computed;

	/* the NOT NULL constraints refuse such a row after the trigger */
	if (id_null || owner_null || up_null || trans_null || sum_null || alg_null)
		return;
	revision = TextDatumGetCString(id);

	if (!is_member_of_role(GetUserId(), DatumGetObjectId(owner)))
	{
		const char *owner_name = GetUserNameFromId(DatumGetObjectId(owner), true);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 owner_name ?
				 errmsg("permission denied to restore revision \"%s\" for role \"%s\"",
						revision, owner_name) :
				 errmsg("permission denied to restore revision \"%s\" for role %u",
						revision, DatumGetObjectId(owner)),
				 errdetail("Only members of a role can register revisions that run as that role."),
				 errtable(rel)));
	}

	/*
	 * A row whose checksum does not follow from its content breaks a rule
	 * about the table's rows, which is what check_violation reports; a CHECK
	 * constraint cannot express it because the checksum is computed in C.
	 * The CHECK constraint on checksum_algorithm, which fires after this
	 * trigger, reports an unknown algorithm with the same code.
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
}

/*
 * ap_migrate.catalog_guard() is a BEFORE INSERT row trigger on every
 * catalog table.  It fires for every row the catalog layer writes, so the
 * common case (the current user owns the table) is decided first, from the
 * relation descriptor, without a catalog lookup.
 */
Datum
ap_migrate_catalog_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	Oid			userid;

	/* only the install script attaches it, and only this way */
	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "ap_migrate.catalog_guard() must be fired BEFORE INSERT FOR EACH ROW");

	rel = trigdata->tg_relation;
	userid = GetUserId();
	if (userid == rel->rd_rel->relowner || superuser_arg(userid))
		return PointerGetDatum(trigdata->tg_trigtuple);

	if (!apm_restore)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot write to ap_migrate catalog table \"%s\" directly",
						RelationGetRelationName(rel)),
				 errhint("Change the catalog with the ap_migrate functions (ap_migrate_add(), ap_migrate_stamp(), ...); "
						 "to restore a dump, run pg_restore with PGOPTIONS='-c ap_migrate.restore=on'."),
				 errtable(rel)));

	if (strcmp(RelationGetRelationName(rel), "revision") == 0)
		check_restored_revision(rel, trigdata->tg_trigtuple);
	return PointerGetDatum(trigdata->tg_trigtuple);
}
