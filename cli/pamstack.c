// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nsisolate check --pam: read PAM service files the way Linux-PAM does
 * (libpam/pam_handlers.c, pam_dispatch.c; Debian's "@include") and tell
 * whether pam_nsisolate.so is where it works.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "pamstack.h"

#define MODULE "pam_nsisolate.so"
/* Linux-PAM's PAM_SUBSTACK_MAX_LEVEL: a deeper include fails the whole stack. */
#define MAX_DEPTH 16

/*
 * Session modules that fork while a session opens. After pam_nsisolate.so the
 * armed fork handler moves their child into the user's set, or with
 * first_child lets that child take the session's place, so the session then
 * runs in the host. Each one imports fork() in its Debian 12 build and forks
 * from pam_sm_open_session (pam_mount through libHX's HXproc_run_async).
 * Not listed because they do not fork there: pam_unix (its helpers are for
 * auth and password), pam_systemd (D-Bus calls), pam_limits, pam_env,
 * pam_mail, pam_selinux, pam_keyinit, pam_loginuid, pam_lastlog; and
 * Debian's pam_motd, whose scripts run through system(), which glibc >= 2.29
 * implements with posix_spawn: no fork handler runs.
 */
static const struct forker {
	const char *module;
	const char *what;
} forkers[] = {
	{ "pam_exec.so", "forks the command it runs" },
	{ "pam_mkhomedir.so", "forks mkhomedir_helper" },
	{ "pam_mount.so", "forks mount helpers" },
	{ "pam_namespace.so", "forks namespace.init" },
	{ "pam_xauth.so", "forks xauth" },
	{ "pam_filter.so", "forks the filter" },
	{ "pam_script.so", "forks the session script" },
	{ "pam_gnome_keyring.so", "forks gnome-keyring-daemon (auto_start)" },
	{ "pam_kwallet.so", "forks the kwallet helper" },
	{ "pam_kwallet5.so", "forks the kwallet helper" },
	{ "pam_ecryptfs.so", "forks mount.ecryptfs_private" },
};

/* Services whose opener must stay in the host: never "opener" (pam_nsisolate(8)). */
static const char *const forking_services[] = { "sshd",	     "login", "su",	"su-l", "runuser",
						"runuser-l", "sudo",  "sudo-i", "cron", "atd" };

/* Return codes of a failed pam_nsisolate.so (pam_nsisolate(8), RETURN VALUES) and of a missing one. */
static const char *const failure_codes[] = { "session_err", "service_err", "user_unknown",
					     "buf_err", "module_unknown" };

/* One session line of a flattened stack, in the order Linux-PAM runs them. */
struct entry {
	char *file;
	unsigned line;
	char *control;
	char *module;
	char **argv;
	size_t argc;
	unsigned level; /* substack depth */
	bool substack; /* a "substack" line: its lines follow, one level deeper */
};

struct stack {
	struct entry *e;
	size_t n, cap;
};

/* A warning or an error, printed once with every service it concerns. */
struct note {
	bool error; /* for a problem reading files: it breaks the stack */
	char *where;
	char *msg;
	char *services;
};

struct checker {
	const char *const *dirs;
	size_t ndirs;
	struct note *notes;
	size_t nnotes, capnotes;
	/* Problems reading the current service's files: errors once it has the module. */
	struct note *parse;
	size_t nparse, capparse;
	size_t session_lines; /* of the current service's own files, includes too */
	const char *service;
};

/* The files being read, outermost first: an include of one of them is a loop. */
struct chain {
	dev_t dev[MAX_DEPTH];
	ino_t ino[MAX_DEPTH];
	const char *path[MAX_DEPTH];
	size_t n;
};

/* A command-line checker: running out of memory ends it. */
static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("nsisolate: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fputs("nsisolate: out of memory\n", stderr);
		exit(1);
	}
	return s;
}

/* P with room for element N (of SIZE bytes); *CAP is how many fit. */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(p, *cap * size);
}

static void add_note(struct note **v, size_t *n, size_t *cap, bool error, const char *service,
		     char *where, char *msg)
{
	struct note *x;

	for (size_t i = 0; i < *n; i++) {
		x = &(*v)[i];
		if (x->error == error && !strcmp(x->where, where) && !strcmp(x->msg, msg)) {
			char *s = xasprintf("%s, %s", x->services, service);

			free(x->services);
			x->services = s;
			free(where);
			free(msg);
			return;
		}
	}
	*v = grow(*v, cap, *n, sizeof(**v));
	(*v)[(*n)++] = (struct note){ error, where, msg, xstrdup(service) };
}

