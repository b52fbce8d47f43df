/*-------------------------------------------------------------------------
 *
 * register.c
 *	  Registration of revisions: validation, checksums, storage.
 *
 * Everything that can be checked without the catalog is checked before the
 * lock is taken: id formats, the shape of the parent and dependency lists,
 * and the SQL (sqlcheck.c).  Then, under the same lock as upgrades, the
 * revision is compared with what is registered: identical content is a
 * no-op, changed content of an applied revision is refused, changed content
 * of a pending revision replaces it.
 *
 * Parents may be registered after their children (within a transaction or
 * not); an unknown parent is reported when the graph is next used.  A
 * revision can only be part of a cycle if some revision already names it
 * as a parent or dependency, so only then is the graph loaded and searched
 * for one.
 *
 * Replacing a pending revision requires membership in its owner, as
 * changing any object does.  Stored SQL changed behind ap_migrate's back
 * can be restored by registering the original content again, even for an
 * applied revision, since that is no change at all.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/register.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "ap_migrate.h"
#include "compat.h"

/*
 * apm_is_hex12 tells whether id has the form Alembic generates: 12
 * lowercase hexadecimal digits.
 */
bool
apm_is_hex12(const char *id)
{
	int			i;

	for (i = 0; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == APM_HEX_ID_LEN;
}

/* Words that name targets and can never be revision ids or labels */
static bool
is_reserved(const char *name)
{
	return pg_strcasecmp(name, "base") == 0 ||
		pg_strcasecmp(name, "head") == 0 ||
		pg_strcasecmp(name, "heads") == 0 ||
		pg_strcasecmp(name, "current") == 0;
}

/*
 * check_id raises an error unless id is a valid revision id under the
 * current ap_migrate.revision_id_format.  what names the argument.
 */
static void
check_id(const char *id, const char *what)
{
	apm_check_id_as(id, what, (ApmIdFormat) apm_revision_id_format);
}

/*
 * apm_check_id_as is check_id for a given id format.  A restore checks
 * with the relaxed format, the larger of the two, since the setting of the
 * database the dump came from is not known.
 */
void
apm_check_id_as(const char *id, const char *what, ApmIdFormat format)
{
	const char *p;

	if (id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (strlen(id) > APM_MAX_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long", what),
				 errdetail("Revision ids are at most %d bytes.", APM_MAX_ID_LEN)));
	if (is_reserved(id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is reserved and cannot be used as %s", id, what)));
	if (format == APM_ID_FORMAT_HEX12)
	{
		if (!apm_is_hex12(id))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, id),
					 errdetail("Revision ids are 12 lowercase hexadecimal digits."),
					 errhint("Set ap_migrate.revision_id_format to 'relaxed' to accept other ids.")));
		return;
	}
	for (p = id; *p; p++)
		if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '.') || IS_HIGHBIT_SET(*p))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, id),
					 errdetail("Revision ids consist of ASCII letters, digits, underscores and dots.")));
}

/*
 * A message is one line of text: control characters (newlines included)
 * could end the comment an offline script shows it in and smuggle SQL or
 * psql commands into the script.
 */
void
apm_check_message(const char *id, const char *message)
{
	const unsigned char *p;

	for (p = (const unsigned char *) message; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("message of revision \"%s\" contains a control character", id),
					 errdetail("A message is one line of text without control characters.")));
}

/* A branch label: like a relaxed id, and never a reserved word */
void
apm_check_label(const char *label)
{
	const char *p;

	if (label[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("branch label must not be empty")));
	if (strlen(label) > APM_MAX_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("branch label is too long"),
				 errdetail("Branch labels are at most %d bytes.", APM_MAX_ID_LEN)));
	if (is_reserved(label))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is reserved and cannot be used as a branch label", label)));
	for (p = label; *p; p++)
		if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '.') || IS_HIGHBIT_SET(*p))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid branch label \"%s\"", label),
					 errdetail("Branch labels consist of ASCII letters, digits, underscores and dots.")));
}

/*
 * Check a list of revision ids (parents or dependencies): valid ids, no
 * duplicates, not the revision itself.
 */
