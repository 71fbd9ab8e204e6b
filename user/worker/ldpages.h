/* SPDX-License-Identifier: GPL-2.0-only */
/* ldpages.h - the dynamic linker's tables out of the worker's RSS. */
#ifndef ALPNSTEER_LDPAGES_H
#define ALPNSTEER_LDPAGES_H

/* Drop this process's mappings of the pages only the dynamic linker read
 * (each object's first, read-only segment); called once set up. */
void ld_pages_release(void);

#endif
