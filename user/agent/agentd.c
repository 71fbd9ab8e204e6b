// SPDX-License-Identifier: GPL-2.0-only
/*
 * agentd.c - the agent's loop: resident and detached (nothing loaded)
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "agent.h"
#include "cmd.h"
#include "agentd.h"
#include "control.h"
#include "fdutil.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "trace.h"

long long agent_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

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

void agent_drop(struct agent *ag, int i)
{
	withdraw(ag, &ag->set.v[i]);
	agent_set_drop(&ag->set, i);
}

static void attach_now(struct agent *ag)
{
	struct lc_attach_result res;
	long long t0 = agent_mono_ms();
	time_t now = time(NULL);
	int rc;

	/* The holder outlives every challenge by the grace: should the agent
	 * die, the keeper lets go by itself. */
	ag->o.ttl = ag->ttl_max + ag->grace + 60;
	rc = agent_attach(ag, &res);
	if (rc) {
		ag->retry_at = agent_mono_ms() + AGENT_RETRY_S * 1000;
		p_warn("agent: attach failed; trying again in %d s",
		       AGENT_RETRY_S);
		return;
	}
	if (!ag->attached) {
		ag->attaches++;
		ag->last_attach_ms = agent_mono_ms() - t0;
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
		ag->last_detach_ms = agent_mono_ms() - ag->detach_t0;
		p_info("agent: detached in %ld ms (keeper and daemon gone)",
		       ag->last_detach_ms);
	}
	ag->detaching = false;
	lc_gone_close(&ag->gone);
}

void agent_trace_pull(struct agent *ag)
{
	char *reply = NULL;
	int i;

	if (!ag->attached)
		return;
	if (!ag->trace)
		ag->trace = trace_new();
	if (!ag->trace || control_request(&ag->p, "trace", &reply))
		return;
	if (reply[0] == '[')
		trace_merge_json(ag->trace, reply);
	free(reply);
	/* Who added each (the last add, as the monitor's own trace has
	 * it): the daemon's records say root, the agent hands them all;
	 * ours keep the owner once set (trace_merge_json()). */
	for (i = 0; i < ag->set.nr; i++)
		if (ag->set.v[i].handed)
			trace_owner(ag->trace, ag->set.v[i].ident,
				    ag->set.v[i].owner);
}

