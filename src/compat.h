/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PostgreSQL-version difference ap_migrate depends on, in one place.
 *
 * PostgreSQL 15 is the version built and tested here; other majors are a
 * packaging matter as long as their differences are absorbed below.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AP_MIGRATE_COMPAT_H
#define AP_MIGRATE_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "ap_migrate requires PostgreSQL 15 or later"
#endif

/* PostgreSQL 16 moved the varlena macros out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * PostgreSQL 17 lets a background worker log in as a role without LOGIN
 * (BGWORKER_BYPASS_ROLELOGINCHECK).  Before, a worker that runs a step as
 * its owner needs the owner to have LOGIN, which execute.c checks up front.
 * APM_BGWORKER_LOGIN_BYPASS is the flag to pass, or 0 where there is none.
 */
#include "postmaster/bgworker.h"

#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
#define APM_BGWORKER_LOGIN_BYPASS BGWORKER_BYPASS_ROLELOGINCHECK
#else
#define APM_BGWORKER_LOGIN_BYPASS 0
#endif

/*
 * PostgreSQL 16 keeps the GUC variables in a hash table and returns their
 * count with the array (get_guc_variables(int *)); before, the count came
 * from GetNumConfigOptions().  apm_guc_variables is the 16 form.
 */
#include "utils/guc_tables.h"
#if PG_VERSION_NUM >= 160000
#define apm_guc_variables(num_vars) get_guc_variables(num_vars)
#else
static inline struct config_generic **
apm_guc_variables(int *num_vars)
{
	*num_vars = GetNumConfigOptions();
	return get_guc_variables();
}
#endif

#endif							/* AP_MIGRATE_COMPAT_H */
