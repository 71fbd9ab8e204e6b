// SPDX-License-Identifier: GPL-2.0-only
/*
 * lifecycle_run.c - attach, run and detach over lifecycle.c's plans, and
 * the keeper: the small root process that owns an attachment.
 *
 *   attach (CLI, root) --fork--> keeper (root: locks, record, pins)
 *                                  --fork--> daemon (TLS, unprivileged)
 *
 * The keeper holds the lock (a daemon lives), writes the record, expires
 * holders, starts the drain when none is left and, once drained, stops the
 * daemon and removes the pins: the daemon never needs to own the pin or run
 * directory (docs/design.md, "Lifecycle").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>

#include "daemon.h"
#include "fdutil.h"
#include "keeper_scope.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "loader.h"
#include "log.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define KEEPER_TICK_MS 100
#define EDIT_LOCK_MS 30000

static int pinned_map(const struct lc_paths *p, const char *name)
{
	return steer_pinned_map(p->pin_dir, name);
}

/* One map write: from here on nothing new is caught or steered (or, with
 * @on false, steering goes on). */
static int set_flag(const struct lc_paths *p, bool on)
{
	struct alpnsteer_settings cfg;
	__u32 zero = 0;
	int fd, err = 0;

	fd = pinned_map(p, PIN_SETTINGS);
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, &cfg)) {
		err = -errno;
	} else {
		cfg.draining = on;
		if (bpf_map_update_elem(fd, &zero, &cfg, BPF_EXIST))
			err = -errno;
	}
	close(fd);
	return err;
}

static int conns_held(const struct lc_paths *p)
{
	int fd = pinned_map(p, PIN_CONNS), n;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	n = steer_conns_count(fd);
	close(fd);
	return n;
}

/* The drain's count: first the reaper releases every caught socket
 * that holds nothing (docs/design.md, "Release points"), so that silent
 * and idle clients do not hold a drain; it does nothing unless the
 * draining flag is set. */
static int drain_held(const struct lc_paths *p)
{
	int fd = pinned_map(p, steer_link_names[LINK_REAP]), err;

	if (fd >= 0) {
		err = steer_reap(fd);
		if (err)
			p_debug("reap: %s", strerror(-err));
		close(fd);
	}
	return conns_held(p);
}

/* Root: the links detached through their pins (so that an attachment
 * whose daemon died is really gone), every pin unlinked, the directory
 * too. */
static void remove_pins(const struct lc_paths *p)
{
	steer_remove_pins(p->pin_dir);
}

static void holders_str(const struct lc_record *r, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < r->nr_holders && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				r->holders[i].name);
	if (!r->nr_holders)
		snprintf(buf, len, "none");
}

static time_t expiry(const struct daemon_opts *o)
{
	return o->ttl > 0 ? time(NULL) + o->ttl : 0;
}

/* ---- the keeper ---- */

struct keeper {
	const struct lc_paths *p;
	int run_fd, lock_fd, edit_fd, sigfd, timerfd;
	pid_t worker;
	bool stop, worker_gone, orphaned;
	int worker_status;
};

static void reap(struct keeper *k, int flags)
{
	int st;

	if (k->worker_gone || waitpid(k->worker, &st, flags) != k->worker)
		return;
	k->worker_gone = true;
	k->worker_status = st;
}

/* Drained: the daemon goes, then everything it held. */
static void finish(struct keeper *k)
{
	int i;

	if (!k->worker_gone) {
		kill(k->worker, SIGTERM);
		for (i = 0; i < 100 && !k->worker_gone; i++) {
			reap(k, WNOHANG);
			if (!k->worker_gone)
				usleep(10 * 1000);
		}
		if (!k->worker_gone) {
			kill(k->worker, SIGKILL);
			reap(k, 0);
		}
	}
	remove_pins(k->p);
	unlinkat(k->run_fd, LC_CONTROL_SOCK, 0);
	lc_record_remove(k->run_fd);
	p_info("drained; links and maps removed");
	/* The locks go with the process, after the pins: an attach waiting
	 * on the edit lock finds nothing left. */
}

