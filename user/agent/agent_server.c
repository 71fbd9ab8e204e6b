// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent_server.c - the agent's socket, agent.sock: the control protocol's
 * requests the agent serves (ctlproto.h's table, this file's handlers),
 * and its clients, each served without blocking and dropped past
 * CONTROL_DEADLINE_MS, as the monitor serves its own (docs/design.md,
 * "The control socket").
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "acme_cert.h"
#include "agentd.h"
#include "trace.h"
#include "ctlproto.h"
#include "json.h"
#include "log.h"

/* ---- what it reports ---- */

static char *list_json(struct agent *ag, const struct trace_view *v)
{
	time_t now = time(NULL);
	struct json_writer *jw;
	struct jw_mem m;
	int i;

	jw = jw_mem_new(&m);
	if (!jw)
		return NULL;
	jw_start_array(jw);
	for (i = 0; i < ag->set.nr; i++) {
		struct agent_chal *c = &ag->set.v[i];

		/* A member's list: the trace's rule (ctl_trace_view()). */
		if (!trace_may_read(v, c->owner, c->ident))
			continue;
		jw_start_object(jw);
		jw_string_field(jw, "identifier", c->ident);
		jw_string_field(jw, "source",
				c->src == AGENT_SRC_STORE ? "store" : "agent");
		jw_name(jw, "expires");
		jw_int(jw, c->expires);
		jw_name(jw, "expires_in");
		jw_int(jw, agent_left(c->expires, now));
		jw_bool_field(jw, "handed", c->handed);
		jw_end_object(jw);
	}
	jw_end_array(jw);
	return jw_mem_end(jw, &m);
}

