// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.c - load, attach, pin and remove the BPF side of alpnsteer.
 *
 * Order matters (docs/design.md, "Attach order, links and pins"):
 *  - the map programs (reply, verdict) are linked before sock_ops,
 *    because a psock copies its map's programs when a socket is inserted;
 *  - sock_ops is linked last: from that instant connections are caught;
 *  - removal never deletes a socket from conns by hand: detach sets the
 *    draining flag (nothing new is caught or steered), sockets leave conns
 *    by self-release or by closing, and only an empty conns lets the links
 *    and maps go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "alpnsteer_abi.h" /* before the skeleton: its .rodata uses it */
#include "alpnsteer.skel.h"
#include "feat.h"
#include "loader.h"
#include "log.h"

#ifndef BPF_LINK_TYPE_SOCKMAP
#define BPF_LINK_TYPE_SOCKMAP 14 /* 6.10+, absent from Debian 12's uapi */
#endif
#define ALPNSTEER_BPF_TCX_INGRESS 46 /* 6.6+, absent from Debian 12's uapi */

const char *const steer_link_names[LINK__MAX] = {
	[LINK_REPLY] = PIN_LINK_REPLY,
	[LINK_VERDICT] = PIN_LINK_VERDICT,
	[LINK_REAP] = PIN_LINK_REAP, /* a program, not a link */
	[LINK_SOCKOPS] = PIN_LINK_SOCKOPS,
};

/* What each program attaches to, and how. */
static const enum bpf_attach_type link_attach_type[LINK__MAX] = {
	[LINK_REPLY] = BPF_SK_MSG_VERDICT,
	[LINK_VERDICT] = BPF_SK_SKB_VERDICT,
	[LINK_REAP] = BPF_TRACE_ITER, /* unused: run, never attached */
	[LINK_SOCKOPS] = BPF_CGROUP_SOCK_OPS,
};
static const char *const link_map_name[LINK__MAX] = {
	[LINK_REPLY] = "pool",
	[LINK_VERDICT] = "conns",
};

/* Every map that is pinned; ch_scratch is private to the verdict. */
const char *const steer_map_names[] = { PIN_MAP_NAMES, NULL };

/* DIR/NAME, or "" (which no pin is) when it does not fit. */
static void pin_path(const char *dir, char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
}

void steer_pin_hint(int err)
{
	if (err == -EROFS)
		p_hint("/sys/fs/bpf is mounted read-only where attach runs (a systemd unit's ProtectKernelTunables=yes makes /sys read-only): give it a writable bpffs on /sys/fs/bpf (the shipped units do), or attach from outside the sandbox");
	else if (err == -EACCES || err == -EPERM)
		p_hint("pinning needs root with CAP_SYS_ADMIN or CAP_BPF on a bpffs that root may write");
	else if (err == -EEXIST)
		p_hint("something is pinned there already: 'alpnsteer status' tells whether another attachment lives; 'alpnsteer detach --all' removes one that was left");
	else
		p_hint("/sys/fs/bpf must be a writable bpffs mount; run with -d for libbpf's messages");
}

int steer_ensure_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0755) && errno != EEXIST)
		return -errno;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

static int open_and_load(struct steer *s, const struct steer_config *cfg,
			 __u32 kernel_log_level)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo,
		    .kernel_log_level = kernel_log_level);
	struct alpnsteer_bpf *skel;
	__u32 i;

	skel = alpnsteer_bpf__open_opts(&oo);
	if (!skel)
		return -errno;
	s->skel = skel;
	for (i = 0; i < cfg->nr_ports; i++)
		skel->rodata->ports[i] = cfg->ports[i];
	skel->rodata->nr_ports = cfg->nr_ports;
	skel->rodata->netns_cookie = cfg->netns_cookie;
	skel->rodata->pool_size = cfg->pool_size;
	skel->rodata->preclassify = cfg->nr_preclass > 0;
	for (i = 0; i < cfg->nr_proxy_ports; i++)
		skel->rodata->proxy_ports[i] = cfg->proxy_ports[i];
	skel->rodata->nr_proxy_ports = cfg->nr_proxy_ports;
	for (i = 0; i < cfg->nr_proxy_from && i < ALPNSTEER_MAX_PROXY_FROM; i++)
		memcpy((void *)&skel->rodata->proxy_from[i],
		       &cfg->proxy_from[i], sizeof(cfg->proxy_from[i]));
	skel->rodata->nr_proxy_from = cfg->nr_proxy_from;
	/* Not even verified unless asked for. */
	bpf_program__set_autoload(skel->progs.alpnsteer_preclass,
				  cfg->nr_preclass > 0);
	return alpnsteer_bpf__load(skel);
}