/* One look under the edit lock; true when the keeper is done. */
static bool keeper_tick(struct keeper *k)
{
	struct lc_view v;
	int conns;
	bool dirty = false, done = false;

	reap(k, WNOHANG);
	if (lc_lock_take(k->edit_fd, 0))
		return false; /* a command is changing the state: next tick */
	lc_observe(k->p, k->run_fd, &v);
	if (!v.have_rec) {
		flock(k->edit_fd, LOCK_UN);
		return false;
	}
	if (k->stop && v.rec.phase != LC_PHASE_STOPPING) {
		v.rec.phase = LC_PHASE_STOPPING;
		v.rec.nr_holders = 0;
		dirty = true;
		set_flag(k->p, true);
		v.flag = true;
		p_info("stopping: draining (%d connections held)",
		       conns_held(k->p));
	}
	if (v.rec.phase == LC_PHASE_ATTACHED && !v.flag &&
	    lc_holders_prune(&v.rec, time(NULL)))
		dirty = true;
	/* Only a drain needs the count: walking a busy webserver's conns
	 * every tick would cost thousands of syscalls a second. */
	conns = v.rec.phase != LC_PHASE_ATTACHED || v.flag ? drain_held(k->p) :
							     -1;
	switch (lc_plan_keeper(&v, conns)) {
	case LC_KEEP_EXPIRE:
		v.rec.phase = LC_PHASE_DRAINING;
		dirty = true;
		set_flag(k->p, true);
		p_info("no holder left (ttl expired): draining (%d connections held)",
		       conns);
		break;
	case LC_KEEP_FINISH:
		finish(k);
		return true; /* exit holding the edit lock */
	case LC_KEEP:
		break;
	}
	if (dirty && lc_record_write(k->run_fd, &v.rec))
		p_warn("cannot update the record: %s", strerror(errno));
	if (k->worker_gone) {
		/* Not asked to go: leave the attachment for an attach or
		 * detach to drain (orphaned), as a killed daemon always has:
		 * acme-tls/1 hellos then go to the webserver. */
		p_warn("the daemon (pid %d) ended (status %d) before a detach: steering left orphaned",
		       (int)k->worker, k->worker_status);
		k->orphaned = done = true;
	}
	flock(k->edit_fd, LOCK_UN);
	return done;
}

