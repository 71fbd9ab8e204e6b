/* SPDX-License-Identifier: GPL-2.0-only */
/* loader.h - load, attach, pin and remove the BPF side of alpnsteer. */
#ifndef ALPNSTEER_LOADER_H
#define ALPNSTEER_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"
#include "paths.h"

struct alpnsteer_bpf;

struct steer_config {
	__u32 ports[ALPNSTEER_MAX_PORTS];
	__u32 nr_ports;
	__u32 pool_size;
	__u64 netns_cookie;
	char cgroup[PATH_MAX];
	/* --preclassify: tc ingress on these interfaces (0: off) */
	int preclass_ifindex[ALPNSTEER_MAX_IFACES];
	__u32 nr_preclass;
	/* --proxy-protocol: ports whose connections start with a PROXY
	 * header (each one also in ports[]) */
	__u32 proxy_ports[ALPNSTEER_MAX_PORTS];
	__u32 nr_proxy_ports;
	struct alpnsteer_cidr proxy_from[ALPNSTEER_MAX_PROXY_FROM];
	__u32 nr_proxy_from;
};

enum steer_link {
	LINK_REPLY,
	LINK_VERDICT,
	LINK_REAP,
	LINK_SOCKOPS,
	LINK__MAX,
};

/* What a live attachment holds; the pins in pin_dir mirror it so that a
 * later `alpnsteer detach` or `status` can find everything. */
struct steer {
	struct alpnsteer_bpf *skel;
	int cgroup_fd;
	char pin_dir[PATH_MAX]; /* struct lc_paths' (paths.h) */
	int pin_dirfd; /* pin_dir, for removal after privdrop */
	int link_fd[LINK__MAX];
	int tc_link_fd[ALPNSTEER_MAX_IFACES];
	/* No sockmap links in this kernel: the map programs are attached to
	 * their maps with bpf_prog_attach() instead (docs/design.md, "Kernel
	 * reach"); attached[] says which, for steer_destroy(). */
	bool legacy;
	bool attached[4];
};

extern const char *const steer_link_names[LINK__MAX];
extern const char *const steer_map_names[];

int steer_ensure_bpffs(void);
/* The Hint after an Error about pinning in /sys/fs/bpf (@err: -errno). */
void steer_pin_hint(int err);
int steer_load(struct steer *s, const struct steer_config *cfg,
	       const char *pin_dir);
/* The programs' ELF image in this binary (the skeleton's), read by the
 * load and never again: its pages leave the process's RSS (the file
 * keeps them). */
void steer_release_image(void);
int steer_attach_map_progs(struct steer *s);
int steer_attach_sockops(struct steer *s);
/* --preclassify: tcx ingress links, after sock_ops (tc reads the cookie
 * sock_ops gave the socket). */
int steer_attach_preclass(struct steer *s, const struct steer_config *cfg);
/* Undo whatever steer_load/attach did; for failures midway and for the
 * final removal once drained.  Safe to call more than once. */
void steer_destroy(struct steer *s);

/* The pins in @pin_dir, for processes other than the daemon. */
int steer_pinned_map(const char *pin_dir, const char *name);
/* Detach the links through their pins (the legacy map programs through
 * the maps) and unlink every pin, the directory last: the one removal of
 * an attachment, whoever's it was (root). */
void steer_remove_pins(const char *pin_dir);
/* Legacy attach: the program attached to the pinned map that @which would
 * have linked to (0 when none), and whether the pins show that mode. */
__u32 steer_pinned_map_prog(const char *pin_dir, enum steer_link which);
bool steer_pinned_legacy(const char *pin_dir);

/* Sockets still held in the conns sockhash (map fd), or -errno. */
int steer_conns_count(int conns_fd);
/* Release the caught sockets that hold nothing (draining only): runs the
 * pinned reaper program @prog_fd (LINK_REAP) once over conns. */
int steer_reap(int prog_fd);
/* Sockets held in conns, through its pin (0 when there is none), or
 * -errno. */
int steer_pinned_held(const char *pin_dir);
int steer_read_counters(const char *pin_dir, __u64 *out, int nr);
/* The same from the counters map's descriptor (the monitor's). */
int steer_read_counters_fd(int fd, __u64 *out, int nr);

#endif
