// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_agent.c - `alpnsteer agent`: resident and detached (nothing loaded)
 * while no challenge is pending; attaches as holder "agent" the moment one
 * is (from `challenge add`, the hooks, --alpn-dir files or the shared
 * store), hands the challenges to the daemon, and detaches once none is
 * left and a grace period has passed.  Challenges expire (--ttl), so a
 * client that crashed between its hooks cannot leave steering on.
 *
 * The agent is only a holder: it attaches and detaches through the
 * lifecycle's library calls (lc_attach/lc_detach, in this process), so the
 * keeper and the daemon are exactly those of `alpnsteer attach`, and the
 * keeper is never the agent's child.  docs/design.md, "Agent and fleet".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "acme_cert.h"
#include "agent.h"
#include "agent_client.h"
#include "cli.h"
#include "cmd.h"
#include "cmd_agent.h"
#include "control.h"
#include "ctlproto.h"
#include "fdutil.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "loader.h"
#include "log.h"
#include "store.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define AGENT_TICK_MS 100
#define AGENT_RETRY_S 5 /* after an attach that failed */
#define AGENT_STOP_WAIT 60 /* s: TimeoutStopSec=90 in the unit */

/* A client of agent.sock: served without blocking, as the daemon's
 * control socket serves its own (docs/design.md, "The control socket"). */
struct agent_client {
	int fd; /* -1: free */
	long long since; /* monotonic ms: accepted, or answered */
	char *reply;
	size_t len, off;
};

struct agent {
	struct lc_paths p;
	struct daemon_opts o; /* the attach options, holder "agent" */
	struct agent_set set;
	struct store_opts store;
	bool use_store, store_up;
	int run_fd, lock_fd, lsock, ifd, store_fd, sigfd;
	pid_t store_pid;
	char sock_path[PATH_MAX + 32];
	long ttl_max, grace;
	bool attached, stop;
	long long grace_at; /* monotonic ms; 0: not counting */
	long long retry_at; /* monotonic ms of the next attach try */
	long long store_retry_at;
	time_t holder_until; /* our holder's ttl in the record */
	int dir_pending; /* --alpn-dir certificates not expired */
	unsigned int listing; /* the store listing being read */
	bool in_listing;
	/* What `agent status` reports. */
	unsigned long attaches, detaches, expired, garbage, refused;
	long last_attach_ms, last_hand_ms, last_detach_ms;
	char store_msg[200];
	char storebuf[65536];
	size_t storelen;
	struct agent_client cl[CONTROL_MAX_CLIENTS];
	/* Our detach started and its drain runs: "detached" is said once
	 * the keeper and the daemon are gone (lc_gone()). */
	bool detaching;
	long long detach_t0;
	struct lc_gone gone;
};

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* ---- the agent ---- */

/* The lifecycle's attach and detach, in this process: they close what
 * they open, and the keeper an attach starts belongs to init (or its own
 * scope), not to the agent (lifecycle_run.h). */
static void note_waiting(bool orphaned)
{
	p_info("agent: waiting for the %s attachment to finish draining",
	       orphaned ? "orphaned" : "previous");
}

static int agent_attach(struct agent *ag, struct lc_attach_result *res)
{
	ag->o.waiting = note_waiting;
	return lc_attach(&ag->p, &ag->o, false, res);
}

static int agent_detach(struct agent *ag)
{
	struct lc_detach_result res;

	/* Stopping (a service stop): wait for the drain, so that nothing of
	 * ours is left to be killed with the unit. */
	return lc_detach(&ag->p, AGENT_HOLDER, false,
			 ag->stop ? AGENT_STOP_WAIT : -1, &res);
}

static int hand(struct agent *ag, struct agent_chal *c, char *why, size_t len)
{
	char *reply = NULL, req[sizeof(c->req) + 24];
	long left = agent_left(c->expires, time(NULL));
	int err;

	/* With what is left of its ttl: the daemon expires it by itself, so
	 * a dead agent leaves no name answered past it. */
	snprintf(req, sizeof(req), "%s %ld", c->req, left > 0 ? left : 1);
	err = control_request(&ag->p, req, &reply);
	if (err) {
		snprintf(why, len, "control socket: %s", strerror(-err));
		return err;
	}
	if (strcmp(reply, "ok")) {
		snprintf(why, len, "%s",
			 !strncmp(reply, "error: ", 7) ? reply + 7 : reply);
		free(reply);
		return -EINVAL;
	}
	free(reply);
	c->handed = true;
	return 0;
}

static void withdraw(struct agent *ag, struct agent_chal *c)
{
	char req[ALPNSTEER_NAME_MAX + 16], *reply = NULL;

	if (!c->handed || !ag->attached)
		return;
	snprintf(req, sizeof(req), "remove %s", c->ident);
	if (!control_request(&ag->p, req, &reply))
		free(reply);
	c->handed = false;
}

static void drop(struct agent *ag, int i)
{
	withdraw(ag, &ag->set.v[i]);
	agent_set_drop(&ag->set, i);
}

