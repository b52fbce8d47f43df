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

#endif							/* AP_MIGRATE_COMPAT_H */
