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
 * lifecycle (lc_attach/lc_detach, in a child each time, since those are
 * one-shot commands), so the keeper and the daemon are exactly those of
 * `alpnsteer attach`.  docs/design.md, "Agent and fleet".
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
#include "cli.h"
#include "cmd.h"
#include "cmd_agent.h"
#include "control.h"
#include "ctlproto.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "loader.h"
#include "log.h"
#include "store_etcd.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define AGENT_TICK_MS 100
#define AGENT_RETRY_S 5 /* after an attach that failed */
#define AGENT_MAX_ARGS 128
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

/* ---- the client side: challenge add/remove/list and agent status ---- */

static void agent_sock_path(char *buf, size_t len)
{
	struct lc_paths p;
	int n;

	lc_default_paths(&p);
	n = snprintf(buf, len, "%s/%s", p.run_dir, AGENT_SOCK_NAME);
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0'; /* no such socket: no agent */
}

/* -ENOENT: no agent runs. */
static int agent_request(const char *req, char **reply)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	*reply = NULL;
	agent_sock_path(path, sizeof(path));
	if (!path[0])
		return -ENOENT;
	return control_request_at(path, 30, req, reply);
}

static int print_reply(int err, char *reply)
{
	if (err == -EACCES || err == -EPERM) {
		p_err("permission denied on the agent's socket");
		p_hint("challenges are root's (or --control-group's) business");
		return 1;
	}
	if (err) {
		p_err("agent socket: %s", strerror(-err));
		return 1;
	}
	if (!strncmp(reply, "error: ", 7)) {
		p_err("%s", reply + 7);
		free(reply);
		return 1;
	}
	if (strcmp(reply, "ok") || log_json)
		printf("%s\n", log_json && !strcmp(reply, "ok") ?
				       "{\"ok\":true}" :
				       reply);
	free(reply);
	return 0;
}