static void attach_now(struct agent *ag)
{
	struct lc_attach_result res;
	long long t0 = mono_ms();
	time_t now = time(NULL);
	int rc;

	/* The holder outlives every challenge by the grace: should the agent
	 * die, the keeper lets go by itself. */
	ag->o.ttl = ag->ttl_max + ag->grace + 60;
	rc = agent_attach(ag, &res);
	if (rc) {
		ag->retry_at = mono_ms() + AGENT_RETRY_S * 1000;
		p_warn("agent: attach failed; trying again in %d s",
		       AGENT_RETRY_S);
		return;
	}
	if (!ag->attached) {
		ag->attaches++;
		ag->last_attach_ms = mono_ms() - t0;
		p_info("agent: attached in %ld ms (%d challenges pending)",
		       ag->last_attach_ms, ag->set.nr + ag->dir_pending);
	}
	ag->attached = true;
	ag->holder_until = now + ag->o.ttl;
}

/* While our detach drains: "detached" once the attachment is gone and
 * so are its keeper and daemon, not merely its pins. */
static void detach_check(struct agent *ag)
{
	struct lc_view v;

	if (!ag->detaching)
		return;
	lc_observe(&ag->p, ag->run_fd, &v);
	if (v.state == LC_ATTACHED) {
		/* Other holders keep it, or an attach called the drain off. */
		p_info("agent: left the attachment to its other holders");
	} else if (v.state != LC_DETACHED || !lc_gone(&ag->gone)) {
		return;
	} else {
		ag->last_detach_ms = mono_ms() - ag->detach_t0;
		p_info("agent: detached in %ld ms (keeper and daemon gone)",
		       ag->last_detach_ms);
	}
	ag->detaching = false;
	lc_gone_close(&ag->gone);
}

static void detach_now(struct agent *ag)
{
	struct lc_view v;
	int rc;

	/* Whose processes end the detach: the keeper and daemon of now. */
	lc_observe(&ag->p, ag->run_fd, &v);
	lc_gone_open(&ag->gone, v.have_rec ? &v.rec : NULL);
	ag->detach_t0 = mono_ms();
	rc = agent_detach(ag);
	if (rc)
		p_warn("agent: detach failed");
	ag->attached = false;
	ag->detaches++;
	ag->detaching = true;
	if (ag->stop) {
		/* The child waited for the drain (AGENT_STOP_WAIT). */
		detach_check(ag);
		return;
	}
	p_info("agent: no challenge pending: detaching (draining)");
}

static void dir_scan(struct agent *ag)
{
	const char *dir = ag->o.a.alpn_dir;
	char buf[4096];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	size_t n;
	DIR *d;
	int fd;

	if (!dir[0])
		return;
	while (read(ag->ifd, buf, sizeof(buf)) > 0)
		;
	ag->dir_pending = 0;
	d = opendir(dir);
	if (!d)
		return;
	fd = dirfd(d);
	while ((de = readdir(d))) {
		n = strlen(de->d_name);
		if (n <= 8 || strcmp(de->d_name + n - 8, ".crt.pem"))
			continue;
		/* Files expire too: a dehydrated that crashed before its
		 * clean-up leaves them behind. */
		if (!fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
		    S_ISREG(st.st_mode) && st.st_mtime + ag->ttl_max > now)
			ag->dir_pending++;
	}
	closedir(d);
}

/* Make steering follow the set: expire, attach, hand, or count down the
 * grace and detach. */
static void sync_state(struct agent *ag)
{
	time_t now = time(NULL);
	long long t0, ms = mono_ms();
	char why[300];
	int i, err;

	while ((i = agent_set_expired(&ag->set, now)) >= 0) {
		p_info("agent: challenge %s expired (ttl): withdrawn",
		       ag->set.v[i].ident);
		ag->expired++;
		drop(ag, i);
	}
	if (ag->set.nr + ag->dir_pending == 0) {
		if (!ag->attached)
			return;
		if (!ag->grace_at)
			ag->grace_at = ms + ag->grace * 1000;
		else if (ms >= ag->grace_at) {
			ag->grace_at = 0;
			detach_now(ag);
		}
		return;
	}
	ag->grace_at = 0;
	if ((!ag->attached && ms >= ag->retry_at) ||
	    (ag->attached && ag->holder_until - now < ag->ttl_max / 2))
		attach_now(ag);
	if (!ag->attached)
		return;
	t0 = mono_ms();
	for (i = 0; i < ag->set.nr; i++) {
		struct agent_chal *c = &ag->set.v[i];

		if (c->handed)
			continue;
		if (!c->req[0]) {
			/* Adopted from a previous agent: the daemon had it,
			 * but its key authorization never was ours. */
			p_warn("agent: %s (a previous agent's) is lost with the attachment that had it",
			       c->ident);
			agent_set_drop(&ag->set, i--);
			continue;
		}
		err = hand(ag, c, why, sizeof(why));
		if (err == -EINVAL) {
			p_err("agent: challenge %s refused by the daemon: %s",
			      c->ident, why);
			ag->refused++;
			agent_set_drop(&ag->set, i--);
		} else if (err) {
			/* The attachment went (a detach --all, a killed
			 * daemon): attach again at the next tick. */
			p_warn("agent: cannot hand %s to the daemon: %s",
			       c->ident, why);
			ag->attached = false;
			break;
		}
	}
	ag->last_hand_ms = mono_ms() - t0;
}

