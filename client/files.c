/*-------------------------------------------------------------------------
 *
 * files.c
 *	  The migrations directory: reading its files and computing, for each,
 *	  the revision id and the checksum the server would store.
 *
 * The directory sync compares checksums client-side so that an unchanged
 * directory of 10,000 files costs one round trip.  That needs the file's
 * revision id, its parents, message, labels and dependencies, and the
 * checksum of its SQL, so the header and sections are read here exactly as
 * src/script.c reads them (same markers, same trimming), and the checksum
 * is algorithm 1 of src/register.c: SHA-256 over the length-prefixed
 * upgrade SQL, downgrade SQL (NULL distinct from empty) and transactional
 * flag.  A file this reader does not understand is not judged here: the
 * sync sends it to ap_migrate_load(), whose error names what is wrong.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/files.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "cli.h"

#define MARK_UPGRADE	"-- +upgrade"
#define MARK_DOWNGRADE	"-- +downgrade"

enum
{
	KEY_REVISION,
	KEY_DOWN_REVISION,
	KEY_MESSAGE,
	KEY_BRANCH_LABELS,
	KEY_DEPENDS_ON,
	KEY_TRANSACTIONAL,
	NUM_KEYS
};

static const char *const key_names[NUM_KEYS] = {
	"revision", "down_revision", "message", "branch_labels", "depends_on",
	"transactional"
};

/* Order files by name: the registration order of new files */
static int
file_cmp(const void *a, const void *b)
{
	return strcmp(((const MigrationFile *) a)->name,
				  ((const MigrationFile *) b)->name);
}

/*
 * Read a whole file, relative to an open directory, into a malloc'd,
 * NUL-terminated string.  open/fstat/read rather than stdio: a directory of
 * 10,000 files is read on every command, and the system calls are most of
 * the cost.  Sets *regular false (and returns NULL) for anything but a
 * regular file.
 */
static char *
slurp(int dirfd, const char *name, bool *regular)
{
	int			fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char	   *data;
	size_t		done = 0;

	*regular = true;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		*regular = S_ISREG(st.st_mode);
		close(fd);
		return NULL;
	}
	data = malloc(st.st_size + 1);
	while (data != NULL && done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, data + done, st.st_size - done);

		if (n <= 0)
		{
			free(data);
			data = NULL;
			break;
		}
		done += n;
	}
	close(fd);
	if (data != NULL)
		data[done] = '\0';
	return data;
}

/*
 * Read every "*.sql" file of dir, sorted by name, and parse each.  Returns
 * false after printing why when the directory cannot be read.
 */
bool
cli_read_dir(const char *dir, MigrationDir *md, bool quiet_missing)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			cap = 64;
	MigrationCache *cache;
	int			nread = 0;
	int			nhits = 0;

	md->files = NULL;
	md->nfiles = 0;
	if (d == NULL)
	{
		if (!quiet_missing)
		{
			char	   *clean = cli_sanitize(dir, false);

			cli_err(NULL, "%s: could not open migrations directory \"%s\": %s",
					cli_paint("error", "1;31"), clean, strerror(errno));
			cli_err(NULL, "HINT:  Give the directory with --dir, create one with \"ap-migrate init\", or use --no-sync.");
			free(clean);
		}
		return false;
	}
	cache = cli_cache_load(dir);
	md->files = malloc(cap * sizeof(MigrationFile));
	while ((de = readdir(d)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		MigrationFile *f;
		char	   *path;
		bool		regular;

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0 ||
			(de->d_type != DT_REG && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK))
			continue;
		path = malloc(strlen(dir) + len + 2);
		sprintf(path, "%s/%s", dir, de->d_name);
		if (md->nfiles == cap)
		{
			cap *= 2;
			md->files = realloc(md->files, cap * sizeof(MigrationFile));
		}
		f = &md->files[md->nfiles];
		memset(f, 0, sizeof(*f));
		f->path = path;
		f->name = strdup(de->d_name);
		if (fstatat(dirfd(d), de->d_name, &f->st, 0) == 0)
		{
			f->have_stat = true;
			if (!S_ISREG(f->st.st_mode))
			{
				free(f->path);
				free(f->name);
				continue;
			}
			if (cli_cache_lookup(cache, f, &f->st))
			{
				/*
				 * unchanged since it was last read: its text is read if
				 * needed
				 */
				nhits++;
				md->nfiles++;
				continue;
			}
		}
		nread++;
		f->text = slurp(dirfd(d), de->d_name, &regular);
		if (f->text == NULL && !regular)
		{
			/* a directory or device named *.sql: not a migration */
			free(f->path);
			free(f->name);
			continue;
		}
		if (f->text == NULL)
		{
			char	   *clean = cli_sanitize(path, false);

			cli_err(NULL, "%s: could not read \"%s\": %s", cli_paint("error", "1;31"),
					clean, strerror(errno));
			free(clean);
			free(f->path);
			free(f->name);
			closedir(d);
			cli_free_dir(md);
			cli_cache_free(cache);
			return false;
		}
		md->nfiles++;
	}
	closedir(d);
	qsort(md->files, md->nfiles, sizeof(MigrationFile), file_cmp);
	for (int i = 0; i < md->nfiles; i++)
		if (md->files[i].text)
			cli_parse_file(&md->files[i]);
	cli_cache_save(cache, md, nread > 0 || nhits != cli_cache_count(cache));
	cli_cache_free(cache);
	return true;
}

