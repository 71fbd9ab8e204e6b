/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keeper_scope.h - where the keeper lives: under systemd, a transient
 * scope of its own (alpnsteer-keeper-PID.scope), so that stopping the unit
 * that ran `alpnsteer attach` (or an ACME client's service whose hook did)
 * ends only that unit's holder, never the attachment every holder shares.
 * docs/design.md, "Where the keeper lives".
 */
#ifndef ALPNSTEER_KEEPER_SCOPE_H
#define ALPNSTEER_KEEPER_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define KS_ENV "ALPNSTEER_KEEPER_SCOPE" /* "no": stay where started */

enum ks_plan {
	KS_MOVE, /* systemd: into a transient scope of our own */
	KS_STAY_FOREGROUND, /* `run`: the keeper is the unit's main process */
	KS_STAY_NO_SYSTEMD, /* no systemd as init: nobody kills by cgroup */
	KS_STAY_DISABLED, /* ALPNSTEER_KEEPER_SCOPE=no */
	KS_STAY_OWN, /* already in a scope of ours */
};

struct ks_env {
	bool foreground; /* the keeper runs in the attach process (`run`) */
	bool booted; /* sd_booted(): systemd is init */
	const char *setting; /* getenv(KS_ENV), or NULL */
	const char *cgroup; /* our cgroup v2 path, or "" when unknown */
};

/* Pure: what the keeper does about its cgroup. */
enum ks_plan ks_plan(const struct ks_env *e);
const char *ks_plan_name(enum ks_plan p);
/* "alpnsteer-keeper-PID.scope" into @buf; 0 or -ENAMETOOLONG. */
int ks_scope_name(pid_t pid, char *buf, size_t len);
/* The cgroup v2 path ("0::PATH" line) of /proc/PID/cgroup's @text into
 * @out; 0, or -ENOENT when there is no such line. */
int ks_cgroup_parse(const char *text, char *out, size_t len);
/* @cgroup's last component is @unit. */
bool ks_cgroup_is(const char *cgroup, const char *unit);

/* In the keeper, before it forks the daemon: decide, and under systemd
 * ask it over the system bus for the scope (StartTransientUnit with
 * PIDs=[getpid()]), then wait until /proc/self/cgroup says we are in it.
 * 1: moved, 0: stayed (as planned), -errno: could not (a Warning said
 * so; the keeper then stays where it was started, as without systemd). */
int ks_enter(bool foreground);

#endif
