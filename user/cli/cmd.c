// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd.c - parsing, dispatch and help from the command table (cmd.h).
 *
 * bpftool's shape: a table of { name, do_<verb> } walked by the words of
 * the command line.  What bpftool keeps in hand-written do_help()
 * functions is data here, so that `alpnsteer VERB -h`, alpnsteer(8) and
 * the bash completion are printed from what the parser accepts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

#define MAX_OPTS 40
#define HELP_COL 26 /* where the help of an option starts */
#define WIDTH 79

static const struct cmd_opt help_opt = {
	"help", 'h', CMD_ARG_NONE, NULL, "print this help and exit", true
};

static int nr_opts(const struct cmd_opt *o)
{
	int n = 0;

	while (o && o[n].name)
		n++;
	return n;
}

static bool is_help(const char *s)
{
	return !strcmp(s, "-h") || !strcmp(s, "--help");
}

int cmd_getopt(int argc, char **argv, const struct cmd *c)
{
	struct option lo[MAX_OPTS + 1] = {};
	char so[2 * MAX_OPTS + 2] = ":", *p = so + 1;
	int i, n = nr_opts(c->opts), r;

	for (i = 0; i < n && i < MAX_OPTS; i++) {
		lo[i].name = c->opts[i].name;
		lo[i].has_arg = c->opts[i].has_arg == CMD_ARG_REQUIRED ?
					required_argument :
				c->opts[i].has_arg == CMD_ARG_OPTIONAL ?
					optional_argument :
					no_argument;
		lo[i].val = c->opts[i].val;
		if (c->opts[i].short_too) {
			*p++ = c->opts[i].val;
			if (c->opts[i].has_arg == CMD_ARG_REQUIRED)
				*p++ = ':';
		}
	}
	*p = '\0';
	opterr = 0;
	r = getopt_long(argc, argv, so, lo, NULL);
	if (r == '?') {
		cmd_usage_error(c, "unknown option '%s'", argv[optind - 1]);
		return CMD_BAD_OPT;
	}
	if (r == ':') {
		cmd_usage_error(c, "option '%s' needs a value",
				argv[optind - 1]);
		return CMD_BAD_OPT;
	}
	return r;
}

bool cmd_operands(int argc, char **argv, const struct cmd *c, int min, int max)
{
	int n = argc - optind;

	if (n > max) {
		cmd_usage_error(c, "unexpected argument '%s'",
				argv[optind + max]);
		return false;
	}
	if (n < min) {
		cmd_usage_error(c, "missing %s",
				c->args ? c->args : "argument");
		return false;
	}
	return true;
}

static const char *cmd_path_in(const struct cmd *const *t, const struct cmd *c,
			       char *buf, size_t len, size_t at)
{
	int i;

	for (i = 0; t && t[i]; i++) {
		snprintf(buf + at, len - at, " %s", t[i]->name);
		if (t[i] == c)
			return buf;
		if (cmd_path_in(t[i]->subs, c, buf, len,
				at + strlen(t[i]->name) + 1))
			return buf;
	}
	buf[at] = '\0';
	return NULL;
}