void steer_release_image(void)
{
	size_t sz, pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long lo = (unsigned long)alpnsteer_bpf__elf_bytes(&sz);
	unsigned long hi = lo + sz;

	/* Whole pages of the image only: it is read-only data of the
	 * binary, so a page dropped here and read again is the file's. */
	lo = (lo + pg - 1) & ~(pg - 1);
	hi &= ~(pg - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int steer_load(struct steer *s, const struct steer_config *cfg,
	       const char *pin_dir)
{
	struct alpnsteer_bpf *skel;
	__u32 i;
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", pin_dir);
	s->cgroup_fd = -1;
	s->pin_dirfd = -1;
	for (i = 0; i < LINK__MAX; i++)
		s->link_fd[i] = -1;
	for (i = 0; i < ALPNSTEER_MAX_IFACES; i++)
		s->tc_link_fd[i] = -1;

	/* One Error: naming what is missing beats a verifier log. */
	if (feat_require() != FEAT__MAX)
		return -EOPNOTSUPP;
	if (cfg->nr_preclass && feat_probe(FEAT_TCX) == 0) {
		p_err("--preclassify needs tcx links (BPF_TCX_INGRESS), which this kernel does not have");
		p_hint("attach without --preclassify: every connection then takes the sockmap path, as by default");
		return -EOPNOTSUPP;
	}
	/* libbpf loads a copy of its own for CO-RE: one at a time keeps the
	 * daemon's peak, and what its TLS worker inherits, 5 MiB smaller. */
	feat_release();
	/* -d: the verifier's statistics for each program, through libbpf's
	 * debug log.  Log level 4 alone hides the verifier's log of a failed
	 * load and with it libbpf's note naming an unresolved CO-RE field,
	 * so a failure is loaded once more with libbpf's default (the whole
	 * log, CO-RE names restored). */
	err = open_and_load(s, cfg, log_verbose >= 2 ? 4 : 0);
	if (err && log_verbose >= 2) {
		p_debug("loading again for the verifier's whole log:");
		alpnsteer_bpf__destroy(s->skel);
		s->skel = NULL;
		err = open_and_load(s, cfg, 0);
	}
	if (err) {
		p_err("cannot load the BPF programs: %s", strerror(-err));
		p_hint("run with -d to see the verifier log; 'alpnsteer features' tells what this kernel lacks");
		return err;
	}
	skel = s->skel;
	s->cgroup_fd = open(cfg->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->cgroup_fd < 0) {
		err = -errno;
		p_err("cannot open cgroup %s: %s", cfg->cgroup,
		      strerror(errno));
		p_hint("--cgroup takes a cgroup v2 directory, such as the root of the cgroup2 mount");
		return err;
	}

	if (mkdir(s->pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		p_err("cannot create the pin directory %s: %s", s->pin_dir,
		      strerror(errno));
		steer_pin_hint(err);
		return err;
	}
	/* Held for the final removal: once the daemon is no longer root it
	 * cannot even walk /sys/fs/bpf (mode 0700), but it owns this
	 * directory and may unlink what is in it through this fd. */
	s->pin_dirfd = open(s->pin_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->pin_dirfd < 0) {
		err = -errno;
		p_err("cannot open the pin directory %s: %s", s->pin_dir,
		      strerror(errno));
		steer_pin_hint(err);
		return err;
	}
	for (i = 0; steer_map_names[i]; i++) {
		struct bpf_map *m;
		char p[PATH_MAX];

		m = bpf_object__find_map_by_name(skel->obj, steer_map_names[i]);
		if (!m) {
			p_err("no map %s in the BPF object",
			      steer_map_names[i]);
			p_hint("the binary is damaged or mixed from two builds: rebuild or reinstall alpnsteer");
			return -ENOENT;
		}
		pin_path(s->pin_dir, p, sizeof(p), steer_map_names[i]);
		err = bpf_map__pin(m, p);
		if (err) {
			p_err("cannot pin map %s: %s", p, strerror(-err));
			steer_pin_hint(err);
			return err;
		}
	}
	return 0;
}

static int link_and_pin(struct steer *s, enum steer_link which,
			struct bpf_program *prog, int target,
			enum bpf_attach_type type)
{
	char p[PATH_MAX];
	int fd, err;

	fd = bpf_link_create(bpf_program__fd(prog), target, type, NULL);
	if (fd < 0) {
		err = -errno;
		p_err("cannot link %s: %s", steer_link_names[which],
		      strerror(errno));
		p_hint("run with -d for libbpf's messages; 'alpnsteer features' tells what this kernel lacks");
		return err;
	}
	s->link_fd[which] = fd;
	pin_path(s->pin_dir, p, sizeof(p), steer_link_names[which]);
	if (bpf_obj_pin(fd, p)) {
		err = -errno;
		p_err("cannot pin %s: %s", p, strerror(errno));
		steer_pin_hint(err);
		return err;
	}
	return 0;
}

static int pin_reaper(struct steer *s)
{
	char p[PATH_MAX];

	pin_path(s->pin_dir, p, sizeof(p), steer_link_names[LINK_REAP]);
	if (bpf_obj_pin(bpf_program__fd(s->skel->progs.alpnsteer_reap), p)) {
		int err = -errno;

		p_err("cannot pin %s: %s", p, strerror(errno));
		return err;
	}
	return 0;
}

/*
 * Legacy attach, for kernels without sockmap links: the program is attached
 * to the map itself, nothing to pin.  The maps' pins are enough to find it
 * again (BPF_PROG_QUERY on the map, see unlink_pins()), and when the last
 * reference to a map goes, so do the programs attached to it.
 */
static int prog_attach(struct steer *s, enum steer_link which,
		       struct bpf_program *prog, int target)
{
	if (bpf_prog_attach(bpf_program__fd(prog), target,
			    link_attach_type[which], 0)) {
		int err = -errno;

		p_err("cannot attach %s to map %s: %s", bpf_program__name(prog),
		      link_map_name[which], strerror(errno));
		p_hint("run with -d for libbpf's messages; 'alpnsteer features' tells what this kernel lacks");
		return err;
	}
	s->attached[which] = true;
	return 0;
}

static int attach_map_prog(struct steer *s, enum steer_link which,
			   struct bpf_program *prog, int target)
{
	if (s->legacy)
		return prog_attach(s, which, prog, target);
	return link_and_pin(s, which, prog, target, link_attach_type[which]);
}

int steer_attach_map_progs(struct steer *s)
{
	struct alpnsteer_bpf *k = s->skel;
	int conns = bpf_map__fd(k->maps.conns);
	int err;

	/* Decided by asking the kernel for a sockmap link, never by its
	 * version: distributions backport. */
	err = feat_probe(FEAT_SOCKMAP_LINK);
	if (err < 0) {
		p_err("cannot tell whether this kernel has sockmap links: %s",
		      strerror(-err));
		p_hint("'alpnsteer features' tells what this kernel lacks");
		return err;
	}
	s->legacy = !err;
	if (s->legacy)
		p_info("no sockmap bpf_links in this kernel: attaching the map programs to the maps");
	err = attach_map_prog(s, LINK_REPLY, k->progs.alpnsteer_reply,
			      bpf_map__fd(k->maps.pool));
	/* A verdict and no stream parser (docs/design.md, "One verdict, no
	 * stream parser"). */
	if (!err)
		err = attach_map_prog(s, LINK_VERDICT,
				      k->progs.alpnsteer_verdict, conns);
	/* The reaper is run by the drain (BPF_PROG_TEST_RUN), never
	 * attached: pinned so that a drain without its daemon can run it
	 * (docs/design.md, "Release points"). */
	if (!err)
		err = pin_reaper(s);
	return err;
}

int steer_attach_sockops(struct steer *s)
{
	return link_and_pin(s, LINK_SOCKOPS, s->skel->progs.alpnsteer_sockops,
			    s->cgroup_fd, BPF_CGROUP_SOCK_OPS);
}

static void tc_pin_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, PIN_LINK_TC_FMT, i);
}

int steer_attach_preclass(struct steer *s, const struct steer_config *cfg)
{
	int prog = bpf_program__fd(s->skel->progs.alpnsteer_preclass);
	char name[32], p[PATH_MAX];
	__u32 i;
	int fd;

	for (i = 0; i < cfg->nr_preclass; i++) {
		/* tcx: one more program on the hook, nothing replaced, gone
		 * with its link. */
		fd = bpf_link_create(prog, cfg->preclass_ifindex[i],
				     ALPNSTEER_BPF_TCX_INGRESS, NULL);
		if (fd < 0) {
			int err = -errno;

			p_err("cannot link the pre-classifier to ifindex %d: %s",
			      cfg->preclass_ifindex[i], strerror(errno));
			p_hint("attach without --preclassify, or name interfaces of this network namespace");
			return err;
		}
		s->tc_link_fd[i] = fd;
		tc_pin_name(name, sizeof(name), i);
		pin_path(s->pin_dir, p, sizeof(p), name);
		if (bpf_obj_pin(fd, p)) {
			int err = -errno;

			p_err("cannot pin %s: %s", p, strerror(errno));
			steer_pin_hint(err);
			return err;
		}
	}
	return 0;
}

/* The program attached (legacy) to the pinned map of @which: its id, and
 * with @map_fd, the map's fd for the caller to close; 0 when none. */
static __u32 map_prog_id(const char *pin_dir, enum steer_link which,
			 int *map_fd)
{
	__u32 ids[1] = {}, cnt = 1;
	int fd;

	*map_fd = -1;
	fd = steer_pinned_map(pin_dir, link_map_name[which]);
	if (fd < 0)
		return 0;
	if (bpf_prog_query(fd, link_attach_type[which], 0, NULL, ids, &cnt) ||
	    !cnt) {
		close(fd);
		return 0;
	}
	*map_fd = fd;
	return ids[0];
}

/* Legacy attach, from the pins alone (a dead daemon's attachment). */
static void detach_map_prog(const char *pin_dir, enum steer_link which)
{
	int map_fd, prog_fd;
	__u32 id = map_prog_id(pin_dir, which, &map_fd);

	if (!id)
		return;
	prog_fd = bpf_prog_get_fd_by_id(id);
	if (prog_fd >= 0) {
		if (bpf_prog_detach2(prog_fd, map_fd, link_attach_type[which]))
			p_debug("detach %s from %s: %s",
				steer_link_names[which], link_map_name[which],
				strerror(errno));
		close(prog_fd);
	}
	close(map_fd);
}

__u32 steer_pinned_map_prog(const char *pin_dir, enum steer_link which)
{
	__u32 id;
	int fd;

	if (!link_map_name[which])
		return 0;
	id = map_prog_id(pin_dir, which, &fd);
	if (fd >= 0)
		close(fd);
	return id;
}

bool steer_pinned_legacy(const char *pin_dir)
{
	char p[PATH_MAX];

	pin_path(pin_dir, p, sizeof(p), steer_link_names[LINK_VERDICT]);
	return access(p, F_OK) && steer_pinned_map_prog(pin_dir, LINK_VERDICT);
}

/* Links are detached through their pins too, so that an attachment whose
 * daemon died is really gone, not merely unpinned (root only: the daemon
 * has detached its own link fds before).  Names through @pin_dir, removal
 * through @dirfd (the daemon's O_PATH one, or the root caller's). */
static void unlink_pins(const char *pin_dir, int dirfd)
{
	char p[PATH_MAX], name[32];
	int i;

	/* The pre-classifier first: it inserts into conns. */
	for (i = 0; i < ALPNSTEER_MAX_IFACES; i++) {
		int fd;

		tc_pin_name(name, sizeof(name), i);
		pin_path(pin_dir, p, sizeof(p), name);
		fd = bpf_obj_get(p);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlinkat(dirfd, name, 0);
	}

	for (i = LINK__MAX - 1; i >= 0; i--) {
		int fd;

		pin_path(pin_dir, p, sizeof(p), steer_link_names[i]);
		fd = bpf_obj_get(p);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		} else if (link_map_name[i]) {
			detach_map_prog(pin_dir, i);
		}
		unlinkat(dirfd, steer_link_names[i], 0);
	}
	for (i = 0; steer_map_names[i]; i++)
		unlinkat(dirfd, steer_map_names[i], 0);
}