/*
 * At start: an attachment a previous agent left (killed, or stopped
 * without its detach) still has holder "agent" for up to --ttl + grace
 * + 60 s.  It is ours: we manage it as if we had attached it, and adopt
 * the challenges its daemon still has with a ttl (those an agent handed),
 * so that they stay answered until they expire or are removed, then
 * detach after the grace.
 */
static void adopt(struct agent *ag)
{
	struct json_object *arr = NULL, *o, *v;
	time_t now = time(NULL), exp;
	struct agent_chal *c;
	struct lc_view v_;
	char *reply = NULL;
	size_t i, n;
	int j, took = 0;

	lc_observe(&ag->p, ag->run_fd, &v_);
	if (v_.state != LC_ATTACHED || !v_.have_rec)
		return;
	for (j = 0; j < v_.rec.nr_holders; j++)
		if (!strcmp(v_.rec.holders[j].name, AGENT_HOLDER))
			break;
	if (j == v_.rec.nr_holders)
		return;
	ag->attached = true;
	ag->holder_until = v_.rec.holders[j].expires ?:
				   now + ag->ttl_max + ag->grace + 60;
	if (!control_request(&ag->p, "list", &reply))
		arr = json_tokener_parse(reply);
	free(reply);
	n = arr && json_object_is_type(arr, json_type_array) ?
		    json_object_array_length(arr) :
		    0;
	for (i = 0; i < n; i++) {
		const char *ident, *src;

		o = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(o, "identifier", &v) ||
		    !(ident = json_object_get_string(v)) ||
		    !json_object_object_get_ex(o, "source", &v) ||
		    !(src = json_object_get_string(v)) ||
		    strcmp(src, "control") ||
		    !json_object_object_get_ex(o, "expires", &v))
			continue;
		exp = (time_t)json_object_get_int64(v);
		if (exp <= now)
			continue; /* none (not an agent's), or expired */
		if (agent_set_put(&ag->set, ident, "", exp, AGENT_SRC_LOCAL) <
		    0)
			break;
		c = agent_set_find(&ag->set, ident);
		if (c) {
			c->handed = true;
			took++;
		}
	}
	json_object_put(arr);
	p_info("agent: a previous agent's attachment (holder %s) is ours: %d challenges pending in it",
	       AGENT_HOLDER, took);
}

/* ---- requests on the agent's socket ---- */

static char *list_json(struct agent *ag)
{
	time_t now = time(NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	if (!f)
		return NULL;
	fputc('[', f);
	for (i = 0; i < ag->set.nr; i++) {
		struct agent_chal *c = &ag->set.v[i];

		fprintf(f,
			"%s{\"identifier\":\"%s\",\"source\":\"%s\",\"expires\":%lld,\"expires_in\":%ld,\"handed\":%s}",
			i ? "," : "", c->ident,
			c->src == AGENT_SRC_STORE ? "store" : "agent",
			(long long)c->expires, agent_left(c->expires, now),
			c->handed ? "true" : "false");
	}
	fputc(']', f);
	fclose(f);
	return buf;
}

static char *list_table(struct agent *ag)
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

		fprintf(f, "\n%-40s %-6s %9lds  %s", c->ident,
			c->src == AGENT_SRC_STORE ? "store" : "agent",
			agent_left(c->expires, now), c->handed ? "yes" : "no");
	}
	fclose(f);
	return buf;
}

static char *status_json(struct agent *ag)
{
	char *s = NULL;

	if (asprintf(
		    &s,
		    "{\"pid\":%d,\"attached\":%s,\"pending\":%d,\"alpn_dir_pending\":%d,"
		    "\"ttl\":%ld,\"grace\":%ld,\"attaches\":%lu,\"detaches\":%lu,"
		    "\"expired\":%lu,\"garbage\":%lu,\"refused\":%lu,"
		    "\"last_attach_ms\":%ld,\"last_hand_ms\":%ld,\"last_detach_ms\":%ld,"
		    "\"grace_left_ms\":%lld,\"store\":%s%s%s,\"store_up\":%s,"
		    "\"detaching\":%s}",
		    (int)getpid(), ag->attached ? "true" : "false", ag->set.nr,
		    ag->dir_pending, ag->ttl_max, ag->grace, ag->attaches,
		    ag->detaches, ag->expired, ag->garbage, ag->refused,
		    ag->last_attach_ms, ag->last_hand_ms, ag->last_detach_ms,
		    ag->grace_at ? ag->grace_at - mono_ms() : 0LL,
		    ag->use_store ? "\"" : "",
		    ag->use_store ? ag->store.url : "null",
		    ag->use_store ? "\"" : "", ag->store_up ? "true" : "false",
		    ag->detaching ? "true" : "false") < 0)
		return NULL;
	return s;
}

/* ---- the agent's server: its handlers of the control protocol ---- */

static int ag_add(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;
	struct agent_chal *c;
	char req[700];
	int rc;

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
	sync_state(ag);
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
	*reply = ctl_msg("ok");
	return 1;
}

