/*-------------------------------------------------------------------------
 *
 * util.c
 *	  General helpers over Lists of C strings, shared by every layer.
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
