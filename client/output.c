/*-------------------------------------------------------------------------
 *
 * output.c
 *	  Terminal output of ap-migrate: sanitizing, colour, per-database
 *	  prefixes, JSON strings.
 *
 * Text that comes from the server or from migration files (messages, error
 * reports, SQL) may hold control characters or escape sequences; it is
 * never written to a terminal as is.  Several databases may be migrated by
 * several threads at once, so every line is written whole, under a lock,
 * and prefixed with its database when there are several.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/output.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

bool		cli_color = false;

static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Return a malloc'd copy of text that is safe to print: control characters
 * (ESC included, so no escape sequence survives) and DEL become \xNN.
 * Newlines and tabs are kept when asked, for multi-line server reports.
 */
char *
cli_sanitize(const char *text, bool keep_newlines)
{
	PQExpBufferData buf;
	const unsigned char *p;

	if (text == NULL)
		return strdup("");
	initPQExpBuffer(&buf);
	for (p = (const unsigned char *) text; *p; p++)
	{
		if ((*p < 0x20 || *p == 0x7f) &&
			!(keep_newlines && (*p == '\n' || *p == '\t')))
			appendPQExpBuffer(&buf, "\\x%02x", *p);
		else
			appendPQExpBufferChar(&buf, (char) *p);
	}
	return buf.data;
}

/* Serialize output of threads; exported for multi-line reports */
void
cli_lock_output(void)
{
	pthread_mutex_lock(&output_lock);
}

/* Release the output lock taken by cli_lock_output */
void
cli_unlock_output(void)
{
	pthread_mutex_unlock(&output_lock);
}

/*
 * Write one formatted line (or several) to a stream, each line prefixed
 * with the job's database when several databases are being migrated, so
 * interleaved output of parallel jobs stays readable.
 */
static void
write_lines(FILE *stream, DbJob *job, const char *fmt, va_list args)
{
	char	   *text;
	const char *line;

	if (vasprintf(&text, fmt, args) < 0)
		return;
	cli_lock_output();
	line = text;

	while (*line)
	{
		const char *end = strchr(line, '\n');
		int			len = end ? (int) (end - line) : (int) strlen(line);

		if (job != NULL && job->prefix)
			fprintf(stream, "[%s] ", job->label ? job->label : "?");
		fprintf(stream, "%.*s\n", len, line);
		line += len + (end ? 1 : 0);
	}
	fflush(stream);
	cli_unlock_output();
	free(text);
}

/* Print to stdout (results), unless --json owns stdout */
void
cli_out(DbJob *job, const char *fmt,...)
{
	va_list		args;

	if (opts.json)
		return;
	va_start(args, fmt);
	write_lines(stdout, job, fmt, args);
	va_end(args);
}

/* Print to stderr (progress, warnings, errors) */
void
cli_err(DbJob *job, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	write_lines(stderr, job, fmt, args);
	va_end(args);
}

/*
 * Wrap text in an ANSI colour when colour is on (a terminal, NO_COLOR
 * unset); the result lives in a small ring of static buffers so that a few
 * may appear in one printf.
 */
const char *
cli_paint(const char *text, const char *color)
{
	static __thread char ring[4][256];
	static __thread int next = 0;
	char	   *out;

	if (!cli_color)
		return text;

	out = ring[next++ % 4];
	snprintf(out, sizeof(ring[0]), "\033[%sm%s\033[0m", color, text);
	return out;
}

/* Append s as a JSON string literal (NULL: null) */
void
cli_json_string(PQExpBuffer buf, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
	{
		appendPQExpBufferStr(buf, "null");
		return;
	}
	appendPQExpBufferChar(buf, '"');
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			appendPQExpBufferChar(buf, '\\');
			appendPQExpBufferChar(buf, (char) *p);
		}
		else if (*p == '\n')
			appendPQExpBufferStr(buf, "\\n");
		else if (*p == '\t')
			appendPQExpBufferStr(buf, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			appendPQExpBuffer(buf, "\\u%04x", *p);
		else
			appendPQExpBufferChar(buf, (char) *p);
	}
	appendPQExpBufferChar(buf, '"');
}

/* Seconds on a monotonic clock, for step durations */
double
cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