static void note(struct checker *c, bool error, char *where, char *msg)
{
	add_note(&c->notes, &c->nnotes, &c->capnotes, error, c->service, where, msg);
}

/* BREAKS: Linux-PAM would fail the whole stack because of it. */
static void problem(struct checker *c, bool breaks, char *where, char *msg)
{
	add_note(&c->parse, &c->nparse, &c->capparse, breaks, c->service, where, msg);
}

static void free_notes(struct note *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].where);
		free(v[i].msg);
		free(v[i].services);
	}
	free(v);
}

static void free_stack(struct stack *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct entry *e = &st->e[i];

		free(e->file);
		free(e->control);
		free(e->module);
		for (size_t j = 0; j < e->argc; j++)
			free(e->argv[j]);
		free(e->argv);
	}
	free(st->e);
	*st = (struct stack){ 0 };
}

/*
 * One logical line, as Linux-PAM assembles it: blank and comment lines are
 * skipped, a '#' ends the line, a trailing backslash joins the next line.
 * FIRST is the physical line it starts on. NULL at the end of the file.
 */
static char *assemble(FILE *f, unsigned *lineno, unsigned *first)
{
	_cleanup_free_ char *buf = NULL;
	char *out = NULL;
	size_t cap = 0, len = 0;

	*first = 0;
	while (getline(&buf, &cap, f) >= 0) {
		char *s = buf + strspn(buf, " \t\n"), *hash, *end;
		bool more;
		size_t n;

		(*lineno)++;
		if (!*s || *s == '#')
			continue;
		if (!*first)
			*first = *lineno;
		hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
			end--;
		more = !hash && end > s && end[-1] == '\\';
		if (more)
			end--;
		n = (size_t)(end - s);
		out = xrealloc(out, len + n + 2);
		memcpy(out + len, s, n);
		len += n;
		if (more)
			out[len++] = ' ';
		out[len] = '\0';
		if (!more)
			break;
	}
	return out;
}

/* The next token; "[...]" is one token (a "\]" inside does not close it). */
static char *token(char **p)
{
	char *s = *p + strspn(*p, " \t"), *e;

	if (!*s)
		return NULL;
	if (*s == '[') {
		for (e = s + 1; *e && !(*e == ']' && e[-1] != '\\'); e++)
			;
		if (*e)
			e++;
	} else {
		e = s + strcspn(s, " \t");
	}
	*p = *e ? e + 1 : e;
	*e = '\0';
	return s;
}

static char *where_at(const char *file, unsigned line)
{
	return file ? xasprintf("%s:%u", file, line) : xstrdup("");
}

/* Open NAME as Linux-PAM would: absolute, or the first of DIRS that has it. */
static FILE *open_service_file(const struct checker *c, const char *name, char **path)
{
	FILE *f;

	if (name[0] == '/') {
		f = fopen(name, "re");
		if (f)
			*path = xstrdup(name);
		return f;
	}
	for (size_t i = 0; i < c->ndirs; i++) {
		char *p = xasprintf("%s/%s", c->dirs[i], name);

		f = fopen(p, "re");
		if (f) {
			*path = p;
			return f;
		}
		free(p);
	}
	return NULL;
}

/* Whether Linux-PAM would find the file NAME; its path in *PATH. */
static bool service_file(const struct checker *c, const char *name, char **path)
{
	FILE *f = open_service_file(c, name, path);

	if (f)
		fclose(f);
	return f != NULL;
}

static void add_entry(struct stack *st, const char *file, unsigned line, const char *control,
		      const char *module, char *args, unsigned level, bool substack)
{
	struct entry *e;
	char *a;

	st->e = grow(st->e, &st->cap, st->n, sizeof(*st->e));
	e = &st->e[st->n++];
	*e = (struct entry){ .file = xstrdup(file),
			     .line = line,
			     .control = xstrdup(control),
			     .module = xstrdup(module),
			     .level = level,
			     .substack = substack };
	while (args && (a = token(&args))) {
		size_t n = strlen(a);

		/* "[a b]" is one argument "a b" (pam.conf(5)). */
		if (a[0] == '[' && n >= 2 && a[n - 1] == ']') {
			a[n - 1] = '\0';
			a++;
		}
		e->argv = xrealloc(e->argv, (e->argc + 1) * sizeof(*e->argv));
		e->argv[e->argc++] = xstrdup(a);
	}
}