static char *list_table(struct agent *ag, const struct trace_view *v)
{
	time_t now = time(NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	if (!f)
		return NULL;
	fprintf(f, "%-40s %-6s %10s  %s", "IDENTIFIER", "SOURCE", "EXPIRES IN",
		"HANDED");
	for (i = 0; i < ag->set.nr; i++) {
		struct agent_chal *c = &ag->set.v[i];

		if (!trace_may_read(v, c->owner, c->ident))
			continue;
		fprintf(f, "\n%-40s %-6s %9lds  %s", c->ident,
			c->src == AGENT_SRC_STORE ? "store" : "agent",
			agent_left(c->expires, now), c->handed ? "yes" : "no");
	}
	fclose(f);
	return buf;
}

static char *status_json(struct agent *ag)
{
	struct json_writer *jw;
	struct jw_mem m;

	jw = jw_mem_new(&m);
	if (!jw)
		return NULL;
	jw_start_object(jw);
	jw_name(jw, "pid");
	jw_int(jw, getpid());
	jw_bool_field(jw, "attached", ag->attached);
	jw_uint_field(jw, "pending", ag->set.nr);
	jw_uint_field(jw, "alpn_dir_pending", ag->dir_pending);
	jw_uint_field(jw, "ttl", ag->ttl_max);
	jw_uint_field(jw, "grace", ag->grace);
	jw_uint_field(jw, "attaches", ag->attaches);
	jw_uint_field(jw, "detaches", ag->detaches);
	jw_uint_field(jw, "expired", ag->expired);
	jw_uint_field(jw, "garbage", ag->garbage);
	jw_uint_field(jw, "refused", ag->refused);
	jw_uint_field(jw, "not_served", ag->not_served);
	jw_uint_field(jw, "over_quota", ag->over_quota);
	jw_uint_field(jw, "quota", ag->quota);
	jw_name(jw, "last_attach_ms");
	jw_int(jw, ag->last_attach_ms);
	jw_name(jw, "last_hand_ms");
	jw_int(jw, ag->last_hand_ms);
	jw_name(jw, "last_detach_ms");
	jw_int(jw, ag->last_detach_ms);
	jw_name(jw, "grace_left_ms");
	jw_int(jw, ag->grace_at ? ag->grace_at - agent_mono_ms() : 0);
	jw_name(jw, "store");
	if (ag->use_store)
		jw_string(jw, ag->store.url);
	else
		jw_null(jw);
	jw_bool_field(jw, "store_up", ag->store_up);
	jw_bool_field(jw, "detaching", ag->detaching);
	jw_end_object(jw);
	return jw_mem_end(jw, &m);
}

/* ---- its handlers of the control protocol (ctlproto.h) ---- */

static int ag_add(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;
	struct agent_chal *c;
	char req[700];
	int rc;

	/* The monitor's rule (ctlproto.c): a member replaces only its own
	 * challenge, and adds only names root's policy gives members; a
	 * store's or --alpn-dir's challenge is root's. */
	c = agent_set_find(&ag->set, r->id.name);
	rc = ctl_member_check(r, ag->policy, c, c ? c->owner : 0, reply);
	if (rc)
		return rc;
	snprintf(req, sizeof(req), "%s %s %s",
		 r->verb == CTL_ADD_DIGEST ? "add-digest" : "add", r->id.name,
		 r->arg);
	rc = agent_set_put(&ag->set, r->id.name, req,
			   agent_expiry(time(NULL), r->ttl, ag->ttl_max),
			   AGENT_SRC_LOCAL);
	if (rc < 0) {
		*reply = ctl_msg("error: %s",
				 rc == -E2BIG ? "too many pending challenges" :
						strerror(-rc));
		return rc;
	}
	c = agent_set_find(&ag->set, r->id.name);
	if (c)
		c->owner = r->uid;
	agent_sync(ag);
	c = agent_set_find(&ag->set, r->id.name);
	if (!c) {
		*reply = ctl_msg(
			"error: the daemon refused %s (see the agent's log)",
			r->id.name);
		return -EINVAL;
	}
	if (!c->handed) {
		*reply = ctl_msg(
			"error: %s is pending, but alpnsteer could not attach yet (see the agent's log); it is retried",
			r->id.name);
		return -EAGAIN;
	}
	/* Its trace record now, with its owner (agent_trace_pull()): the
	 * daemon's knows only the agent, root. */
	agent_trace_pull(ag);
	*reply = ctl_msg("ok");
	return 1;
}

static int ag_remove(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;
	struct agent_chal *c = agent_set_find(&ag->set, r->id.name);
	int rc;

	if (!c) {
		*reply =
			ctl_msg("error: no pending challenge for %s", r->ident);
		return -ENOENT;
	}
	rc = ctl_member_check(r, ag->policy, true, c->owner, reply);
	if (rc)
		return rc;
	/* The record's owner is known while the challenge is in the set. */
	agent_trace_pull(ag);
	agent_drop(ag, c - ag->set.v);
	agent_sync(ag);
	*reply = ctl_msg("ok");
	return 1;
}

static int ag_show(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;
	struct trace_view v = ctl_trace_view(r->uid, ag->policy);

	*reply = r->verb == CTL_LIST  ? list_json(ag, &v) :
		 r->verb == CTL_TABLE ? list_table(ag, &v) :
					status_json(ag);
	return *reply ? 0 : -ENOMEM;
}

/* The trace: the daemon's, taken in while attached, and what the agent
 * kept of earlier attachments. */
static int ag_trace(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;
	const char *f = r->ident ? r->id.sni : NULL;
	struct trace_view v = ctl_trace_view(r->uid, ag->policy);

	agent_trace_pull(ag);
	if (!ag->trace)
		ag->trace = trace_new();
	if (!ag->trace)
		return -ENOMEM;
	*reply = r->verb == CTL_TRACE ?
			 trace_json(ag->trace, f, &v) :
			 trace_text(ag->trace, f, trace_now_ms(), &v);
	return *reply ? 0 : -ENOMEM;
}

/* `agent stop` (root alone, not --control-group's: ctl_verbs[]). */
static int ag_stop(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;

	p_info("agent: asked to stop (agent stop)");
	ag->stop = true;
	*reply = ctl_msg("ok");
	return 0;
}

static const struct ctl_server agent_server = {
	.fn = {
		[CTL_ADD] = ag_add,
		[CTL_ADD_DIGEST] = ag_add,
		[CTL_REMOVE] = ag_remove,
		[CTL_LIST] = ag_show,
		[CTL_TABLE] = ag_show,
		[CTL_STATUS] = ag_show,
		[CTL_STOP] = ag_stop,
		[CTL_TRACE] = ag_trace,
		[CTL_TRACE_TABLE] = ag_trace,
	},
};

static char *answer(struct agent *ag, char *req, uid_t uid)
{
	char *reply = NULL;

	ctl_dispatch(&agent_server, ag, req, uid, &reply);
	return reply;
}

void agent_client_drop(struct agent_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->reply);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/*
 * New connections on agent.sock: non-blocking, each with a deadline
 * (CONTROL_DEADLINE_MS to send its request, and again to read the
 * reply), and the oldest dropped when every place is taken, so that idle
 * connections (any --control-group member may make them) never keep
 * root's request out.  It used to accept, then recv with a 2 s timeout,
 * one client at a time: 20 idle ones made a `challenge list` fail.
 */
void agent_on_accept(struct agent *ag)
{
	struct agent_client *c, *oldest;
	unsigned int i;
	int fd;

	while ((fd = control_accept(ag->lsock)) >= 0) {
		c = oldest = NULL;
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			struct agent_client *x = &ag->cl[i];

			if (x->fd < 0) {
				c = x;
				break;
			}
			if (!oldest || x->since < oldest->since)
				oldest = x;
		}
		if (!c) {
			agent_client_drop(oldest);
			c = oldest;
		}
		c->fd = fd;
		c->since = agent_mono_ms();
	}
}

void agent_clients_expire(struct agent *ag)
{
	long long now = agent_mono_ms();
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct agent_client *c = &ag->cl[i];

		if (c->fd >= 0 && now - c->since > CONTROL_DEADLINE_MS) {
			p_info("agent: client dropped: no request or reply within %d ms",
			       CONTROL_DEADLINE_MS);
			agent_client_drop(c);
		}
	}
}

void agent_on_client(struct agent *ag, struct agent_client *c)
{
	char buf[CONTROL_MAX_REQ];
	uid_t uid;
	int rc;

	if (!c->reply) {
		rc = control_read_request(c->fd, buf, sizeof(buf));
		if (rc == -EAGAIN || rc == -EINTR)
			return;
		if (rc) {
			agent_client_drop(c);
			return;
		}
		if (control_peer(c->fd, &uid, (gid_t)ag->o.a.control_gid) <= 0)
			c->reply = ctl_msg("error: permission denied");
		else
			c->reply = answer(ag, buf, uid);
		if (!c->reply)
			c->reply = ctl_msg("error: out of memory");
		if (!c->reply) {
			agent_client_drop(c);
			return;
		}
		c->len = strlen(c->reply);
		c->off = 0;
		/* An add may have waited for an attach: the deadline for
		 * reading the reply starts now. */
		c->since = agent_mono_ms();
	}
	rc = control_send(c->fd, c->reply, c->len, &c->off);
	if (rc == 0)
		return; /* the rest once the client has read some (POLLOUT) */
	agent_client_drop(
		c); /* all sent, or the client went: the close ends it */
}
