/* SPDX-License-Identifier: GPL-2.0-only */
/* alpndir.h - dehydrated's --alpn directory as a source of challenges. */
#ifndef ALPNSTEER_ALPNDIR_H
#define ALPNSTEER_ALPNDIR_H

#include "challenges.h"

/* inotify fd watching @dir, or -errno. */
int alpndir_watch(const char *dir);
/* Drain the inotify fd and make the SRC_DIR challenges match the files
 * (NAME.crt.pem + NAME.key.pem); returns how many changed. */
int alpndir_rescan(const char *dir, int ifd, struct challenges *cs);

#endif
