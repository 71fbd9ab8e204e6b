/* SPDX-License-Identifier: GPL-2.0-only */
/* ldpages.h - the dynamic linker's tables out of the worker's RSS. */
#ifndef ALPNSTEER_LDPAGES_H
#define ALPNSTEER_LDPAGES_H

/* Drop this process's mappings of the pages only the dynamic linker read
 * (each object's first, read-only segment); called once set up. */
void ld_pages_release(void);
/* The same for the code and read-only data of the object whose file name
 * starts with @object ("libseccomp.so"), used only to set up. */
void ld_object_release(const char *object);

#endif