/*
 * The file's text, read now if the cache spared reading it before (NULL
 * if it cannot be read any more).
 */
const char *
cli_file_text(MigrationFile *f)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	bool		regular;
	const char *text;

	/* databases sync in parallel and share the directory */
	pthread_mutex_lock(&lock);
	if (f->text == NULL)
		f->text = slurp(AT_FDCWD, f->path, &regular);
	text = f->text;

	pthread_mutex_unlock(&lock);
	return text;
}

/* Free what cli_read_dir allocated */
void
cli_free_dir(MigrationDir *md)
{
	for (int i = 0; i < md->nfiles; i++)
	{
		MigrationFile *f = &md->files[i];

		free(f->path);
		free(f->name);
		free(f->text);
		free(f->id);
		free(f->parents);
		free(f->message);
		free(f->branch_labels);
		free(f->depends_on);
	}
	free(md->files);
	md->files = NULL;
	md->nfiles = 0;
}

/* [start, end) less surrounding white space, as *start and length */
static void
trim(const char **start, const char **end)
{
	while (*start < *end && isspace((unsigned char) **start))
		(*start)++;
	while (*end > *start && isspace((unsigned char) (*end)[-1]))
		(*end)--;
}

/* A malloc'd copy of [start, end) less surrounding white space */
static char *
trimmed_copy(const char *start, const char *end)
{
	trim(&start, &end);
	return strndup(start, end - start);
}

/*
 * A comma- or space-separated list, as the server splits it, joined by
 * single spaces (array_to_string(arr, ' ') on the server gives the same).
 */
static char *
normalize_list(const char *value)
{
	PQExpBufferData buf;
	const char *p = value;

	initPQExpBuffer(&buf);
	while (*p)
	{
		const char *start;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		start = p;
		while (*p && *p != ',' && !isspace((unsigned char) *p))
			p++;
		if (p > start)
		{
			if (buf.len > 0)
				appendPQExpBufferChar(&buf, ' ');
			appendBinaryPQExpBuffer(&buf, start, p - start);
		}
	}
	return buf.data;
}

/* Is the line, less surrounding white space, exactly the marker? */
static bool
is_marker(const char *line, const char *end, const char *marker)
{
	size_t		len = strlen(marker);

	trim(&line, &end);
	return (size_t) (end - line) == len && strncmp(line, marker, len) == 0;
}

/*
 * If a header line (starting at "--") reads "-- key: value", return the
 * index of the key (NUM_KEYS for an unknown one) and set *value; -1 if it
 * is a plain comment.
 */
static int
header_key(const char *p, const char *end, char **value)
{
	const char *key;
	const char *key_end;
	int			k;

	p += 2;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	key = p;
	while (p < end && (isalnum((unsigned char) *p) || *p == '_' || *p == '-'))
		p++;
	key_end = p;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (key_end == key || !isalpha((unsigned char) *key) || p >= end || *p != ':')
		return -1;
	for (k = 0; k < NUM_KEYS; k++)
		if (strlen(key_names[k]) == (size_t) (key_end - key) &&
			strncmp(key, key_names[k], key_end - key) == 0)
			break;
	*value = trimmed_copy(p + 1, end);
	return k;
}

/* Parse a boolean as the server's parse_bool does, for the usual spellings */
static bool
parse_flag(const char *value, bool *result)
{
	static const char *const yes[] = {"true", "t", "yes", "y", "on", "1"};
	static const char *const no[] = {"false", "f", "no", "n", "off", "0"};

	for (int i = 0; i < 6; i++)
	{
		if (strcasecmp(value, yes[i]) == 0)
			return (*result = true);
		if (strcasecmp(value, no[i]) == 0)
			return !(*result = false);
	}
	return false;
}

/*
 * Read the header and sections of a file as src/script.c does and compute
 * its checksum.  Returns false (f->parsed false) for a file the server
 * would refuse; the sync then lets the server say why.
 */
