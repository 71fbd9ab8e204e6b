/* SPDX-License-Identifier: GPL-2.0-only */
/* ctlproto.h - the requests the control socket understands. */
#ifndef ALPNSTEER_CTLPROTO_H
#define ALPNSTEER_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>

#include "acme_cert.h"
#include "challenges.h"
#include "trace.h"

/*
 * The control protocol, one request per message, spoken on the monitor's
 * control.sock and on the agent's agent.sock.  Every request is an entry
 * of one table (ctl_verbs[] in ctlproto.c: its arguments and who may ask),
 * and each server names the handlers of the verbs it serves (struct
 * ctl_server): the shape of OpenSSH's monitor dispatch table and of this
 * project's ipc.c types[].
 *
 *   add IDENT KEYAUTH [TTL]        monitor, agent  -> "ok" | "error: ..."
 *   add-digest IDENT SHA256(KEYAUTH) [TTL], hex or base64url
 *                                  monitor, agent  -> "ok" | "error: ..."
 *   remove IDENT                   monitor, agent  -> "ok" | "error: ..."
 *   list                           monitor, agent  -> a JSON array
 *   table                          monitor, agent  -> the same as text
 *   status                         agent           -> a JSON object
 *   stop                           agent, root only -> "ok"
 *   trace [IDENT]                  monitor, agent  -> the validation
 *                                  trace, a JSON array (trace.h)
 *   trace-table [IDENT]            monitor, agent  -> the same as text
 *
 * TTL: whole seconds it stays pending, 1 to 366 days (none: until its
 * remove, or the agent's --ttl).
 */
enum ctl_verb {
	CTL_ADD = 1,
	CTL_ADD_DIGEST,
	CTL_REMOVE,
	CTL_LIST,
	CTL_TABLE,
	CTL_STATUS,
	CTL_STOP,
	CTL_TRACE,
	CTL_TRACE_TABLE,
	CTL__MAX,
};

/* A request, checked against its verb's entry before a handler sees it:
 * the identifier parses, the digest is a SHA-256, the ttl in range. */
struct ctl_req {
	enum ctl_verb verb;
	const char *ident; /* as sent (add, add-digest, remove) */
	struct acme_ident id; /* ... parsed */
	const char *arg; /* KEYAUTH or DIGEST, as sent */
	unsigned char digest[ACME_DIGEST_LEN]; /* add-digest */
	long ttl; /* 0: none given */
	uid_t uid; /* the peer's */
};

/* A handler: *@reply malloc'd (NULL: out of memory); 1 when the set of
 * challenges changed, 0 when not, -errno for a refusal. */
typedef int (*ctl_handler)(void *ctx, const struct ctl_req *r, char **reply);

/* What one server answers: the handler of each verb it serves. */
struct ctl_server {
	ctl_handler fn[CTL__MAX];
};

/* Parse @req (changed in place), check it against ctl_verbs[] and call
 * @srv's handler; an unknown request, or one @srv does not serve, is
 * answered with the usage of those it does. */
int ctl_dispatch(const struct ctl_server *srv, void *ctx, char *req, uid_t uid,
		 char **reply);

/* Names a --control-group member may add: each line a DNS name or an IP
 * address, covering itself and (a DNS name) its subdomains.  Root owns
 * the file; no file means any name nobody else has pending. */
#define CTL_POLICY_PATH "/etc/alpnsteer/control-names"
#define CTL_POLICY_MAX 256
struct ctl_policy {
	int nr; /* -1: no policy file (a member may add any name) */
	char name[CTL_POLICY_MAX][ALPNSTEER_NAME_MAX];
};
/* Who asks: root (uid 0) may do anything; anyone else only to challenges
 * it added itself, and with @policy (NULL: none) only to its names. */
struct ctl_caller {
	uid_t uid;
	const struct ctl_policy *policy;
};
/* Read @path (O_NOFOLLOW; a regular file of root's that only root may
 * write): 0, -ENOENT when there is none, another -errno with @err set. */
int ctl_policy_load(const char *path, struct ctl_policy *p, char *err,
		    size_t errlen);
/* Does @p let a member add identifier @name (acme_ident's name)? */
bool ctl_policy_allows(const struct ctl_policy *p, const char *name);

/* What a --control-group member may do with request @r (add,
 * add-digest or remove of r->ident), @pending telling whether the
 * identifier is pending and for uid @owner: root anything; a member only
 * to its own challenges, and adds only of names @policy allows.  0, or
 * -EPERM with *@reply said.  The monitor's and the agent's servers both
 * decide through it. */
int ctl_member_check(const struct ctl_req *r, const struct ctl_policy *policy,
		     bool pending, uid_t owner, char **reply);

/* What @uid reads of a validation trace: root everything; a member the
 * records of the challenges it added, and, with root's @policy (not
 * without: members may then add any name), those of the names it gives
 * members.  @policy must outlive the view. */
struct trace_view ctl_trace_view(uid_t uid, const struct ctl_policy *policy);

/* The monitor's server over its challenges (ctl_dispatch() with them):
 * ctl_apply() as root, ctl_apply_as() as @who. */
int ctl_apply(struct challenges *cs, char *req, char **reply);
int ctl_apply_as(struct challenges *cs, char *req, char **reply,
		 const struct ctl_caller *who);
/* A reply, formatted (malloc'd; NULL: out of memory). */
char *ctl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The JSON array of the challenges @v may read (NULL: all; the trace's
 * rule, ctl_trace_view()) that `list` answers (malloc'd, NULL when out
 * of memory: the reply is then "error: ...", never cut short). */
char *ctl_list_json(struct challenges *cs, const struct trace_view *v);
/* The same as a text table (`table`). */
char *ctl_list_table(struct challenges *cs, const struct trace_view *v);

#endif