static void
check_id_list(const char *id, List *ids, const char *what)
{
	ListCell   *lc;
	const char *twice;

	foreach(lc, ids)
	{
		const char *other = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		check_id(other, what);
		if (strcmp(other, id) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("revision \"%s\" cannot be its own %s", id, what)));
	}
	twice = apm_find_duplicate(ids);
	if (twice != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("revision \"%s\" lists %s \"%s\" twice", id, what, twice)));
}

/* qsort comparator of C strings */
static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * apm_find_duplicate returns a string that occurs twice in a list of C
 * strings, or NULL.  Sorting makes it O(n log n): a list is user input
 * (100,000 parents are a valid argument) and must not cost n^2.
 */
const char *
apm_find_duplicate(List *strings)
{
	int			n = list_length(strings);
	const char **sorted;
	const char *result = NULL;
	ListCell   *lc;
	int			i = 0;

	if (n < 2)
		return NULL;
	sorted = palloc(sizeof(char *) * n);
	foreach(lc, strings)
		sorted[i++] = lfirst(lc);
	CHECK_FOR_INTERRUPTS();
	qsort(sorted, n, sizeof(char *), compare_strings);
	for (i = 1; i < n && result == NULL; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			result = sorted[i];
	pfree(sorted);
	return result;
}


/* Are two lists of strings equal, element by element? */
static bool
string_lists_equal(List *a, List *b)
{
	ListCell   *la,
			   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
		if (strcmp(lfirst(la), lfirst(lb)) != 0)
		return false;
	return true;
}

/* Is the registered revision the same as the new definition? */
static const char *
first_difference(const ApmRevisionDef *old, const ApmRevisionDef *new)
{
	if (!string_lists_equal(old->parents, new->parents))
		return "down_revision";
	if (strcmp(old->message, new->message) != 0)
		return "message";
	if (strcmp(old->upgrade_sql, new->upgrade_sql) != 0)
		return "upgrade";
	if ((old->downgrade_sql == NULL) != (new->downgrade_sql == NULL) ||
		(old->downgrade_sql && strcmp(old->downgrade_sql, new->downgrade_sql) != 0))
		return "downgrade";
	if (!string_lists_equal(old->branch_labels, new->branch_labels))
		return "branch_labels";
	if (!string_lists_equal(old->depends_on, new->depends_on))
		return "depends_on";
	if (old->transactional != new->transactional)
		return "transactional";
	return NULL;
}

/*
 * Warn when the new id's format differs from the last registered one, so
 * that one database never mixes id formats silently.  Comparing with one
 * neighbour keeps registration O(1); ap_migrate_validate() checks them all.
 */
static void
warn_format_change(const char *id)
{
	char	   *last = apm_catalog_last_id();

	if (last != NULL && apm_is_hex12(last) != apm_is_hex12(id))
		ereport(WARNING,
				(errmsg("revision id \"%s\" has a different format from revision \"%s\"",
						id, last),
				 errdetail("One of them is a 12-digit hexadecimal id and the other is not."),
				 errhint("Mixed id formats are reported by ap_migrate_validate().")));
}

/*
 * Revision ids and branch labels share one namespace, as in Alembic: a
 * label may not be another revision's label or any revision's id, and a
 * new id may not be a label.
 */
static void
check_names(const ApmRevisionDef *def)
{
	ListCell   *lc;
	bool		is_label;
	char	   *owner = apm_catalog_name_owner(def->id, &is_label);

	if (owner != NULL && is_label)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("revision id \"%s\" is already a branch label of revision \"%s\"",
						def->id, owner)));
	foreach(lc, def->branch_labels)
	{
		const char *label = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		owner = apm_catalog_name_owner(label, &is_label);
		if (owner != NULL && !(is_label && strcmp(owner, def->id) == 0))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 is_label ?
					 errmsg("branch label \"%s\" is already used by revision \"%s\"", label, owner) :
					 errmsg("branch label \"%s\" is already a revision id", label)));
		if (strcmp(label, def->id) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("branch label \"%s\" is the revision's own id", label)));
	}
}