static int keeper_loop(struct keeper *k)
{
	struct itimerspec its = {
		.it_interval = { 0, KEEPER_TICK_MS * 1000000L },
		.it_value = { 0, KEEPER_TICK_MS * 1000000L },
	};
	struct pollfd pfd[2];

	k->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (k->sigfd < 0 || k->timerfd < 0)
		return -errno;
	timerfd_settime(k->timerfd, 0, &its, NULL);
	pfd[0] = (struct pollfd){ .fd = k->sigfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = k->timerfd, .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;
		__u64 exp;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return -errno;
		while (read(k->sigfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				k->stop = true;
		if (read(k->timerfd, &exp, sizeof(exp)) < 0 && !k->stop &&
		    !(pfd[0].revents & POLLIN))
			continue;
		if (keeper_tick(k))
			return k->orphaned ? -ECHILD : 0;
	}
}

/* In the keeper: fork the daemon, its stderr on @logfd, and wait for its
 * word that steering is live; 0, or -errno with the Error said. */
static int start_daemon(struct keeper *k, struct daemon_opts *o, int logfd)
{
	char status = 1;
	sigset_t mask;
	int wp[2], err;
	bool said;

	if (pipe2(wp, O_CLOEXEC)) {
		err = -errno;
		p_err("the keeper cannot make a pipe: %s", strerror(errno));
		p_hint("the system is out of descriptors or memory; try again");
		return err;
	}
	fflush(NULL);
	k->worker = fork();
	if (k->worker < 0) {
		err = -errno;
		p_err("the keeper cannot start the daemon: fork: %s",
		      strerror(errno));
		p_hint("the system (or the unit's TasksMax=) allows no more processes; try again");
		close(wp[0]);
		close(wp[1]);
		return err;
	}
	if (k->worker == 0) {
		int wkeep[] = { wp[1], logfd };

		fd_close_except(wkeep, logfd >= 0 ? 2 : 1);
		umask(077);
		o->log_fd = logfd;
		o->keeper_pid = getppid();
		_exit(daemon_run(o, wp[1]) ? 1 : 0);
	}
	close(wp[1]);
	/* Before anyone knows our pid: a detach's SIGHUP (a wake-up) must
	 * never meet the default action, which is to die. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	k->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	said = read(wp[0], &status, 1) == 1;
	if (!said || status != 0) {
		close(wp[0]);
		k->worker_gone = false;
		reap(k, 0);
		/* A daemon that failed said why (status 1); one that died
		 * before a word did not. */
		if (!said) {
			p_err("the daemon (pid %d) ended before steering was live (%s %d)",
			      (int)k->worker,
			      WIFSIGNALED(k->worker_status) ? "signal" :
							      "exit status",
			      WIFSIGNALED(k->worker_status) ?
				      WTERMSIG(k->worker_status) :
				      WEXITSTATUS(k->worker_status));
			p_hint("run 'alpnsteer -d attach' to see where; the system log may tell (out of memory, a seccomp kill)");
		}
		/* It cleaned up as root; a failure after privdrop could not. */
		remove_pins(k->p);
		return -EIO;
	}
	close(wp[0]);
	return 0;
}

/* In the keeper, root: start the daemon, write the record, then keep the
 * attachment until it is drained.  @ready_fd: the attach command's pipe
 * (-1 for `run`), @edit_fd: its edit lock, released once the record is
 * written. */
static int keeper_main(const struct lc_paths *p, struct daemon_opts *o,
		       int run_fd, int lock_fd, int edit_fd, int ready_fd)
{
	struct keeper k = { .p = p,
			    .run_fd = run_fd,
			    .lock_fd = lock_fd,
			    .sigfd = -1,
			    .timerfd = -1 };
	struct lc_record rec = {};
	int keep[] = { run_fd, lock_fd, edit_fd, ready_fd };
	int logfd = -1, err;

	/* Nothing of the caller's: its descriptors (a cron wrapper's flock
	 * guard), its directory, its umask. */
	fd_close_except(keep, 4);
	if (chdir("/"))
		return -errno;
	umask(022);
	if (ready_fd >= 0) {
		logfd = lc_open_checked(run_fd, LC_LOG_FILE,
					O_WRONLY | O_CREAT | O_APPEND, 0600,
					p->owner);
		if (logfd < 0) {
			p_err("cannot open %s/%s: %s", p->run_dir, LC_LOG_FILE,
			      logfd == -EPERM ?
				      "not a regular file of root's with one link" :
				      strerror(-logfd));
			p_hint("remove it; everything root opens in %s must be root's",
			       p->run_dir);
			daemon_ready(ready_fd, 1);
			return logfd;
		}
	}
	/* Out of the caller's cgroup before the daemon is forked, so that
	 * both live in the keeper's own scope under systemd: a unit's stop
	 * then ends only its holder (docs/design.md, "Where the keeper
	 * lives").  Without systemd, or when that fails (a Warning), it
	 * stays where it was started. */
	ks_enter(ready_fd < 0);
	err = start_daemon(&k, o, logfd);
	if (err) {
		daemon_ready(ready_fd, 1);
		return err;
	}
	rec.pid = k.worker;
	rec.keeper = getpid();
	rec.since = time(NULL);
	rec.phase = LC_PHASE_ATTACHED;
	rec.opts = o->a;
	lc_holder_add(&rec, o->holder, expiry(o));
	err = lc_record_write(run_fd, &rec);
	if (err) {
		p_err("cannot write %s/%s: %s", p->run_dir, LC_STATE_FILE,
		      strerror(-err));
		p_hint("%s must be root's and writable where attach runs",
		       p->run_dir);
		set_flag(p, true);
		finish(&k);
		daemon_ready(ready_fd, 1);
		return err;
	}
	/* The command's edit lock goes with its copy; ours is our own. */
	close(edit_fd);
	k.edit_fd = lc_lock_open(run_fd, LC_EDIT_LOCK_FILE, p->owner);
	daemon_ready(ready_fd, 0);
	if (ready_fd >= 0)
		daemon_to_log(logfd);
	if (logfd >= 0)
		close(logfd);
	p_info("keeper %d: daemon %d attached for holder %s", (int)getpid(),
	       (int)k.worker, o->holder);
	err = keeper_loop(&k);
	return err;
}

/* ---- commands ---- */

static int edit_lock(const struct lc_paths *p, int run_fd)
{
	int fd = lc_lock_open(run_fd, LC_EDIT_LOCK_FILE, p->owner), err;

	if (fd < 0) {
		p_err("cannot open %s/%s: %s", p->run_dir, LC_EDIT_LOCK_FILE,
		      fd == -EPERM ?
			      "not a regular file of root's with one link" :
			      strerror(-fd));
		p_hint("remove it; everything root opens in %s must be root's",
		       p->run_dir);
		return fd;
	}
	err = lc_lock_take(fd, EDIT_LOCK_MS);
	if (err) {
		close(fd);
		p_err("another alpnsteer command has held %s/%s for %d s",
		      p->run_dir, LC_EDIT_LOCK_FILE, EDIT_LOCK_MS / 1000);
		p_hint("see 'alpnsteer status'");
		return err;
	}
	return fd;
}

/* Orphaned (no keeper): drain it here, holding the lock as its keeper
 * would, then remove it.  Called under the edit lock, which is released
 * while waiting. */
static int drain_orphan(const struct lc_paths *p, int run_fd, int *edit_fd,
			int timeout_ms)
{
	struct lc_record rec;
	int lock, n, waited = 0, err = 0;

	lock = lc_lock_open(run_fd, LC_LOCK_FILE, p->owner);
	if (lock < 0 || lc_lock_take(lock, 200)) {
		if (lock >= 0)
			close(lock);
		return -EBUSY;
	}
	/* Whoever looks now sees it draining, and not resumable. */
	if (!lc_record_read(run_fd, &rec, p->owner)) {
		rec.phase = LC_PHASE_STOPPING;
		rec.nr_holders = 0;
		lc_record_write(run_fd, &rec);
	}
	set_flag(p, true);
	flock(*edit_fd, LOCK_UN);
	while ((n = drain_held(p)) > 0) {
		if (timeout_ms >= 0 && waited >= timeout_ms) {
			err = -ETIMEDOUT;
			break;
		}
		usleep(KEEPER_TICK_MS * 1000);
		waited += KEEPER_TICK_MS;
	}
	lc_lock_take(*edit_fd, EDIT_LOCK_MS);
	if (!err) {
		remove_pins(p);
		unlinkat(run_fd, LC_CONTROL_SOCK, 0);
		lc_record_remove(run_fd);
	}
	close(lock);
	return err;
}

/* Once per attach: the caller hears that it waits for a drain. */
static void wait_note(const struct daemon_opts *o, const struct lc_view *v,
		      bool *said)
{
	if (*said)
		return;
	*said = true;
	if (o->waiting)
		o->waiting(v->state == LC_ORPHANED);
}

static void result_of(struct lc_attach_result *res, enum lc_attach_how how,
		      const struct lc_record *r)
{
	res->how = how;
	res->pid = r->pid;
	res->keeper = r->keeper;
	holders_str(r, res->holders, sizeof(res->holders));
}

/*
 * fork(), but the new process is a grandchild whose parent has already
 * exited: it belongs to init (or to the nearest subreaper), never to the
 * caller to reap, and outlives it.  That is what keeps the keeper (and an
 * orphan's drain) out of a long-lived caller such as the agent, which
 * calls lc_attach() in its own process; under systemd the keeper then
 * moves into a scope of its own (keeper_scope.c).  It starts with no
 * signal blocked and a session of its own.  0 in the new process, 1 in
 * the caller, -errno.
 */
static int fork_away(void)
{
	sigset_t none;
	pid_t pid, k;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		k = fork();
		if (k)
			_exit(k < 0 ? 1 : 0);
		return 0;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 1 : -EAGAIN;
}

/* lc_attach() with the run directory and the edit lock open: @fds holds
 * them and the lock file's descriptor, for lc_attach() to close whatever
 * way this returns (the agent calls it again and again). */
struct attach_fds {
	int run, edit, lock;
};

/* Attached, or draining with the same options: one more holder (the
 * drain called off). */
static int join(const struct lc_paths *p, struct daemon_opts *o, int run_fd,
		struct lc_view *v, struct lc_attach_result *res)
{
	int err;

	lc_holders_prune(&v->rec, time(NULL));
	err = lc_holder_add(&v->rec, o->holder, expiry(o));
	if (err) {
		p_err("cannot add holder '%s': %s", o->holder,
		      err == -E2BIG ? "too many holders" : strerror(-err));
		return 1;
	}
	if (v->state == LC_DRAINING)
		v->rec.phase = LC_PHASE_ATTACHED;
	err = lc_record_write(run_fd, &v->rec);
	/* The record first: the keeper, which expires holders, must see one
	 * before steering is on again. */
	if (!err && v->state == LC_DRAINING)
		err = set_flag(p, false);
	if (err) {
		p_err("cannot update the attachment: %s", strerror(-err));
		return 1;
	}
	result_of(res,
		  v->state == LC_DRAINING ? LC_ATTACHED_RESUMED :
					    LC_ATTACHED_ALREADY,
		  &v->rec);
	return 0;
}

/* Nothing there: take the keeper's lock and start the keeper, here
 * (@foreground, `run`) or away from us, and wait for its word. */
static int start(const struct lc_paths *p, struct daemon_opts *o,
		 bool foreground, struct attach_fds *fd,
		 struct lc_attach_result *res)
{
	int run_fd = fd->run, err, pfd[2];
	struct lc_view v;
	char status = 1;

	if (lc_pin_dir_check(p))
		return 1;
	lc_record_remove(run_fd);
	fd->lock = lc_lock_open(run_fd, LC_LOCK_FILE, p->owner);
	if (fd->lock < 0) {
		p_err("cannot open %s/%s: %s", p->run_dir, LC_LOCK_FILE,
		      fd->lock == -EPERM ?
			      "not a regular file of root's with one link" :
			      strerror(-fd->lock));
		p_hint("remove it; everything root opens in %s must be root's",
		       p->run_dir);
		return 1;
	}
	/* Not once: a status looking (LOCK_SH for an instant) must not
	 * fail an attach. */
	if (lc_lock_take(fd->lock, 1000)) {
		p_err("another alpnsteer holds %s/%s", p->run_dir,
		      LC_LOCK_FILE);
		p_hint("see 'alpnsteer status'; a keeper that lives owns the attachment");
		return 1;
	}
	if (foreground) {
		log_daemon = true;
		err = keeper_main(p, o, run_fd, fd->lock, fd->edit, -1);
		/* The keeper's now, whatever it has closed of them. */
		fd->run = fd->lock = fd->edit = -1;
		return err ? 1 : 0;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		p_err("cannot make a pipe for the keeper: %s", strerror(errno));
		p_hint("the system is out of descriptors or memory; try again");
		return 1;
	}
	err = fork_away();
	if (err < 0) {
		p_err("cannot start the keeper: fork: %s", strerror(-err));
		p_hint("the system (or the unit's TasksMax=) allows no more processes; try again");
		close(pfd[0]);
		close(pfd[1]);
		return 1;
	}
	if (err == 0) {
		close(pfd[0]);
		_exit(keeper_main(p, o, run_fd, fd->lock, fd->edit, pfd[1]) ?
			      1 :
			      0);
	}
	close(pfd[1]);
	err = read(pfd[0], &status, 1) != 1;
	close(pfd[0]);
	if (err) {
		/* The keeper died before a word (killed, out of memory). */
		p_err("the keeper ended before steering was live");
		p_hint("run 'alpnsteer -d attach' to see where; the system log may tell (out of memory, a signal)");
		return 1;
	}
	if (status != 0)
		return 1; /* the daemon or the keeper said why */
	lc_observe(p, run_fd, &v);
	result_of(res, LC_ATTACHED_NEW, &v.rec);
	return 0;
}

static int attach_in(const struct lc_paths *p, struct daemon_opts *o,
		     bool foreground, struct attach_fds *fd,
		     struct lc_attach_result *res)
{
	struct lc_opts want = o->a;
	struct lc_view v;
	char why[1024], h[LC_HOLDER_MAX * (LC_HOLDER_NAME + 2)];
	int run_fd = fd->run, waited = 0, err;
	bool said = false;

	for (;;) {
		lc_observe(p, run_fd, &v);
		switch (lc_plan_attach(&v, &want, why, sizeof(why))) {
		case LC_ATTACH_JOIN:
		case LC_ATTACH_RESUME:
			return join(p, o, run_fd, &v, res);
		case LC_ATTACH_REFUSE:
			holders_str(&v.rec, h, sizeof(h));
			p_err("alpnsteer is attached with other options: %s",
			      why);
			p_hint("attach with the same options to share it, or end it first ('alpnsteer detach --holder NAME' for each of its holders: %s; or 'alpnsteer detach --all'); 'alpnsteer status' shows it",
			       h);
			return 1;
		case LC_ATTACH_WAIT:
			flock(fd->edit, LOCK_UN);
			wait_note(o, &v, &said);
			if (o->drain_wait >= 0 &&
			    waited >= o->drain_wait * 1000) {
				p_err("the previous attachment is still draining %d connections after %d s",
				      conns_held(p), o->drain_wait);
				p_hint("steered connections end when their clients close; see 'alpnsteer status'");
				return 1;
			}
			usleep(50 * 1000);
			waited += 50;
			if (lc_lock_take(fd->edit, EDIT_LOCK_MS))
				return 1;
			continue;
		case LC_ATTACH_REPLACE:
			wait_note(o, &v, &said);
			err = drain_orphan(
				p, run_fd, &fd->edit,
				o->drain_wait >= 0 ? o->drain_wait * 1000 : -1);
			if (err == -EBUSY)
				continue;
			if (err) {
				p_err("the orphaned attachment still holds %d connections",
				      conns_held(p));
				p_hint("run 'alpnsteer detach --wait' to drain and remove it");
				return 1;
			}
			p_info("removed an orphaned attachment");
			continue;
		case LC_ATTACH_FRESH:
			return start(p, o, foreground, fd, res);
		}
	}
}

int lc_attach(const struct lc_paths *p, struct daemon_opts *o, bool foreground,
	      struct lc_attach_result *res)
{
	struct attach_fds fd = { .run = -1, .edit = -1, .lock = -1 };
	int rc = 1;

	memset(res, 0, sizeof(*res));
	o->paths = *p;
	fd.run = lc_run_dir_open(p, true);
	if (fd.run >= 0)
		fd.edit = edit_lock(p, fd.run);
	if (fd.edit >= 0)
		rc = attach_in(p, o, foreground, &fd, res);
	/* The keeper, if one was started, has its own copies. */
	if (fd.lock >= 0)
		close(fd.lock);
	if (fd.edit >= 0)
		close(fd.edit);
	if (fd.run >= 0)
		close(fd.run);
	return rc;
}

void lc_gone_open(struct lc_gone *g, const struct lc_record *r)
{
	pid_t pid[2] = { r ? r->keeper : 0, r ? r->pid : 0 };
	int i;

	for (i = 0; i < 2; i++) {
		long fd = pid[i] > 0 ? syscall(SYS_pidfd_open, pid[i], 0) : -1;

		g->fd[i] = fd < 0 ? -1 : (int)fd;
		if (g->fd[i] >= 0)
			fcntl(g->fd[i], F_SETFD, FD_CLOEXEC);
	}
}

bool lc_gone(const struct lc_gone *g)
{
	struct pollfd pfd[2];
	int i, n = 0;

	for (i = 0; i < 2; i++)
		if (g->fd[i] >= 0)
			pfd[n++] = (struct pollfd){ .fd = g->fd[i],
						    .events = POLLIN };
	return !n || poll(pfd, n, 0) == n;
}

void lc_gone_close(struct lc_gone *g)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (g->fd[i] >= 0)
			close(g->fd[i]);
		g->fd[i] = -1;
	}
}