static void hexify(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < ACME_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

int agent_challenge(int argc, char **argv)
{
	const char *pos[4] = {}, *digest = NULL;
	unsigned char d[ACME_DIGEST_LEN];
	struct store_opts so = {};
	struct agent_entry e = {};
	struct acme_ident id;
	char req[2048], why[200], *reply;
	long ttl = 0;
	int i, npos = 0, err, rc;
	bool list_json = false, sub;

	store_opts_env(&so);
	/* argv[0] is "challenge" (today's main.c) or the sub-verb itself
	 * (a command table's "add", "remove", "list"): both work. */
	sub = !strcmp(argv[0], "add") || !strcmp(argv[0], "remove") ||
	      !strcmp(argv[0], "list");
	i = sub ? 0 : 1;
	for (; i < argc; i++) {
		rc = i ? store_opt(argc, argv, &i, &so) : 0;
		if (rc < 0)
			return 2;
		if (rc)
			continue;
		if (!strcmp(argv[i], "--ttl") && i + 1 < argc) {
			ttl = lc_parse_duration(argv[++i]);
			if (ttl <= 0) {
				p_err("--ttl '%s' is not a duration", argv[i]);
				p_hint("seconds, or a number with s, m, h or d: --ttl 90s, --ttl 10m");
				return 2;
			}
		} else if (!strcmp(argv[i], "--digest") && i + 1 < argc) {
			digest = argv[++i];
		} else if (!strcmp(argv[i], "-j")) {
			list_json = true;
		} else if (!strncmp(argv[i], "--", 2) &&
			   !(npos == 2 && !strcmp(pos[0], "add"))) {
			return -1; /* not ours: cmd_challenge says why */
		} else if (npos < 4) {
			pos[npos++] = argv[i];
		} else {
			return -1; /* cmd_challenge says how it is used */
		}
	}
	if (!npos)
		return -1;
	if ((!strcmp(pos[0], "add") || !strcmp(pos[0], "remove")) && npos > 1 &&
	    acme_ident_parse(pos[1], &id, why, sizeof(why))) {
		p_err("%s", why);
		p_hint("IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address");
		return EXIT_USAGE;
	}
	if (digest && acme_digest_parse(digest, d)) {
		p_err("'%s' is not a SHA-256 digest", digest);
		p_hint("64 hex digits (colons between bytes allowed, as dehydrated passes it) or 43 base64url characters (as uacme passes it)");
		return EXIT_USAGE;
	}
	if (!strcmp(pos[0], "add") && npos == 3 && !digest &&
	    strpbrk(pos[2], " \t\r\n")) {
		p_err("the key authorization is empty or contains white space");
		return EXIT_USAGE;
	}
	if (so.url && (!strcmp(pos[0], "add") || !strcmp(pos[0], "remove"))) {
		/* The shared store: this host's agent need not run. */
		if (!strcmp(pos[0], "add") &&
		    ((npos == 3 && !digest) || (npos == 2 && digest))) {
			if (!digest)
				SHA256((const unsigned char *)pos[2],
				       strlen(pos[2]), d);
			snprintf(e.ident, sizeof(e.ident), "%s", id.name);
			hexify(d, e.digest);
			if (!ttl)
				ttl = AGENT_DEFAULT_TTL;
			/* When it was added, so that every node cuts it to
			 * its --ttl from the same instant. */
			e.added = time(NULL);
			e.expires = agent_expiry(e.added, ttl, ttl);
			err = store_put_entry(&so, &e, ttl);
		} else if (!strcmp(pos[0], "remove") && npos == 2 && !digest) {
			err = store_delete_ident(&so, id.name);
		} else {
			p_err("usage: alpnsteer challenge add IDENT KEYAUTH|--digest SHA256 [--ttl D] --store URL | remove IDENT --store URL");
			return 2;
		}
		if (err)
			return 1; /* store_*() said why */
		if (log_json)
			printf("{\"ok\":true}\n");
		return 0;
	}
	if (!strcmp(pos[0], "add") && npos == 3 && !digest)
		snprintf(req, sizeof(req), "add %s %s %ld", pos[1], pos[2],
			 ttl);
	else if (!strcmp(pos[0], "add") && npos == 2 && digest)
		snprintf(req, sizeof(req), "add-digest %s %s %ld", pos[1],
			 digest, ttl);
	else if (!strcmp(pos[0], "remove") && npos == 2 && !digest)
		snprintf(req, sizeof(req), "remove %s", pos[1]);
	else if (!strcmp(pos[0], "list") && npos == 1 && !digest)
		snprintf(req, sizeof(req), "%s",
			 list_json || log_json ? "list" : "table");
	else
		return -1;
	if (list_json)
		log_json = true;
	err = agent_request(req, &reply);
	if (err == -ENOENT && ttl) {
		/* No agent: the daemon keeps the ttl itself. */
		err = control_request(req, &reply);
		if (err == -ENOENT) {
			p_err("alpnsteer is not attached (no %s)",
			      ALPNSTEER_CONTROL_SOCK);
			p_hint("run 'alpnsteer attach' first, or start 'alpnsteer agent'");
			return 1;
		}
	}
	if (err == -ENOENT)
		return -1; /* no agent: the daemon's control socket */
	return print_reply(err, reply);
}

/* ---- the agent ---- */

/* lc_attach and lc_detach are the CLI's one-shot commands (they keep
 * their descriptors and locks until the process ends): each runs in a
 * child of its own, which leaves the keeper it starts to init. */
static int in_child(struct agent *ag, bool attach)
{
	sigset_t none;
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int keep[] = { 1, 2 };

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(ag->lsock);
		lc_close_except(keep, 0);
		if (attach)
			_exit(lc_attach(&ag->p, &ag->o, false));
		/* Stopping (a service stop): wait for the drain, so that
		 * nothing of ours is left to be killed with the unit. */
		_exit(lc_detach(&ag->p, AGENT_HOLDER, false,
				ag->stop ? AGENT_STOP_WAIT : -1));
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int hand(struct agent *ag, struct agent_chal *c, char *why, size_t len)
{
	char *reply = NULL, req[sizeof(c->req) + 24];
	long left = agent_left(c->expires, time(NULL));
	int err;

	/* With what is left of its ttl: the daemon expires it by itself, so
	 * a dead agent leaves no name answered past it. */
	snprintf(req, sizeof(req), "%s %ld", c->req, left > 0 ? left : 1);
	err = control_request(req, &reply);
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
	if (!control_request(req, &reply))
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
	long long t0 = mono_ms();
	time_t now = time(NULL);
	int rc;

	/* The holder outlives every challenge by the grace: should the agent
	 * die, the keeper lets go by itself. */
	ag->o.ttl = ag->ttl_max + ag->grace + 60;
	rc = in_child(ag, true);
	if (rc) {
		ag->retry_at = mono_ms() + AGENT_RETRY_S * 1000;
		p_warn("agent: attach failed (exit %d); trying again in %d s",
		       rc, AGENT_RETRY_S);
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
	if (ag->detaching) {
		/* Our drain was called off (LC_ATTACH_RESUME). */
		ag->detaching = false;
		lc_gone_close(&ag->gone);
	}
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
	rc = in_child(ag, false);
	if (rc)
		p_warn("agent: detach failed (exit %d)", rc);
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
	const char *dir = ag->o.alpn_dir;
	char buf[4096];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	size_t n;
	DIR *d;
	int fd;

	if (!dir)
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
	if (!control_request("list", &reply))
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

static char *answer(struct agent *ag, char *req, uid_t uid)
{
	char *save = NULL, *verb, *a1, *a2, *a3, *extra, why[300], r[700];
	unsigned char d[ACME_DIGEST_LEN];
	struct agent_chal *c;
	struct acme_ident id;
	long ttl = 0;
	int rc;

	req[strcspn(req, "\r\n")] = '\0';
	verb = strtok_r(req, " ", &save);
	a1 = strtok_r(NULL, " ", &save);
	a2 = strtok_r(NULL, " ", &save);
	a3 = strtok_r(NULL, " ", &save);
	extra = strtok_r(NULL, " ", &save);
	if (!verb)
		return ctl_msg("error: empty request");
	if (!strcmp(verb, "list") && !a1)
		return list_json(ag);
	if (!strcmp(verb, "table") && !a1)
		return list_table(ag);
	if (!strcmp(verb, "status") && !a1)
		return status_json(ag);
	/* `agent stop`: root's alone, not --control-group's. */
	if (!strcmp(verb, "stop") && !a1) {
		if (uid != 0)
			return ctl_msg("error: only root may stop the agent");
		p_info("agent: asked to stop (agent stop)");
		ag->stop = true;
		return ctl_msg("ok");
	}
	if (!strcmp(verb, "remove") && a1 && !a2) {
		if (acme_ident_parse(a1, &id, why, sizeof(why)))
			return ctl_msg("error: %s", why);
		c = agent_set_find(&ag->set, id.name);
		if (!c)
			return ctl_msg("error: no pending challenge for %s",
				       a1);
		drop(ag, c - ag->set.v);
		sync_state(ag);
		return ctl_msg("ok");
	}
	if ((!strcmp(verb, "add") || !strcmp(verb, "add-digest")) && a1 && a2 &&
	    !extra) {
		if (a3) {
			char *end;

			ttl = strtol(a3, &end, 10);
			if (*end || ttl < 0)
				return ctl_msg("error: bad ttl '%s'", a3);
		}
		if (acme_ident_parse(a1, &id, why, sizeof(why)))
			return ctl_msg("error: %s", why);
		if (!strcmp(verb, "add-digest") && acme_digest_parse(a2, d))
			return ctl_msg(
				"error: '%s' is not a SHA-256 digest (64 hex digits, or 43 base64url characters)",
				a2);
		snprintf(r, sizeof(r), "%s %s %s", verb, id.name, a2);
		rc = agent_set_put(&ag->set, id.name, r,
				   agent_expiry(time(NULL), ttl, ag->ttl_max),
				   AGENT_SRC_LOCAL);
		if (rc < 0)
			return ctl_msg("error: %s",
				       rc == -E2BIG ?
					       "too many pending challenges" :
					       strerror(-rc));
		sync_state(ag);
		c = agent_set_find(&ag->set, id.name);
		if (!c)
			return ctl_msg(
				"error: the daemon refused %s (see the agent's log)",
				id.name);
		if (!c->handed)
			return ctl_msg(
				"error: %s is pending, but alpnsteer could not attach yet (see the agent's log); it is retried",
				id.name);
		return ctl_msg("ok");
	}
	return ctl_msg(
		"error: unknown request (add IDENT KEYAUTH [TTL] | add-digest IDENT DIGEST [TTL] | remove IDENT | list | table | status | stop)");
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
		if (control_peer(c->fd, &uid, ag->o.control_gid) <= 0)
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

static void usage_agent(void)
{
	p_err("usage: alpnsteer agent [--grace DURATION] [--ttl DURATION] [--store URL [--store-ca FILE] [--store-cert FILE --store-key FILE] [--store-user NAME --store-password-file FILE]] [ATTACH OPTIONS]");
	p_hint("or: alpnsteer agent status | stop");
}

static int parse(struct agent *ag, int argc, char **argv)
{
	char *pass[AGENT_MAX_ARGS];
	struct statfs sfs;
	int i, n = 0, rc;

	ag->ttl_max = AGENT_DEFAULT_TTL;
	ag->grace = AGENT_DEFAULT_GRACE;
	store_opts_env(&ag->store);
	pass[n++] = "agent";
	for (i = 1; i < argc && n < AGENT_MAX_ARGS - 3; i++) {
		const char *a = argv[i];
		long *dst = !strncmp(a, "--grace", 7) ? &ag->grace :
			    !strncmp(a, "--ttl", 5)   ? &ag->ttl_max :
							NULL;
		const char *v = strchr(a, '=');

		rc = store_opt(argc, argv, &i, &ag->store);
		if (rc < 0)
			return -EINVAL;
		if (rc)
			continue;
		if (dst && (!strcmp(a, "--grace") || !strcmp(a, "--ttl") ||
			    (v && (v - a == 7 || v - a == 5)))) {
			if (!v && i + 1 >= argc) {
				usage_agent();
				return -EINVAL;
			}
			v = v ? v + 1 : argv[++i];
			*dst = lc_parse_duration(v);
			if (*dst < 0 || (dst == &ag->ttl_max && !*dst)) {
				p_err("'%s' is not a duration", v);
				p_hint("seconds, or a number with s, m, h or d: 90s, 30m, 1h");
				return -EINVAL;
			}
			continue;
		}
		if (!strcmp(a, "--holder") || !strncmp(a, "--holder=", 9)) {
			p_err("the agent attaches as holder '%s'",
			      AGENT_HOLDER);
			p_hint("leave --holder out");
			return -EINVAL;
		}
		pass[n++] = argv[i];
	}
	pass[n++] = "--holder";
	pass[n++] = AGENT_HOLDER;
	pass[n] = NULL;
	ag->use_store = ag->store.url != NULL;
	rc = cli_parse_attach(n, pass, &ag->o);
	if (rc)
		return rc;
	ag->o.cfg.netns_cookie = cli_netns_cookie();
	if (geteuid() != 0) {
		p_err("the agent needs root (it attaches and detaches)");
		p_hint("run it as root, or from alpnsteer-agent.service");
		return -EPERM;
	}
	if (statfs(ag->o.cfg.cgroup, &sfs) ||
	    sfs.f_type != CGROUP2_SUPER_MAGIC) {
		p_err("%s is not a cgroup v2 directory", ag->o.cfg.cgroup);
		p_hint("--cgroup takes a directory of the cgroup2 mount that holds the webserver (default: its root)");
		return -ENOTDIR;
	}
	rc = steer_ensure_bpffs();
	if (rc) {
		p_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(-rc));
		p_hint("alpnsteer mounts bpffs on /sys/fs/bpf when none is there, which needs CAP_SYS_ADMIN; or mount it first: mount -t bpf bpf /sys/fs/bpf");
		return rc;
	}
	return lc_check_user(ag->o.user);
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
	ag->lsock = control_listen(ag->sock_path, ag->o.control_gid);
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
	if (ag->o.alpn_dir) {
		ag->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ag->ifd < 0 ||
		    inotify_add_watch(ag->ifd, ag->o.alpn_dir,
				      IN_CLOSE_WRITE | IN_MOVED_TO |
					      IN_MOVED_FROM | IN_DELETE |
					      IN_CREATE) < 0) {
			p_err("cannot watch --alpn-dir %s: %s", ag->o.alpn_dir,
			      strerror(errno));
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
static int agent_stop(void)
{
	struct lc_paths p;
	char *reply = NULL;
	int run_fd, fd, err, waited = 0;

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
		err = agent_request("stop", &reply);
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
		return print_reply(err, reply) ?: EXIT_FAIL;
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

static int agent_status(void)
{
	char *reply;
	int err = agent_request("status", &reply);

	if (err == -ENOENT) {
		p_err("no alpnsteer agent runs on this host");
		p_hint("start one: 'alpnsteer agent' (or systemctl start alpnsteer-agent)");
		return 1;
	}
	return print_reply(err, reply);
}

int do_agent(int argc, char **argv)
{
	static struct agent ag;
	struct pollfd pfd[4 + CONTROL_MAX_CLIENTS];
	struct agent_client *pc[4 + CONTROL_MAX_CLIENTS];
	unsigned int i;
	int n, rc = 0;

	if (argc == 2 && !strcmp(argv[1], "status"))
		return agent_status();
	if (argc == 2 && !strcmp(argv[1], "stop"))
		return agent_stop();
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
		if (ag.o.alpn_dir && !(pfd[2].revents & POLLIN))
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

/* The agent's own options; every other one is attach's (cli.c). */
static const struct cmd_opt agent_opts[] = {
	{ "grace", 1001, CMD_ARG_REQUIRED, "DURATION",
	  "stay attached this long after the last challenge is gone and the validations in flight are done (default 10s): a CA retries from several places" },
	{ "ttl", 1002, CMD_ARG_REQUIRED, "DURATION",
	  "the longest a pending challenge lives (default 1h, as an ACME authorization); a longer one is cut to it" },
	{ "store", 1003, CMD_ARG_REQUIRED, "URL[,URL]",
	  "the fleet's etcd (https://HOST:2379): challenges added there by any node are answered here, learned of through a watch (also ALPNSTEER_STORE)" },
	{ "store-ca", 1004, CMD_ARG_REQUIRED, "FILE",
	  "the CA that signed the etcd servers' certificates (ALPNSTEER_STORE_CA)" },
	{ "store-cert", 1005, CMD_ARG_REQUIRED, "FILE",
	  "this node's client certificate, from the fleet's CA, without a CN (ALPNSTEER_STORE_CERT)" },
	{ "store-key", 1006, CMD_ARG_REQUIRED, "FILE",
	  "its key (ALPNSTEER_STORE_KEY)" },
	{ "store-user", 1007, CMD_ARG_REQUIRED, "NAME",
	  "the etcd user this node logs in as, with a read-only role on the challenges (ALPNSTEER_STORE_USER)" },
	{ "store-password-file", 1008, CMD_ARG_REQUIRED, "FILE",
	  "the file holding that user's password (ALPNSTEER_STORE_PASSWORD_FILE)" },
	{},
};

const struct cmd agent_cmd = {
	.name = "agent",
	.func = do_agent,
	.synopsis = "[AGENT OPTIONS] [ATTACH OPTIONS] | status | stop",
	.summary =
		"stay resident and detached; attach while a challenge is pending",
	.desc = "Nothing is loaded while no challenge pends. The agent attaches (as holder \"agent\", with attach's options) the moment one is added (challenge add, the hooks, --alpn-dir files, or the --store), and detaches --grace after the last one is gone. Pending challenges expire, so a client that crashed between its hooks cannot leave steering on. One agent per host. 'agent status' prints the running agent's state as JSON. 'agent stop' (root) asks the running agent to stop as SIGTERM does (it detaches and waits for the drain) and returns once it has exited; 0 also when no agent runs.",
	.opts = agent_opts,
};
