/* SPDX-License-Identifier: GPL-2.0-only */
/* status.h - `alpnsteer status`. */
#ifndef ALPNSTEER_STATUS_H
#define ALPNSTEER_STATUS_H

int cmd_status(int argc, char **argv);

#endif
