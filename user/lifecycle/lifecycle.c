// SPDX-License-Identifier: GPL-2.0-only
/*
 * lifecycle.c - the attachment's state, its record and the decisions over
 * them (see lifecycle.h).  Nothing here loads BPF; lifecycle_run.c runs the
 * processes.
 *
 * Everything in the run directory is root's and opened with O_NOFOLLOW and
 * checked with fstat: the daemon that parses TLS from the Internet never
 * owns a file or directory that root later opens (docs/design.md,
 * "Lifecycle").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "lifecycle.h"
#include "log.h"

const char *lc_state_name(enum lc_state s)
{
	switch (s) {
	case LC_ATTACHING:
		return "attaching";
	case LC_ATTACHED:
		return "attached";
	case LC_DRAINING:
		return "draining";
	case LC_ORPHANED:
		return "orphaned";
	default:
		return "detached";
	}
}

/* The names an alpnsteer run directory may hold (paths.h). */
static bool run_dir_name(const char *n)
{
	static const char *const names[] = {
		LC_STATE_FILE,	 LC_STATE_FILE ".new",
		LC_LOCK_FILE,	 LC_EDIT_LOCK_FILE,
		LC_LOG_FILE,	 LC_CONTROL_SOCK,
		AGENT_SOCK_NAME, AGENT_LOCK_NAME,
		AGENT_PID_NAME,	 NULL,
	};
	int i;

	for (i = 0; names[i]; i++)
		if (!strcmp(n, names[i]))
			return true;
	return false;
}

/* An older alpnsteer gave the run directory to its daemon user.  Take it
 * back first (fchown/fchmod by fd: from then on nobody else may add a
 * name), then drop every name in it: whatever the other user left there
 * (a symlink, a hard link) is gone before root opens anything.  Only our
 * own names, and no daemon may be using it. */
static int run_dir_repair(int fd, const struct lc_paths *p)
{
	struct dirent *de;
	DIR *dir;
	int dfd, lfd, i, err = 0;

	/* A keeper, or an agent, still at work in it: not ours to empty. */
	for (i = 0; i < 2; i++) {
		lfd = openat(fd, i ? AGENT_LOCK_NAME : LC_LOCK_FILE,
			     O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (lfd >= 0) {
			bool busy = flock(lfd, LOCK_SH | LOCK_NB) != 0;

			close(lfd);
			if (busy)
				return -EBUSY;
		}
	}
	if (fchown(fd, p->owner, (gid_t)-1) || fchmod(fd, 0755))
		return -errno;
	dfd = dup(fd);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!run_dir_name(de->d_name) || unlinkat(fd, de->d_name, 0)) {
			err = -ENOTEMPTY;
			break;
		}
	}
	closedir(dir);
	return err;
}