static void steer_detach_legacy(struct steer *s, enum steer_link which)
{
	struct alpnsteer_bpf *k = s->skel;
	struct bpf_program *prog = which == LINK_REPLY ?
					   k->progs.alpnsteer_reply :
					   k->progs.alpnsteer_verdict;
	int map =
		bpf_map__fd(which == LINK_REPLY ? k->maps.pool : k->maps.conns);

	if (bpf_prog_detach2(bpf_program__fd(prog), map,
			     link_attach_type[which]))
		p_debug("detach %s from %s: %s", bpf_program__name(prog),
			link_map_name[which], strerror(errno));
	s->attached[which] = false;
}

void steer_destroy(struct steer *s)
{
	int i;

	/* tc and sock_ops first: nothing new may be caught while the rest
	 * goes. */
	for (i = 0; i < ALPNSTEER_MAX_IFACES; i++) {
		if (s->tc_link_fd[i] >= 0) {
			bpf_link_detach(s->tc_link_fd[i]);
			close(s->tc_link_fd[i]);
			s->tc_link_fd[i] = -1;
		}
	}
	for (i = LINK__MAX - 1; i >= 0; i--) {
		if (s->link_fd[i] >= 0) {
			bpf_link_detach(s->link_fd[i]);
			close(s->link_fd[i]);
			s->link_fd[i] = -1;
		}
		if (s->attached[i])
			steer_detach_legacy(s, i);
	}
	if (s->pin_dirfd >= 0) {
		unlink_pins(s->pin_dir, s->pin_dirfd);
		close(s->pin_dirfd);
		s->pin_dirfd = -1;
		/* Fails once root is given up: /sys/fs/bpf is root's.  An
		 * empty directory is harmless; the next attach or detach,
		 * which run as root, remove it. */
		rmdir(s->pin_dir);
	}
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	s->cgroup_fd = -1;
	alpnsteer_bpf__destroy(s->skel);
	s->skel = NULL;
}