bool
cli_parse_file(MigrationFile *f)
{
	char	   *values[NUM_KEYS] = {0};
	const char *line = f->text;
	const char *upgrade_start = NULL;
	const char *upgrade_end = NULL;
	const char *downgrade_start = NULL;
	bool		ok = true;
	bool		transactional = true;

	while (*line && ok)
	{
		const char *end = strchr(line, '\n');
		const char *next;

		if (end == NULL)
			end = line + strlen(line);
		next = *end ? end + 1 : end;
		if (is_marker(line, end, MARK_UPGRADE))
		{
			ok = (upgrade_start == NULL);
			upgrade_start = next;
		}
		else if (is_marker(line, end, MARK_DOWNGRADE))
		{
			ok = (upgrade_start != NULL && downgrade_start == NULL);
			upgrade_end = line;
			downgrade_start = next;
		}
		else if (upgrade_start == NULL)
		{
			const char *p = line;

			while (p < end && isspace((unsigned char) *p))
				p++;
			if (p == end)
				;				/* blank */
			else if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			{
				char	   *value = NULL;
				int			k = header_key(p, end, &value);

				if (k == NUM_KEYS || (k >= 0 && values[k] != NULL))
					ok = false;
				if (k >= 0 && k < NUM_KEYS && ok)
					values[k] = value;
				else
					free(value);
			}
			else
				ok = false;
		}
		line = next;
	}
	if (upgrade_start == NULL || values[KEY_REVISION] == NULL ||
		values[KEY_DOWN_REVISION] == NULL || values[KEY_REVISION][0] == '\0' ||
		strpbrk(values[KEY_REVISION], ", \t") != NULL)
		ok = false;
	if (ok && values[KEY_TRANSACTIONAL] != NULL &&
		!parse_flag(values[KEY_TRANSACTIONAL], &transactional))
		ok = false;

	if (ok)
	{
		const char *up_end = downgrade_start ? upgrade_end : upgrade_start + strlen(upgrade_start);
		const char *up = upgrade_start;
		const char *down = downgrade_start;
		const char *down_end = down ? down + strlen(down) : NULL;

		trim(&up, &up_end);
		if (down)
			trim(&down, &down_end);
		cli_checksum(up, up_end - up, down, down ? (long) (down_end - down) : -1,
					 transactional, f->checksum);
		f->id = strdup(values[KEY_REVISION]);
		f->parents = normalize_list(values[KEY_DOWN_REVISION]);
		f->message = strdup(values[KEY_MESSAGE] ? values[KEY_MESSAGE] : "");
		f->branch_labels = normalize_list(values[KEY_BRANCH_LABELS] ? values[KEY_BRANCH_LABELS] : "");
		f->depends_on = normalize_list(values[KEY_DEPENDS_ON] ? values[KEY_DEPENDS_ON] : "");
	}
	for (int k = 0; k < NUM_KEYS; k++)
		free(values[k]);
	f->parsed = ok;
	return ok;
}

/* Append one length-prefixed field (len -1: NULL, distinct from empty) */
static void
checksum_field(PQExpBuffer buf, const char *value, long len)
{
	unsigned char lenbuf[8];

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char) (((unsigned long long) (long long) len) >> (8 * i));
	appendBinaryPQExpBuffer(buf, (const char *) lenbuf, sizeof(lenbuf));
	if (len > 0)
		appendBinaryPQExpBuffer(buf, value, len);
}

/*
 * Checksum algorithm 1 of src/register.c, in lowercase hex (65 bytes with
 * the NUL): SHA-256 over the upgrade SQL, the downgrade SQL (downlen -1:
 * none) and the transactional flag, each prefixed by its length.
 */
void
cli_checksum(const char *up, size_t uplen, const char *down, long downlen,
			 bool transactional, char *hex)
{
	static EVP_MD_CTX *ctx = NULL;	/* the directory is read by one thread */
	static const EVP_MD *sha256 = NULL;
	static const char digits[] = "0123456789abcdef";
	PQExpBufferData buf;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	/*
	 * Fetching the algorithm per hash costs as much as hashing a file, so
	 * OpenSSL 3 fetches it once; OpenSSL 1.1 (Debian bullseye) has no
	 * fetching and its EVP_sha256() costs nothing.
	 */
	if (ctx == NULL)
	{
		ctx = EVP_MD_CTX_new();
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
#else
		sha256 = EVP_sha256();
#endif
	}
	initPQExpBuffer(&buf);
	checksum_field(&buf, up, (long) uplen);
	checksum_field(&buf, down, downlen);
	checksum_field(&buf, transactional ? "t" : "f", 1);
	if (!EVP_DigestInit_ex(ctx, sha256, NULL) ||
		!EVP_DigestUpdate(ctx, buf.data, buf.len) ||
		!EVP_DigestFinal_ex(ctx, digest, &dlen))
		dlen = 0;				/* an empty checksum never matches */
	for (unsigned int i = 0; i < dlen; i++)
	{
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[2 * dlen] = '\0';
	termPQExpBuffer(&buf);
}