int lc_run_dir_open(const struct lc_paths *p, bool create)
{
	struct stat st;
	int fd, err;

	if (create && mkdir(p->run_dir, 0755)) {
		if (errno != EEXIST) {
			err = -errno;
			p_err("cannot create %s: %s", p->run_dir,
			      strerror(errno));
			return err;
		}
	} else if (create) {
		chmod(p->run_dir,
		      0755); /* whatever the umask: status reads it */
	}
	fd = open(p->run_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (errno == ENOENT && !create)
			return err;
		p_err("%s is not a directory alpnsteer can use: %s", p->run_dir,
		      errno == ENOTDIR || errno == ELOOP ?
			      "a symlink or not a directory" :
			      strerror(errno));
		p_hint("it must be a real directory owned by root; remove it and attach again");
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (st.st_uid == p->owner && !(st.st_mode & 022))
		return fd;
	if (!create) {
		close(fd);
		return -EPERM;
	}
	err = run_dir_repair(fd, p);
	if (!err) {
		p_warn("%s was owned by uid %u, mode %03o (an older alpnsteer gave it to its daemon): taken back and emptied",
		       p->run_dir, (unsigned int)st.st_uid,
		       (unsigned int)(st.st_mode & 07777));
		return fd;
	}
	close(fd);
	p_err("%s was owned by uid %u, mode %03o, and cannot be emptied: %s",
	      p->run_dir, (unsigned int)st.st_uid,
	      (unsigned int)(st.st_mode & 07777), strerror(-err));
	p_hint("everything root opens there must be root's: stop whatever uses it, remove the directory and attach again");
	return -EPERM;
}

int lc_pin_dir_check(const struct lc_paths *p)
{
	struct stat st;

	if (lstat(p->pin_dir, &st)) {
		int err = -errno;

		if (err == -ENOENT)
			return 0;
		p_err("cannot look at %s: %s", p->pin_dir, strerror(-err));
		p_hint("/sys/fs/bpf must be a bpffs mount root may read");
		return err;
	}
	if (S_ISDIR(st.st_mode) && st.st_uid == p->owner && !(st.st_mode & 022))
		return 0;
	/* An older alpnsteer left it empty and owned by its daemon user:
	 * rmdir takes only an empty directory and never follows. */
	if (S_ISDIR(st.st_mode) && !rmdir(p->pin_dir)) {
		p_warn("%s was owned by uid %u, mode %03o: removed, to be made again by root",
		       p->pin_dir, (unsigned int)st.st_uid,
		       (unsigned int)(st.st_mode & 07777));
		return 0;
	}
	p_err("%s is %s owned by uid %u, mode %03o: root will not pin into it",
	      p->pin_dir,
	      S_ISDIR(st.st_mode) ? "a directory" :
	      S_ISLNK(st.st_mode) ? "a symlink" :
				    "not a directory",
	      (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777));
	p_hint("the pin directory must be root's; look at what is in it, remove it, and attach again");
	return -EPERM;
}

int lc_open_checked(int dirfd, const char *name, int flags, mode_t mode,
		    uid_t owner)
{
	struct stat st;
	int fd, err;

	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		    mode);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != owner || st.st_nlink != 1) {
		close(fd);
		return -EPERM;
	}
	/* O_NONBLOCK was only against a FIFO planted by the name. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int lc_lock_open(int dirfd, const char *name, uid_t owner)
{
	return lc_open_checked(dirfd, name, O_RDONLY | O_CREAT, 0600, owner);
}

int lc_lock_take(int fd, int timeout_ms)
{
	int waited = 0;

	for (;;) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return -EBUSY;
		usleep(10 * 1000);
		waited += 10;
	}
}

int lc_lock_held(int dirfd, const char *name, uid_t owner)
{
	int fd, held;

	fd = lc_open_checked(dirfd, name, O_RDONLY, 0, owner);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	held = flock(fd, LOCK_SH | LOCK_NB) ? 1 : 0;
	close(fd);
	return held;
}

/* The record: key=value lines, one per attach field (attach_fields.h)
 * after the process's own.  pid, since, pool, cgroup, forward and ports
 * are as older versions wrote them. */
int lc_record_write(int dirfd, const struct lc_record *r)
{
	char val[LC_DOMAINS_LEN];
	FILE *f;
	int fd, i;

	unlinkat(dirfd, LC_STATE_FILE ".new", 0);
	fd = openat(dirfd, LC_STATE_FILE ".new",
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0644); /* whatever the umask: status reads it */
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlinkat(dirfd, LC_STATE_FILE ".new", 0);
		return -ENOMEM;
	}
	fprintf(f, "pid=%d\nkeeper=%d\nsince=%lld\nphase=%d\nnetns=%llu\n",
		(int)r->pid, (int)r->keeper, (long long)r->since, r->phase,
		(unsigned long long)r->opts.netns);
	for (i = 0; i < LC_F__MAX; i++) {
		lc_field_str(&r->opts, &lc_fields[i], false, val, sizeof(val));
		fprintf(f, "%s=%s\n", lc_fields[i].key, val);
	}
	for (i = 0; i < r->nr_holders; i++)
		fprintf(f, "holder=%lld %s\n", (long long)r->holders[i].expires,
			r->holders[i].name);
	if (fclose(f)) {
		unlinkat(dirfd, LC_STATE_FILE ".new", 0);
		return -EIO;
	}
	/* renameat: readers see the old record or the new, never half; it
	 * replaces the name, never following it. */
	if (renameat(dirfd, LC_STATE_FILE ".new", dirfd, LC_STATE_FILE)) {
		unlinkat(dirfd, LC_STATE_FILE ".new", 0);
		return -errno;
	}
	return 0;
}