/*
 * Append the session lines of the file NAME to ST, at substack depth LEVEL,
 * following "@include", "include" and "substack". FROM:FROMLINE names the
 * line that included it (NULL for a service's own file).
 */
static void load(struct checker *c, struct stack *st, const char *name, const char *from,
		 unsigned fromline, unsigned level, struct chain *ch)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *path = NULL;
	unsigned lineno = 0, first;
	struct stat sb;
	char *line;

	if (ch->n >= MAX_DEPTH) {
		problem(c, true, where_at(from, fromline),
			xasprintf("includes nested deeper than %d files: Linux-PAM fails the "
				  "whole stack",
				  MAX_DEPTH));
		return;
	}
	f = open_service_file(c, name, &path);
	if (!f) {
		problem(c, true, where_at(from, fromline),
			xasprintf("cannot open \"%s\": %s", name, strerror(errno)));
		return;
	}
	if (fstat(fileno(f), &sb) < 0) {
		problem(c, true, where_at(from, fromline),
			xasprintf("cannot read \"%s\": %s", path, strerror(errno)));
		return;
	}
	for (size_t i = 0; i < ch->n; i++) {
		_cleanup_free_ char *loop = NULL;

		if (ch->dev[i] != sb.st_dev || ch->ino[i] != sb.st_ino)
			continue;
		loop = xstrdup(ch->path[i]);
		for (size_t k = i + 1; k < ch->n; k++) {
			char *l = xasprintf("%s -> %s", loop, ch->path[k]);

			free(loop);
			loop = l;
		}
		problem(c, true, where_at(from, fromline),
			xasprintf("include loop: %s -> %s: Linux-PAM fails the whole stack", loop,
				  path));
		return;
	}
	ch->dev[ch->n] = sb.st_dev;
	ch->ino[ch->n] = sb.st_ino;
	ch->path[ch->n++] = path;
	while ((line = assemble(f, &lineno, &first))) {
		char *p = line, *type = token(&p), *control, *module;
		bool sub;

		if (!type) {
			free(line);
			continue;
		}
		if (!strcmp(type, "@include")) {
			module = token(&p);
			if (module)
				load(c, st, module, path, first, level, ch);
			else
				problem(c, true, where_at(path, first),
					xstrdup("@include without a file"));
			free(line);
			continue;
		}
		if (type[0] == '-')
			type++;
		if (strcasecmp(type, "session")) {
			if (strcasecmp(type, "auth") && strcasecmp(type, "account") &&
			    strcasecmp(type, "password"))
				problem(c, false, where_at(path, first),
					xasprintf("unknown module type \"%s\": Linux-PAM makes "
						  "the line fail",
						  type));
			free(line);
			continue;
		}
		c->session_lines++;
		control = token(&p);
		module = control ? token(&p) : NULL;
		if (!module) {
			problem(c, true, where_at(path, first),
				xstrdup(control ? "no module" : "no control"));
			free(line);
			continue;
		}
		sub = !strcasecmp(control, "substack");
		if (sub || !strcasecmp(control, "include")) {
			/* A substack is a line of its own stack, counted by jumps there. */
			if (sub)
				add_entry(st, path, first, "substack", module, NULL, level, true);
			load(c, st, module, path, first, level + sub, ch);
		} else {
			add_entry(st, path, first, control, module, p, level, false);
		}
		free(line);
	}
	ch->n--;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool is_module(const struct entry *e)
{
	return !e->substack && !strcmp(base_name(e->module), MODULE);
}

/* Actions of a control value (pam.conf(5)); a jump is its count, > 0. */
enum { ACT_IGNORE = -1, ACT_OK = -2, ACT_DONE = -3, ACT_BAD = -4, ACT_DIE = -5, ACT_RESET = -6 };

/* The action named by the LEN bytes at V; "0" and unknown words count as ignore. */
static int parse_action(const char *v, size_t len)
{
	static const struct {
		const char *name;
		int act;
	} names[] = { { "ignore", ACT_IGNORE }, { "ok", ACT_OK },   { "done", ACT_DONE },
		      { "bad", ACT_BAD },	{ "die", ACT_DIE }, { "reset", ACT_RESET } };

	for (size_t i = 0; i < NSI_ARRAY_SIZE(names); i++)
		if (strlen(names[i].name) == len && !strncasecmp(v, names[i].name, len))
			return names[i].act;
	if (len > 0 && len < 6 && strspn(v, "0123456789") == len && atoi(v) > 0)
		return atoi(v);
	return ACT_IGNORE;
}

