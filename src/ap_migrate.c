/*-------------------------------------------------------------------------
 *
 * ap_migrate.c
 *	  Module entry point: library magic and the extension's settings.
 *
 * The library needs no shared memory and no preloading: it is loaded on
 * first use of any ap_migrate function, which defines the settings below.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/ap_migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "ap_migrate.h"
#include "compat.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

/* global variables (settings) */
int			apm_revision_id_format = APM_ID_FORMAT_HEX12;
bool		apm_allow_superuser_migrations = false;
int			apm_lock_timeout = 2000;
int			apm_lock_retries = 0;
int			apm_lock_retry_delay = 500;
int			apm_lock_wait_timeout = 0;

bool		apm_restore = false;
bool		apm_citus_sequential = true;
bool		apm_record_fingerprint = true;
int			apm_lint_on_register_mode = APM_LINT_REGISTER_OFF;
char	   *apm_lint_disable = NULL;
int			apm_lint_min_severity = APM_LINT_INFO;

static const struct config_enum_entry id_format_options[] = {
	{"hex12", APM_ID_FORMAT_HEX12, false},
	{"relaxed", APM_ID_FORMAT_RELAXED, false},
	{NULL, 0, false}
};

static const struct config_enum_entry lint_register_options[] = {
	{"off", APM_LINT_REGISTER_OFF, false},
	{"warn", APM_LINT_REGISTER_WARN, false},
	{"refuse", APM_LINT_REGISTER_REFUSE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry lint_severity_options[] = {
	{"info", APM_LINT_INFO, false},
	{"warning", APM_LINT_WARNING, false},
	{"error", APM_LINT_ERROR, false},
	{NULL, 0, false}
};

/*
 * Defining the settings cheaply.  Before PostgreSQL 16 the settings live in
 * an array sorted by name, and each setting an extension defines is
 * appended and the whole array sorted again: about 0.8 million
 * instructions each with ~370 settings, 8.7 of the 9 million a new backend
 * spent loading this library, which is most of what a no-op deploy costs
 * over a bare connection.  An array that is still sorted costs the sort one
 * pass over it.  So each setting is defined under a stand-in name of the
 * same length that sorts after every other, which leaves the array sorted;
 * then the stand-in is given the real name and moved to where the sort
 * would have put it.  A setting that already exists as a placeholder (a SET
 * before the library was loaded, or a value from the configuration) is
 * defined under its own name: replacing a placeholder does not sort.  With
 * any doubt (the stand-in exists, or does not sort last) the setting is
 * defined under its own name too.  PostgreSQL 16 keeps the settings in a
 * hash table, and there every setting is defined under its own name.
 */
#if PG_VERSION_NUM < 160000
static char setting_standin[NAMEDATALEN];
static const char *setting_defined_as = NULL;

/* guc.c's guc_name_compare: ASCII case folding, the array's order */
static int
setting_name_compare(const char *a, const char *b)
{
	while (*a && *b)
	{
		char		ca = *a++;
		char		cb = *b++;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return ca - cb;
	}
	if (*a)
		return 1;
	if (*b)
		return -1;
	return 0;
}
#endif

/*
 * setting_name returns the name to define setting name under: name itself,
 * or on PostgreSQL 15 and older a stand-in (see above).
 */
static const char *
setting_name(const char *name)
{
#if PG_VERSION_NUM < 160000
	const char *dot = strchr(name, '.');
	struct config_generic **vars = get_guc_variables();
	int			nvars = GetNumConfigOptions();

	setting_defined_as = name;
	if (dot == NULL || strlen(name) >= NAMEDATALEN || nvars == 0 ||
		GetConfigOption(name, true, false) != NULL)
		return name;
	memset(setting_standin, 'z', dot - name);
	strlcpy(setting_standin + (dot - name), dot, NAMEDATALEN - (dot - name));
	if (GetConfigOption(setting_standin, true, false) != NULL ||
		setting_name_compare(setting_standin, vars[nvars - 1]->name) <= 0)
		return name;
	setting_defined_as = setting_standin;
	return setting_standin;
#else
	return name;
#endif
}

/*
 * setting_defined gives a setting defined under a stand-in its own name
 * and its place in the sorted array (nothing to do otherwise).
 */
static void
setting_defined(const char *name)
{
#if PG_VERSION_NUM < 160000
	struct config_generic **vars = get_guc_variables();
	int			nvars = GetNumConfigOptions();
	struct config_generic *var;
	int			lo = 0;
	int			hi = nvars - 1;

	if (setting_defined_as != setting_standin)
		return;
	setting_defined_as = NULL;
	var = vars[nvars - 1];
	if (strcmp(var->name, setting_standin) != 0)
		elog(ERROR, "setting \"%s\" was not defined last", setting_standin);

	/* same length: the name is rewritten where it is */
	memcpy(unconstify(char *, var->name), name, strlen(name));
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (setting_name_compare(vars[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&vars[lo + 1], &vars[lo], sizeof(struct config_generic *) * (nvars - 1 - lo));
	vars[lo] = var;
#endif
}

/*
 * _PG_init defines the settings.  The id format is a user setting because
 * it only widens what registration accepts; running superuser-owned
 * revisions for another role is a security decision, so only a superuser
 * may change that one.  Restore mode is a user setting too: it grants
 * nothing by itself (inserting still needs the INSERT privilege, which only
 * the installing role holds) and the rows it admits get registration's
 * checks (guard.c).  The non-superuser who owns a database must be able to
 * set it, from PGOPTIONS, before the library is loaded: the placeholder
 * that creates is taken over here.
 */
void
_PG_init(void)
{
	DefineCustomEnumVariable(setting_name("ap_migrate.revision_id_format"),
							 gettext_noop("Selects which revision ids registration accepts."),
							 gettext_noop("hex12 accepts exactly 12 lowercase hexadecimal digits, as Alembic "
										  "generates them; relaxed also accepts other ids made of letters, "
										  "digits, underscores and dots."),
							 &apm_revision_id_format,
							 APM_ID_FORMAT_HEX12,
							 id_format_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.revision_id_format");

	DefineCustomBoolVariable(setting_name("ap_migrate.allow_superuser_migrations"),
							 gettext_noop("Allows revisions owned by a superuser to run when a non-superuser applies them."),
							 NULL,
							 &apm_allow_superuser_migrations,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.allow_superuser_migrations");

	/*
	 * Lock safety.  A migration's ALTER TABLE queued behind a long reader
	 * blocks every later reader of the table until it gets its lock; a short
	 * per-step lock_timeout bounds that (on by default: failing a deploy is
	 * better than stalling the application), and retries with a growing delay
	 * let the step succeed once the reader is gone (off by default: each
	 * attempt runs in a subtransaction, which makes ALTER TABLE-heavy chains
	 * measurably slower, about 15% more server instructions).  The wait for
	 * the serializing lock is a different thing (another session is
	 * migrating) and has its own limit, unlimited by default: application
	 * instances started together should wait for the one that applies the
	 * revisions.
	 */
	DefineCustomIntVariable(setting_name("ap_migrate.lock_timeout"),
							gettext_noop("Sets the lock_timeout of each migration step."),
							gettext_noop("0 leaves the session's lock_timeout in effect."),
							&apm_lock_timeout,
							2000, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	setting_defined("ap_migrate.lock_timeout");

	DefineCustomIntVariable(setting_name("ap_migrate.lock_retries"),
							gettext_noop("Sets how many times a step that failed to get a lock (55P03) is retried."),
							NULL,
							&apm_lock_retries,
							0, 0, 1000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	setting_defined("ap_migrate.lock_retries");

	DefineCustomIntVariable(setting_name("ap_migrate.lock_retry_delay"),
							gettext_noop("Sets the delay before the first retry of a step; it doubles with each retry."),
							gettext_noop("The delay is capped at one minute."),
							&apm_lock_retry_delay,
							500, 0, 60000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	setting_defined("ap_migrate.lock_retry_delay");

	DefineCustomIntVariable(setting_name("ap_migrate.lock_wait_timeout"),
							gettext_noop("Sets how long a call waits for another session's ap_migrate operation to finish."),
							gettext_noop("0 waits without limit; the session's lock_timeout does not apply to this wait."),
							&apm_lock_wait_timeout,
							0, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	setting_defined("ap_migrate.lock_wait_timeout");

	DefineCustomBoolVariable(setting_name("ap_migrate.restore"),
							 gettext_noop("Allows direct inserts into the ap_migrate catalog tables, for pg_restore."),
							 gettext_noop("Each inserted revision must belong to a role the inserting role is a member "
										  "of, and its checksum must match its SQL.  Inserting also needs the INSERT "
										  "privilege, which CREATE EXTENSION grants to the installing role."),
							 &apm_restore,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.restore");

	DefineCustomBoolVariable(setting_name("ap_migrate.citus_sequential"),
							 gettext_noop("Runs a function call's steps in Citus's sequential multi-shard mode."),
							 gettext_noop("When citus.multi_shard_modify_mode exists, ap_migrate_upgrade() and "
										  "ap_migrate_downgrade() set it to sequential for their transaction, so that "
										  "DDL on reference and distributed tables can follow each other in one call."),
							 &apm_citus_sequential,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.citus_sequential");

	/*
	 * The drift check's baseline (fingerprint.c).  A user setting: turning it
	 * off only silences the drift check until a call records one again, which
	 * any call that applies steps could do anyway.
	 */
	DefineCustomBoolVariable(setting_name("ap_migrate.record_fingerprint"),
							 gettext_noop("Records a fingerprint of the schema after a call that applied or reverted steps."),
							 gettext_noop("The drift check compares the live schema with the last fingerprint recorded; "
										  "while it is older than the last step, the drift check reports nothing."),
							 &apm_record_fingerprint,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.record_fingerprint");

	/*
	 * Lint (lint.c).  User settings: they only decide what is reported, or
	 * make registration stricter.
	 */
	DefineCustomEnumVariable(setting_name("ap_migrate.lint_on_register"),
							 gettext_noop("Lints each revision when it is registered."),
							 gettext_noop("off does not lint; warn reports each finding of severity warning "
										  "or error as a WARNING; refuse makes such a finding an error."),
							 &apm_lint_on_register_mode,
							 APM_LINT_REGISTER_OFF,
							 lint_register_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.lint_on_register");

	DefineCustomStringVariable(setting_name("ap_migrate.lint_disable"),
							   gettext_noop("Lint rule codes not to report, separated by commas."),
							   NULL,
							   &apm_lint_disable,
							   "",
							   PGC_USERSET,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);
	setting_defined("ap_migrate.lint_disable");

	DefineCustomEnumVariable(setting_name("ap_migrate.lint_min_severity"),
							 gettext_noop("Sets the lowest severity of lint findings reported."),
							 NULL,
							 &apm_lint_min_severity,
							 APM_LINT_INFO,
							 lint_severity_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	setting_defined("ap_migrate.lint_min_severity");

	MarkGUCPrefixReserved("ap_migrate");
}
