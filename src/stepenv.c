/*-------------------------------------------------------------------------
 *
 * stepenv.c
 *	  The environment a step of migration SQL runs in, shared by the
 *	  in-process executor (execute.c) and the background worker (worker.c):
 *	  whose rights it has, which settings are pinned for it, how a step that
 *	  could not get a lock waits before it is tried again, and the flag that
 *	  refuses ap_migrate calls from migration SQL.
 *
 * Whose rights a step has.  A step runs with exactly the rights of its
 * revision's owner, whatever the caller's session is.  The session can
 * hold more than the owner's rights in three ways: it logged in as another
 * role (RESET ROLE or SET SESSION AUTHORIZATION would lead back to it), it
 * did SET ROLE or SET SESSION AUTHORIZATION, or ap_migrate was called from
 * a SECURITY DEFINER function.  Only a session that is the owner through
 * and through (apm_session_is_owner) may run the owner's SQL as it is; any
 * other gets a security-restricted operation in process (no temporary
 * objects, prepared statements or cursors that could outlive the step and
 * run later with the session's rights) and a worker logged in as the owner.
 * Role changes inside a step are refused in every case.
 *
 * Lexing.  Migration SQL is split into statements at registration, in the
 * offline script and at run time; if standard_conforming_strings could
 * differ between those, a string literal at registration could be code at
 * run time.  Every body is therefore lexed with standard_conforming_strings
 * on (PostgreSQL's default since 9.1), whatever the session says, and a
 * step that turns it off is failed.
 *
 * Settings.  Each step runs in a GUC nest level that undoes what its SQL
 * sets, SET and SET LOCAL alike, so that nothing leaks into the caller's
 * session or into the next step.  One exception: a transaction-scoped value
 * (GUC_ACTION_LOCAL, what SET LOCAL and set_config(..., true) make) of an
 * extension's setting (a name with a dot, other than ap_migrate's own) is
 * set again after the step and lasts until the end of the transaction, as
 * it would in one psql transaction.  That is how extensions keep state for
 * the running transaction: Citus switches citus.multi_shard_modify_mode to
 * sequential after DDL on a reference table, and the DDL of the following
 * steps must run that way too.  Core settings (search_path, role, ...)
 * never survive a step.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/stepenv.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/timestamp.h"

#include "ap_migrate.h"
#include "compat.h"

static void set_step_lock_timeout(GucAction action);

/* true while an operation that changes the catalog is running */
static bool operation_active = false;

/*
 * apm_operation_active tells whether an ap_migrate operation is running in
 * this backend: a call from its migration SQL must be refused.
 */
bool
apm_operation_active(void)
{
	return operation_active;
}

/*
 * apm_set_operation_active sets that flag: the executor around an
 * operation, the background worker for its whole life (its SQL must not
 * start an operation, which would wait for the caller's lock while the
 * caller waits for the worker).
 */
void
apm_set_operation_active(bool active)
{
	operation_active = active;
}

/*
 * apm_session_is_owner tells whether this session holds no rights beyond
 * owner's: it logged in as owner, and neither SET SESSION AUTHORIZATION,
 * SET ROLE nor a SECURITY DEFINER function made it anybody else.  Only then
 * may owner's SQL run unrestricted and with the session's search_path.
 */
bool
apm_session_is_owner(Oid owner)
{
	return GetAuthenticatedUserId() == owner &&
		GetSessionUserId() == owner &&
		GetUserId() == owner;
}

/*
 * apm_pin_step_settings sets, in the current GUC nest level, what every
 * statement of a step runs with: standard_conforming_strings on (the lexing
 * the SQL was checked with) and ap_migrate.lock_timeout.
 */
void
apm_pin_step_settings(GucAction action)
{
	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION, action, true, 0, false);
	set_step_lock_timeout(action);
}

/*
 * apm_check_step_state fails a step whose statement changed what the step
 * must keep: the role it runs as (owner as the current user, session_user
 * as the session's) or the lexing of the statements after it.  Called after
 * each statement, before anything of it is committed.
 */
