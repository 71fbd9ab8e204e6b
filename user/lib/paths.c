// SPDX-License-Identifier: GPL-2.0-only
/* paths.c - the run and pin directories (paths.h). */
#include <stdio.h>

#include "paths.h"

void lc_default_paths(struct lc_paths *p)
{
	snprintf(p->pin_dir, sizeof(p->pin_dir), "%s", ALPNSTEER_PIN_DIR);
	snprintf(p->run_dir, sizeof(p->run_dir), "%s", ALPNSTEER_RUN_DIR);
	p->owner = 0;
}

static const char *join(const char *dir, const char *name, char *buf,
			size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

const char *lc_run_path(const struct lc_paths *p, const char *name, char *buf,
			size_t len)
{
	return join(p->run_dir, name, buf, len);
}

const char *lc_pin_path(const struct lc_paths *p, const char *name, char *buf,
			size_t len)
{
	return join(p->pin_dir, name, buf, len);
}