/* Detached: no pins, no keeper lock, and the keeper and daemon of @g have
 * exited (a prerm or a unit's stop that follows finds none of our
 * processes).  The processes get LC_GONE_MS at most once the rest is
 * gone: a daemon the keeper had to SIGKILL is gone at once. */
#define LC_GONE_MS 5000
static int wait_gone(const struct lc_paths *p, int run_fd, int seconds,
		     const struct lc_gone *g)
{
	struct lc_view v;
	int waited_ms = 0, gone_ms = 0;

	for (;;) {
		lc_observe(p, run_fd, &v);
		if (v.state == LC_DETACHED &&
		    (lc_gone(g) || (gone_ms += 10) > LC_GONE_MS))
			return 0;
		if (v.state == LC_ATTACHED)
			return -EAGAIN; /* attached again meanwhile */
		if (seconds > 0 && waited_ms >= seconds * 1000)
			return -ETIMEDOUT;
		/* A keeper with nothing in flight is gone in ~100 ms. */
		usleep(10 * 1000);
		waited_ms += 10;
	}
}

/* lc_detach() with the run directory and the edit lock open in @fd, for
 * lc_detach() to close whichever way this returns. */
struct detach_fds {
	int run, edit;
};

static int detach_in(const struct lc_paths *p, const char *holder, bool all,
		     int wait, struct detach_fds *fd,
		     struct lc_detach_result *res)
{
	struct lc_gone g = { { -1, -1 } };
	int run_fd = fd->run, err, n;
	struct lc_view v;

