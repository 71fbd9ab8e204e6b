// SPDX-License-Identifier: GPL-2.0-only
/*
 * json.c - a small streaming JSON writer.
 *
 * Output is one compact line per document, so `alpnsteer -j status` can be
 * piped to jq or read line by line by scripts.  Strings are escaped per
 * RFC 8259; bytes >= 0x80 are passed through (SNIs are ASCII by the time
 * they get here, file paths may not be).
 */
#include <stdlib.h>

#include "json.h"

#define JW_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	bool after_name;
};

struct json_writer *jw_new(FILE *f)
{
	struct json_writer *jw = calloc(1, sizeof(*jw));

	if (jw)
		jw->f = f;
	return jw;
}

struct json_writer *jw_mem_new(struct jw_mem *m)
{
	struct json_writer *jw;

	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	if (!m->f)
		return NULL;
	jw = jw_new(m->f);
	if (!jw) {
		fclose(m->f);
		free(m->buf);
	}
	return jw;
}

char *jw_mem_end(struct json_writer *jw, struct jw_mem *m)
{
	jw_destroy(jw);
	if (fclose(m->f)) {
		free(m->buf);
		return NULL;
	}
	return m->buf;
}

void jw_destroy(struct json_writer *jw)
{
	if (!jw)
		return;
	fputc('\n', jw->f);
	fflush(jw->f);
	free(jw);
}

/* Separate a value from the previous one, unless it follows its name. */
static void jw_sep(struct json_writer *jw)
{
	if (jw->after_name) {
		jw->after_name = false;
		return;
	}
	if (jw->need_comma[jw->depth])
		fputc(',', jw->f);
	jw->need_comma[jw->depth] = true;
}

static void jw_open(struct json_writer *jw, char c)
{
	jw_sep(jw);
	fputc(c, jw->f);
	if (jw->depth < JW_MAX_DEPTH - 1)
		jw->depth++;
	jw->need_comma[jw->depth] = false;
}

static void jw_close(struct json_writer *jw, char c)
{
	fputc(c, jw->f);
	if (jw->depth > 0)
		jw->depth--;
}

void jw_start_object(struct json_writer *jw)
{
	jw_open(jw, '{');
}

void jw_end_object(struct json_writer *jw)
{
	jw_close(jw, '}');
}

void jw_start_array(struct json_writer *jw)
{
	jw_open(jw, '[');
}

void jw_end_array(struct json_writer *jw)
{
	jw_close(jw, ']');
}

static void jw_quoted(struct json_writer *jw, const char *s)
{
	const unsigned char *p;

	fputc('"', jw->f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", jw->f);
			break;
		case '\\':
			fputs("\\\\", jw->f);
			break;
		case '\n':
			fputs("\\n", jw->f);
			break;
		case '\r':
			fputs("\\r", jw->f);
			break;
		case '\t':
			fputs("\\t", jw->f);
			break;
		default:
			if (*p < 0x20)
				fprintf(jw->f, "\\u%04x", *p);
			else
				fputc(*p, jw->f);
		}
	}
	fputc('"', jw->f);
}

void jw_name(struct json_writer *jw, const char *name)
{
	jw_sep(jw);
	jw_quoted(jw, name);
	fputc(':', jw->f);
	jw->after_name = true;
}

void jw_string(struct json_writer *jw, const char *s)
{
	jw_sep(jw);
	jw_quoted(jw, s ? s : "");
}

void jw_uint(struct json_writer *jw, unsigned long long v)
{
	jw_sep(jw);
	fprintf(jw->f, "%llu", v);
}

void jw_int(struct json_writer *jw, long long v)
{
	jw_sep(jw);
	fprintf(jw->f, "%lld", v);
}

void jw_bool(struct json_writer *jw, bool v)
{
	jw_sep(jw);
	fputs(v ? "true" : "false", jw->f);
}

void jw_null(struct json_writer *jw)
{
	jw_sep(jw);
	fputs("null", jw->f);
}

void jw_raw(struct json_writer *jw, const char *json)
{
	jw_sep(jw);
	fputs(json, jw->f);
}
