/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PostgreSQL-version difference ap_migrate depends on, in one place.
 *
 * The code is written against PostgreSQL 15's API; each shim below gives
 * another major that API, and says which major changed what.  Built and
 * tested on 13, 15, 17 and 18 (test/matrix.sh).  14 and 16 are covered by
 * construction: every test below is "< the major that changed it", so they
 * take the branch of the release they belong to, but no Debian suite ships
 * them and they are not tested.
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

#include "storage/lock.h"

#if PG_VERSION_NUM < 130000
#error "ap_migrate requires PostgreSQL 13 or later"
#endif

/*
 * SHA-256 through pg_cryptohash.  PostgreSQL 14 added common/cryptohash.h
 * (the generic interface over OpenSSL or the built-in code); 13 has only
 * common/sha2.h's pg_sha256_init/update/final.  On 13 a pg_cryptohash_ctx
 * is a palloc'd pg_sha256_ctx and the functions below wrap sha2.h (they
 * cannot fail).  PostgreSQL 15 added the digest length argument of
 * pg_cryptohash_final and pg_cryptohash_error; on 14 the length is dropped
 * and the error is a fixed string.
 */
#include "common/sha2.h"
#if PG_VERSION_NUM >= 140000
#include "common/cryptohash.h"
#endif

#if PG_VERSION_NUM < 140000
typedef enum
{
	PG_SHA256
} pg_cryptohash_type;

typedef struct pg_cryptohash_ctx
{
	pg_sha256_ctx sha256;
} pg_cryptohash_ctx;

static inline pg_cryptohash_ctx *
pg_cryptohash_create(pg_cryptohash_type type)
{
	return (pg_cryptohash_ctx *) palloc0(sizeof(pg_cryptohash_ctx));
}

static inline int
pg_cryptohash_init(pg_cryptohash_ctx *ctx)
{
	pg_sha256_init(&ctx->sha256);
	return 0;
}

static inline int
pg_cryptohash_update(pg_cryptohash_ctx *ctx, const uint8 *data, size_t len)
{
	pg_sha256_update(&ctx->sha256, data, len);
	return 0;
}

static inline int
pg_cryptohash_final(pg_cryptohash_ctx *ctx, uint8 *dest, size_t len)
{
	Assert(len >= PG_SHA256_DIGEST_LENGTH);
	pg_sha256_final(&ctx->sha256, dest);
	return 0;
}

static inline void
pg_cryptohash_free(pg_cryptohash_ctx *ctx)
{
	if (ctx)
		pfree(ctx);
}
#elif PG_VERSION_NUM < 150000
#define pg_cryptohash_final(ctx, dest, len) pg_cryptohash_final((ctx), (dest))
#endif

#if PG_VERSION_NUM < 150000
#define pg_cryptohash_error(ctx) "cryptohash failure"
#endif

/*
 * PostgreSQL 16 moved the varlena macros (VARDATA, VARSIZE, ...) out of
 * postgres.h into varatt.h.
 */
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
 * LockHeldByMe: PostgreSQL 17 added a third argument, "orstronger" (also
 * accept a stronger mode).  ap_migrate asks about the exact mode.
 */
#if PG_VERSION_NUM >= 170000
#define apm_lock_held_by_me(tag, mode) LockHeldByMe((tag), (mode), false)
#else
#define apm_lock_held_by_me(tag, mode) LockHeldByMe((tag), (mode))
#endif

#endif							/* AP_MIGRATE_COMPAT_H */