void
apm_check_step_state(Oid owner, Oid session_user)
{
	if (GetUserId() != owner || GetSessionUserId() != session_user)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("migration SQL must not change the role it runs as"),
				 errdetail("A step runs with exactly the rights of its revision's owner, \"%s\".",
						   GetUserNameFromId(owner, false))));
	if (!standard_conforming_strings)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("migration SQL must not turn standard_conforming_strings off"),
				 errdetail("Every statement of a revision is lexed with standard_conforming_strings on."),
				 errhint("Write backslash escapes as E'...' strings.")));
}

/*
 * set_step_lock_timeout applies ap_migrate.lock_timeout to the
 * statements of a step, in the current GUC nest level; 0 leaves the
 * session's lock_timeout alone.
 */
static void
set_step_lock_timeout(GucAction action)
{
	char		value[32];

	if (apm_lock_timeout <= 0)
		return;
	snprintf(value, sizeof(value), "%d", apm_lock_timeout);
	(void) set_config_option("lock_timeout", value, PGC_USERSET, PGC_S_SESSION,
							 action, true, 0, false);
}

/*
 * apm_retry_delay is the pause before retry number attempt (1-based) of a
 * step that could not get a lock: ap_migrate.lock_retry_delay, doubled
 * with each retry, at most one minute.
 */
int
apm_retry_delay(int attempt)
{
	int64		delay = apm_lock_retry_delay;

	while (--attempt > 0 && delay < 60000)
		delay *= 2;
	return (int) Min(delay, 60000);
}

/*
 * apm_sleep waits ms milliseconds, answering query cancel and termination
 * meanwhile.
 */
void
apm_sleep(int ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left;

		CHECK_FOR_INTERRUPTS();
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * apm_retry_notice tells that a step (or statement) could not get a lock and
 * will be tried again after delay ms.
 */
void
apm_retry_notice(const char *revision, const char *reason, int attempt, int delay)
{
	ereport(NOTICE,
			(errmsg("revision \"%s\" could not get a lock, retrying in %d ms (retry %d of %d)",
					revision, delay, attempt, apm_lock_retries),
			 errdetail("%s", reason)));
}

/* A transaction-scoped setting a step made that outlives the step */
typedef struct KeptSetting
{
	char	   *name;
	char	   *value;
} KeptSetting;

/*
 * apm_kept_settings lists the extension settings (see the file header)
 * whose transaction-scoped value was set in GUC nest level nestlevel, with
 * that value, before the nest level is undone.
 */
List *
apm_kept_settings(int nestlevel)
{
	List	   *kept = NIL;
	struct config_generic **vars;
	int			nvars;
	int			i;

	vars = apm_guc_variables(&nvars);
	for (i = 0; i < nvars; i++)
	{
		struct config_generic *gconf = vars[i];
		GucStack   *stack = gconf->stack;
		KeptSetting *setting;

		if (stack == NULL || stack->nest_level != nestlevel ||
			(stack->state != GUC_LOCAL && stack->state != GUC_SET_LOCAL) ||
			strchr(gconf->name, '.') == NULL ||
			strncmp(gconf->name, "ap_migrate.", strlen("ap_migrate.")) == 0)
			continue;
		setting = palloc(sizeof(KeptSetting));
		setting->name = pstrdup(gconf->name);
		setting->value = pstrdup(GetConfigOption(gconf->name, true, false));
		kept = lappend(kept, setting);
	}
	return kept;
}

/*
 * apm_restore_kept_settings sets the values apm_kept_settings listed again,
 * for the rest of the transaction, with the rights of owner, who set them:
 * the caller's (a superuser's, say) must not launder them, for instance
 * into a placeholder that a library loaded later would trust as set by a
 * superuser.  Called while the current user is still owner.
 */
void
apm_restore_kept_settings(List *kept, Oid owner)
{
	ListCell   *lc;

	foreach(lc, kept)
	{
		KeptSetting *setting = lfirst(lc);

		(void) set_config_option(setting->name, setting->value,
								 superuser_arg(owner) ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	}
}