/*
 * The next "key=value" of the "[...]" control at *P: the key and its length
 * in KEY and KLEN, the action returned; 0 at the end.
 */
static int next_pair(const char **p, const char **key, size_t *klen)
{
	const char *s = *p;

	for (;;) {
		size_t k, v;

		s += strspn(s, " \t");
		if (!*s || *s == ']')
			return 0;
		k = strcspn(s, "= \t]");
		if (s[k] != '=') {
			s += k;
			continue;
		}
		v = strcspn(s + k + 1, " \t]");
		*key = s;
		*klen = k;
		*p = s + k + 1 + v;
		return parse_action(s + k + 1, v);
	}
}

/* What CONTROL does with the return code CODE ("success", "session_err", ...). */
static int action_of(const char *control, const char *code)
{
	const char *p = control + 1, *key;
	int act = 0, dflt = 0, a;
	bool success = !strcmp(code, "success");
	size_t klen;

	if (!strcasecmp(control, "required"))
		return success ? ACT_OK : ACT_BAD;
	if (!strcasecmp(control, "requisite"))
		return success ? ACT_OK : ACT_DIE;
	if (!strcasecmp(control, "optional"))
		return success ? ACT_OK : ACT_IGNORE;
	if (!strcasecmp(control, "sufficient"))
		return success ? ACT_DONE : ACT_IGNORE;
	if (control[0] != '[')
		return ACT_BAD; /* an unknown control: Linux-PAM makes the line fail */
	while ((a = next_pair(&p, &key, &klen)))
		if (klen == 7 && !strncasecmp(key, "default", 7))
			dflt = a;
		else if (klen == strlen(code) && !strncasecmp(key, code, klen))
			act = a;
	/* Neither named nor a default: bad, as Linux-PAM sets it for "[...]". */
	return act ? act : dflt ? dflt : ACT_BAD;
}

/*
 * Can the line at I end or jump out of the stack before the module at M runs?
 * Returns why, or NULL. Only lines of M's own stack or of a stack enclosing
 * it are asked: the caller skips substacks that closed before M.
 */
