/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd.h - the command table: alpnsteer's grammar, in one place.
 *
 * Every verb is a struct cmd (bpftool's { name, do_<verb> } shape) that
 * also carries what the help needs: the synopsis, a summary, a paragraph
 * and the options.  The options are parsed from the same table
 * (cmd_getopt), so the help, the man page and the bash completion, which
 * are generated from it (cmd_usage, cmd_doc_man, cmd_doc_bash), cannot
 * name an option the parser does not know, nor miss one it does.
 *
 * Adding a verb: one file user/cmd_VERB.c defining `const struct cmd
 * VERB_cmd` and its do_VERB(), one line X(VERB) in ALPNSTEER_CMDS below,
 * then `make docs` to regenerate man/alpnsteer.8 and
 * completion/alpnsteer.bash (make test fails until they match the table).
 */
#ifndef ALPNSTEER_CMD_H
#define ALPNSTEER_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes, the same for every verb. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1, /* it was tried, and it failed */
	EXIT_USAGE =
		2, /* not tried: unknown option, missing/extra/bad argument */
};

enum cmd_arg {
	CMD_ARG_NONE,
	CMD_ARG_REQUIRED, /* --opt VALUE or --opt=VALUE */
	CMD_ARG_OPTIONAL, /* --opt or --opt=VALUE */
};

struct cmd_opt {
	const char *name; /* long name, without the dashes */
	int val; /* what cmd_getopt() returns for it */
	enum cmd_arg has_arg;
	const char *arg; /* the value's name in the help: "N", "DIR" */
	const char *help; /* one sentence, wrapped by the printers */
	bool short_too; /* val is also a short option (-j) */
};

struct cmd {
	const char *name;
	/* argv[0] is the verb (or sub-verb) itself; returns an EXIT_* code.
	 * NULL for a verb made of sub-verbs only. */
	int (*func)(int argc, char **argv);
	/* What follows the name in the synopsis; NULL: made from the
	 * options ("[OPTIONS]" beyond four) and args. */
	const char *synopsis;
	const char *args; /* positional arguments: "IDENT" */
	const char *summary; /* one line, for the command list */
	const char *desc; /* a paragraph, for -h and the man page */
	const struct cmd_opt *opts; /* ends with { NULL } */
	const struct cmd *const *subs; /* ends with NULL */
};

/* The table (user/cli/cmds.c) and the options before the command. */
extern const struct cmd *const cmds[];
extern const struct cmd_opt global_opts[];

/*
 * The verbs, in the order the help lists them: X(VERB) stands for
 * `const struct cmd VERB_cmd`, defined in user/cmd_VERB.c (help's in
 * cmds.c).  cmds[] is made from this list.
 */
#define ALPNSTEER_CMDS(X) \
	X(attach)         \
	X(run)            \
	X(detach)         \
	X(status)         \
	X(challenge)      \
	X(check)          \
	X(agent)          \
	X(features)       \
	X(version)        \
	X(help)

#define CMD_DECLARE(verb) extern const struct cmd verb##_cmd;
ALPNSTEER_CMDS(CMD_DECLARE)
#undef CMD_DECLARE

/* Returned by cmd_getopt() for an unknown option or a missing value, after
 * the one Error: line and its Hint:; the verb returns EXIT_USAGE. */
#define CMD_BAD_OPT '?'

/*
 * getopt_long over @c's options (permuting, as GNU does); argv[0] is the
 * verb.  Returns an option's val, -1 at the end (optind then indexes the
 * first operand), or CMD_BAD_OPT.
 */
int cmd_getopt(int argc, char **argv, const struct cmd *c);
/* After cmd_getopt(): exactly @min..@max operands left, else an Error:
 * and false. */
bool cmd_operands(int argc, char **argv, const struct cmd *c, int min, int max);
/* An Error: naming the argument, a Hint: pointing at -h; EXIT_USAGE. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Find the command for "challenge add ...": @argv[0] names a verb of
 * @table; sub-verbs are followed while they match.  *@depth gets how many
 * words were names.  NULL if argv[0] names no verb. */
const struct cmd *cmd_find(const struct cmd *const *table, int argc,
			   char **argv, int *depth);
/* Run argv[0] of @table: -h/--help anywhere prints the help of the
 * deepest (sub-)verb named; a verb of sub-verbs wants one. */
int cmd_dispatch(const struct cmd *const *table, int argc, char **argv);

/* "alpnsteer challenge add": the path of names to @c, or NULL. */
const char *cmd_path(const struct cmd *c, char *buf, size_t len);
/* The help of one verb (NULL: of alpnsteer). */
void cmd_usage(FILE *f, const struct cmd *c);

/* The generated documents: roff from the template @tmpl (its @SYNOPSIS@,
 * @COMMANDS@ and @GLOBAL_OPTIONS@ lines replaced), and a bash completion
 * script.  0 or -errno. */
int cmd_doc_man(FILE *f, const char *tmpl);
int cmd_doc_bash(FILE *f);

#endif