static int ag_remove(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;
	struct agent_chal *c = agent_set_find(&ag->set, r->id.name);

	if (!c) {
		*reply =
			ctl_msg("error: no pending challenge for %s", r->ident);
		return -ENOENT;
	}
	drop(ag, c - ag->set.v);
	sync_state(ag);
	*reply = ctl_msg("ok");
	return 1;
}

static int ag_show(void *ctx, const struct ctl_req *r, char **reply)
{
	struct agent *ag = ctx;

	*reply = r->verb == CTL_LIST  ? list_json(ag) :
		 r->verb == CTL_TABLE ? list_table(ag) :
					status_json(ag);
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
	},
};

static char *answer(struct agent *ag, char *req, uid_t uid)
{
	char *reply = NULL;

	ctl_dispatch(&agent_server, ag, req, uid, &reply);
	return reply;
}

static void client_drop(struct agent_client *c)
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
static void on_accept(struct agent *ag)
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
			client_drop(oldest);
			c = oldest;
		}
		c->fd = fd;
		c->since = mono_ms();
	}
}

static void client_expire(struct agent *ag)
{
	long long now = mono_ms();
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct agent_client *c = &ag->cl[i];

		if (c->fd >= 0 && now - c->since > CONTROL_DEADLINE_MS) {
			p_info("agent: client dropped: no request or reply within %d ms",
			       CONTROL_DEADLINE_MS);
			client_drop(c);
		}
	}
}

static void on_client(struct agent *ag, struct agent_client *c)
{
	char buf[CONTROL_MAX_REQ];
	uid_t uid;
	int rc;

	if (!c->reply) {
		rc = control_read_request(c->fd, buf, sizeof(buf));
		if (rc == -EAGAIN || rc == -EINTR)
			return;
		if (rc) {
			client_drop(c);
			return;
		}
		if (control_peer(c->fd, &uid, (gid_t)ag->o.a.control_gid) <= 0)
			c->reply = ctl_msg("error: permission denied");
		else
			c->reply = answer(ag, buf, uid);
		if (!c->reply)
			c->reply = ctl_msg("error: out of memory");
		if (!c->reply) {
			client_drop(c);
			return;
		}
		c->len = strlen(c->reply);
		c->off = 0;
		/* An add may have waited for an attach: the deadline for
		 * reading the reply starts now. */
		c->since = mono_ms();
	}
	rc = control_send(c->fd, c->reply, c->len, &c->off);
	if (rc == 0)
		return; /* the rest once the client has read some (POLLOUT) */
	client_drop(c); /* all sent, or the client went: the close ends it */
}

/* ---- the store's events ---- */

static int b64_decode(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in);
	int n, pad = 0;

	if (len % 4 || len / 4 * 3 >= cap)
		return -EINVAL;
	n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in,
			    len);
	if (n < 0)
		return -EINVAL;
	if (len && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n -= pad;
	out[n] = '\0';
	return n;
}

static int find_key(struct agent *ag, const char *key)
{
	char k[ALPNSTEER_NAME_MAX * 2], why[200];
	int i;

	for (i = 0; i < ag->set.nr; i++)
		if (ag->set.v[i].src == AGENT_SRC_STORE &&
		    !agent_store_key(AGENT_STORE_PREFIX, ag->set.v[i].ident, k,
				     sizeof(k), why, sizeof(why)) &&
		    !strcmp(k, key))
			return i;
	return -1;
}

static void store_line(struct agent *ag, char *line)
{
	char *key, *val, json[8192], why[400], req[700];
	struct agent_entry e;
	int n, i, rc;

	if (line[0] == 'S' && line[1] == ' ') {
		bool up = !strncmp(line + 2, "up", 2);

		if (up != ag->store_up || strcmp(ag->store_msg, line + 2))
			p_info("agent: store %s", line + 2);
		ag->store_up = up;
		snprintf(ag->store_msg, sizeof(ag->store_msg), "%s", line + 2);
		return;
	}
	if (!strcmp(line, "B")) {
		ag->listing++;
		ag->in_listing = true;
		return;
	}
	if (!strcmp(line, "E")) {
		/* What the listing did not have was deleted while we were
		 * away; what it had stays (and expires by its ttl). */
		for (i = 0; i < ag->set.nr; i++)
			if (ag->set.v[i].src == AGENT_SRC_STORE &&
			    ag->set.v[i].seen != ag->listing) {
				p_info("agent: %s is gone from the store",
				       ag->set.v[i].ident);
				drop(ag, i--);
			}
		ag->in_listing = false;
		return;
	}
	if (line[0] == 'D' && line[1] == ' ') {
		i = find_key(ag, line + 2);
		if (i >= 0) {
			p_info("agent: %s removed from the store",
			       ag->set.v[i].ident);
			drop(ag, i);
		}
		return;
	}
	if (line[0] != 'P' || line[1] != ' ')
		return;
	key = line + 2;
	val = strchr(key, ' ');
	if (!val)
		return;
	*val++ = '\0';
	n = b64_decode(val, json, sizeof(json));
	rc = n < 0 ? -EINVAL :
		     agent_entry_parse(AGENT_STORE_PREFIX, key, json, n,
				       time(NULL), ag->ttl_max, &e, why,
				       sizeof(why));
	if (n < 0)
		snprintf(why, sizeof(why), "not base64");
	if (rc == -ESTALE) {
		p_debug("agent: store entry %s: %s", key, why);
		return;
	}
	if (rc) {
		/* One line per bad entry, and nothing steered for it: an
		 * entry this agent had under that key goes. */
		p_err("agent: store entry %s: %s; nothing steered for it", key,
		      why);
		ag->garbage++;
		i = find_key(ag, key);
		if (i >= 0)
			drop(ag, i);
		return;
	}
	snprintf(req, sizeof(req), "add-digest %s %s", e.ident, e.digest);
	rc = agent_set_put(&ag->set, e.ident, req, e.expires, AGENT_SRC_STORE);
	if (rc < 0) {
		p_err("agent: store entry %s: %s", key,
		      rc == -E2BIG ? "too many pending challenges" :
				     strerror(-rc));
		return;
	}
	agent_set_find(&ag->set, e.ident)->seen = ag->listing;
	if (rc > 0)
		p_info("agent: %s pending from the store (expires in %ld s)",
		       e.ident, agent_left(e.expires, time(NULL)));
}

