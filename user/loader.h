/* SPDX-License-Identifier: GPL-2.0-only */
/* loader.h - load, attach, pin and remove the BPF side of alpnsteer. */
#ifndef ALPNSTEER_LOADER_H
#define ALPNSTEER_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"

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
};

enum steer_link {
	LINK_REPLY,
	LINK_VERDICT,
	LINK_REAP,
	LINK_SOCKOPS,
	LINK__MAX,
};

/* What a live attachment holds; the pins under ALPNSTEER_PIN_DIR mirror it
 * so that a later `alpnsteer detach` or `status` can find everything. */
struct steer {
	struct alpnsteer_bpf *skel;
	int cgroup_fd;
	int pin_dirfd; /* ALPNSTEER_PIN_DIR, for removal after privdrop */
	int link_fd[LINK__MAX];
	int tc_link_fd[ALPNSTEER_MAX_IFACES];
	/* No sockmap links in this kernel: the map programs are attached to
	 * their maps with bpf_prog_attach() instead (docs/design.md, "Kernel
	 * reach"); attached[] says which, for steer_destroy(). */
	bool legacy;
	bool attached[4];
};

enum steer_state {
	STEER_DETACHED,
	STEER_ATTACHED,
	STEER_DRAINING,
};

extern const char *const steer_link_names[LINK__MAX];
extern const char *const steer_map_names[];

int steer_ensure_bpffs(void);
int steer_load(struct steer *s, const struct steer_config *cfg);
int steer_attach_map_progs(struct steer *s);
int steer_attach_sockops(struct steer *s);
/* --preclassify: tcx ingress links, after sock_ops (tc reads the cookie
 * sock_ops gave the socket). */
int steer_attach_preclass(struct steer *s, const struct steer_config *cfg);
/* Undo whatever steer_load/attach did; for failures midway and for the
 * final removal once drained.  Safe to call more than once. */
void steer_destroy(struct steer *s);

/* Pins, for processes other than the daemon. */
enum steer_state steer_pinned_state(void);
int steer_pinned_map(const char *name);
int steer_set_draining(void);
int steer_remove_pins(void);
/* Legacy attach: the program attached to the pinned map that @which would
 * have linked to (0 when none), and whether the pins show that mode. */
__u32 steer_pinned_map_prog(enum steer_link which);
bool steer_pinned_legacy(void);

/* Sockets still held in the conns sockhash (map fd), or -errno. */
int steer_conns_count(int conns_fd);
/* Release the caught sockets that hold nothing (draining only): runs the
 * pinned reaper program @prog_fd (LINK_REAP) once over conns. */
int steer_reap(int prog_fd);
/* Sockets held in conns, through its pin (0 when there is none), or
 * -errno. */
int steer_pinned_held(void);
int steer_read_counters(__u64 *out, int nr);

#endif
