/*-------------------------------------------------------------------------
 *
 * checksum.c
 *	  The checksum of a revision: SHA-256 over its upgrade SQL, downgrade SQL
 *	  and transactional flag.
 *
 * Registration stores it, each step and ap_migrate_validate() check it,
 * and the catalog guard checks restored rows against it, so it lives at the
 * bottom, used by all of them.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/checksum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "ap_migrate.h"
#include "compat.h"				/* common/cryptohash.h, which 13 lacks */

/* Append one field: its length as 8 little-endian bytes, then its bytes */
static void
checksum_field(StringInfo buf, const char *value, int64 len)
{
	uint8		lenbuf[8];
	int			i;

	for (i = 0; i < 8; i++)
		lenbuf[i] = (uint8) (((uint64) len) >> (8 * i));
	appendBinaryStringInfo(buf, (const char *) lenbuf, sizeof(lenbuf));
	if (len > 0)
		appendBinaryStringInfo(buf, value, len);
}

/*
 * apm_checksum_compute computes checksum algorithm 1 into hex (65 bytes):
 * SHA-256, in lowercase hex, over the upgrade SQL, the downgrade SQL
 * (downgrade_len -1: NULL, distinct from empty) and the transactional flag,
 * each field prefixed by its length.  These are what decide what a
 * revision does to a database.
 *
 * Validation computes one per registered revision, so the caller may pass
 * a hash context and a buffer to reuse (ctx NULL: make one here): the
 * fields are hashed in one update, and making a hash context per revision
 * cost as much as the hashing.
 */
void
apm_checksum_compute(pg_cryptohash_ctx *ctx, StringInfo buf,
					 const char *upgrade_sql, int64 upgrade_len,
					 const char *downgrade_sql, int64 downgrade_len,
					 bool transactional, char *hex)
{
	pg_cryptohash_ctx *own = ctx ? NULL : pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (own)
		ctx = own;
	resetStringInfo(buf);
	checksum_field(buf, upgrade_sql, upgrade_len);
	checksum_field(buf, downgrade_sql, downgrade_len);
	checksum_field(buf, transactional ? "t" : "f", 1);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) buf->data, buf->len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute revision checksum: %s", pg_cryptohash_error(ctx));
	if (own)
		pg_cryptohash_free(own);

	/* no sprintf: validation computes one per revision */
	hex[hex_encode((const char *) digest, sizeof(digest), hex)] = '\0';
}

/*
 * apm_checksum is apm_checksum_compute for C strings (downgrade_sql NULL
 * for none), in a new palloc'd string.
 */
char *
apm_checksum(const char *upgrade_sql, const char *downgrade_sql,
			 bool transactional)
{
	StringInfoData buf;
	char	   *hex = palloc(APM_CHECKSUM_LEN + 1);

	initStringInfo(&buf);
	apm_checksum_compute(NULL, &buf, upgrade_sql, strlen(upgrade_sql),
						 downgrade_sql, downgrade_sql ? (int64) strlen(downgrade_sql) : -1,
						 transactional, hex);
	pfree(buf.data);
	return hex;
}