static void on_store(struct agent *ag)
{
	char *nl;
	ssize_t n;

	for (;;) {
		n = read(ag->store_fd, ag->storebuf + ag->storelen,
			 sizeof(ag->storebuf) - 1 - ag->storelen);
		if (n == 0) {
			/* The watcher ended: start another. */
			close(ag->store_fd);
			ag->store_fd = -1;
			ag->store_up = false;
			ag->store_retry_at = mono_ms() + 1000;
			ag->storelen = 0;
			return;
		}
		if (n < 0)
			break;
		ag->storelen += n;
		ag->storebuf[ag->storelen] = '\0';
		while ((nl = strchr(ag->storebuf, '\n'))) {
			*nl = '\0';
			store_line(ag, ag->storebuf);
			memmove(ag->storebuf, nl + 1,
				ag->storelen - (nl + 1 - ag->storebuf) + 1);
			ag->storelen -= nl + 1 - ag->storebuf;
		}
		if (ag->storelen >= sizeof(ag->storebuf) - 1)
			ag->storelen = 0; /* a line this long is no event */
	}
}

/* ---- set-up ---- */

/* The agent's own options (agent_opts[], below); every other is
 * attach's (cli.c). */
enum {
	AG_GRACE = 1001,
	AG_TTL,
	AG_STORE,
	AG_STORE_CA,
	AG_STORE_CERT,
	AG_STORE_KEY,
	AG_STORE_USER,
	AG_STORE_PASSWORD_FILE,
};

static int parse_opt(struct agent *ag, int c, char *arg)
{
	struct store_opts *so = &ag->store;
	long *dst;

	switch (c) {
	case AG_GRACE:
	case AG_TTL:
		dst = c == AG_GRACE ? &ag->grace : &ag->ttl_max;
		*dst = lc_parse_duration(arg);
		if (*dst < 0) {
			p_err("--%s '%s' is not a duration",
			      c == AG_GRACE ? "grace" : "ttl", arg);
			p_hint("seconds, or a number with s, m, h or d: 90s, 30m, 1h");
			return -EINVAL;
		}
		return 0;
	case AG_STORE:
		so->url = *arg ? arg : NULL;
		return 0;
	case AG_STORE_CA:
		so->cacert = arg;
		return 0;
	case AG_STORE_CERT:
		so->cert = arg;
		return 0;
	case AG_STORE_KEY:
		so->key = arg;
		return 0;
	case AG_STORE_USER:
		so->user = arg;
		return 0;
	case AG_STORE_PASSWORD_FILE:
		so->password_file = arg;
		return 0;
	}
	/* attach's; the holder is always "agent" (not in the table) */
	return cli_attach_opt(&ag->o, c, arg);
}

static int parse(struct agent *ag, int argc, char **argv)
{
	struct statfs sfs;
	int c, rc;

	ag->ttl_max = AGENT_DEFAULT_TTL;
	ag->grace = AGENT_DEFAULT_GRACE;
	store_opts_env(&ag->store);
	cli_attach_begin(&ag->o);
	snprintf(ag->o.holder, sizeof(ag->o.holder), "%s", AGENT_HOLDER);
	while ((c = cmd_getopt(argc, argv, &agent_cmd)) != -1) {
		rc = c == CMD_BAD_OPT ? -EINVAL : parse_opt(ag, c, optarg);
		if (rc) /* cmd_getopt() or the option's parser said why */
			return rc < 0 ? rc : -EINVAL;
	}
	if (!cmd_operands(argc, argv, &agent_cmd, 0, 0))
		return -EINVAL;
	ag->use_store = ag->store.url != NULL;
	if (ag->use_store && !store_find(&ag->store))
		return -EINVAL;
	rc = cli_attach_end(&ag->o);
	if (rc)
		return rc;
	if (geteuid() != 0) {
		p_err("the agent needs root (it attaches and detaches)");
		p_hint("run it as root, or from alpnsteer-agent.service");
		return -EPERM;
	}
	if (statfs(ag->o.a.cgroup, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		p_err("%s is not a cgroup v2 directory", ag->o.a.cgroup);
		p_hint("--cgroup takes a directory of the cgroup2 mount that holds the webserver (default: its root)");
		return -ENOTDIR;
	}
	rc = steer_ensure_bpffs();
	if (rc) {
		p_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(-rc));
		p_hint("alpnsteer mounts bpffs on /sys/fs/bpf when none is there, which needs CAP_SYS_ADMIN; or mount it first: mount -t bpf bpf /sys/fs/bpf");
		return rc;
	}
	return lc_check_user(ag->o.a.user);
}