const char *cmd_path(const struct cmd *c, char *buf, size_t len)
{
	snprintf(buf, len, "alpnsteer");
	if (!c)
		return buf;
	return cmd_path_in(cmds, c, buf, len, strlen(buf));
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	char msg[400], path[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cmd_path(c, path, sizeof(path));
	p_err("%s: %s", path, msg);
	p_hint("see '%s -h'", path);
	return EXIT_USAGE;
}

const struct cmd *cmd_find(const struct cmd *const *table, int argc,
			   char **argv, int *depth)
{
	const struct cmd *c = NULL;
	int i, d = 0;

	while (d < argc && table) {
		for (i = 0; table[i]; i++)
			if (!strcmp(table[i]->name, argv[d]))
				break;
		if (!table[i])
			break;
		c = table[i];
		table = c->subs;
		d++;
	}
	*depth = d;
	return c;
}

int cmd_dispatch(const struct cmd *const *table, int argc, char **argv)
{
	const struct cmd *c;
	int i, depth;

	c = cmd_find(table, argc, argv, &depth);
	if (!c) {
		p_err("unknown command '%s'", argv[0]);
		p_hint("see 'alpnsteer help'");
		return EXIT_USAGE;
	}
	for (i = depth; i < argc; i++) {
		if (is_help(argv[i])) {
			cmd_usage(stdout, c);
			return EXIT_OK;
		}
	}
	if (!c->func) {
		if (depth < argc)
			return cmd_usage_error(c, "unknown command '%s'",
					       argv[depth]);
		return cmd_usage_error(c, "a command is needed");
	}
	argc -= depth - 1;
	argv += depth - 1;
	optind = 0; /* 0, not 1: glibc then forgets any previous scan */
	return c->func(argc, argv);
}

/* Text from @col on, wrapped at WIDTH with following lines at @indent. */
static void wrap(FILE *f, const char *s, int col, int indent)
{
	while (*s) {
		int room = WIDTH - col, n = 0, last = -1;

		while (s[n] && (n < room || last < 0)) {
			if (s[n] == ' ')
				last = n;
			n++;
		}
		if (!s[n])
			last = n;
		fprintf(f, "%.*s\n", last, s);
		s += last;
		while (*s == ' ')
			s++;
		if (*s)
			fprintf(f, "%*s", indent, "");
		col = indent;
	}
}

/* A summary as a sentence: capital first, full stop last. */
static void sentence(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	snprintf(buf, len, "%c%s%s",
		 s[0] >= 'a' && s[0] <= 'z' ? s[0] - 32 : s[0], s + 1,
		 n && s[n - 1] != '.' ? "." : "");
}

/* One "  NAME   help" row of a list. */
static void row(FILE *f, const char *name, const char *help)
{
	int n = fprintf(f, "  %s", name);

	if (n >= HELP_COL - 1) {
		fprintf(f, "\n%*s", HELP_COL, "");
	} else {
		fprintf(f, "%*s", HELP_COL - n, "");
	}
	wrap(f, help, HELP_COL, HELP_COL);
}

static void opt_words(const struct cmd_opt *o, char *buf, size_t len)
{
	int n = 0;

	if (o->short_too)
		n = snprintf(buf, len, "-%c, ", o->val);
	if (o->has_arg == CMD_ARG_REQUIRED)
		snprintf(buf + n, len - n, "--%s %s", o->name, o->arg);
	else if (o->has_arg == CMD_ARG_OPTIONAL)
		snprintf(buf + n, len - n, "--%s[=%s]", o->name, o->arg);
	else
		snprintf(buf + n, len - n, "--%s", o->name);
}

/* What follows the name: given, or made from the options and args. */
static void synopsis(const struct cmd *c, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	if (c->synopsis) {
		snprintf(buf, len, "%s", c->synopsis);
		return;
	}
	if (c->subs && !c->func) {
		for (i = 0; c->subs[i]; i++)
			n += snprintf(buf + n, len - n, "%s%s", i ? "|" : "{",
				      c->subs[i]->name);
		snprintf(buf + n, len - n, "} ...");
		return;
	}
	if (c->args)
		n += snprintf(buf + n, len - n, " %s", c->args);
	if (nr_opts(c->opts) > 4) {
		n += snprintf(buf + n, len - n, " [OPTIONS]");
	} else {
		for (i = 0; c->opts && c->opts[i].name && n < len; i++) {
			const struct cmd_opt *o = &c->opts[i];

			if (o->short_too && o->has_arg == CMD_ARG_NONE)
				n += snprintf(buf + n, len - n, " [-%c]",
					      o->val);
			else if (o->has_arg == CMD_ARG_REQUIRED)
				n += snprintf(buf + n, len - n, " [--%s %s]",
					      o->name, o->arg);
			else if (o->has_arg == CMD_ARG_OPTIONAL)
				n += snprintf(buf + n, len - n, " [--%s[=%s]]",
					      o->name, o->arg);
			else
				n += snprintf(buf + n, len - n, " [--%s]",
					      o->name);
		}
	}
	/* without the leading blank */
	memmove(buf, buf + (buf[0] == ' '), strlen(buf) + 1);
}

/* "attach [OPTIONS]", "challenge add IDENT KEYAUTH ..." */
static void name_synopsis(const struct cmd *c, const char *prefix, char *buf,
			  size_t len)
{
	char syn[256];

	synopsis(c, syn, sizeof(syn));
	snprintf(buf, len, "%s%s%s%s", prefix, c->name, syn[0] ? " " : "", syn);
}

static void list_cmds(FILE *f, const struct cmd *const *t, const char *prefix)
{
	char line[512], sub[128];
	int i;

	for (i = 0; t[i]; i++) {
		/* A verb that runs by itself too (agent) comes first. */
		if (!t[i]->subs || t[i]->func) {
			name_synopsis(t[i], prefix, line, sizeof(line));
			row(f, line, t[i]->summary);
		}
		if (t[i]->subs) {
			snprintf(sub, sizeof(sub), "%s%s ", prefix, t[i]->name);
			list_cmds(f, t[i]->subs, sub);
		}
	}
}

static void list_opts(FILE *f, const struct cmd_opt *o)
{
	char words[128];

	for (; o && o->name; o++) {
		opt_words(o, words, sizeof(words));
		row(f, words, o->help);
	}
	opt_words(&help_opt, words, sizeof(words));
	row(f, words, help_opt.help);
}

void cmd_usage(FILE *f, const struct cmd *c)
{
	char path[128], line[512];

	if (!c) {
		fprintf(f, "Usage: alpnsteer [-j] [-v|-d] COMMAND [ARGS]\n"
			   "       alpnsteer {-h|--help|-V|--version}\n\n"
			   "Commands:\n");
		list_cmds(f, cmds, "");
		fprintf(f, "\nGlobal options:\n");
		list_opts(f, global_opts);
		fprintf(f,
			"\n'alpnsteer help COMMAND' or 'alpnsteer COMMAND -h' shows a command's options.\n");
		return;
	}
	cmd_path(c, path, sizeof(path));
	synopsis(c, line, sizeof(line));
	fprintf(f, "Usage: %s%s%s\n\n", path, line[0] ? " " : "", line);
	sentence(c->summary, line, sizeof(line));
	wrap(f, line, 0, 0);
	if (c->desc) {
		fputc('\n', f);
		wrap(f, c->desc, 0, 0);
	}
	if (c->subs) {
		fprintf(f, "\nCommands:\n");
		list_cmds(f, c->subs, "");
		fprintf(f, "\n'%s COMMAND -h' shows one command's options.\n",
			path);
		if (!c->func)
			return;
	}
	fprintf(f, "\nOptions:\n");
	list_opts(f, c->opts);
}

/* --- alpnsteer(8) ---------------------------------------------------- */

/* @s as roff text: a dash that starts a word or follows a dash is a minus
 * (so that options can be copied from the page), a backslash is \e. */
static void roff(FILE *f, const char *s)
{
	const char *p;

	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (p = s; *p; p++) {
		if (*p == '\\')
			fputs("\\e", f);
		else if (*p == '-' && (p == s || p[-1] == ' ' || p[-1] == '-' ||
				       p[-1] == '[' || p[-1] == '|' ||
				       p[-1] == '{' || p[-1] == '('))
			fputs("\\-", f);
		else
			fputc(*p, f);
	}
}

/* A synopsis: options bold, WORDS in capitals italic. */
static void roff_syn(FILE *f, const char *s)
{
	const char *p = s;
	int depth = 0; /* inside [...] or {...}: no line break */

	while (*p) {
		size_t n;

		if (*p == '[' || *p == '{')
			depth++;
		else if ((*p == ']' || *p == '}') && depth)
			depth--;
		if (*p == ' ' && depth) {
			fputs("\\ ", f);
			p++;
			continue;
		}

		if (*p == '-' && (p == s || strchr(" [|{", p[-1]))) {
			n = strcspn(p, " []|{}=");
			fputs("\\fB", f);
			for (; n; n--, p++)
				fputs(*p == '-' ? "\\-" : (char[]){ *p, 0 }, f);
			fputs("\\fR", f);
		} else if (*p >= 'A' && *p <= 'Z') {
			n = strspn(p,
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-");
			fprintf(f, "\\fI%.*s\\fR", (int)n, p);
			p += n;
		} else {
			fputc(*p++, f);
		}
	}
}

static void man_opt(FILE *f, const struct cmd_opt *o)
{
	fputs(".TP\n", f);
	if (o->short_too)
		fprintf(f, "\\fB\\-%c\\fR, ", o->val);
	fputs("\\fB\\-\\-", f);
	roff(f, o->name);
	fputs("\\fR", f);
	if (o->has_arg == CMD_ARG_REQUIRED)
		fprintf(f, " \\fI%s\\fR", o->arg);
	else if (o->has_arg == CMD_ARG_OPTIONAL)
		fprintf(f, "[=\\fI%s\\fR]", o->arg);
	fputc('\n', f);
	roff(f, o->help);
	fputc('\n', f);
}

static void man_synopsis(FILE *f, const struct cmd *const *t,
			 const char *prefix)
{
	char line[512], sub[128];
	int i;

	for (i = 0; t[i]; i++) {
		if (t[i]->subs) {
			snprintf(sub, sizeof(sub), "%s%s ", prefix, t[i]->name);
			man_synopsis(f, t[i]->subs, sub);
			if (!t[i]->func)
				continue;
		}
		/* a long line goes on 10 columns in (the .in and .ti of
		 * cmd_doc_man) */
		synopsis(t[i], line, sizeof(line));
		fprintf(f,
			".ti -10n\n\\fBalpnsteer\\fR [\\fIGLOBAL-OPTIONS\\fR] \\fB%s%s\\fR%s",
			prefix, t[i]->name, line[0] ? " " : "");
		roff_syn(f, line);
		fputs("\n.br\n", f);
	}
}

static void man_commands(FILE *f, const struct cmd *const *t,
			 const char *prefix)
{
	char line[512], sub[128];
	int i, j;

	for (i = 0; t[i]; i++) {
		const struct cmd *c = t[i];
		const struct cmd_opt *o;

		synopsis(c, line, sizeof(line));
		fprintf(f, ".SS \"\\fB%s%s\\fR%s", prefix, c->name,
			line[0] ? " " : "");
		roff_syn(f, line);
		fputs("\"\n", f);
		sentence(c->summary, line, sizeof(line));
		roff(f, line);
		fputc('\n', f);
		if (c->desc) {
			fputs(".PP\n", f);
			roff(f, c->desc);
			fputc('\n', f);
		}
		if (c->subs && !c->func) {
			snprintf(sub, sizeof(sub), "%s%s ", prefix, c->name);
			man_commands(f, c->subs, sub);
			continue;
		}
		if (c->subs) {
			/* its own options first, then its sub-verbs */
			for (o = c->opts; o && o->name; o++)
				man_opt(f, o);
			snprintf(sub, sizeof(sub), "%s%s ", prefix, c->name);
			man_commands(f, c->subs, sub);
			continue;
		}
		if (!nr_opts(c->opts))
			continue;
		/* run: "the options of attach", not all of them again */
		for (j = 0; j < i && t[j]->opts != c->opts; j++)
			;
		if (j < i) {
			fprintf(f,
				".PP\nIt takes the options of \\fB%s%s\\fR.\n",
				prefix, t[j]->name);
			continue;
		}
		for (o = c->opts; o->name; o++)
			man_opt(f, o);
	}
}

int cmd_doc_man(FILE *f, const char *tmpl)
{
	char line[1024];
	const struct cmd_opt *o;
	FILE *t = fopen(tmpl, "r");

	if (!t)
		return -errno;
	while (fgets(line, sizeof(line), t)) {
		if (!strcmp(line, "@SYNOPSIS@\n")) {
			/* no hyphenation, ragged right, hanging indent */
			fputs(".nh\n.ad l\n.in +10n\n", f);
			man_synopsis(f, cmds, "");
			fputs(".ti -10n\n\\fBalpnsteer\\fR {\\fB\\-h\\fR|\\fB\\-\\-help\\fR|\\fB\\-V\\fR|\\fB\\-\\-version\\fR}\n"
			      ".in\n.ad\n.hy\n",
			      f);
		} else if (!strcmp(line, "@COMMANDS@\n")) {
			man_commands(f, cmds, "");
		} else if (!strcmp(line, "@GLOBAL_OPTIONS@\n")) {
			for (o = global_opts; o->name; o++)
				man_opt(f, o);
			man_opt(f, &help_opt);
		} else {
			fputs(line, f);
		}
	}
	fclose(t);
	return 0;
}

/* --- bash completion ------------------------------------------------- */

static void bash_words(FILE *f, const struct cmd_opt *o, bool help)
{
	bool first = true;

	for (; o && o->name; o++) {
		if (o->short_too)
			fprintf(f, "%s-%c", first ? "" : " ", o->val);
		fprintf(f, "%s--%s", first && !o->short_too ? "" : " ",
			o->name);
		first = false;
	}
	if (help)
		fprintf(f, "%s-h --help", first ? "" : " ");
}

/* The long options that take a separate value, each once (one option may
 * be in two verbs), with the name of that value. */
struct valopt {
	const char *name, *arg;
};

static void collect(const struct cmd *const *t, struct valopt *v, int *n)
{
	const struct cmd_opt *o;
	int i, j;

	for (i = 0; t && t[i]; i++) {
		collect(t[i]->subs, v, n);
		for (o = t[i]->opts; o && o->name; o++) {
			if (o->has_arg != CMD_ARG_REQUIRED)
				continue;
			for (j = 0; j < *n; j++)
				if (!strcmp(v[j].name, o->name))
					break;
			if (j == *n && *n < 4 * MAX_OPTS)
				v[(*n)++] = (struct valopt){ o->name, o->arg };
		}
	}
}

static const char *const value_kinds[][2] = {
	{ "DIR", "_filedir -d" },
	{ "USER", "COMPREPLY=($(compgen -u -- \"$cur\"))" },
	{ "GROUP", "COMPREPLY=($(compgen -g -- \"$cur\"))" },
	{ "IFACE",
	  "COMPREPLY=($(compgen -W \"$(command ls /sys/class/net 2>/dev/null)\" -- \"$cur\"))" },
	{ "", "" }, /* the rest: a value nobody can guess */
};

static int value_kind(const char *arg)
{
	int k;

	for (k = 0; value_kinds[k][0][0]; k++)
		if (!strncmp(arg, value_kinds[k][0], strlen(value_kinds[k][0])))
			break;
	return k;
}

static void bash_case(FILE *f, const struct valopt *v, int n, int kind)
{
	int i, m = 0;

	for (i = 0; i < n; i++) {
		if (value_kind(v[i].arg) != kind)
			continue;
		fprintf(f, "%s--%s", m++ ? " | " : "\t", v[i].name);
	}
	if (!m)
		return;
	fputs(")\n", f);
	if (value_kinds[kind][1][0])
		fprintf(f, "\t\t%s\n", value_kinds[kind][1]);
	fputs("\t\treturn\n\t\t;;\n", f);
}

static void bash_verbs(FILE *f, const struct cmd *const *t, const char *prefix)
{
	int i;

	for (i = 0; t[i]; i++) {
		const struct cmd *c = t[i];
		char path[128];

		snprintf(path, sizeof(path), "%s%s", prefix, c->name);
		if (c->subs) {
			fprintf(f,
				"\t\"%s\")\n\t\tif [[ $cur == -* ]]; then\n"
				"\t\t\tCOMPREPLY=($(compgen -W \"",
				path);
			/* a verb that runs by itself too takes its options */
			bash_words(f, c->func ? c->opts : NULL, true);
			fputs("\" -- \"$cur\"))\n"
			      "\t\telse\n\t\t\tCOMPREPLY=($(compgen -W \"",
			      f);
			for (int j = 0; c->subs[j]; j++)
				fprintf(f, "%s%s", j ? " " : "",
					c->subs[j]->name);
			fputs("\" -- \"$cur\"))\n\t\tfi\n\t\t;;\n", f);
			snprintf(path, sizeof(path), "%s%s ", prefix, c->name);
			bash_verbs(f, c->subs, path);
			continue;
		}
		if (!strcmp(path, "help")) {
			fputs("\thelp)\n\t\tCOMPREPLY=($(compgen -W \"", f);
			for (int j = 0; cmds[j]; j++)
				fprintf(f, "%s%s", j ? " " : "", cmds[j]->name);
			fputs("\" -- \"$cur\"))\n\t\t;;\n", f);
			continue;
		}
		fprintf(f, "\t\"%s\")\n\t\tCOMPREPLY=($(compgen -W \"", path);
		bash_words(f, c->opts, true);
		fputs("\" -- \"$cur\"))\n\t\t;;\n", f);
	}
}

int cmd_doc_bash(FILE *f)
{
	struct valopt v[4 * MAX_OPTS];
	int i, n = 0;

	collect(cmds, v, &n);
	fputs("# SPDX-License-Identifier: GPL-2.0-only\n"
	      "# bash completion for alpnsteer(8).\n"
	      "# Generated from the command table (user/cli/cmds.c) by `make docs`: do not\n"
	      "# edit; make test checks that it matches.\n"
	      "\n"
	      "_alpnsteer()\n"
	      "{\n"
	      "\tlocal cur prev words cword\n"
	      "\t_init_completion -s || return\n"
	      "\n"
	      "\tcase $prev in\n",
	      f);
	for (i = 0; i < (int)(sizeof(value_kinds) / sizeof(value_kinds[0]));
	     i++)
		bash_case(f, v, n, i);
	fputs("\tesac\n\n", f);

	/* The command so far: its words that are neither options nor an
	 * option's value, up to the deepest verb. */
	fputs("\tlocal i w cmd= takes=\" ", f);
	for (i = 0; i < n; i++)
		fprintf(f, "--%s ", v[i].name);
	fputs("\"\n"
	      "\tfor ((i = 1; i < cword; i++)); do\n"
	      "\t\tw=${words[i]}\n"
	      "\t\tif [[ $w == -* ]]; then\n"
	      "\t\t\t[[ $takes == *\" $w \"* ]] && ((i++))\n"
	      "\t\t\tcontinue\n"
	      "\t\tfi\n"
	      "\t\tcase \"$cmd\" in\n"
	      "\t\t\"\"",
	      f);
	/* the verbs with sub-verbs take one more word */
	for (i = 0; cmds[i]; i++)
		if (cmds[i]->subs)
			fprintf(f, " | %s", cmds[i]->name);
	fputs(") cmd=${cmd:+$cmd }$w ;;\n"
	      "\t\t*) break ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\n"
	      "\tcase \"$cmd\" in\n"
	      "\t\"\")\n"
	      "\t\tif [[ $cur == -* ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"",
	      f);
	bash_words(f, global_opts, true);
	fputs("\" -- \"$cur\"))\n\t\telse\n\t\t\tCOMPREPLY=($(compgen -W \"",
	      f);
	for (i = 0; cmds[i]; i++)
		fprintf(f, "%s%s", i ? " " : "", cmds[i]->name);
	fputs("\" -- \"$cur\"))\n\t\tfi\n\t\t;;\n", f);
	bash_verbs(f, cmds, "");
	fputs("\tesac\n"
	      "} &&\n"
	      "\tcomplete -F _alpnsteer alpnsteer\n",
	      f);
	return 0;
}
