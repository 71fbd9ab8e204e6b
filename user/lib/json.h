/* SPDX-License-Identifier: GPL-2.0-only */
/* json.h - a small streaming JSON writer (after bpftool's json_writer). */
#ifndef ALPNSTEER_JSON_H
#define ALPNSTEER_JSON_H

#include <stdbool.h>
#include <stdio.h>

struct json_writer;

struct json_writer *jw_new(FILE *f);
void jw_destroy(struct json_writer *jw); /* also ends the line */

/* A document built in memory (the control protocol's replies):
 * jw_mem_new() opens it (NULL: no memory), jw_mem_end() ends it and gives
 * its text, the caller's to free (NULL: no memory). */
struct jw_mem {
	char *buf;
	size_t len;
	FILE *f;
};
struct json_writer *jw_mem_new(struct jw_mem *m);
char *jw_mem_end(struct json_writer *jw, struct jw_mem *m);
void jw_start_object(struct json_writer *jw);
void jw_end_object(struct json_writer *jw);
void jw_start_array(struct json_writer *jw);
void jw_end_array(struct json_writer *jw);
void jw_name(struct json_writer *jw, const char *name);
void jw_string(struct json_writer *jw, const char *s);
void jw_uint(struct json_writer *jw, unsigned long long v);
void jw_int(struct json_writer *jw, long long v);
void jw_bool(struct json_writer *jw, bool v);
void jw_null(struct json_writer *jw);
/* A value that is already JSON (from the daemon), written as it is. */
void jw_raw(struct json_writer *jw, const char *json);

static inline void jw_string_field(struct json_writer *jw, const char *n,
				   const char *s)
{
	jw_name(jw, n);
	jw_string(jw, s);
}

static inline void jw_uint_field(struct json_writer *jw, const char *n,
				 unsigned long long v)
{
	jw_name(jw, n);
	jw_uint(jw, v);
}

static inline void jw_bool_field(struct json_writer *jw, const char *n, bool v)
{
	jw_name(jw, n);
	jw_bool(jw, v);
}

#endif
