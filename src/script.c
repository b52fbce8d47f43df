/*-------------------------------------------------------------------------
 *
 * script.c
 *	  The migration file format read by ap_migrate_load().
 *
 * A migration file is plain SQL with a header of comment lines:
 *
 *	 -- revision: b1a2c3d4e5f6
 *	 -- down_revision: ca4653c80b38
 *	 -- message: Add storage audit and deduplication tables
 *	 -- branch_labels:               (optional, comma or space separated)
 *	 -- depends_on:                  (optional, comma or space separated)
 *	 -- transactional: true          (optional, default true)
 *
 *	 -- +upgrade
 *	 CREATE TABLE ...;
 *
 *	 -- +downgrade
 *	 DROP TABLE ...;
 *
 * The header is everything before the "-- +upgrade" line.  In it, a line
 * "-- key: value" whose key is a lowercase word sets that key; an unknown
 * key is an error, so a misspelt "down_revison" cannot silently turn a
 * revision into a base.  Other comment lines and blank lines are ignored;
 * anything else is an error.  revision and down_revision are required
 * (an empty down_revision makes a base).  The upgrade section runs to the
 * "-- +downgrade" line or the end of the file; without a downgrade section
 * the revision is irreversible, and an empty one is a downgrade that runs
 * nothing.  Sections are taken verbatim, less surrounding white space.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/script.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "miscadmin.h"
#include "utils/builtins.h"

#include "ap_migrate.h"
#include "compat.h"

#define MARK_UPGRADE	"-- +upgrade"
#define MARK_DOWNGRADE	"-- +downgrade"

/* header keys, in the order they are documented */
typedef enum HeaderKey
{
	KEY_REVISION,
	KEY_DOWN_REVISION,
	KEY_MESSAGE,
	KEY_BRANCH_LABELS,
	KEY_DEPENDS_ON,
	KEY_TRANSACTIONAL,
	NUM_KEYS
} HeaderKey;

static const char *const key_names[NUM_KEYS] = {
	"revision", "down_revision", "message", "branch_labels", "depends_on",
	"transactional"
};

/* Report a malformed script, naming the line */
#define script_error(lineno, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
			 errmsg("invalid migration script"), \
			 errdetail(__VA_ARGS__), \
			 errcontext("line %d of the migration script", (lineno))))

/* Copy [start, end) without surrounding white space */
static char *
trimmed_copy(const char *start, const char *end)
{
	while (start < end && isspace((unsigned char) *start))
		start++;
	while (end > start && isspace((unsigned char) end[-1]))
		end--;
	return pnstrdup(start, end - start);
}

/* Split a comma- or space-separated list into a List of strings */
static List *
split_list(const char *value)
{
	List	   *items = NIL;
	const char *p = value;

	while (*p)
	{
		const char *start;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		start = p;
		while (*p && *p != ',' && !isspace((unsigned char) *p))
			p++;
		if (p > start)
			items = lappend(items, pnstrdup(start, p - start));
	}
	return items;
}

/*
 * If the line (without its newline) looks like "-- key: value", a single
 * word (letters, digits, '_' or '-', any case) followed by a colon, return
 * the key as written and set *value; otherwise return NULL.  Anything that
 * looks like a key must be a known key, so that "-- Depends_on : x" or
 * "-- branch-labels: x" is an error rather than a comment.
 */
static char *
header_key(const char *line, const char *end, char **value)
{
	const char *p = line + 2;
	const char *key;
	const char *key_end;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	key = p;
	while (p < end && (isalnum((unsigned char) *p) || *p == '_' || *p == '-'))
		p++;
	key_end = p;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (key_end == key || !isalpha((unsigned char) *key) || p >= end || *p != ':')
		return NULL;
	*value = trimmed_copy(p + 1, end);
	return pnstrdup(key, key_end - key);
}

/* Is the line, less surrounding white space, exactly the marker? */
static bool
is_marker(const char *line, const char *end, const char *marker)
{
	size_t		len = strlen(marker);

	while (line < end && isspace((unsigned char) *line))
		line++;
	while (end > line && isspace((unsigned char) end[-1]))
		end--;
	return (size_t) (end - line) == len && strncmp(line, marker, len) == 0;
}

/*
 * apm_script_parse reads a migration file into a revision definition.  The
 * values are not validated here beyond the format; registration checks
 * them like those of ap_migrate_add().
 */
