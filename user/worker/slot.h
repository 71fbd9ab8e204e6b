/* SPDX-License-Identifier: GPL-2.0-only */
/* slot.h - what one step on a slot socket says, for the worker's two
 * ways of serving it: the built-in responder and the --forward relay. */
#ifndef ALPNSTEER_SLOT_H
#define ALPNSTEER_SLOT_H

enum slot_step {
	SLOT_CONTINUE,
	SLOT_DONE, /* the handshake, or the upstream, is over */
	SLOT_CLIENT_GONE, /* writes to the client fail: it closed */
};

#endif