void steer_remove_pins(const char *pin_dir)
{
	int dirfd;

	dirfd = open(pin_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return;
	unlink_pins(pin_dir, dirfd);
	close(dirfd);
	rmdir(pin_dir);
}

int steer_pinned_map(const char *pin_dir, const char *name)
{
	char p[PATH_MAX];
	int fd;

	pin_path(pin_dir, p, sizeof(p), name);
	fd = bpf_obj_get(p);
	return fd < 0 ? -errno : fd;
}

int steer_conns_count(int conns_fd)
{
	__u64 key, next;
	int n = 0, err;
	void *prev = NULL;

	/* A walk of the keys only: sockets are never removed from here. */
	while (!(err = bpf_map_get_next_key(conns_fd, prev, &next))) {
		key = next;
		prev = &key;
		if (++n >= ALPNSTEER_MAX_CONNS)
			break;
	}
	if (err && errno != ENOENT)
		return -errno;
	return n;
}

int steer_pinned_held(const char *pin_dir)
{
	int fd, n;

	fd = steer_pinned_map(pin_dir, PIN_CONNS);
	if (fd < 0)
		return 0;
	n = steer_conns_count(fd);
	close(fd);
	return n;
}

int steer_reap(int prog_fd)
{
	/* The program looks at no packet; test runs of tc programs want
	 * at least an Ethernet header's worth. */
	char pkt[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
		    .data_size_in = sizeof(pkt), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	return 0;
}

int steer_read_counters_fd(int fd, __u64 *out, int nr)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 i;
	int c, err = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < (__u32)nr; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals)) {
			err = -errno;
			break;
		}
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return err;
}

int steer_read_counters(const char *pin_dir, __u64 *out, int nr)
{
	int fd, err;

	fd = steer_pinned_map(pin_dir, PIN_COUNTERS);
	if (fd < 0)
		return fd;
	err = steer_read_counters_fd(fd, out, nr);
	close(fd);
	return err;
}
