/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * feat.h - what this kernel offers alpnsteer, found by trying (creating a
 * map, loading a two-instruction program, asking for a link, looking a
 * field up in the kernel's BTF), never by reading its version.  (Not
 * features.h: with -Iuser that would hide glibc's <features.h>.)
 */
#ifndef ALPNSTEER_FEAT_H
#define ALPNSTEER_FEAT_H

#include <stdbool.h>

enum feat_id {
	/* required: without any of these alpnsteer cannot run */
	FEAT_BTF,
	FEAT_SOCKHASH,
	FEAT_QUEUE,
	FEAT_RINGBUF,
	FEAT_SOCK_OPS,
	FEAT_SK_SKB,
	FEAT_SK_MSG,
	FEAT_SKB_VERDICT,
	FEAT_FOR_EACH_MAP_ELEM,
	FEAT_BPF_LOOP,
	FEAT_SKC_TO_TCP_SOCK,
	FEAT_CGROUP_LINK,
	FEAT__REQUIRED,
	/* optional: each changes how alpnsteer runs, not whether */
	FEAT_SOCKMAP_LINK = FEAT__REQUIRED,
	FEAT_TCX,
	FEAT_PSOCK_MSG_TOT_LEN,
	FEAT__MAX,
};

/* 1: present, 0: absent, -errno: could not tell (not root?).  Probed once
 * per process, then remembered. */
int feat_probe(enum feat_id id);
const char *feat_name(enum feat_id id);

/* The first required feature that is missing, or FEAT__MAX; on a miss it
 * prints the one Error: naming it and a Hint:. */
enum feat_id feat_require(void);

/* Free the kernel's BTF the probes loaded (some 5 MiB parsed), once they
 * are done; a later probe loads it again. */
void feat_release(void);

const char *feat_what(enum feat_id id); /* for people: "BPF_MAP_TYPE_QUEUE" */
const char *feat_hint(enum feat_id id); /* required ones: what to do */

/* Every probe, and what they add up to. */
struct feat_report {
	int v[FEAT__MAX]; /* feat_probe() of each */
	enum feat_id missing; /* the first required one absent, or FEAT__MAX */
	bool links; /* sockmap links, else the legacy attach */
};
void feat_report(struct feat_report *r);

#endif