/* Search the whole graph for a cycle through the new revision */
static void
check_no_cycle(const char *id)
{
	ApmGraph   *graph = apm_catalog_load_graph();
	List	   *cycle = apm_graph_find_cycle(graph);

	if (cycle != NIL)
	{
		List	   *closed = lappend_int(list_copy(cycle), linitial_int(cycle));

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("registering revision \"%s\" would create a cycle", id),
				 errdetail("Cycle: %s.", apm_graph_join_ids(graph, closed, " -> "))));
	}
}

/*
 * apm_register validates and stores one revision.  Returns false when an
 * identical revision was already registered.  The caller holds the
 * operation lock (apm_begin).
 */
bool
apm_register(ApmRevisionDef *def)
{
	ApmRevisionDef *old;
	bool		applied = false;
	bool		referenced;
	char	   *checksum;
	char	   *old_checksum = NULL;
	ListCell   *lc;

	check_id(def->id, "revision id");
	check_id_list(def->id, def->parents, "parent");
	check_id_list(def->id, def->depends_on, "dependency");
	foreach(lc, def->branch_labels)
	{
		CHECK_FOR_INTERRUPTS();
		apm_check_label(lfirst(lc));
	}
	if (apm_find_duplicate(def->branch_labels) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("revision \"%s\" lists branch label \"%s\" twice",
						def->id, apm_find_duplicate(def->branch_labels))));

	apm_check_message(def->id, def->message);
	def->search_path = pstrdup(namespace_search_path);
	if (!OidIsValid(def->owner))
		def->owner = GetUserId();
	else if (!is_member_of_role(GetUserId(), def->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to register revision \"%s\" for role \"%s\"",
						def->id, GetUserNameFromId(def->owner, false)),
				 errdetail("Only members of a role can register revisions that run as that role.")));

	apm_sql_check(def->upgrade_sql, def->id, "upgrade", def->transactional);
	if (def->downgrade_sql != NULL)
		apm_sql_check(def->downgrade_sql, def->id, "downgrade", def->transactional);
	apm_lint_on_register(def);	/* ap_migrate.lint_on_register (lint.c) */
	checksum = apm_checksum(def->upgrade_sql, def->downgrade_sql, def->transactional);

	check_names(def);

	old = apm_catalog_fetch(def->id, &applied, &old_checksum, NULL);
	if (old != NULL)
	{
		const char *difference = first_difference(old, def);
		bool		owner_exists = SearchSysCacheExists1(AUTHOID,
														 ObjectIdGetDatum(old->owner));
		bool		stored_intact = strcmp(apm_checksum(old->upgrade_sql, old->downgrade_sql,
														old->transactional),
										   old_checksum) == 0;

		if (difference == NULL)
		{
			/* identical: a no-op, unless the owner was dropped meanwhile */
			if (owner_exists)
				return false;
			apm_catalog_set_owner(def->id, def->owner);
			return true;
		}
		if (!stored_intact && strcmp(checksum, old_checksum) == 0)
		{
			/*
			 * The stored SQL was changed behind ap_migrate's back and the new
			 * content is what was registered: restore it, applied or not.
			 */
			ereport(NOTICE,
					(errmsg("restoring the registered content of revision \"%s\"", def->id)));
		}
		else if (applied)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("revision \"%s\" is applied and cannot be changed", def->id),
					 errdetail("The new %s differs from the registered one.", difference),
					 errhint("Register the change as a new revision.")));
		else if (owner_exists && !is_member_of_role(GetUserId(), old->owner))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to replace revision \"%s\"", def->id),
					 errdetail("The revision belongs to role \"%s\".",
							   GetUserNameFromId(old->owner, false))));
		apm_catalog_update(def, checksum, old->parents);
		referenced = apm_catalog_is_referenced(def->id);
	}
	else
	{
		warn_format_change(def->id);
		referenced = apm_catalog_insert(def, checksum);
	}

	/* a revision nothing refers to cannot be part of a cycle */
	if (referenced)
		check_no_cycle(def->id);
	return true;
}