static int take_lock(struct agent *ag)
{
	char pid[32] = "", *end;
	int fd, n;

	ag->run_fd = lc_run_dir_open(&ag->p, true);
	if (ag->run_fd < 0)
		return ag->run_fd;
	ag->lock_fd = lc_lock_open(ag->run_fd, AGENT_LOCK_NAME, ag->p.owner);
	if (ag->lock_fd == -ENOENT) {
		fd = lc_open_checked(ag->run_fd, AGENT_LOCK_NAME,
				     O_WRONLY | O_CREAT, 0600, ag->p.owner);
		if (fd >= 0)
			close(fd);
		ag->lock_fd =
			lc_lock_open(ag->run_fd, AGENT_LOCK_NAME, ag->p.owner);
	}
	if (ag->lock_fd < 0) {
		p_err("cannot open %s/%s: %s", ag->p.run_dir, AGENT_LOCK_NAME,
		      strerror(-ag->lock_fd));
		p_hint("everything root opens in %s must be root's",
		       ag->p.run_dir);
		return ag->lock_fd;
	}
	if (lc_lock_take(ag->lock_fd, 0)) {
		fd = lc_open_checked(ag->run_fd, AGENT_PID_NAME, O_RDONLY, 0,
				     ag->p.owner);
		if (fd >= 0) {
			n = read(fd, pid, sizeof(pid) - 1);
			pid[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		strtol(pid, &end, 10);
		p_err("another alpnsteer agent is running on this host%s%.*s%s",
		      *pid ? " (pid " : "", (int)(end - pid), pid,
		      *pid ? ")" : "");
		p_hint("one agent per host: 'alpnsteer agent status' shows it; stop it first (systemctl stop alpnsteer-agent)");
		return -EBUSY;
	}
	fd = lc_open_checked(ag->run_fd, AGENT_PID_NAME,
			     O_WRONLY | O_CREAT | O_TRUNC, 0644, ag->p.owner);
	if (fd >= 0) {
		dprintf(fd, "%d\n", (int)getpid());
		close(fd);
	}
	return 0;
}

static int setup(struct agent *ag)
{
	sigset_t mask;

	unsigned int i;
	char *reply;

	snprintf(ag->sock_path, sizeof(ag->sock_path), "%s/%s", ag->p.run_dir,
		 AGENT_SOCK_NAME);
	/* Under agent.lock, so no other agent of ours runs; a socket left
	 * by a killed one refuses connections (ECONNREFUSED) and goes.  One
	 * that answers belongs to a live process: not ours to take. */
	if (!control_request_at(ag->sock_path, 2, "status", &reply)) {
		free(reply);
		p_err("something answers on %s although no agent holds %s/%s",
		      ag->sock_path, ag->p.run_dir, AGENT_LOCK_NAME);
		p_hint("an older alpnsteer agent may run: stop it first ('alpnsteer agent stop')");
		return -EBUSY;
	}
	unlink(ag->sock_path);
	ag->lsock = control_listen(ag->sock_path, (gid_t)ag->o.a.control_gid);
	if (ag->lsock < 0) {
		p_err("cannot create %s: %s", ag->sock_path,
		      strerror(-ag->lsock));
		p_hint("%s must be root's and writable", ag->p.run_dir);
		return ag->lsock;
	}
	/* Non-blocking, every client with a deadline (on_accept()). */
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ag->cl[i].fd = -1;
	ag->gone.fd[0] = ag->gone.fd[1] = -1;
	ag->ifd = -1;
	if (ag->o.a.alpn_dir[0]) {
		ag->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ag->ifd < 0 ||
		    inotify_add_watch(ag->ifd, ag->o.a.alpn_dir,
				      IN_CLOSE_WRITE | IN_MOVED_TO |
					      IN_MOVED_FROM | IN_DELETE |
					      IN_CREATE) < 0) {
			p_err("cannot watch --alpn-dir %s: %s",
			      ag->o.a.alpn_dir, strerror(errno));
			return -errno;
		}
	}
	ag->store_fd = -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	ag->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return ag->sigfd < 0 ? -errno : 0;
}

static void on_signals(struct agent *ag)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(ag->sigfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			ag->stop = true;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == ag->store_pid)
			ag->store_pid = 0;
}

