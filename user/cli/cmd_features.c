// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_features.c - `alpnsteer features [-j]`: what the probes of
 * features.c found, for people and for scripts (docs/design.md, "Kernel
 * reach").
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "cmd.h"
#include "feat.h"
#include "json.h"
#include "log.h"

static const char *mark(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "?";
}

static const struct cmd_opt features_opts[] = {
	{ "json", 'j', CMD_ARG_NONE, NULL,
	  "JSON output (as -j before the command)", true },
	{},
};

static int do_features(int argc, char **argv)
{
	struct json_writer *jw;
	struct feat_report r;
	enum feat_id missing;
	struct utsname u;
	int *v = r.v, i, c;
	bool links;

	while ((c = cmd_getopt(argc, argv, &features_cmd)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		log_json = true;
	}
	if (!cmd_operands(argc, argv, &features_cmd, 0, 0))
		return EXIT_USAGE;
	if (geteuid() != 0) {
		p_err("features needs root: it loads small BPF programs to see what the kernel accepts");
		p_hint("run 'sudo alpnsteer features'");
		return EXIT_FAIL;
	}
	uname(&u);
	feat_report(&r);
	missing = r.missing;
	links = r.links;
	if (log_json) {
		jw = jw_new(stdout);
		jw_start_object(jw);
		jw_string_field(jw, "kernel", u.release);
		jw_bool_field(jw, "usable", missing == FEAT__MAX);
		jw_name(jw, "mode");
		if (missing == FEAT__MAX)
			jw_string(jw, links ? "links" : "legacy");
		else
			jw_null(jw);
		jw_name(jw, "missing");
		if (missing == FEAT__MAX)
			jw_null(jw);
		else
			jw_string(jw, feat_name(missing));
		jw_bool_field(jw, "preclassify",
			      missing == FEAT__MAX && v[FEAT_TCX] > 0);
		jw_string_field(jw, "release_guard",
				v[FEAT_PSOCK_MSG_TOT_LEN] > 0 ? "psock fields" :
								"fallback");
		jw_name(jw, "features");
		jw_start_object(jw);
		for (i = 0; i < FEAT__MAX; i++) {
			jw_name(jw, feat_name(i));
			if (v[i] < 0)
				jw_null(jw);
			else
				jw_bool(jw, v[i] > 0);
		}
		jw_end_object(jw);
		jw_end_object(jw);
		jw_destroy(jw);
	} else {
		if (missing == FEAT__MAX)
			printf("kernel %s: alpnsteer can run, %s\n", u.release,
			       links ? "map programs through bpf_links" :
				       "map programs attached to the maps (legacy attach: no sockmap links)");
		else
			printf("kernel %s: alpnsteer cannot run: no %s\n",
			       u.release, feat_what(missing));
		for (i = 0; i < FEAT__MAX; i++) {
			const char *note = "";

			if (i == FEAT_SOCKMAP_LINK && v[i] == 0)
				note = "  -> legacy attach (bpf_prog_attach)";
			else if (i == FEAT_TCX && v[i] == 0)
				note = "  -> no --preclassify";
			else if (i == FEAT_PSOCK_MSG_TOT_LEN && v[i] == 0)
				note = "  -> guard: ingress_msg list empty";
			printf("  %-3s %s%s%s\n", mark(v[i]), feat_what(i),
			       i < FEAT__REQUIRED ? " (required)" : "", note);
		}
	}
	if (missing != FEAT__MAX) {
		/* -j: the JSON said it; text: the line above did. */
		if (!log_json)
			p_hint("%s", feat_hint(missing));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct cmd features_cmd = {
	.name = "features",
	.func = do_features,
	.summary = "can this kernel run alpnsteer, and how",
	.desc = "Root only: probes the running kernel by trying each thing alpnsteer needs (a map, a two-instruction program, a link, a BTF field), never by its version, "
		"and says whether alpnsteer can run and how (bpf_links or the legacy attach, --preclassify or not), naming the first missing feature if not (exit 1).",
	.opts = features_opts,
};
