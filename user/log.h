/* SPDX-License-Identifier: GPL-2.0-only */
/* log.h - messages: one "Error: ..." with a hint, warnings, verbose notes. */
#ifndef ALPNSTEER_LOG_H
#define ALPNSTEER_LOG_H

#include <stdbool.h>

extern int log_verbose; /* -v: 1, -d: 2 (libbpf and verifier logs) */
extern bool log_json;	/* -j: errors go out as JSON on stdout too */
extern bool log_daemon; /* in the daemon: prefix lines, no JSON */

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Route libbpf's own messages through our verbosity. */
void log_setup_libbpf(void);

#endif