int lc_record_read(int dirfd, struct lc_record *r, uid_t owner)
{
	const struct lc_field *fl;
	char line[LC_DOMAINS_LEN + 64];
	FILE *f;
	int fd;

	memset(r, 0, sizeof(*r));
	/* A key an older version did not write keeps its default. */
	lc_opts_default(&r->opts);
	fd = lc_open_checked(dirfd, LC_STATE_FILE, O_RDONLY, 0, owner);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = '\0';
		v[strcspn(v, "\n")] = '\0';
		if (!strcmp(line, "pid"))
			r->pid = atoi(v);
		else if (!strcmp(line, "keeper"))
			r->keeper = atoi(v);
		else if (!strcmp(line, "since"))
			r->since = atoll(v);
		else if (!strcmp(line, "phase"))
			r->phase = atoi(v);
		else if (!strcmp(line, "netns"))
			r->opts.netns = strtoull(v, NULL, 10);
		else if ((fl = lc_field_by_key(line)))
			lc_field_set(&r->opts, fl, v);
		else if (!strcmp(line, "holder") &&
			 r->nr_holders < LC_HOLDER_MAX) {
			struct lc_holder *h = &r->holders[r->nr_holders];
			char *sp = strchr(v, ' ');

			if (!sp || !lc_holder_valid(sp + 1))
				continue;
			h->expires = atoll(v);
			snprintf(h->name, sizeof(h->name), "%s", sp + 1);
			r->nr_holders++;
		}
	}
	fclose(f);
	if (r->phase > LC_PHASE_STOPPING)
		r->phase = LC_PHASE_STOPPING;
	return 0;
}

void lc_record_remove(int dirfd)
{
	unlinkat(dirfd, LC_STATE_FILE, 0);
}

bool lc_holder_valid(const char *name)
{
	const char *p;

	if (!*name || strlen(name) >= LC_HOLDER_NAME)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._:@-", *p)))
			return false;
	return true;
}

int lc_holder_add(struct lc_record *r, const char *name, time_t expires)
{
	int i;

	if (!lc_holder_valid(name))
		return -EINVAL;
	for (i = 0; i < r->nr_holders; i++) {
		if (!strcmp(r->holders[i].name, name)) {
			r->holders[i].expires = expires;
			return 0;
		}
	}
	if (r->nr_holders >= LC_HOLDER_MAX)
		return -E2BIG;
	snprintf(r->holders[i].name, sizeof(r->holders[i].name), "%s", name);
	r->holders[i].expires = expires;
	r->nr_holders++;
	return 0;
}

int lc_holder_remove(struct lc_record *r, const char *name)
{
	int i;

	for (i = 0; i < r->nr_holders; i++) {
		if (strcmp(r->holders[i].name, name))
			continue;
		memmove(&r->holders[i], &r->holders[i + 1],
			(r->nr_holders - i - 1) * sizeof(r->holders[0]));
		r->nr_holders--;
		return 0;
	}
	return -ENOENT;
}