/*
 * `agent stop` (root): ask the agent to stop, as SIGTERM does (it
 * detaches and waits for the drain), then wait until it has exited: its
 * flock on agent.lock goes with the process.  No pid file, no name match:
 * the package's prerm uses this.  0 also when no agent runs.
 */
#define AGENT_STOP_CLIENT_WAIT (AGENT_STOP_WAIT + 30)
static const struct cmd agent_stop_cmd, agent_status_cmd;

static int do_agent_stop(int argc, char **argv)
{
	struct lc_paths p;
	char *reply = NULL;
	int run_fd, fd, err, waited = 0;

	if (cmd_getopt(argc, argv, &agent_stop_cmd) != -1 ||
	    !cmd_operands(argc, argv, &agent_stop_cmd, 0, 0))
		return EXIT_USAGE;
	if (geteuid() != 0) {
		p_err("agent stop needs root");
		p_hint("run it as root");
		return EXIT_FAIL;
	}
	lc_default_paths(&p);
	run_fd = lc_run_dir_open(&p, false);
	fd = run_fd >= 0 ? lc_open_checked(run_fd, AGENT_LOCK_NAME, O_RDONLY, 0,
					   p.owner) :
			   -ENOENT;
	if (fd == -ENOENT || (fd >= 0 && !flock(fd, LOCK_SH | LOCK_NB))) {
		printf("no alpnsteer agent runs\n");
		return EXIT_OK;
	}
	if (fd < 0) {
		p_err("cannot open %s/%s: %s", p.run_dir, AGENT_LOCK_NAME,
		      strerror(-fd));
		p_hint("everything root opens in %s must be root's", p.run_dir);
		return EXIT_FAIL;
	}
	/* The lock is held: an agent lives.  Its socket may not be up yet
	 * (it takes the lock first): a few tries. */
	for (;;) {
		err = agent_request(&p, "stop", &reply);
		if (err != -ENOENT || waited >= 3000)
			break;
		usleep(100 * 1000);
		waited += 100;
	}
	if (err == -ENOENT) {
		p_err("an agent holds %s/%s but does not answer on %s",
		      p.run_dir, AGENT_LOCK_NAME, AGENT_SOCK_NAME);
		p_hint("stop it with systemctl stop alpnsteer-agent, or SIGTERM the process 'fuser %s/%s' names",
		       p.run_dir, AGENT_LOCK_NAME);
		return EXIT_FAIL;
	}
	if (err || strcmp(reply, "ok"))
		return reply_print("the agent's socket", err, reply) ?:
								       EXIT_FAIL;
	free(reply);
	for (waited = 0; flock(fd, LOCK_SH | LOCK_NB); waited += 50) {
		if (waited >= AGENT_STOP_CLIENT_WAIT * 1000) {
			p_err("the agent has not exited %d s after it was asked to stop",
			      AGENT_STOP_CLIENT_WAIT);
			p_hint("its drain may still hold connections: see 'alpnsteer status'");
			return EXIT_FAIL;
		}
		usleep(50 * 1000);
	}
	printf("alpnsteer agent stopped\n");
	return EXIT_OK;
}

static int do_agent_status(int argc, char **argv)
{
	struct lc_paths p;
	char *reply;
	int err;

	if (cmd_getopt(argc, argv, &agent_status_cmd) != -1 ||
	    !cmd_operands(argc, argv, &agent_status_cmd, 0, 0))
		return EXIT_USAGE;
	lc_default_paths(&p);
	err = agent_request(&p, "status", &reply);
	if (err == -ENOENT) {
		p_err("no alpnsteer agent runs on this host");
		p_hint("start one: 'alpnsteer agent' (or systemctl start alpnsteer-agent)");
		return 1;
	}
	return reply_print("the agent's socket", err, reply);
}

