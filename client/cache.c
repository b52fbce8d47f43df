/*-------------------------------------------------------------------------
 *
 * cache.c
 *	  A per-user cache of what the migration files' headers and checksums
 *	  are, so that a directory of unchanged files is not read again on every
 *	  command.
 *
 * Reading, parsing and hashing 10,000 files costs a few hundred
 * milliseconds of system and user time, most of the directory sync; one
 * stat per file costs a tenth of that.  An entry is trusted only while the
 * file's inode, size, mtime and ctime are the ones recorded (ctime cannot
 * be set back by a user), and only files whose ctime was at least two
 * seconds old when the cache was written are recorded, so an edit in the
 * same clock tick as the write cannot hide behind an entry (git's "racy
 * clean" rule).  The cache lives outside the project
 * ($XDG_CACHE_HOME/ap-migrate or ~/.cache/ap-migrate), one file per
 * directory, so nothing appears in the repository; when it cannot be read
 * or written, every file is simply read.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/cache.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CACHE_MAGIC "ap-migrate cache 1"
#define CACHE_NFIELDS 11		/* name, ino, size, mtime, ctime, checksum,
								 * id, parents, labels, depends, message */

typedef struct CacheEntry
{
	char	   *line;			/* the whole line, split in place */
	char	   *fields[CACHE_NFIELDS];
} CacheEntry;

struct MigrationCache
{
	char	   *path;			/* the cache file */
	char	   *dir;			/* the directory's real path */
	char	   *data;			/* the file's text */
	CacheEntry *entries;		/* sorted by file name */
	int			nentries;
};

/* Order entries by file name, for bsearch */
static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const CacheEntry *) a)->fields[0], ((const CacheEntry *) b)->fields[0]);
}