int lc_holders_prune(struct lc_record *r, time_t now)
{
	int i = 0, n = 0;

	while (i < r->nr_holders) {
		if (r->holders[i].expires && r->holders[i].expires <= now) {
			lc_holder_remove(r, r->holders[i].name);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static bool pinned(const struct lc_paths *p, const char *name)
{
	char path[PATH_MAX + 64];

	lc_pin_path(p, name, path, sizeof(path));
	return path[0] && access(path, F_OK) == 0;
}

static bool can_look(const struct lc_paths *p)
{
	return access(p->pin_dir, F_OK) == 0 || errno != EACCES;
}

static bool read_flag(const struct lc_paths *p, bool *flag)
{
	struct alpnsteer_settings cfg;
	char path[PATH_MAX + 64];
	__u32 zero = 0;
	int fd;
	bool ok;

	lc_pin_path(p, PIN_SETTINGS, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	ok = !bpf_map_lookup_elem(fd, &zero, &cfg);
	if (ok)
		*flag = cfg.draining;
	close(fd);
	return ok;
}

static bool pid_lives(pid_t pid)
{
	return pid > 0 && (!kill(pid, 0) || errno == EPERM);
}

enum lc_state lc_classify(const struct lc_view *v)
{
	bool draining;

	if (!v->pins) {
		if (!v->live)
			return LC_DETACHED;
		/* Live without pins: being built, or being removed. */
		return v->have_rec && v->rec.phase != LC_PHASE_ATTACHED ?
			       LC_DRAINING :
			       LC_ATTACHING;
	}
	if (!v->live)
		return LC_ORPHANED;
	if (!v->have_rec)
		return LC_ATTACHING;
	draining = v->flag || !v->sockops || v->rec.phase != LC_PHASE_ATTACHED;
	return draining ? LC_DRAINING : LC_ATTACHED;
}

void lc_observe(const struct lc_paths *p, int run_dirfd, struct lc_view *v)
{
	int held;

	memset(v, 0, sizeof(*v));
	v->pins = pinned(p, PIN_SETTINGS);
	v->sockops = pinned(p, PIN_LINK_SOCKOPS);
	if (v->pins)
		read_flag(p, &v->flag);
	if (run_dirfd >= 0)
		v->have_rec = !lc_record_read(run_dirfd, &v->rec, p->owner);
	held = run_dirfd >= 0 ?
		       lc_lock_held(run_dirfd, LC_LOCK_FILE, p->owner) :
		       -EBADF;
	/* A user who may not open the lock (it is root's, 0600): the
	 * record's pids are the best left. */
	v->live = held >= 0 ?
			  held == 1 :
			  v->have_rec && pid_lives(v->rec.keeper ?: v->rec.pid);
	/* bpffs is root's (0700): a user who may not look trusts the
	 * record and its live keeper. */
	if (!v->pins && !can_look(p)) {
		v->pins = v->sockops = v->have_rec && v->live;
		v->blind = !v->pins;
	}
	v->state = lc_classify(v);
}

enum lc_steering lc_steering(const struct lc_view *v)
{
	if (v->blind)
		return LC_STEER_UNKNOWN;
	if (!v->pins)
		return LC_STEER_DETACHED;
	if (!v->sockops || v->flag || v->state == LC_DRAINING)
		return LC_STEER_DRAINING;
	return LC_STEER_ATTACHED;
}

const char *lc_steering_name(enum lc_steering s)
{
	switch (s) {
	case LC_STEER_UNKNOWN:
		return "unknown";
	case LC_STEER_ATTACHED:
		return "attached";
	case LC_STEER_DRAINING:
		return "draining";
	default:
		return "detached";
	}
}

enum lc_attach_plan lc_plan_attach(const struct lc_view *v,
				   const struct lc_opts *want, char *why,
				   size_t len)
{
	why[0] = '\0';
	switch (v->state) {
	case LC_DETACHED:
		return LC_ATTACH_FRESH;
	case LC_ORPHANED:
		return LC_ATTACH_REPLACE;
	case LC_ATTACHING:
		return LC_ATTACH_WAIT;
	case LC_ATTACHED:
		return lc_opts_diff(&v->rec.opts, want, why, len) ?
			       LC_ATTACH_REFUSE :
			       LC_ATTACH_JOIN;
	case LC_DRAINING:
		/* Nobody holds a draining attachment: other options simply
		 * wait for it to end.  A stop (SIGTERM) is not undone. */
		if (v->rec.phase == LC_PHASE_STOPPING || !v->sockops ||
		    !v->have_rec || lc_opts_diff(&v->rec.opts, want, why, len))
			return LC_ATTACH_WAIT;
		return LC_ATTACH_RESUME;
	}
	return LC_ATTACH_WAIT;
}

static bool holds(const struct lc_record *r, const char *name)
{
	int i;

	for (i = 0; i < r->nr_holders; i++)
		if (!strcmp(r->holders[i].name, name))
			return true;
	return false;
}

enum lc_detach_plan lc_plan_detach(const struct lc_view *v, const char *holder,
				   bool all)
{
	switch (v->state) {
	case LC_DETACHED:
		return LC_DETACH_NONE;
	case LC_ORPHANED:
		return LC_DETACH_ORPHAN;
	case LC_ATTACHING:
	case LC_DRAINING:
		return LC_DETACH_DRAINING;
	case LC_ATTACHED:
		break;
	}
	if (all)
		return LC_DETACH_DRAIN;
	if (!holds(&v->rec, holder))
		return LC_DETACH_NOT_HOLDER;
	return v->rec.nr_holders > 1 ? LC_DETACH_LEAVE : LC_DETACH_DRAIN;
}

enum lc_keeper_plan lc_plan_keeper(const struct lc_view *v, int conns)
{
	if (!v->have_rec)
		return LC_KEEP;
	if (v->rec.phase == LC_PHASE_ATTACHED && !v->flag) {
		return v->rec.nr_holders ? LC_KEEP : LC_KEEP_EXPIRE;
	}
	/* Draining: done once nothing steered is left. */
	return conns == 0 ? LC_KEEP_FINISH : LC_KEEP;
}

long lc_parse_duration(const char *s)
{
	char *end;
	long v, mul = 1;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || end == s || errno || v <= 0)
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > 366L * 86400 / mul)
		return -EINVAL;
	return v * mul;
}
