/* SPDX-License-Identifier: GPL-2.0-only */
/* log.h - messages: one "Error: ..." with a hint, warnings, verbose notes. */
#ifndef ALPNSTEER_LOG_H
#define ALPNSTEER_LOG_H

#include <stdbool.h>
#include <stddef.h>

extern int log_verbose; /* -v: 1, -d: 2 (libbpf and verifier logs) */
extern bool log_json; /* -j: errors go out as JSON on stdout too */
extern bool log_daemon; /* in the daemon: prefix lines, no JSON */
/* How many Error lines this process has printed: a failure path that
 * finds none said yet says one (docs/design.md, "Processes"). */
extern unsigned int log_errors;

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* @len bytes from a client (an SNI) as printable text in @out: bytes
 * outside 0x21..0x7e and the backslash become \xNN, so what a client
 * sends cannot forge a log line or drive a terminal.  @out gets at most
 * 4 * @len + 1 bytes, cut short (never mid-escape) if @size is smaller. */
void log_escape(const void *in, size_t len, char *out, size_t size);

/* Route libbpf's own messages through our verbosity. */
void log_setup_libbpf(void);

#endif