/* The cache file of a directory (malloc'd), or NULL without a home */
static char *
cache_path(const char *realdir)
{
	const char *base = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	unsigned long long h = 14695981039346656037ULL; /* FNV-1a */
	char	   *path;

	for (const unsigned char *p = (const unsigned char *) realdir; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	if (base == NULL || base[0] != '/')
	{
		if (home == NULL || home[0] != '/')
			return NULL;
		path = malloc(strlen(home) + 64);
		sprintf(path, "%s/.cache/ap-migrate/%016llx.tsv", home, h);
	}
	else
	{
		path = malloc(strlen(base) + 64);
		sprintf(path, "%s/ap-migrate/%016llx.tsv", base, h);
	}
	return path;
}

/*
 * Load the cache of a directory.  Always returns a cache (possibly empty);
 * a missing or foreign file is an empty cache.
 */
MigrationCache *
cli_cache_load(const char *dir)
{
	MigrationCache *cache = calloc(1, sizeof(MigrationCache));
	char		real[PATH_MAX];
	FILE	   *f;
	long		len;
	char	   *line;
	int			cap = 0;

	if (realpath(dir, real) == NULL)
		return cache;
	cache->dir = strdup(real);
	cache->path = cache_path(real);
	if (cache->path == NULL || (f = fopen(cache->path, "rb")) == NULL)
		return cache;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
		(cache->data = malloc(len + 1)) == NULL || fread(cache->data, 1, len, f) != (size_t) len)
	{
		fclose(f);
		return cache;
	}
	fclose(f);
	cache->data[len] = '\0';

	/* first line: magic and the directory, so a hash collision is harmless */
	line = cache->data;
	{
		char	   *end = strchr(line, '\n');

		if (end == NULL)
			return cache;
		*end = '\0';
		if (strncmp(line, CACHE_MAGIC "\t", strlen(CACHE_MAGIC) + 1) != 0 ||
			strcmp(line + strlen(CACHE_MAGIC) + 1, real) != 0)
			return cache;
		line = end + 1;
	}
	while (*line)
	{
		char	   *end = strchr(line, '\n');
		CacheEntry *e;
		int			n = 0;
		char	   *p = line;

		if (end == NULL)
			break;
		*end = '\0';
		if (cache->nentries == cap)
		{
			cap = cap ? cap * 2 : 256;
			cache->entries = realloc(cache->entries, cap * sizeof(CacheEntry));
		}
		e = &cache->entries[cache->nentries];
		e->line = line;
		while (n < CACHE_NFIELDS)
		{
			char	   *tab = strchr(p, '\t');

			e->fields[n++] = p;
			if (tab == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (n == CACHE_NFIELDS)
			cache->nentries++;
		line = end + 1;
	}
	qsort(cache->entries, cache->nentries, sizeof(CacheEntry), entry_cmp);
	return cache;
}

/* The stat fields an entry is valid for, as the cache writes them */
static void
stat_key(const struct stat *st, char *buf, size_t size)
{
	snprintf(buf, size, "%llu\t%lld\t%lld.%09ld\t%lld.%09ld",
			 (unsigned long long) st->st_ino, (long long) st->st_size,
			 (long long) st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			 (long long) st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/*
 * If the cache holds the file with these stat fields, fill its header and
 * checksum (text stays NULL: read when needed) and return true.
 */
bool
cli_cache_lookup(MigrationCache *cache, MigrationFile *f, const struct stat *st)
{
	CacheEntry	key;
	CacheEntry *e;
	char		want[128];
	char		have[128];

	if (cache->nentries == 0)
		return false;
	key.fields[0] = f->name;
	e = bsearch(&key, cache->entries, cache->nentries, sizeof(CacheEntry), entry_cmp);
	if (e == NULL)
		return false;
	stat_key(st, want, sizeof(want));
	snprintf(have, sizeof(have), "%s\t%s\t%s\t%s", e->fields[1], e->fields[2], e->fields[3], e->fields[4]);
	if (strcmp(want, have) != 0 || strlen(e->fields[5]) != 64)
		return false;
	memcpy(f->checksum, e->fields[5], 65);
	f->id = strdup(e->fields[6]);
	f->parents = strdup(e->fields[7]);
	f->branch_labels = strdup(e->fields[8]);
	f->depends_on = strdup(e->fields[9]);
	f->message = strdup(e->fields[10]);
	f->parsed = true;
	return true;
}

/* Can a value go into a tab-separated line? */
static bool
plain(const char *s)
{
	return s != NULL && strpbrk(s, "\t\n\r") == NULL;
}

/*
 * Write the cache for the directory just read: every parsed file whose
 * ctime is old enough (see the file header).  Errors are ignored: without
 * a cache the next command reads every file.
 */
void
cli_cache_save(MigrationCache *cache, const MigrationDir *md, bool changed)
{
	char	   *tmp;
	char	   *slash;
	FILE	   *f;
	time_t		now = time(NULL);

	if (!changed || cache->path == NULL || cache->dir == NULL)
		return;
	/* mkdir -p of the cache directory (two levels at most) */
	slash = strrchr(cache->path, '/');
	*slash = '\0';
	if (mkdir(cache->path, 0700) != 0 && errno == ENOENT)
	{
		char	   *parent = strrchr(cache->path, '/');

		*parent = '\0';
		mkdir(cache->path, 0700);
		*parent = '/';
		mkdir(cache->path, 0700);
	}
	*slash = '/';
	tmp = malloc(strlen(cache->path) + 32);
	sprintf(tmp, "%s.%d.tmp", cache->path, (int) getpid());
	f = fopen(tmp, "wb");
	if (f == NULL)
	{
		free(tmp);
		return;
	}
	fprintf(f, "%s\t%s\n", CACHE_MAGIC, cache->dir);
	for (int i = 0; i < md->nfiles; i++)
	{
		const MigrationFile *m = &md->files[i];
		char		key[128];

		if (!m->parsed || !m->have_stat || m->st.st_ctim.tv_sec >= now - 1 ||
			!plain(m->name) || !plain(m->id) || !plain(m->parents) || !plain(m->branch_labels) ||
			!plain(m->depends_on) || !plain(m->message))
			continue;
		stat_key(&m->st, key, sizeof(key));
		fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m->name, key, m->checksum, m->id,
				m->parents, m->branch_labels, m->depends_on, m->message);
	}
	if (fclose(f) != 0 || rename(tmp, cache->path) != 0)
		unlink(tmp);
	free(tmp);
}

/* How many entries the cache held when loaded */
int
cli_cache_count(const MigrationCache *cache)
{
	return cache->nentries;
}

/* Free a cache */
void
cli_cache_free(MigrationCache *cache)
{
	free(cache->path);
	free(cache->dir);
	free(cache->data);
	free(cache->entries);
	free(cache);
}
