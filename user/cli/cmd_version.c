// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_version.c - `alpnsteer version [-j]` (and -V, --version): what a bug
 * report needs, in one go.  alpnsteer's version is `git describe` when it
 * was built in a git checkout, else the VERSION file (a release tarball,
 * the Debian package); then the libraries it runs with (libbpf, OpenSSL,
 * libnl: the ones loaded, not the headers built against), the kernel and
 * what features.c found in it.
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <netlink/version.h>
#include <openssl/crypto.h>

#include "cmd.h"
#include "feat.h"
#include "json.h"
#include "log.h"
#include "version.h"

static const struct cmd_opt version_opts[] = {
	{ "json", 'j', CMD_ARG_NONE, NULL,
	  "JSON output (as -j before the command)", true },
	{},
};

static void print_json(const struct utsname *u, const struct feat_report *r,
		       bool probed)
{
	struct json_writer *jw = jw_new(stdout);
	bool usable = r->missing == FEAT__MAX;
	char buf[32];

	jw_start_object(jw);
	jw_string_field(jw, "alpnsteer", ALPNSTEER_VERSION);
	snprintf(buf, sizeof(buf), "%u.%u", libbpf_major_version(),
		 libbpf_minor_version());
	jw_string_field(jw, "libbpf", buf);
	jw_string_field(jw, "openssl", OpenSSL_version(OPENSSL_VERSION));
	snprintf(buf, sizeof(buf), "%d.%d.%d", nl_ver_maj, nl_ver_min,
		 nl_ver_mic);
	jw_string_field(jw, "libnl", buf);
	jw_name(jw, "kernel");
	jw_start_object(jw);
	jw_string_field(jw, "sysname", u->sysname);
	jw_string_field(jw, "release", u->release);
	jw_string_field(jw, "version", u->version);
	jw_string_field(jw, "machine", u->machine);
	jw_end_object(jw);
	/* The keys are there without root too, null: not probed. */
	jw_name(jw, "features");
	jw_start_object(jw);
	jw_bool_field(jw, "probed", probed);
	jw_name(jw, "usable");
	if (probed)
		jw_bool(jw, usable);
	else
		jw_null(jw);
	jw_name(jw, "mode");
	if (probed && usable)
		jw_string(jw, r->links ? "links" : "legacy");
	else
		jw_null(jw);
	jw_name(jw, "missing");
	if (probed && !usable)
		jw_string(jw, feat_name(r->missing));
	else
		jw_null(jw);
	jw_name(jw, "preclassify");
	if (probed)
		jw_bool(jw, usable && r->v[FEAT_TCX] > 0);
	else
		jw_null(jw);
	jw_end_object(jw);
	jw_end_object(jw);
	jw_destroy(jw);
}

static int do_version(int argc, char **argv)
{
	struct feat_report r = { .missing = FEAT__MAX };
	bool probed = geteuid() == 0;
	struct utsname u;
	int c;

	while ((c = cmd_getopt(argc, argv, &version_cmd)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		log_json = true;
	}
	if (!cmd_operands(argc, argv, &version_cmd, 0, 0))
		return EXIT_USAGE;
	uname(&u);
	/* The probes load programs: root only, and then quietly. */
	if (probed)
		feat_report(&r);
	if (log_json) {
		print_json(&u, &r, probed);
		return EXIT_OK;
	}
	printf("alpnsteer %s\n", ALPNSTEER_VERSION);
	printf("libbpf %u.%u\n", libbpf_major_version(),
	       libbpf_minor_version());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libnl %d.%d.%d\n", nl_ver_maj, nl_ver_min, nl_ver_mic);
	printf("kernel %s %s %s %s\n", u.sysname, u.release, u.version,
	       u.machine);
	if (!probed)
		printf("features: not probed (root only; 'sudo alpnsteer features')\n");
	else if (r.missing != FEAT__MAX)
		printf("features: alpnsteer cannot run: no %s\n",
		       feat_what(r.missing));
	else
		printf("features: alpnsteer can run, %s attach, %s--preclassify\n",
		       r.links ? "bpf_link" : "legacy",
		       r.v[FEAT_TCX] > 0 ? "" : "no ");
	return EXIT_OK;
}

const struct cmd version_cmd = {
	.name = "version",
	.func = do_version,
	.summary =
		"versions of alpnsteer, libbpf, OpenSSL, libnl and the kernel, and the kernel's features",
	.desc = "The kernel features are probed as 'alpnsteer features' does, which needs root; without it they are left out (null in the JSON).",
	.opts = version_opts,
};
