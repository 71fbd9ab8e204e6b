// SPDX-License-Identifier: GPL-2.0-only
/*
 * ldpages.c - the dynamic linker's tables out of the worker's RSS once it
 * is set up (docs/design.md, "What it costs").
 *
 * Each shared object's first segment holds what the dynamic linker reads
 * to bind it: its symbol, string and hash tables and its relocations
 * (787 KiB in libcrypto alone).  libcrypto and libssl are bound at load
 * (BIND_NOW), so once the worker is set up nothing reads most of those
 * pages again, yet every page the linker touched stayed in its RSS: half
 * a MiB, for a process exec'd afresh (the monitor, forked, never mapped
 * its parent's).  They are dropped with MADV_DONTNEED.  Only a segment
 * that is neither writable nor executable and all file (p_filesz ==
 * p_memsz): nothing in it was ever written, so a page read again after
 * this (a lazy binding of our own image) is the file's, as before; the
 * relocated data (RELRO) is in the writable segment, never here.
 *
 * A library used only to set a process up goes whole, code included:
 * libseccomp once the filter is loaded (both processes), libelf once the
 * programs are (the monitor: libbpf reads the object with it).  Should
 * one be called again, its pages come back from the file.
 */
#include <link.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ldpages.h"

struct release {
	unsigned long pg;
	const char *object; /* NULL: every object's first segment */
};

static int release_one(struct dl_phdr_info *info, size_t size, void *data)
{
	const struct release *r = data;
	unsigned long lo, hi, pg = r->pg;
	const char *base = strrchr(info->dlpi_name, '/');
	int i;

	(void)size;
	base = base ? base + 1 : info->dlpi_name;
	if (r->object && strncmp(base, r->object, strlen(r->object)))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		/* Never a writable segment (RELRO, data, bss).  Of every
		 * object, the first segment only: the one at file offset 0,
		 * with the ELF header and the dynamic linker's tables; of an
		 * object named, its code and read-only data too. */
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) ||
		    ph->p_filesz != ph->p_memsz ||
		    (!r->object && (ph->p_offset || (ph->p_flags & PF_X))))
			continue;
		lo = (info->dlpi_addr + ph->p_vaddr + pg - 1) & ~(pg - 1);
		hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(pg - 1);
		if (hi > lo)
			madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	return 0;
}

void ld_pages_release(void)
{
	struct release r = { .pg = (unsigned long)sysconf(_SC_PAGESIZE) };

	dl_iterate_phdr(release_one, &r);
}

void ld_object_release(const char *object)
{
	struct release r = { .pg = (unsigned long)sysconf(_SC_PAGESIZE),
			     .object = object };

	dl_iterate_phdr(release_one, &r);
}
