/* SPDX-License-Identifier: GPL-2.0-only */
/* check.h - `alpnsteer check`: validate like a CA would. */
#ifndef ALPNSTEER_CHECK_H
#define ALPNSTEER_CHECK_H

int cmd_check(int argc, char **argv);

#endif