	lc_observe(p, run_fd, &v);
	if (v.have_rec)
		holders_str(&v.rec, res->holders, sizeof(res->holders));
	/* Before anything changes: the processes a --wait waits for. */
	if (wait >= 0 && v.have_rec)
		lc_gone_open(&g, &v.rec);
	switch (lc_plan_detach(&v, holder, all)) {
	case LC_DETACH_NONE:
		res->how = LC_DETACHED_NONE;
		return 0;
	case LC_DETACH_NOT_HOLDER:
		res->how = LC_DETACHED_NOT_HOLDER;
		return 0;
	case LC_DETACH_LEAVE:
		lc_holder_remove(&v.rec, holder);
		err = lc_record_write(run_fd, &v.rec);
		if (err) {
			p_err("cannot update the attachment: %s",
			      strerror(-err));
			return 1;
		}
		holders_str(&v.rec, res->holders, sizeof(res->holders));
		res->how = LC_DETACHED_LEFT;
		return 0;
	case LC_DETACH_DRAIN:
		if (all)
			v.rec.nr_holders = 0;
		else
			lc_holder_remove(&v.rec, holder);
		v.rec.phase = all ? LC_PHASE_STOPPING : LC_PHASE_DRAINING;
		err = lc_record_write(run_fd, &v.rec);
		err = err ?: set_flag(p, true);
		if (err) {
			p_err("cannot stop steering: %s", strerror(-err));
			p_hint("detach needs root");
			return 1;
		}
		break;
	case LC_DETACH_DRAINING:
		break;
	case LC_DETACH_ORPHAN:
		if (run_fd < 0) {
			p_err("cannot remove the attachment: no usable %s",
			      p->run_dir);
			return 1;
		}
		if (wait >= 0) {
			err = drain_orphan(p, run_fd, &fd->edit,
					   wait ? wait * 1000 : -1);
			goto waited;
		}
		set_flag(p, true);
		if (fork_away() == 0) {
			int keep[] = { run_fd }, edit_fd;

			/* Its own edit lock, taken once this command has
			 * let go of the one it shares with us. */
			fd_close_except(keep, 1);
			edit_fd = lc_lock_open(run_fd, LC_EDIT_LOCK_FILE,
					       p->owner);
			if (edit_fd < 0 || lc_lock_take(edit_fd, EDIT_LOCK_MS))
				_exit(1);
			_exit(drain_orphan(p, run_fd, &edit_fd, -1) ? 1 : 0);
		}
		break;
	}
	if (fd->edit >= 0)
		flock(fd->edit, LOCK_UN);
	/* Wake the keeper: with nothing in flight it is gone at once, not at
	 * its next tick. */
	if (v.state == LC_ATTACHED && v.rec.keeper > 0)
		kill(v.rec.keeper, SIGHUP);
	if (wait < 0) {
		n = conns_held(p);
		res->how = LC_DETACHED_DRAINING;
		res->draining = n > 0 ? n : 0;
		return 0;
	}
	err = wait_gone(p, run_fd, wait, &g);
waited:
	lc_gone_close(&g);
	if (err == -ETIMEDOUT) {
		p_err("still draining %d connections after %d s", conns_held(p),
		      wait);
		p_hint("steered connections end when their clients close; see 'alpnsteer status'");
		return 1;
	}
	if (err == -EAGAIN) {
		res->how = LC_DETACHED_REATTACHED;
		return 0;
	}
	if (err) {
		p_err("cannot remove the attachment: %s", strerror(-err));
		return 1;
	}
	res->how = LC_DETACHED_GONE;
	return 0;
}

int lc_detach(const struct lc_paths *p, const char *holder, bool all, int wait,
	      struct lc_detach_result *res)
{
	struct detach_fds fd = { .run = -1, .edit = -1 };
	int rc = 1;

	memset(res, 0, sizeof(*res));
	if (geteuid() != 0) {
		p_err("detach needs root");
		p_hint("run it as root (the pins, the record and the locks are root's)");
		return 1;
	}
	fd.run = lc_run_dir_open(p, true);
	if (fd.run >= 0)
		fd.edit = edit_lock(p, fd.run);
	if (fd.run < 0 || fd.edit >= 0)
		rc = detach_in(p, holder, all, wait, &fd, res);
	/* Closed here, whatever happened: the agent detaches again and
	 * again in its own process. */
	if (fd.edit >= 0)
		close(fd.edit);
	if (fd.run >= 0)
		close(fd.run);
	return rc;
}

int lc_check_user(const char *user)
{
	if (!strcmp(user, "root") || getpwnam(user))
		return 0;
	p_err("no user '%s' for the daemon to run as", user);
	p_hint("create it (useradd --system --no-create-home --shell /usr/sbin/nologin %s, as 'make install' does), name another with --user, or give --user root to keep the daemon root",
	       user);
	return -ENOENT;
}
