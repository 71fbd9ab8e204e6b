// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_detach.c - `alpnsteer detach [--holder NAME | --all] [--wait[=SECS]]`.
 *
 * One holder lets go; the last one's detach starts the drain, in which
 * validations in flight finish before the links, maps and pins go
 * (docs/design.md, "Holders and ttl").
 */
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "cmd.h"
#include "json.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "log.h"

static const struct cmd_opt detach_opts[] = {
	{ "holder", 'H', CMD_ARG_REQUIRED, "NAME",
	  "the holder that lets go (default \"" LC_DEFAULT_HOLDER "\")" },
	{ "all", 'a', CMD_ARG_NONE, NULL,
	  "every holder lets go: steering stops whoever attached" },
	{ "wait", 'w', CMD_ARG_OPTIONAL, "SECONDS",
	  "when steering stops, wait until the drain is over: at most SECONDS (no limit without them), exit 1 if they pass first" },
	{},
};

/* What a detach did, as text or (-j) one JSON object: "attached" says
 * whether steering is still on, "detached" whether everything is gone. */
static void print_detached(const struct lc_detach_result *r)
{
	struct json_writer *jw;
	bool attached = r->how == LC_DETACHED_NOT_HOLDER ||
			r->how == LC_DETACHED_LEFT ||
			r->how == LC_DETACHED_REATTACHED;

	if (log_json) {
		jw = jw_new(stdout);
		jw_start_object(jw);
		jw_bool_field(jw, "attached", attached);
		if (r->how == LC_DETACHED_DRAINING) {
			jw_uint_field(jw, "draining", r->draining);
		} else {
			jw_bool_field(jw, "detached",
				      r->how == LC_DETACHED_GONE);
		}
		/* Added: an attach took the attachment over while this
		 * detach waited for its drain. */
		if (r->how == LC_DETACHED_REATTACHED)
			jw_bool_field(jw, "reattached", true);
		jw_end_object(jw);
		jw_destroy(jw);
		return;
	}
	switch (r->how) {
	case LC_DETACHED_NONE:
		printf("alpnsteer is not attached\n");
		break;
	case LC_DETACHED_NOT_HOLDER:
		break; /* the warning said it */
	case LC_DETACHED_LEFT:
		printf("alpnsteer stays attached for its other holders: %s\n",
		       r->holders);
		break;
	case LC_DETACHED_DRAINING:
		printf("steering stopped; %d connections draining\n",
		       r->draining);
		break;
	case LC_DETACHED_GONE:
		printf("alpnsteer detached\n");
		break;
	case LC_DETACHED_REATTACHED:
		printf("alpnsteer was attached again while it drained\n");
		break;
	}
}

static int do_detach(int argc, char **argv)
{
	const char *holder = LC_DEFAULT_HOLDER;
	struct lc_detach_result res;
	int c, wait = -1;
	struct lc_paths p;
	bool all = false;

	while ((c = cmd_getopt(argc, argv, &detach_cmd)) != -1) {
		switch (c) {
		case 'H':
			if (!lc_holder_valid(optarg))
				return cmd_usage_error(
					&detach_cmd,
					"--holder '%s' is not a holder name",
					optarg);
			holder = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'w':
			if (cli_parse_wait(optarg, &wait))
				return cmd_usage_error(
					&detach_cmd,
					"--wait='%s' is not 0..86400 seconds",
					optarg);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (!cmd_operands(argc, argv, &detach_cmd, 0, 0))
		return EXIT_USAGE;
	lc_default_paths(&p);
	if (lc_detach(&p, holder, all, wait, &res))
		return EXIT_FAIL;
	if (res.how == LC_DETACHED_NOT_HOLDER)
		p_warn("holder '%s' does not hold the attachment (its holders: %s): steering stays on",
		       holder, res.holders);
	print_detached(&res);
	return EXIT_OK;
}

const struct cmd detach_cmd = {
	.name = "detach",
	.func = do_detach,
	.synopsis = "[--holder NAME | --all] [--wait[=SECONDS]]",
	.summary = "this holder lets go; the last one's detach stops steering",
	.desc = "When the last holder has let go (or with --all), steering stops at once, validations in flight finish, then the links, maps and pins go. "
		"Detaching with nothing attached says so and exits 0, and so does the detach of a holder that does not hold the attachment (a warning; steering stays on).",
	.opts = detach_opts,
};