static void detach_now(struct agent *ag)
{
	struct lc_view v;
	int rc;

	/* The daemon and its trace go with the detach: ours keeps it. */
	agent_trace_pull(ag);
	/* Whose processes end the detach: the keeper and daemon of now. */
	lc_observe(&ag->p, ag->run_fd, &v);
	lc_gone_open(&ag->gone, v.have_rec ? &v.rec : NULL);
	ag->detach_t0 = agent_mono_ms();
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

static void agent_dir_scan(struct agent *ag)
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
void agent_sync(struct agent *ag)
{
	time_t now = time(NULL);
	long long t0, ms = agent_mono_ms();
	char why[300];
	int i, err;

	while ((i = agent_set_expired(&ag->set, now)) >= 0) {
		p_info("agent: challenge %s expired (ttl): withdrawn",
		       ag->set.v[i].ident);
		ag->expired++;
		agent_drop(ag, i);
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
	t0 = agent_mono_ms();
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
	ag->last_hand_ms = agent_mono_ms() - t0;
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
	/* Members' names, as the monitor reads them (daemon_ctl.c): the
	 * same file, the same checks, at start. */
	if ((gid_t)ag->o.a.control_gid != (gid_t)-1) {
		char msg[256];
		int err;

		ag->policy = calloc(1, sizeof(*ag->policy));
		if (!ag->policy)
			return -ENOMEM;
		err = ctl_policy_load(CTL_POLICY_PATH, ag->policy, msg,
				      sizeof(msg));
		if (err == -ENOENT) {
			free(ag->policy);
			ag->policy = NULL;
		} else if (err) {
			p_err("%s", msg);
			p_hint("one DNS name or IP address a line; members may add each and its subdomains");
			return err;
		}
	}
	if (ag->names_path) {
		char msg[256];
		int err;

		ag->names = calloc(1, sizeof(*ag->names));
		if (!ag->names)
			return -ENOMEM;
		err = ctl_policy_load(ag->names_path, ag->names, msg,
				      sizeof(msg));
		if (err) {
			p_err("--names: %s",
			      err == -ENOENT ? "no such file" : msg);
			p_hint("--names FILE: the names this node serves, one DNS name or IP address a line (each covers its subdomains), in a file of root's that only root may write");
			return err;
		}
	}
	/* Non-blocking, every client with a deadline (agent_on_accept()). */
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

/* --metrics-file (docs/usage.md, "Metrics"): each second, as root, the
 * state, the kernel's counters while attached, the pending set and the
 * trace the agent keeps. */
static void agent_metrics(struct agent *ag)
{
	struct metrics_in in = { .writer = "agent",
				 .conns = -1,
				 .pool_busy = -1 };
	__u64 counters[AC__MAX];
	static unsigned int writes;
	static bool failing;
	struct lc_view v;
	char *text;
	int err;

	if (!ag->metrics_file[0] || agent_mono_ms() < ag->metrics_at)
		return;
	ag->metrics_at = agent_mono_ms() + 1000;
	lc_observe(&ag->p, ag->run_fd, &v);
	in.state = lc_steering_name(lc_steering(&v));
	if (lc_steering(&v) == LC_STEER_ATTACHED ||
	    lc_steering(&v) == LC_STEER_DRAINING) {
		if (!steer_read_counters(ag->p.pin_dir, counters, AC__MAX))
			in.counters = counters;
		in.conns = steer_pinned_held(ag->p.pin_dir);
	}
	in.pending = ag->set.nr;
	/* The daemon's whole trace is some hundreds of KiB of JSON at its
	 * fullest: taken in every fifth write, and at each detach. */
	if (writes++ % 5 == 0)
		agent_trace_pull(ag);
	in.trace = ag->trace;
	text = metrics_text(&in);
	err = text ? metrics_write(ag->metrics_file, text) : -ENOMEM;
	free(text);
	if (err && !failing)
		p_warn("agent: cannot write --metrics-file %s: %s",
		       ag->metrics_file, strerror(-err));
	failing = err != 0;
}

int agent_run(struct agent *ag)
{
	struct pollfd pfd[4 + CONTROL_MAX_CLIENTS];
	struct agent_client *pc[4 + CONTROL_MAX_CLIENTS];
	unsigned int i;
	int n, rc = 0;

	if (take_lock(ag) || setup(ag))
		return EXIT_FAIL;
	/* Ours to write, not the daemons': one file, one writer. */
	snprintf(ag->metrics_file, sizeof(ag->metrics_file), "%s",
		 ag->o.a.metrics_file);
	ag->o.a.metrics_file[0] = '\0';
	ag->o.a.given &= ~LC_GIVEN(metrics_file); /* a joined attach's own */
	log_daemon = true;
	if (ag->use_store && !ag->names)
		p_warn("agent: --store without --names: whoever may write the whole store prefix (etcd's root, a leaked credential) can make this node answer for any name");
	if (ag->names)
		p_info("agent: this node serves %d name(s) and their subdomains (--names %s); store entries for others are refused",
		       ag->names->nr, ag->names_path);
	if (ag->policy)
		p_info("agent: --control-group members may add %d name(s) and their subdomains (%s)",
		       ag->policy->nr, CTL_POLICY_PATH);
	p_info("agent %d: detached, waiting for challenges (ttl %ld s, grace %ld s%s%s)",
	       (int)getpid(), ag->ttl_max, ag->grace,
	       ag->use_store ? ", store " : "",
	       ag->use_store ? ag->store.url : "");
	agent_dir_scan(ag);
	adopt(ag);
	while (!ag->stop) {
		if (ag->use_store && ag->store_fd < 0 && !ag->store_pid &&
		    agent_mono_ms() >= ag->store_retry_at) {
			/* The watcher runs as the daemon's user
			 * (store_sandbox.c). */
			ag->store.run_as = ag->o.a.user;
			ag->store_fd =
				store_watch_spawn(&ag->store, &ag->store_pid);
			if (ag->store_fd < 0)
				ag->store_retry_at = agent_mono_ms() + 1000;
		}
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = ag->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ag->lsock, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ag->ifd, .events = POLLIN };
		pfd[n++] =
			(struct pollfd){ .fd = ag->store_fd, .events = POLLIN };
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			if (ag->cl[i].fd < 0)
				continue;
			pc[n] = &ag->cl[i];
			pfd[n++] = (struct pollfd){ .fd = ag->cl[i].fd,
						    .events = ag->cl[i].reply ?
								      POLLOUT :
								      POLLIN };
		}
		if (poll(pfd, n, AGENT_TICK_MS) < 0 && errno != EINTR) {
			rc = 1;
			break;
		}
		if (pfd[0].revents)
			on_signals(ag);
		for (i = 4; i < (unsigned int)n; i++)
			if (pfd[i].revents && pc[i]->fd == pfd[i].fd)
				agent_on_client(ag, pc[i]);
		if (pfd[1].revents & POLLIN)
			agent_on_accept(ag);
		agent_clients_expire(ag);
		if (pfd[2].revents & POLLIN)
			agent_dir_scan(ag);
		if (pfd[3].revents & (POLLIN | POLLHUP))
			agent_on_store(ag);
		if (ag->o.a.alpn_dir[0] && !(pfd[2].revents & POLLIN))
			agent_dir_scan(ag); /* mtimes age: ttl */
		agent_sync(ag);
		detach_check(ag);
		agent_metrics(ag);
	}
	p_info("agent: stopping");
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		agent_client_drop(&ag->cl[i]);
	if (ag->store_pid > 0)
		kill(ag->store_pid, SIGTERM);
	/* Nothing of ours left behind: a drain under way is waited for
	 * too (AGENT_STOP_WAIT). */
	if (ag->attached || ag->detaching)
		detach_now(ag);
	unlink(ag->sock_path);
	unlinkat(ag->run_fd, AGENT_PID_NAME, 0);
	agent_set_free(&ag->set);
	free(ag->policy);
	free(ag->names);
	return rc;
}
