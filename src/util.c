/*-------------------------------------------------------------------------
 *
 * util.c
 *	  General helpers shared by every layer: Lists of C strings, the active
 *	  snapshot.
 *
 * Nothing here knows about revisions or the catalog; this file sits at the
 * bottom of the layering in ap_migrate.h and calls no other file of ours.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "ap_migrate.h"

/*
 * apm_join_strings renders a List of C strings joined by sep.
 */
char *
apm_join_strings(List *strings, const char *sep)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, strings)
	{
		if (lc != list_head(strings))
			appendStringInfoString(&buf, sep);
		appendStringInfoString(&buf, (char *) lfirst(lc));
	}
	return buf.data;
}

/*
 * apm_text_array turns a List of C strings into a text[] Datum, for
 * SPI parameters and for function results.
 */
Datum
apm_text_array(List *items)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(items), 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, items)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * apm_push_snapshot_if_none pushes the transaction snapshot when no
 * snapshot is active, and says whether it did (the caller pops it then).
 * Reading or writing tables outside SPI needs an active snapshot (heap
 * inserts, unique checks, the deparsers' catalog reads), which SPI would
 * have pushed; between a procedure's commits there is none.  Taken before
 * any snapshot is registered, it is the transaction's first.
 */
bool
apm_push_snapshot_if_none(void)
{
	if (ActiveSnapshotSet())
		return false;
	PushActiveSnapshot(GetTransactionSnapshot());
	return true;
}
