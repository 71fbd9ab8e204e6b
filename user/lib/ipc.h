/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ipc.h - messages between the monitor and its TLS worker (one
 * SOCK_SEQPACKET socketpair; docs/design.md, "Privilege separation").
 *
 * Every message is one packet: a fixed header, then name, certificate,
 * key and text, each as long as the header says, nothing else.  The parse
 * is pure (no sockets), so the unit tests drive every rule.
 */
#ifndef ALPNSTEER_IPC_H
#define ALPNSTEER_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"

enum ipc_type {
	/* monitor -> worker */
	IPC_SLOT = 1, /* idx gen [arg=IPC_SLOT_FREE]; fds: slot socket
		       * [, upstream socket] */
	IPC_CANCEL, /* idx gen: the monitor took the slot back */
	IPC_CHAL_ADD, /* name (SNI), certificate DER, key DER */
	IPC_CHAL_DEL, /* name */
	IPC_SHUTDOWN,
	/* worker -> monitor */
	IPC_DONE, /* idx gen arg=result [name: the SNI answered] */
	IPC_LOG, /* arg=level, text */
	IPC__MAX,
};

/* A SLOT's arg: the slot is free, handed before any client was steered to
 * it, so that a hello goes to the worker without waiting for the monitor
 * (docs/design.md, "The messages").  Its socket alone: no upstream. */
#define IPC_SLOT_FREE 1

enum ipc_result {
	IPC_ANSWERED = 1, /* handshake complete, acme-tls/1 agreed */
	IPC_ENDED, /* refused, broken, or a relay over: nothing to count */
	IPC_GONE, /* the client vanished */
};

/* A DONE's arg: the result in the low bits; an IPC_ENDED handshake may
 * say which TLS alert ended it, sent or received (the validation trace
 * shows it), in the high byte. */
#define IPC_DONE_RESULT(arg) ((arg)&0x0f)
#define IPC_DONE_ALERT_SENT 0x10
#define IPC_DONE_ALERT_RECV 0x20
#define IPC_DONE_ALERT(arg) (((arg) >> 8) & 0xff)

enum ipc_level {
	IPC_INFO = 1,
	IPC_WARN,
};

struct ipc_hdr {
	__u16 type;
	__u16 arg;
	__u32 idx;
	__u32 gen;
	__u16 name_len; /* without a NUL */
	__u16 cert_len;
	__u16 key_len;
	__u16 text_len;
};

#define IPC_NAME_MAX (ALPNSTEER_NAME_MAX - 1)
#define IPC_DER_MAX 16384
#define IPC_TEXT_MAX 512
#define IPC_MAX_MSG \
	(sizeof(struct ipc_hdr) + IPC_NAME_MAX + 2 * IPC_DER_MAX + IPC_TEXT_MAX)
#define IPC_MAX_FDS 2

/* A parsed message: pointers into the buffer it came from. */
struct ipc_view {
	struct ipc_hdr h;
	char name[ALPNSTEER_NAME_MAX]; /* NUL-terminated copy */
	const unsigned char *cert, *key;
	const char *text;
};

/* Which end received it: each end accepts only the other's types. */
enum ipc_end {
	IPC_AT_WORKER,
	IPC_AT_MONITOR,
};

/* Check one received packet of @len bytes with @nfds descriptors: 0 and
 * @out filled, or -EPROTO (wrong size, type, lengths, characters, number
 * of descriptors).  @truncated: the kernel cut the packet or its control
 * data (MSG_TRUNC/MSG_CTRUNC), which is always refused. */
int ipc_parse(const void *buf, size_t len, int nfds, bool truncated,
	      enum ipc_end at, struct ipc_view *out);

enum ipc_verdict {
	IPC_ACCEPT, /* the slot is the worker's, this handing: act on it */
	IPC_LATE, /* this handing, taken back meanwhile (timeout, client
		   * gone) and not handed since: an answer still counts */
	IPC_STALE, /* an earlier handing: ignore */
	IPC_VIOLATION, /* never handed, or out of the pool: kill the worker */
};

/* A worker's DONE for slot @idx, handing @gen, against the monitor's view:
 * the pool has @size slots; the slot's last handing was @cur_gen and it is
 * still with the worker when @handed; @taken_gen is the handing last taken
 * back from the worker (0: none), whose answer may still be on its way
 * though the renewed slot was handed again at once (a free slot). */
enum ipc_verdict ipc_done_verdict(__u32 idx, __u32 gen, __u32 size,
				  __u32 cur_gen, bool handed, __u32 taken_gen);

/* Whom a DONE's handshake was with, for a slot handed free
 * (IPC_SLOT_FREE): the worker may answer before the ring buffer's record
 * of the steering is read. */
enum ipc_client {
	IPC_CLIENT_KNOWN, /* the ring buffer said */
	IPC_CLIENT_KERNEL, /* not (yet, or lost): the kernel's slot entry
			    * names the client it steered there */
	IPC_CLIENT_NONE, /* nobody was steered there: no byte can have
			  * reached the worker; its DONE is a violation */
};

/* @known: the monitor has the slot's steering event; @kernel_owner: the
 * slot's owner_cookie in the kernel (0: free). */
enum ipc_client ipc_done_client(bool known, __u64 kernel_owner);

/* Build a message into @buf (at least IPC_MAX_MSG bytes): its length, or
 * -E2BIG when a part is longer than its limit. */
int ipc_build(void *buf, const struct ipc_hdr *h, const char *name,
	      const void *cert, const void *key, const char *text);

/* One packet with up to IPC_MAX_FDS descriptors; -errno (-EAGAIN). */
int ipc_send(int fd, const void *buf, size_t len, const int *fds, int nfds,
	     bool wait);
/* One packet: its length, descriptors in @fds (*@nfds), *@truncated;
 * 0 at EOF, -errno (-EAGAIN). */
int ipc_recv(int fd, void *buf, size_t size, int *fds, int *nfds,
	     bool *truncated);

#endif