int do_agent(int argc, char **argv)
{
	static struct agent ag;
	struct pollfd pfd[4 + CONTROL_MAX_CLIENTS];
	struct agent_client *pc[4 + CONTROL_MAX_CLIENTS];
	unsigned int i;
	int n, rc = 0;

	lc_default_paths(&ag.p);
	rc = parse(&ag, argc, argv);
	/* A wrong command line is a usage error, as for attach. */
	if (rc == -EINVAL || rc == -E2BIG)
		return EXIT_USAGE;
	if (rc || take_lock(&ag) || setup(&ag))
		return EXIT_FAIL;
	rc = 0;
	log_daemon = true;
	p_info("agent %d: detached, waiting for challenges (ttl %ld s, grace %ld s%s%s)",
	       (int)getpid(), ag.ttl_max, ag.grace,
	       ag.use_store ? ", store " : "",
	       ag.use_store ? ag.store.url : "");
	dir_scan(&ag);
	adopt(&ag);
	while (!ag.stop) {
		if (ag.use_store && ag.store_fd < 0 && !ag.store_pid &&
		    mono_ms() >= ag.store_retry_at) {
			ag.store_fd =
				store_watch_spawn(&ag.store, &ag.store_pid);
			if (ag.store_fd < 0)
				ag.store_retry_at = mono_ms() + 1000;
		}
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = ag.sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ag.lsock, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ag.ifd, .events = POLLIN };
		pfd[n++] =
			(struct pollfd){ .fd = ag.store_fd, .events = POLLIN };
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			if (ag.cl[i].fd < 0)
				continue;
			pc[n] = &ag.cl[i];
			pfd[n++] = (struct pollfd){ .fd = ag.cl[i].fd,
						    .events = ag.cl[i].reply ?
								      POLLOUT :
								      POLLIN };
		}
		if (poll(pfd, n, AGENT_TICK_MS) < 0 && errno != EINTR) {
			rc = 1;
			break;
		}
		if (pfd[0].revents)
			on_signals(&ag);
		for (i = 4; i < (unsigned int)n; i++)
			if (pfd[i].revents && pc[i]->fd == pfd[i].fd)
				on_client(&ag, pc[i]);
		if (pfd[1].revents & POLLIN)
			on_accept(&ag);
		client_expire(&ag);
		if (pfd[2].revents & POLLIN)
			dir_scan(&ag);
		if (pfd[3].revents & (POLLIN | POLLHUP))
			on_store(&ag);
		if (ag.o.a.alpn_dir[0] && !(pfd[2].revents & POLLIN))
			dir_scan(&ag); /* mtimes age: ttl */
		sync_state(&ag);
		detach_check(&ag);
	}
	p_info("agent: stopping");
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		client_drop(&ag.cl[i]);
	if (ag.store_pid > 0)
		kill(ag.store_pid, SIGTERM);
	/* Nothing of ours left behind: a drain under way is waited for
	 * too (AGENT_STOP_WAIT). */
	if (ag.attached || ag.detaching)
		detach_now(&ag);
	unlink(ag.sock_path);
	unlinkat(ag.run_fd, AGENT_PID_NAME, 0);
	agent_set_free(&ag.set);
	return rc;
}

/* clang-format off */
/* The agent's own options, then attach's but the holder's (the agent is
 * holder "agent", with a ttl of its own making). */
static const struct cmd_opt agent_opts[] = {
	{ "grace", AG_GRACE, CMD_ARG_REQUIRED, "DURATION",
	  "stay attached this long after the last challenge is gone and the validations in flight are done (default 10s): a CA retries from several places" },
	{ "ttl", AG_TTL, CMD_ARG_REQUIRED, "DURATION",
	  "the longest a pending challenge lives (default 1h, as an ACME authorization); a longer one is cut to it" },
	{ "store", AG_STORE, CMD_ARG_REQUIRED, "URL[,URL]",
	  "the fleet's etcd (https://HOST:2379): challenges added there by any node are answered here, learned of through a watch (also ALPNSTEER_STORE)" },
	{ "store-ca", AG_STORE_CA, CMD_ARG_REQUIRED, "FILE",
	  "the CA that signed the etcd servers' certificates (ALPNSTEER_STORE_CA)" },
	{ "store-cert", AG_STORE_CERT, CMD_ARG_REQUIRED, "FILE",
	  "this node's client certificate, from the fleet's CA, without a CN (ALPNSTEER_STORE_CERT)" },
	{ "store-key", AG_STORE_KEY, CMD_ARG_REQUIRED, "FILE",
	  "its key (ALPNSTEER_STORE_KEY)" },
	{ "store-user", AG_STORE_USER, CMD_ARG_REQUIRED, "NAME",
	  "the etcd user this node logs in as, with a read-only role on the challenges (ALPNSTEER_STORE_USER)" },
	{ "store-password-file", AG_STORE_PASSWORD_FILE, CMD_ARG_REQUIRED, "FILE",
	  "the file holding that user's password (ALPNSTEER_STORE_PASSWORD_FILE)" },
	LC_ATTACH_FIELDS(CLI_ATTACH_OPT)
	CLI_DRAIN_WAIT_OPT,
	{},
};
/* clang-format on */

static const struct cmd agent_status_cmd = {
	.name = "status",
	.func = do_agent_status,
	.summary = "the running agent's state, as JSON",
	.desc = "Pending challenges, whether it is attached, its counters and the store's state.",
};

static const struct cmd agent_stop_cmd = {
	.name = "stop",
	.func = do_agent_stop,
	.summary = "ask the running agent to stop, and wait until it has",
	.desc = "Root only. As SIGTERM does: the agent detaches and waits for the drain; this returns once it has exited. 0 also when no agent runs.",
};

static const struct cmd *const agent_subs[] = { &agent_status_cmd,
						&agent_stop_cmd, NULL };

const struct cmd agent_cmd = {
	.name = "agent",
	.func = do_agent,
	.synopsis = "[AGENT OPTIONS] [ATTACH OPTIONS]",
	.summary =
		"stay resident and detached; attach while a challenge is pending",
	.desc = "Nothing is loaded while no challenge pends. The agent attaches (as holder \"agent\", with attach's options) the moment one is added (challenge add, the hooks, --alpn-dir files, or the --store), and detaches --grace after the last one is gone. Pending challenges expire, so a client that crashed between its hooks cannot leave steering on. One agent per host. 'agent status' prints the running agent's state as JSON; 'agent stop' stops it.",
	.opts = agent_opts,
	.subs = agent_subs,
};
