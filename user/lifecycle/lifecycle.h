/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lifecycle.h - the one place that says whether alpnsteer is attached.
 *
 * The state (detached, attaching, attached, draining, orphaned) is computed
 * by lc_classify() from what lc_observe() sees: the pins in the pin
 * directory, the run directory's lock and state file, and whether the
 * keeper (the root process that owns an attachment) is alive.  Every
 * command decides through an lc_plan_*() function over that view, so the
 * transitions are pure functions the unit tests drive with temporary
 * directories; `status` shows the same view (lc_classify(), and
 * lc_steering() for its older "state" key) and classifies nothing itself.
 * docs/design.md, "Lifecycle", explains the processes.
 */
#ifndef ALPNSTEER_LIFECYCLE_H
#define ALPNSTEER_LIFECYCLE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"
#include "attach_fields.h"
#include "paths.h"

#define LC_DEFAULT_HOLDER "default"
#define LC_HOLDER_MAX 32
#define LC_HOLDER_NAME 64

enum lc_state {
	LC_DETACHED,
	LC_ATTACHING,
	LC_ATTACHED,
	LC_DRAINING,
	LC_ORPHANED,
};

/* What the holders asked for, as recorded by root in the state file. */
enum lc_phase {
	LC_PHASE_ATTACHED,
	LC_PHASE_DRAINING, /* no holder left: resumable by an equal attach */
	LC_PHASE_STOPPING, /* SIGTERM or detach --all: not resumable */
};

struct lc_holder {
	char name[LC_HOLDER_NAME];
	time_t expires; /* 0: until its detach */
};

struct lc_record {
	pid_t pid; /* the daemon (TLS worker) */
	pid_t keeper; /* the root process that owns the attachment */
	time_t since;
	enum lc_phase phase;
	struct lc_opts opts;
	struct lc_holder holders[LC_HOLDER_MAX];
	int nr_holders;
};

struct lc_view {
	enum lc_state state;
	bool pins; /* the settings map is pinned */
	bool sockops; /* and the sock_ops link */
	bool flag; /* settings.draining, when the map could be read */
	bool live; /* the keeper lock is held (or, unreadable, its pid lives) */
	bool have_rec;
	/* Not root, and the pins are root's (bpffs 0700): neither they nor
	 * a live record say anything, so "detached" could be a lie. */
	bool blind;
	struct lc_record rec;
};

/* What `status -j` has always called "state": whether new connections
 * are caught, from the same view as the lifecycle's state. */
enum lc_steering {
	LC_STEER_UNKNOWN, /* blind */
	LC_STEER_DETACHED, /* nothing pinned */
	LC_STEER_ATTACHED, /* caught and steered */
	LC_STEER_DRAINING, /* pinned, nothing new caught */
};

const char *lc_state_name(enum lc_state s);

/* The run directory, made if missing, checked (a real directory, owned by
 * p->owner, writable by nobody else) and, when it is an empty-able relic
 * of an older alpnsteer, given back to p->owner; -errno with an Error said
 * otherwise.  O_DIRECTORY fd. */
int lc_run_dir_open(const struct lc_paths *p, bool create);
/* The pin directory before a fresh attach: absent, or p->owner's and not
 * a symlink (an empty one of someone else's is removed); 0 or -errno. */
int lc_pin_dir_check(const struct lc_paths *p);

/* @name in @dirfd, O_NOFOLLOW|O_CLOEXEC plus @flags; refused unless a
 * regular file of @owner with one link. */
int lc_open_checked(int dirfd, const char *name, int flags, mode_t mode,
		    uid_t owner);
/* The lock files: opened O_RDONLY (flock needs no more). */
int lc_lock_open(int dirfd, const char *name, uid_t owner);
/* flock with a deadline in ms (-1: none, 0: try once); 0 or -errno. */
int lc_lock_take(int fd, int timeout_ms);
/* 1: someone holds @name, 0: nobody, -errno: cannot tell. */
int lc_lock_held(int dirfd, const char *name, uid_t owner);

int lc_record_read(int dirfd, struct lc_record *r, uid_t owner);
int lc_record_write(int dirfd, const struct lc_record *r);
void lc_record_remove(int dirfd);

/* Holders: add (or renew) one; remove one (-ENOENT if absent); drop the
 * expired ones (how many). */
int lc_holder_add(struct lc_record *r, const char *name, time_t expires);
int lc_holder_remove(struct lc_record *r, const char *name);
int lc_holders_prune(struct lc_record *r, time_t now);
bool lc_holder_valid(const char *name);

/* The attach options (attach_fields.c): every field at its default. */
void lc_opts_default(struct lc_opts *o);
/* 0 when @want may share the attachment @live describes, else 1 with what
 * differs in @why ("--forward: attached 127.0.0.1:8443, asked 1.2.3.4:9"). */
int lc_opts_diff(const struct lc_opts *live, const struct lc_opts *want,
		 char *why, size_t len);
/* A field's value as the record writes it (@set: a port list as a sorted
 * set), and back. */
void lc_field_str(const struct lc_opts *o, const struct lc_field *f, bool set,
		  char *buf, size_t len);
void lc_field_set(struct lc_opts *o, const struct lc_field *f, const char *v);
const struct lc_field *lc_field_by_key(const char *key);
/* `status`: every option, one line each, or a JSON object keyed by the
 * options' names. */
struct json_writer;
void lc_opts_text(FILE *out, const struct lc_opts *o);
void lc_opts_json(struct json_writer *jw, const struct lc_opts *o);

/* Look at everything; never changes anything. */
void lc_observe(const struct lc_paths *p, int run_dirfd, struct lc_view *v);
enum lc_state lc_classify(const struct lc_view *v);
enum lc_steering lc_steering(const struct lc_view *v);
const char *lc_steering_name(enum lc_steering s);

enum lc_attach_plan {
	LC_ATTACH_FRESH, /* nothing there: start a daemon */
	LC_ATTACH_JOIN, /* attached with the same options: add the holder */
	LC_ATTACH_RESUME, /* draining with the same options: steer again */
	LC_ATTACH_WAIT, /* draining or changing hands: wait, then again */
	LC_ATTACH_REFUSE, /* attached with other options */
	LC_ATTACH_REPLACE, /* orphaned: drain and remove it, then fresh */
};
enum lc_attach_plan lc_plan_attach(const struct lc_view *v,
				   const struct lc_opts *want, char *why,
				   size_t len);

enum lc_detach_plan {
	LC_DETACH_NONE, /* not attached */
	LC_DETACH_NOT_HOLDER, /* attached, but not for this holder */
	LC_DETACH_LEAVE, /* other holders remain: steering stays on */
	LC_DETACH_DRAIN, /* the last holder left: drain */
	LC_DETACH_DRAINING, /* already draining: only wait */
	LC_DETACH_ORPHAN, /* no keeper: drain and remove it ourselves */
};
enum lc_detach_plan lc_plan_detach(const struct lc_view *v, const char *holder,
				   bool all);

enum lc_keeper_plan {
	LC_KEEP, /* holders remain, or connections are in flight */
	LC_KEEP_EXPIRE, /* no holder left (expired): start the drain */
	LC_KEEP_FINISH, /* drained: stop the daemon, remove the pins */
};
/* After lc_holders_prune(); @conns held in the conns sockhash. */
enum lc_keeper_plan lc_plan_keeper(const struct lc_view *v, int conns);

/* "90s", "30m", "1h", "2d", "45": seconds, or -EINVAL. */
long lc_parse_duration(const char *s);

#endif