static char *skips_module(const struct stack *st, size_t i, size_t m)
{
	const struct entry *e = &st->e[i];
	const char *p = e->control + 1, *key;
	size_t klen;
	int a;

	if (!strcasecmp(e->control, "sufficient"))
		return xstrdup("sufficient: when it succeeds, the stack ends there");
	if (e->control[0] != '[')
		return NULL;
	while ((a = next_pair(&p, &key, &klen))) {
		size_t j, seen = 0;

		if (a == ACT_DONE)
			return xasprintf("%.*s=done ends the stack", (int)klen, key);
		if (a <= 0)
			continue;
		/* A jump skips A lines of its own stack, each with its substack. */
		for (j = i + 1; j < st->n && st->e[j].level >= e->level; j++)
			if (st->e[j].level == e->level && ++seen == (size_t)a + 1)
				break;
		if (m < j)
			return xasprintf("%.*s=%d jumps over it", (int)klen, key, a);
	}
	return NULL;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* Everything said about the module line M of SERVICE's stack. */
static void check_module(struct checker *c, const struct stack *st, size_t m, bool *opener,
			 bool *first_child)
{
	const struct entry *e = &st->e[m];
	size_t minlvl = e->level;
	char through[128] = "";

	*opener = !strcmp(c->service, "systemd-user");
	*first_child = false;
	for (size_t i = 0; i < e->argc; i++) {
		const char *a = e->argv[i];

		if (!strcmp(a, "opener")) {
			*opener = true;
		} else if (!strcmp(a, "first_child")) {
			*first_child = true;
		} else if (!strncmp(a, "config=", 7)) {
			if (!nsi_path_is_normal(a + 7) || strlen(a + 7) >= NSI_PATH_LEN)
				note(c, true, where_at(e->file, e->line),
				     xasprintf("pam_nsisolate.so: %s: not a normalized absolute "
					       "path: every session of the service fails",
					       a));
		} else if (strcmp(a, "debug")) {
			note(c, true, where_at(e->file, e->line),
			     xasprintf("pam_nsisolate.so: unknown option \"%s\" (expected "
				       "config=PATH, debug, opener or first_child): every session "
				       "of the service fails",
				       a));
		}
	}
	for (size_t i = 0; i < NSI_ARRAY_SIZE(failure_codes); i++) {
		int a = action_of(e->control, failure_codes[i]);
		size_t len = strlen(through);

		if (a != ACT_BAD && a != ACT_DIE && a != ACT_OK && a != ACT_DONE)
			snprintf(through + len, sizeof(through) - len, "%s%s", len ? ", " : "",
				 failure_codes[i]);
	}
	if (through[0])
		note(c, false, where_at(e->file, e->line),
		     xasprintf("pam_nsisolate.so is \"%s\": a failure (%s) lets the session "
			       "run without isolation; use \"required\"",
			       e->control, through));
	/* Walking back: a line deeper than every line since is in a closed substack. */
	for (size_t i = m; i-- > 0;) {
		_cleanup_free_ char *why = NULL;
		const struct entry *b = &st->e[i];

		if (b->level > minlvl)
			continue;
		minlvl = b->level;
		if (b->substack)
			continue;
		why = skips_module(st, i, m);
		if (why)
			note(c, false, where_at(b->file, b->line),
			     xasprintf("%s before pam_nsisolate.so (%s:%u): %s, and the session "
				       "runs without isolation",
				       b->module, e->file, e->line, why));
	}
	if (*opener && in_list(c->service, forking_services, NSI_ARRAY_SIZE(forking_services)))
		note(c, true, where_at(e->file, e->line),
		     xasprintf("pam_nsisolate.so opener: the opener of %s must stay in the host "
			       "(terminals, utmp, closing the session); opener is for "
			       "systemd-user and units with PAMName=",
			       c->service));
	if (!strcmp(c->service, "cron") && !*first_child && !*opener)
		note(c, false, where_at(e->file, e->line),
		     xstrdup("cron without first_child: the mailer joins the set too, where a "
			     "setuid or setgid MTA cannot queue the job's output"));
	/* Opener mode arms no fork handler: later modules fork in the host. */
	for (size_t i = m + 1; i < st->n && !*opener; i++) {
		const struct entry *a = &st->e[i];

		if (is_module(a)) {
			note(c, false, where_at(a->file, a->line),
			     xasprintf("pam_nsisolate.so again (first at %s:%u): remove one, e.g. "
				       "a line added by hand before pam-auth-update managed it",
				       e->file, e->line));
			continue;
		}
		for (size_t k = 0; k < NSI_ARRAY_SIZE(forkers); k++) {
			if (a->substack || strcmp(base_name(a->module), forkers[k].module))
				continue;
			note(c, true, where_at(a->file, a->line),
			     xasprintf("%s runs after pam_nsisolate.so (%s:%u) and %s: %s; move it "
				       "before pam_nsisolate.so",
				       forkers[k].module, e->file, e->line, forkers[k].what,
				       *first_child ? "its child takes the place of the session, "
						      "which then runs without isolation"
						    : "its child joins the user's set"));
		}
	}
}

/* The session stack of SERVICE: its file's session lines, else those of "other". */
static void load_service(struct checker *c, const char *service, struct stack *st, bool *via_other)
{
	struct chain ch = { .n = 0 };
	_cleanup_free_ char *path = NULL;

	*via_other = false;
	c->session_lines = 0;
	if (service_file(c, service, &path))
		load(c, st, service, NULL, 0, 0, &ch);
	if (c->session_lines == 0 && strcmp(service, "other")) {
		*via_other = true;
		load(c, st, "other", NULL, 0, 0, &ch);
	}
}

/* Returns whether SERVICE has the module in its session stack. */
static bool check_service(struct checker *c, const char *service, FILE *out)
{
	struct stack st = { 0 };
	bool via_other, has = false, opener, first_child;
	size_t m;

	c->service = service;
	c->nparse = 0;
	load_service(c, service, &st, &via_other);
	for (m = 0; m < st.n && !has; m++)
		has = is_module(&st.e[m]);
	if (has) {
		const struct entry *e = &st.e[--m];

		check_module(c, &st, m, &opener, &first_child);
		if (out) {
			fprintf(out, "%s: %s %s", service, MODULE, e->control);
			for (size_t i = 0; i < e->argc; i++)
				fprintf(out, " %s", e->argv[i]);
			fprintf(out, " at %s:%u%s%s\n", e->file, e->line,
				opener && !strcmp(service, "systemd-user") ? " (opener mode)" : "",
				via_other ? " (through \"other\")" : "");
		}
	} else if (out) {
		fprintf(out, "%s: no %s in the session stack%s\n", service, MODULE,
			via_other ? " (that of \"other\")" : "");
	}
	/* A stack that cannot be read whole cannot be vouched for. */
	for (size_t i = 0; i < c->nparse; i++) {
		if (has && c->parse[i].error)
			note(c, true, c->parse[i].where,
			     xasprintf("%s: the session stack cannot be checked", c->parse[i].msg));
		else
			note(c, false, c->parse[i].where, xstrdup(c->parse[i].msg));
		c->parse[i].where = NULL;
		free(c->parse[i].msg);
		free(c->parse[i].services);
	}
	c->nparse = 0;
	free_stack(&st);
	return has;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Backups and leftovers of package upgrades, and Debian's common-* include files. */
static bool is_service_name(const char *n)
{
	static const char *const suffixes[] = {
		"~",	     ".bak",	   ".orig",	".pam-old", ".pam-new", ".dpkg-old",
		".dpkg-new", ".dpkg-dist", ".dpkg-bak", ".ucf-old", ".ucf-new", ".ucf-dist"
	};
	size_t len = strlen(n);

	if (n[0] == '.' || !strncmp(n, "common-", 7))
		return false;
	for (size_t i = 0; i < NSI_ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && !strcmp(n + len - sl, suffixes[i]))
			return false;
	}
	return true;
}

/* Every service with a regular file in DIRS, sorted, each once. */
static char **list_services(const struct checker *c, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < c->ndirs; i++) {
		DIR *d = opendir(c->dirs[i]);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			struct stat sb;
			bool dup = false;

			if (!is_service_name(de->d_name) ||
			    fstatat(dirfd(d), de->d_name, &sb, 0) < 0 || !S_ISREG(sb.st_mode))
				continue;
			for (size_t k = 0; k < n && !dup; k++)
				dup = !strcmp(v[k], de->d_name);
			if (dup)
				continue;
			v = grow(v, &cap, n, sizeof(*v));
			v[n++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret_n = n;
	return v;
}

int nsi_pam_check(const char *const *dirs, size_t ndirs, char *const *services, size_t nservices,
		  FILE *out, FILE *err)
{
	struct checker c = { .dirs = dirs, .ndirs = ndirs };
	char **all = NULL, *systemd_user = NULL, *with = NULL;
	size_t nall = 0, isolated = 0, errors = 0, warnings = 0;
	bool user_checked = false, user_has = false;

	if (nservices == 0) {
		all = list_services(&c, &nall);
		services = all;
		nservices = nall;
	}
	for (size_t i = 0; i < nservices; i++) {
		bool has = check_service(&c, services[i], out);

		isolated += has;
		if (!strcmp(services[i], "systemd-user")) {
			user_checked = true;
			user_has = has;
		} else if (has) {
			char *w = with ? xasprintf("%s, %s", with, services[i])
				       : xstrdup(services[i]);

			free(with);
			with = w;
		}
	}
	/*
	 * logind starts the user manager at a user's first login, and PID 1
	 * opens its session as the service systemd-user. Outside the set it
	 * runs everything it starts (systemd-run --user, D-Bus services) in
	 * the host, reachable from every isolated session.
	 */
	if (with && service_file(&c, "systemd-user", &systemd_user)) {
		if (!user_checked)
			user_has = check_service(&c, "systemd-user", NULL);
		c.service = "systemd-user";
		if (!user_has)
			note(&c, true, xstrdup(systemd_user),
			     xasprintf("no %s in the session stack of systemd-user, but in that "
				       "of %s: the user manager and what it starts run outside "
				       "the user's set; add it (pam-auth-update --enable "
				       "nsisolate puts it in common-session-noninteractive, "
				       "which systemd-user includes)",
				       MODULE, with));
	}
	for (size_t i = 0; i < c.nnotes; i++) {
		const struct note *x = &c.notes[i];

		fprintf(err, "%s%s%s%s (%s)\n", x->error ? "" : "warning: ", x->where,
			x->where[0] ? ": " : "", x->msg, x->services);
		errors += x->error;
		warnings += !x->error;
	}
	fprintf(out, "pam: %zu service%s, %zu with %s: ", nservices, nservices == 1 ? "" : "s",
		isolated, MODULE);
	if (errors)
		fprintf(out, "%zu error%s\n", errors, errors == 1 ? "" : "s");
	else
		fprintf(out, "ok%s\n", warnings ? " (with warnings)" : "");
	free_notes(c.notes, c.nnotes);
	free(c.parse);
	for (size_t i = 0; i < nall; i++)
		free(all[i]);
	free(all);
	free(with);
	free(systemd_user);
	return errors ? 1 : 0;
}