ApmRevisionDef *
apm_script_parse(const char *script)
{
	ApmRevisionDef *def = palloc0(sizeof(ApmRevisionDef));
	char	   *values[NUM_KEYS] = {0};
	const char *line = script;
	const char *upgrade_start = NULL;
	const char *upgrade_end = NULL;
	const char *downgrade_start = NULL;
	int			lineno = 0;
	int			upgrade_line = 0;

	while (*line)
	{
		const char *end = strchr(line, '\n');
		const char *next;

		if (end == NULL)
			end = line + strlen(line);
		next = *end ? end + 1 : end;
		lineno++;

		if (is_marker(line, end, MARK_UPGRADE))
		{
			if (upgrade_start != NULL)
				script_error(lineno, "The \"%s\" line appears a second time.", MARK_UPGRADE);
			upgrade_start = next;
			upgrade_line = lineno;
		}
		else if (is_marker(line, end, MARK_DOWNGRADE))
		{
			if (upgrade_start == NULL)
				script_error(lineno, "The \"%s\" line comes before the \"%s\" line.",
							 MARK_DOWNGRADE, MARK_UPGRADE);
			if (downgrade_start != NULL)
				script_error(lineno, "The \"%s\" line appears a second time.", MARK_DOWNGRADE);
			upgrade_end = line;
			downgrade_start = next;
		}
		else if (upgrade_start == NULL)
		{
			/* a header line */
			const char *p = line;

			while (p < end && isspace((unsigned char) *p))
				p++;
			if (p == end)
			{
				/* blank */
			}
			else if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			{
				char	   *value;
				char	   *key = header_key(p, end, &value);
				int			k;

				if (key != NULL)
				{
					for (k = 0; k < NUM_KEYS; k++)
						if (strcmp(key, key_names[k]) == 0)
							break;
					if (k == NUM_KEYS)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
								 errmsg("invalid migration script"),
								 errdetail("Unknown header key \"%s\".", key),
								 errhint("Header keys are revision, down_revision, message, branch_labels, depends_on and transactional; other header comments must not look like \"word: value\"."),
								 errcontext("line %d of the migration script", lineno)));
					if (values[k] != NULL)
						script_error(lineno, "Header key \"%s\" appears a second time.", key);
					values[k] = value;
				}
			}
			else
				script_error(lineno, "SQL appears before the \"%s\" line.", MARK_UPGRADE);
		}
		line = next;
	}

	if (upgrade_start == NULL)
		script_error(Max(lineno, 1), "The \"%s\" line is missing.", MARK_UPGRADE);
	if (values[KEY_REVISION] == NULL)
		script_error(upgrade_line, "The header has no \"revision\" key.");
	if (values[KEY_DOWN_REVISION] == NULL)
		script_error(upgrade_line,
					 "The header has no \"down_revision\" key; leave its value empty for a base revision.");

	def->id = values[KEY_REVISION];
	if (def->id[0] == '\0' || list_length(split_list(def->id)) != 1)
		script_error(upgrade_line, "The \"revision\" key must hold exactly one revision id.");
	def->parents = split_list(values[KEY_DOWN_REVISION]);
	def->message = values[KEY_MESSAGE] ? values[KEY_MESSAGE] : pstrdup("");
	def->branch_labels = values[KEY_BRANCH_LABELS] ? split_list(values[KEY_BRANCH_LABELS]) : NIL;
	def->depends_on = values[KEY_DEPENDS_ON] ? split_list(values[KEY_DEPENDS_ON]) : NIL;
	def->transactional = true;
	if (values[KEY_TRANSACTIONAL] != NULL &&
		!parse_bool(values[KEY_TRANSACTIONAL], &def->transactional))
		script_error(upgrade_line, "The \"transactional\" key must be true or false, not \"%s\".",
					 values[KEY_TRANSACTIONAL]);

	if (downgrade_start != NULL)
	{
		def->upgrade_sql = trimmed_copy(upgrade_start, upgrade_end);
		def->downgrade_sql = trimmed_copy(downgrade_start, downgrade_start + strlen(downgrade_start));
	}
	else
	{
		def->upgrade_sql = trimmed_copy(upgrade_start, upgrade_start + strlen(upgrade_start));
		def->downgrade_sql = NULL;
	}
	def->owner = InvalidOid;
	return def;
}
