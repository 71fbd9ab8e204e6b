/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paths.h - every name alpnsteer has under its run directory and its pin
 * directory, and the two directories.
 *
 * No path is compiled into the code that uses one: every process is
 * handed a struct lc_paths (lc_default_paths() gives the real ones, the
 * unit tests temporary directories) and joins these names to it.
 */
#ifndef ALPNSTEER_PATHS_H
#define ALPNSTEER_PATHS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "alpnsteer_abi.h" /* ALPNSTEER_PIN_DIR, where bpftool finds it */

#define ALPNSTEER_RUN_DIR "/run/alpnsteer"

/* The run directory: root's, 0755; everything in it root's. */
#define LC_STATE_FILE "state" /* the record: phase, options, holders */
#define LC_LOCK_FILE "lock" /* held by the keeper: an attachment lives */
#define LC_EDIT_LOCK_FILE "edit.lock" /* held while the record changes */
#define LC_LOG_FILE "daemon.log"
#define LC_CONTROL_SOCK "control.sock" /* the monitor's */
#define AGENT_SOCK_NAME "agent.sock" /* the agent's */
#define AGENT_LOCK_NAME "agent.lock" /* held by the one agent */
#define AGENT_PID_NAME "agent.pid"

/* The pin directory: root's, 0700, on bpffs.  The maps, in the order
 * status -j lists their ids; then the links (loader.h, enum steer_link),
 * and one link_tcN per --preclassify interface. */
#define PIN_MAP_NAMES                                                          \
	"conns", "pool", "free_slots", "slots", "pool_ports", "pending_names", \
		"settings", "counters", "events"
#define PIN_CONNS "conns"
#define PIN_SLOTS "slots"
#define PIN_POOL_PORTS "pool_ports"
#define PIN_SETTINGS "settings"
#define PIN_COUNTERS "counters"
#define PIN_LINK_REPLY "link_reply"
#define PIN_LINK_VERDICT "link_verdict"
#define PIN_LINK_REAP "prog_reap" /* a program the drain runs, not a link */
#define PIN_LINK_SOCKOPS "link_sockops"
#define PIN_LINK_TC_FMT "link_tc%d"

struct lc_paths {
	char pin_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	uid_t owner; /* who must own both directories and the run files */
};

/* /sys/fs/bpf/alpnsteer and /run/alpnsteer, owned by root. */
void lc_default_paths(struct lc_paths *p);
/* DIR/NAME into @buf; "" when it does not fit. */
const char *lc_run_path(const struct lc_paths *p, const char *name, char *buf,
			size_t len);
const char *lc_pin_path(const struct lc_paths *p, const char *name, char *buf,
			size_t len);

#endif
