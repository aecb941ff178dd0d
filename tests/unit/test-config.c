// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the policy loader (common/config.c) and the fd-walking helpers
 * it relies on (common/fsutil.c). Runs as root: it writes root-owned files into
 * a private mkdtemp dir, and creates a test user and two groups (prefix "nsiu")
 * to exercise matching through NSS. The parent process owns every resource and
 * removes it at exit; the tests run in a child so that even a crash (ASan, a
 * signal, the watchdog) leaves nothing behind.
 *
 * Expected diagnostics are written into the test files themselves, as comments
 * on the line they must name:  "# E: text" an error at this line, "# E0: text"
 * an error naming the file only, "# W: text" a warning at this line. "@MAIN@"
 * stands for the main file's path, "@DIR@" for the drop-in directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "tap.h"

#define OTHER_UID 12345u
#define SUBID_FIRST 3900000000u /* usermod -v/-w FIRST-LAST for the test user */
#define SUBID_LAST 3900000009u
#define SUBGID_FIRST 3900000020u /* only in /etc/subgid */
#define SUBGID_LAST 3900000029u
#define FREE_ID 3900000010u
#define GROUP_ID_BASE 3900000300u

/* ---- resources owned by the parent ---- */

static pid_t owner;
static char tmpdir[] = "/tmp/nsi-test-config-XXXXXX";
static char rundir[] = "/run/nsi-test-config-XXXXXX";
static bool tmpdir_made, rundir_made;
static char uname_[32], pgroup[32], sgroup[32];
static bool user_made, pgroup_made, sgroup_made;
static uid_t test_uid;
static gid_t pgid, sgid;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 20, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	fflush(stdout);
	r = system(cmd);
	if (r != 0)
		diag("command failed (status %d): %s", r, cmd);
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void cleanup(void)
{
	/* The test child inherits this handler; only the owner cleans up. */
	if (getpid() != owner)
		return;
	/* userdel also drops the user's /etc/subuid and /etc/subgid ranges. */
	if (user_made && run("userdel %s", uname_) == 0)
		user_made = false;
	if (pgroup_made && run("groupdel %s", pgroup) == 0)
		pgroup_made = false;
	if (sgroup_made && run("groupdel %s", sgroup) == 0)
		sgroup_made = false;
	if (tmpdir_made)
		rm_tree(tmpdir);
	if (rundir_made)
		rm_tree(rundir);
	if (user_made || pgroup_made || sgroup_made)
		fprintf(stderr, "test-config: could not remove %s %s %s\n", uname_, pgroup, sgroup);
}

static gid_t free_gid(gid_t from)
{
	for (gid_t g = from; g < from + 1000; g++)
		if (!getgrgid(g) && !getpwuid(g))
			return g;
	return 0;
}

static bool setup(void)
{
	struct passwd *pw;

	if (!mkdtemp(tmpdir))
		return false;
	tmpdir_made = true;
	if (!mkdtemp(rundir))
		return false;
	rundir_made = true;

	snprintf(uname_, sizeof(uname_), "nsiu%du", (int)owner);
	snprintf(pgroup, sizeof(pgroup), "nsiu%dp", (int)owner);
	snprintf(sgroup, sizeof(sgroup), "nsiu%ds", (int)owner);
	pgid = free_gid(GROUP_ID_BASE);
	if (!pgid || run("groupadd -g %u %s", (unsigned)pgid, pgroup) != 0)
		return false;
	pgroup_made = true;
	sgid = free_gid(pgid + 1);
	if (!sgid || run("groupadd -g %u %s", (unsigned)sgid, sgroup) != 0)
		return false;
	sgroup_made = true;
	if (run("useradd -M -N -g %s -G %s -s /usr/sbin/nologin -c 'nsisolate unit test' %s",
		pgroup, sgroup, uname_) != 0)
		return false;
	user_made = true;
	pw = getpwnam(uname_);
	if (!pw)
		return false;
	test_uid = pw->pw_uid;
	if (getpwuid(FREE_ID) || getgrgid(FREE_ID))
		return false;
	return run("usermod -v %u-%u -w %u-%u -w %u-%u %s", SUBID_FIRST, SUBID_LAST, SUBID_FIRST,
		   SUBID_LAST, SUBGID_FIRST, SUBGID_LAST, uname_) == 0;
}

/* ---- files ---- */

static bool put(const char *path, const char *text, mode_t mode)
{
	_cleanup_close_ int fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || fchmod(fd, mode) < 0 || nsi_write_all(fd, text, strlen(text)) < 0) {
		diag("cannot write %s: %m", path);
		return false;
	}
	return true;
}

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A fresh directory for one case; returns its path in DIR. */
static void new_case(char *dir, size_t len)
{
	static int n;

	snprintf(dir, len, "%s/c%03d", tmpdir, ++n);
	if (mkdir(dir, 0755) < 0 || chmod(dir, 0755) < 0)
		bail(dir);
}

/* ---- expected diagnostics ---- */

struct strv {
	char **v;
	size_t n;
};

static void strv_add(struct strv *s, char *str)
{
	char **g = realloc(s->v, (s->n + 1) * sizeof(char *));

	if (!g || !str)
		bail("out of memory");
	s->v = g;
	s->v[s->n++] = str;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t cap = strlen(s) + 1, fl = strlen(from), tl = strlen(to);
	char *out, *o;

	for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
		cap += tl;
	out = o = malloc(cap);
	if (!out)
		bail("out of memory");
	while (*s) {
		if (!strncmp(s, from, fl)) {
			memcpy(o, to, tl);
			o += tl;
			s += fl;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

struct expect {
	struct strv errors, warnings;
	const char *main; /* for @MAIN@ */
	char dir[PATH_MAX]; /* for @DIR@ */
};

/* Collects "# E: ", "# E0: ", "# W: " markers of TEXT, a file at PATH. */
static void expect_from(struct expect *x, const char *path, const char *text)
{
	static const char *const tags[] = { "# E: ", "# E0: ", "# W: " };
	int line = 1;

	for (const char *l = text; *l; line++) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		char *copy = strndup(l, len);
		char *p = copy;

		if (!copy)
			bail("out of memory");
		while (p) {
			char *best = NULL, *next, *msg, *t1, *t2, *full = NULL;
			size_t tag = 0;

			for (size_t t = 0; t < NSI_ARRAY_SIZE(tags); t++) {
				char *h = strstr(p, tags[t]);

				if (h && (!best || h < best)) {
					best = h;
					tag = t;
				}
			}
			if (!best)
				break;
			msg = best + strlen(tags[tag]);
			next = strstr(msg, " # ");
			if (next)
				*next = '\0';
			t1 = replace_all(msg, "@MAIN@", x->main ? x->main : path);
			t2 = replace_all(t1, "@DIR@", x->dir);
			if (tag == 1) {
				if (asprintf(&full, "%s: %s", path, t2) < 0)
					full = NULL;
			} else if (asprintf(&full, "%s:%d: %s", path, line, t2) < 0) {
				full = NULL;
			}
			free(t1);
			free(t2);
			strv_add(tag == 2 ? &x->warnings : &x->errors, full);
			p = next ? next + 1 : NULL;
		}
		free(copy);
		if (!eol)
			break;
		l = eol + 1;
	}
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Same messages, each exactly as often, in any order. */
static bool same_set(char **got, size_t ngot, struct strv *exp)
{
	char **g;
	bool same = ngot == exp->n;

	if (!same)
		return false;
	if (ngot == 0)
		return true;
	g = calloc(ngot + 1, sizeof(char *));
	if (!g)
		bail("out of memory");
	if (ngot)
		memcpy(g, got, ngot * sizeof(char *));
	qsort(g, ngot, sizeof(char *), cmp_strp);
	qsort(exp->v, exp->n, sizeof(char *), cmp_strp);
	for (size_t i = 0; i < ngot; i++)
		same = same && !strcmp(g[i], exp->v[i]);
	free(g);
	return same;
}

static void show(const char *what, char **v, size_t n)
{
	diag("%s (%zu):", what, n);
	for (size_t i = 0; i < n; i++)
		diag("  %s", v[i]);
}

/* One test point: the diagnostics are exactly the expected ones. */
static bool diag_is(const struct nsi_diag *d, struct expect *x, const char *desc)
{
	bool e = same_set(d->errors, d->nerrors, &x->errors);
	bool w = same_set(d->warnings, d->nwarnings, &x->warnings);

	if (!ok(e && w, "%s", desc)) {
		show("got errors", d->errors, d->nerrors);
		show("expected errors", x->errors.v, x->errors.n);
		show("got warnings", d->warnings, d->nwarnings);
		show("expected warnings", x->warnings.v, x->warnings.n);
	}
	strv_free(&x->errors);
	strv_free(&x->warnings);
	return e && w;
}

/* ---- loading ---- */

struct loaded {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	struct nsi_config *cf;
	struct nsi_diag d;
	int r;
};

/* As "nsisolate check" loads (names checked through NSS), unless LOGIN_LOAD is set. */
static bool login_load;

static void load_path(struct loaded *l, const char *path)
{
	if (path != l->path)
		snprintf(l->path, sizeof(l->path), "%s", path);
	nsi_diag_init(&l->d);
	l->d.check_names = !login_load;
	l->cf = NULL;
	l->r = nsi_config_load(l->path, &l->cf, &l->d);
}

/* Writes TEXT as DIR/nsisolate.conf of a new case and loads it. */
static void load_text(struct loaded *l, const char *text)
{
	char path[PATH_MAX];

	new_case(l->dir, sizeof(l->dir));
	bprintf(path, "%s/nsisolate.conf", l->dir);
	if (!put(path, text, 0644))
		bail(path);
	load_path(l, path);
}

static void unload(struct loaded *l)
{
	nsi_config_free(l->cf);
	l->cf = NULL;
	nsi_diag_free(&l->d);
}

/* Loads TEXT and checks that its diagnostics are exactly its markers. */
static void check_text(const char *desc, const char *text)
{
	struct loaded l;
	struct expect x = { 0 };

	load_text(&l, text);
	if (l.r < 0) {
		ok(0, "%s (load returned %d)", desc, l.r);
	} else {
		expect_from(&x, l.path, text);
		diag_is(&l.d, &x, desc);
	}
	unload(&l);
}

/* Like check_text, with drop-ins NAMES[i] holding TEXTS[i]. */
static void check_dropins(const char *desc, const char *main_text, size_t n,
			  const char *const *names, const char *const *texts)
{
	struct loaded l;
	struct expect x = { 0 };
	char path[PATH_MAX], dpath[PATH_MAX * 2];

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s/nsisolate.conf", l.dir);
	bprintf(x.dir, "%s/nsisolate.d", l.dir);
	if (!put(path, main_text, 0644) || mkdir(x.dir, 0755) < 0)
		bail(path);
	x.main = path;
	expect_from(&x, path, main_text);
	for (size_t i = 0; i < n; i++) {
		snprintf(dpath, sizeof(dpath), "%s/%s", x.dir, names[i]);
		if (!put(dpath, texts[i], 0644))
			bail(dpath);
		expect_from(&x, dpath, texts[i]);
	}
	load_path(&l, path);
	if (l.r < 0) {
		ok(0, "%s (load returned %d)", desc, l.r);
		strv_free(&x.errors);
		strv_free(&x.warnings);
	} else {
		diag_is(&l.d, &x, desc);
	}
	unload(&l);
}

/* One error "PATH: MSG" (no line) and nothing else. */
static void check_file_error(const char *desc, struct loaded *l, const char *path, const char *msg)
{
	char *exp = NULL;

	if (asprintf(&exp, "%s: %s", path, msg) < 0)
		bail("out of memory");
	if (!ok(l->r == 0 && l->cf && l->d.nerrors == 1 && !strcmp(l->d.errors[0], exp), "%s",
		desc)) {
		diag("load returned %d", l->r);
		show("got errors", l->d.errors, l->d.nerrors);
		diag("expected: %s", exp);
	}
	free(exp);
}

/* One error naming PATH first and containing TEXT (the wording depends on which check refused). */
static void check_file_error_like(const char *desc, struct loaded *l, const char *path,
				  const char *text)
{
	if (!ok(l->r == 0 && l->cf && l->d.nerrors == 1 &&
			!strncmp(l->d.errors[0], path, strlen(path)) &&
			l->d.errors[0][strlen(path)] == ':' && strstr(l->d.errors[0], text),
		"%s", desc)) {
		diag("load returned %d", l->r);
		show("got errors", l->d.errors, l->d.nerrors);
		diag("expected one error: %s: ...%s...", path, text);
	}
}

/* ---- users ---- */

static const gid_t nogroups[1] = { 0 };

static struct nsi_user fake_user(const char *name, uid_t uid, const char *service)
{
	return (struct nsi_user){ .name = name,
				  .uid = uid,
				  .gid = 4242424,
				  .groups = nogroups,
				  .ngroups = 0,
				  .service = service };
}

/* Loads TEXT, which must be clean, and resolves it for U. Returns resolve's value. */
static int resolve_text(const char *text, const struct nsi_user *u, struct nsi_resolved *res,
			char *err, size_t errlen)
{
	struct loaded l;
	int r = -EBADMSG;

	load_text(&l, text);
	if (l.r < 0 || !l.cf || l.d.nerrors) {
		diag("unexpected load failure (%d):", l.r);
		show("errors", l.d.errors, l.d.nerrors);
		memset(res, 0, sizeof(*res));
	} else {
		r = nsi_config_resolve(l.cf, u, res, err, errlen);
	}
	unload(&l);
	return r;
}

static int resolve_simple(const char *text, const struct nsi_user *u, struct nsi_resolved *res)
{
	char err[512] = "";
	int r = resolve_text(text, u, res, err, sizeof(err));

	if (r < 0)
		diag("resolve: %d %s", r, err);
	return r;
}

/* ---- small parsers ---- */

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "1048576", 0, 1048576 },
		{ "1k", 0, 1024 },
		{ "10K", 0, 10240 },
		{ "256M", 0, 256ull << 20 },
		{ "256m", 0, 256ull << 20 },
		{ "1G", 0, 1ull << 30 },
		{ "1024g", 0, 1ull << 40 },
		{ "18446744073709551599", 0, 18446744073709551599ull },
		{ "17179869183G", 0, 17179869183ull << 30 },
		{ "17179869184G", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1M", -EINVAL, 0 },
		{ "1M ", -EINVAL, 0 },
		{ "1 M", -EINVAL, 0 },
		{ "1MB", -EINVAL, 0 },
		{ "1T", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
	};

	for (size_t i = 0; i < NSI_ARRAY_SIZE(t); i++) {
		uint64_t v = 7;
		int r = nsi_parse_size(t[i].s, &v);

		ok(r == t[i].r && v == (t[i].r ? 7 : t[i].v), "nsi_parse_size(\"%s\") = %d, %llu",
		   t[i].s, t[i].r, (unsigned long long)t[i].v);
	}
}

static void test_hostname(void)
{
	static const struct {
		const char *h;
		bool valid;
	} t[] = {
		{ "lab", true },
		{ "LAB-1", true },
		{ "a", true },
		{ "123", true },
		{ "a.b.c", true },
		{ "a-b.c-d", true },
		{ "x0123456789012345678901234567890123456789012345678901234567890y", true },
		{ "x01234567890123456789012345678901234567890123456789012345678901y", false },
		{ "", false },
		{ "-a", false },
		{ "a-", false },
		{ "a-.b", false },
		{ "a.-b", false },
		{ ".a", false },
		{ "a.", false },
		{ "a..b", false },
		{ "a_b", false },
		{ "a b", false },
		{ "a%u", false },
		{ "caf\xc3\xa9", false },
	};
	char out[16];

	for (size_t i = 0; i < NSI_ARRAY_SIZE(t); i++)
		ok(nsi_hostname_valid(t[i].h) == t[i].valid, "nsi_hostname_valid(\"%s\") is %s",
		   t[i].h, t[i].valid ? "true" : "false");

	is_int(nsi_hostname_expand("lab-%u", "bob", out, sizeof(out)), 0, "expand lab-%%u");
	is_str(out, "lab-bob", "expand lab-%%u for bob");
	is_int(nsi_hostname_expand("%u.%u", "ab", out, sizeof(out)), 0, "expand %%u twice");
	is_str(out, "ab.ab", "expand %%u.%%u for ab");
	is_int(nsi_hostname_expand("", "ab", out, sizeof(out)), 0, "expand empty");
	is_str(out, "", "expand empty gives empty");
	is_int(nsi_hostname_expand("lab%", "ab", out, sizeof(out)), -EINVAL, "expand trailing %%");
	is_int(nsi_hostname_expand("%d", "ab", out, sizeof(out)), -EINVAL, "expand %%d");
	is_int(nsi_hostname_expand("%%u", "ab", out, sizeof(out)), -EINVAL, "expand %%%%u");
	memset(out, 'Z', sizeof(out));
	is_int(nsi_hostname_expand("abc", "x", out, 4), 0, "expand fits exactly");
	is_str(out, "abc", "expand exact fit result");
	memset(out, 'Z', sizeof(out));
	is_int(nsi_hostname_expand("ab%u", "cd", out, 4), -ENAMETOOLONG, "expand one too long");
	ok(out[4] == 'Z', "expand never writes past outlen");
	is_int(nsi_hostname_expand("", "x", out, 0), -ENAMETOOLONG,
	       "expand into a zero-size buffer");
}

static void test_names(void)
{
	is_str(nsi_tmp_method_name(NSI_TMP_TMPFS), "tmpfs", "tmp method name tmpfs");
	is_str(nsi_tmp_method_name(NSI_TMP_INSTANCE), "instance", "tmp method name instance");
	is_str(nsi_tmp_method_name(NSI_TMP_SHARED), "shared", "tmp method name shared");
	is_str(nsi_home_mode_name(NSI_HOME_SHARED), "shared", "home mode name shared");
	is_str(nsi_home_mode_name(NSI_HOME_PRIVATE), "private", "home mode name private");
	is_str(nsi_home_mode_name(NSI_HOME_EPHEMERAL), "ephemeral", "home mode name ephemeral");
	is_str(nsi_net_mode_name(NSI_NET_HOST), "host", "network mode name host");
	is_str(nsi_net_mode_name(NSI_NET_NONE), "none", "network mode name none");
	is_str(nsi_net_mode_name(NSI_NET_VETH), "veth", "network mode name veth");
}

/* ---- defaults and the schema ---- */

static const char builtin_print[] =
	"isolate = true;\n"
	"tmp = {\n"
	"  dirs = [ \"/tmp\", \"/var/tmp\", \"/dev/shm\" ];\n"
	"  method = \"tmpfs\";\n"
	"  size = \"256M\";\n"
	"};\n"
	"home = {\n"
	"  mode = \"shared\";\n"
	"  skel = \"/etc/skel\";\n"
	"  size = \"256M\";\n"
	"};\n"
	"network = { mode = \"host\"; };\n"
	"pid = false;\n"
	"ipc = true;\n"
	"hostname = \"\";\n"
	"userns = { enable = true; nested = false; root_id = 2147483646; };\n"
	"hide = [];\n"
	"readonly = [];\n"
	"on_last_logout = \"kill\";\n"
	"on_error = \"deny\";\n"
	"on_group_change = \"refuse\";\n";

static char *print_settings(const struct nsi_settings *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		bail("open_memstream");
	nsi_settings_print(s, f);
	fclose(f);
	return buf;
}

static void test_builtin(void)
{
	struct nsi_settings s, z;
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct nsi_resolved res;
	struct loaded l;
	char *printed, *cfg = NULL;

	nsi_settings_builtin(&s);
	ok(s.isolate, "builtin: isolate = true");
	is_int(s.tmp.ndirs, 3, "builtin: three tmp dirs");
	ok(!strcmp(s.tmp.dirs[0], "/tmp") && !strcmp(s.tmp.dirs[1], "/var/tmp") &&
		   !strcmp(s.tmp.dirs[2], "/dev/shm"),
	   "builtin: tmp.dirs = /tmp, /var/tmp, /dev/shm");
	is_int(s.tmp.method, NSI_TMP_TMPFS, "builtin: tmp.method = tmpfs");
	is_int(s.tmp.size, 256ull << 20, "builtin: tmp.size = 256M");
	is_int(s.home.mode, NSI_HOME_SHARED, "builtin: home.mode = shared");
	is_str(s.home.skel, "/etc/skel", "builtin: home.skel = /etc/skel");
	is_int(s.home.size, 256ull << 20, "builtin: home.size = 256M");
	is_int(s.network.mode, NSI_NET_HOST, "builtin: network.mode = host");
	ok(!s.pid && s.ipc, "builtin: pid = false, ipc = true");
	is_str(s.hostname, "", "builtin: hostname empty");
	ok(s.userns.enable && !s.userns.nested, "builtin: userns enabled, not nested");
	is_int(s.userns.root_id, NSI_DEFAULT_ROOT_ID, "builtin: userns.root_id = 2147483646");
	ok(s.nhide == 0 && s.nreadonly == 0, "builtin: hide and readonly empty");
	is_int(s.on_last_logout, NSI_LAST_KILL, "builtin: on_last_logout = kill");
	is_int(s.on_error, NSI_ONERR_DENY, "builtin: on_error = deny");
	is_int(s.on_group_change, NSI_GRPCHG_REFUSE, "builtin: on_group_change = refuse");

	/* A settings struct is zeroed first: hashing it must not see stale bytes. */
	memset(&z, 0xa5, sizeof(z));
	nsi_settings_builtin(&z);
	ok(!memcmp(&s, &z, sizeof(s)), "builtin: fully overwrites the struct (padding too)");

	printed = print_settings(&s);
	is_str(printed, builtin_print, "nsi_settings_print of the built-in defaults");

	/* The printout is valid libconfig for the defaults group: round trip. */
	if (asprintf(&cfg, "version = 1;\ndefaults = {\n%s};\n", printed) < 0)
		bail("out of memory");
	load_text(&l, cfg);
	ok(l.r == 0 && l.cf && l.d.nerrors == 0, "printed defaults load back without error");
	if (l.cf) {
		char *again;

		nsi_config_defaults(l.cf, &z);
		again = print_settings(&z);
		is_str(again, printed, "printed defaults load back to the same settings");
		free(again);
	}
	unload(&l);
	free(cfg);
	free(printed);

	is_int(resolve_simple("version = 1;\n", &u, &res), 0, "minimal file resolves");
	ok(!memcmp(&res.settings, &s, sizeof(s)), "minimal file: the built-in defaults apply");
	is_str(res.policy, "", "minimal file: no policy");
	is_str(res.why, "no policy matched; the defaults apply", "minimal file: why");

	load_text(&l, "version = 1;\n");
	ok(l.cf && nsi_config_npolicies(l.cf) == 0, "minimal file: zero policies");
	if (l.cf)
		is_int(nsi_config_policy(l.cf, 0, &res), -ENOENT, "nsi_config_policy out of range");
	unload(&l);
}

static void test_all_keys(void)
{
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct nsi_resolved res;
	struct nsi_settings *s = &res.settings;

	is_int(resolve_simple(
		       "version = 1;\n"
		       "defaults = {\n"
		       "  isolate = false;\n"
		       "  tmp = { dirs = [\"/tmp\", \"/srv/scratch\"]; method = \"instance\"; "
		       "size = \"1G\"; };\n"
		       "  home = { mode = \"private\"; skel = \"/srv/skel\"; size = \"2G\"; };\n"
		       "  network = { mode = \"none\"; };\n"
		       "  pid = false;\n"
		       "  ipc = false;\n"
		       "  hostname = \"box-%u\";\n"
		       "  userns = { enable = false; nested = true; root_id = 123456789; };\n"
		       "  hide = [\"$HOME/.ssh\"];\n"
		       "  readonly = [\"/srv/$USER\", \"/etc\"];\n"
		       "  on_last_logout = \"linger\";\n"
		       "  on_error = \"allow\";\n"
		       "};\n"
		       "policies = ();\n",
		       &u, &res),
	       0, "every supported key in defaults");
	ok(!s->isolate, "isolate = false applied");
	ok(s->tmp.ndirs == 2 && !strcmp(s->tmp.dirs[0], "/tmp") &&
		   !strcmp(s->tmp.dirs[1], "/srv/scratch") && s->tmp.dirs[2][0] == '\0',
	   "tmp.dirs applied");
	is_int(s->tmp.method, NSI_TMP_INSTANCE, "tmp.method = instance applied");
	is_int(s->tmp.size, 1ull << 30, "tmp.size = 1G applied");
	is_int(s->home.mode, NSI_HOME_PRIVATE, "home.mode = private applied");
	is_str(s->home.skel, "/srv/skel", "home.skel applied");
	is_int(s->home.size, 2ull << 30, "home.size = 2G applied");
	is_int(s->network.mode, NSI_NET_NONE, "network.mode = none applied");
	ok(!s->pid && !s->ipc, "pid = false and ipc = false applied");
	is_str(s->hostname, "box-%u", "hostname template kept unexpanded in the settings");
	ok(!s->userns.enable && s->userns.nested, "userns.enable/nested applied");
	is_int(s->userns.root_id, 123456789, "userns.root_id applied");
	ok(s->nhide == 1 && !strcmp(s->hide[0], "$HOME/.ssh"), "hide applied, unexpanded");
	ok(s->nreadonly == 2 && !strcmp(s->readonly[0], "/srv/$USER") &&
		   !strcmp(s->readonly[1], "/etc"),
	   "readonly applied, unexpanded");
	is_int(s->on_last_logout, NSI_LAST_LINGER, "on_last_logout = linger applied");
	is_int(s->on_error, NSI_ONERR_ALLOW, "on_error = allow applied");

	/* Each enum value, and the boundaries of the numeric ones. */
	{
		static const char *const methods[] = { "tmpfs", "instance", "shared" };
		static const char *const modes[] = { "host", "none", "veth" };
		static const struct {
			const char *s;
			uint64_t v;
		} sizes[] = { { "1M", 1ull << 20 },
			      { "1048576", 1ull << 20 },
			      { "2048k", 2ull << 20 },
			      { "1024G", 1ull << 40 },
			      { "3g", 3ull << 30 } };
		static const struct {
			const char *s;
			uint32_t v;
		} ids[] = { { "1", 1 },
			    { "2147483647", 2147483647u },
			    { "4294967294L", 4294967294u },
			    { "0x10000", 65536 },
			    { "0100", 100 }, /* decimal, as libconfig reads it */
			    { "+7", 7 } };
		char cfg[512];

		for (size_t i = 0; i < NSI_ARRAY_SIZE(methods); i++) {
			snprintf(cfg, sizeof(cfg),
				 "version = 1;\ndefaults = { tmp = { method = \"%s\"; }; };\n",
				 methods[i]);
			ok(resolve_simple(cfg, &u, &res) == 0 && (size_t)s->tmp.method == i,
			   "tmp.method = \"%s\" accepted", methods[i]);
		}
		for (size_t i = 0; i < NSI_ARRAY_SIZE(modes); i++) {
			snprintf(cfg, sizeof(cfg),
				 "version = 1;\ndefaults = { network = { mode = \"%s\"; }; };\n",
				 modes[i]);
			ok(resolve_simple(cfg, &u, &res) == 0 && (size_t)s->network.mode == i,
			   "network.mode = \"%s\" accepted", modes[i]);
		}
		for (size_t i = 0; i < NSI_ARRAY_SIZE(sizes); i++) {
			snprintf(cfg, sizeof(cfg),
				 "version = 1;\ndefaults = { tmp = { size = \"%s\"; }; };\n",
				 sizes[i].s);
			ok(resolve_simple(cfg, &u, &res) == 0 && s->tmp.size == sizes[i].v,
			   "tmp.size = \"%s\" accepted", sizes[i].s);
		}
		for (size_t i = 0; i < NSI_ARRAY_SIZE(ids); i++) {
			snprintf(cfg, sizeof(cfg),
				 "version = 1;\ndefaults = { userns = { root_id = %s; }; };\n",
				 ids[i].s);
			ok(resolve_simple(cfg, &u, &res) == 0 && s->userns.root_id == ids[i].v,
			   "userns.root_id = %s accepted", ids[i].s);
		}
		ok(resolve_simple("version = 1;\ndefaults = { userns = {\n  root_id # id\n  =\n"
				  "  /* below */ 9; }; };\n",
				  &u, &res) == 0 &&
			   s->userns.root_id == 9,
		   "userns.root_id accepted with its = and value on lines of their own");
		ok(resolve_simple(
			   "version = 1;\ndefaults = { on_last_logout = \"kill\"; on_error = "
			   "\"deny\"; ipc = true; pid = false; isolate = true; };\n",
			   &u, &res) == 0 &&
			   s->on_last_logout == NSI_LAST_KILL && s->on_error == NSI_ONERR_DENY &&
			   s->ipc && s->isolate,
		   "on_last_logout = kill, on_error = deny, ipc/isolate = true accepted");
		ok(resolve_simple("version = 1;\ndefaults = { pid = true; };\n", &u, &res) == 0 &&
			   s->pid,
		   "pid = true accepted (a PID namespace)");
		ok(resolve_simple("version = 1;\ndefaults = { tmp = { dirs = []; }; };\n", &u,
				  &res) == 0 &&
			   s->tmp.ndirs == 0,
		   "tmp.dirs = [] accepted (no polyinstantiation)");
		ok(resolve_simple(
			   "version = 1;\ndefaults = { tmp = { dirs = (\"/a\", \"/b\"); }; };\n",
			   &u, &res) == 0 &&
			   s->tmp.ndirs == 2,
		   "tmp.dirs as a list ( ... ) accepted");
		ok(resolve_simple(
			   "version = 1;\ndefaults = { tmp = { dirs = [\"/a\", \"/b\", \"/c\", "
			   "\"/d\", \"/e\", \"/f\", \"/g\", \"/h\"]; }; };\n",
			   &u, &res) == 0 &&
			   s->tmp.ndirs == 8 && !strcmp(s->tmp.dirs[7], "/h"),
		   "tmp.dirs with 8 entries accepted");
		ok(resolve_simple("version = 1;\ndefaults = { tmp = { dirs = [\"/procfs\", "
				  "\"/run/nsisolatex\", \"/run/user\"]; }; };\n",
				  &u, &res) == 0 &&
			   s->tmp.ndirs == 3,
		   "tmp.dirs: /procfs, /run/nsisolatex, /run/user accepted");
		snprintf(cfg, sizeof(cfg),
			 "version = 1;\ndefaults = { tmp = { dirs = [\"/%0254d\"]; }; };\n", 0);
		ok(resolve_simple(cfg, &u, &res) == 0 && strlen(s->tmp.dirs[0]) == 255,
		   "tmp.dirs: a 255-byte path accepted");
	}

	/* Host names: a valid template resolves to the user's name. */
	{
		static const char *const good[] = { "lab", "LAB1", "a.b.c", "%u",
						    "lab-%u.example" };
		char cfg[256], want[128];

		for (size_t i = 0; i < NSI_ARRAY_SIZE(good); i++) {
			snprintf(cfg, sizeof(cfg),
				 "version = 1;\ndefaults = { hostname = \"%s\"; };\n", good[i]);
			ok(resolve_simple(cfg, &u, &res) == 0 && !strcmp(s->hostname, good[i]),
			   "hostname = \"%s\" accepted", good[i]);
		}
		snprintf(want, sizeof(want), "h%062d", 0);
		snprintf(cfg, sizeof(cfg), "version = 1;\ndefaults = { hostname = \"%s\"; };\n",
			 want);
		ok(resolve_simple(cfg, &u, &res) == 0 && !strcmp(s->hostname, want),
		   "hostname of 63 characters accepted");
		ok(resolve_simple("version = 1;\ndefaults = { hostname = \"\"; };\n", &u, &res) ==
				   0 &&
			   s->hostname[0] == '\0',
		   "hostname = \"\" accepted (keeps the host's name)");
	}
}

/* ---- errors ---- */

static void test_errors(void)
{
	char *big = NULL;
	size_t len = 0;
	FILE *f;

	check_text("unknown key at every level, all reported",
		   "version = 1;\n"
		   "bogus = 1; # E: bogus: unknown key\n"
		   "defaults = {\n"
		   "  frobnicate = true; # E: frobnicate: unknown key\n"
		   "  tmp = { mode = \"x\"; }; # E: tmp.mode: unknown key\n"
		   "  home = { dirs = []; }; # E: home.dirs: unknown key\n"
		   "  network = { address = \"x\"; }; # E: network.address: unknown key\n"
		   "  userns = { map = 1; }; # E: userns.map: unknown key\n"
		   "  name = \"x\"; # E: name: unknown key\n"
		   "  match = {}; # E: match: unknown key\n"
		   "};\n"
		   "policies = (\n"
		   "  { name = \"p\";\n"
		   "    match = { hosts = [\"a\"]; }; # E: match.hosts: unknown key\n"
		   "    colour = \"red\"; # E: colour: unknown key\n"
		   "    tmp = { colour = 1; }; # E: tmp.colour: unknown key\n"
		   "    home = { colour = 1; }; # E: home.colour: unknown key\n"
		   "    network = { colour = 1; }; # E: network.colour: unknown key\n"
		   "    userns = { colour = 1; }; # E: userns.colour: unknown key\n"
		   "  }\n"
		   ");\n");

	check_text(
		"wrong types of top-level settings",
		"version = 1;\n"
		"defaults = {\n"
		"  isolate = \"yes\"; # E: isolate: expected a boolean (true or false)\n"
		"  ipc = 1; # E: ipc: expected a boolean (true or false)\n"
		"  pid = \"no\"; # E: pid: expected a boolean (true or false)\n"
		"  tmp = []; # E: tmp: expected a group { ... }\n"
		"  home = \"private\"; # E: home: expected a group { ... }\n"
		"  network = \"none\"; # E: network: expected a group { ... }\n"
		"  userns = true; # E: userns: expected a group { ... }\n"
		"  hostname = 1; # E: hostname: expected a string\n"
		"  hide = \"/x\"; # E: hide: expected an array of strings [ ... ]\n"
		"  readonly = ( \"/a\", 1 ); # E: readonly: expected an array of strings [ ... ]\n"
		"  on_last_logout = true; # E: on_last_logout: expected a string\n"
		"  on_error = 0; # E: on_error: expected a string\n"
		"};\n");

	check_text(
		"wrong types inside groups",
		"version = 1;\n"
		"defaults = {\n"
		"  tmp = {\n"
		"    dirs = \"/tmp\"; # E: tmp.dirs: expected an array of strings [ ... ]\n"
		"    method = 1; # E: tmp.method: expected a string\n"
		"    size = 256; # E: tmp.size: expected a string\n"
		"  };\n"
		"  userns = {\n"
		"    enable = 1; # E: userns.enable: expected a boolean (true or false)\n"
		"    nested = \"no\"; # E: userns.nested: expected a boolean (true or false)\n"
		"    root_id = \"5\"; # E: userns.root_id: expected an integer\n"
		"  };\n"
		"  home = { mode = 1; }; # E: home.mode: expected a string\n"
		"  network = { mode = false; }; # E: network.mode: expected a string\n"
		"};\n"
		"policies = (\n"
		"  { name = \"a\"; tmp = { dirs = ( \"/a\", 2 ); }; }, # E: tmp.dirs: expected an "
		"array of strings [ ... ]\n"
		"  { name = \"b\"; userns = { root_id = 1.5; }; }, # E: userns.root_id: expected "
		"an "
		"integer\n"
		"  { name = \"c\"; tmp = 5; } # E: tmp: expected a group { ... }\n"
		");\n");

	check_text(
		"bad enum values",
		"version = 1;\n"
		"defaults = {\n"
		"  tmp = { method = \"ramfs\"; }; # E: tmp.method: invalid value \"ramfs\" "
		"(expected "
		"tmpfs, instance or shared)\n"
		"  home = { mode = \"hidden\"; }; # E: home.mode: invalid value \"hidden\" "
		"(expected "
		"shared, private or ephemeral)\n"
		"  network = { mode = \"bridge\"; }; # E: network.mode: invalid value \"bridge\" "
		"(expected host, none or veth)\n"
		"  on_last_logout = \"keep\"; # E: on_last_logout: invalid value \"keep\" "
		"(expected "
		"kill or linger)\n"
		"  on_error = \"ignore\"; # E: on_error: invalid value \"ignore\" (expected deny "
		"or "
		"allow)\n"
		"  on_group_change = \"merge\"; # E: on_group_change: invalid value \"merge\" "
		"(expected refuse or join)\n"
		"};\n"
		"policies = (\n"
		"  { name = \"a\"; tmp = { method = \"TMPFS\"; }; } # E: tmp.method: invalid value "
		"\"TMPFS\" (expected tmpfs, instance or shared)\n"
		");\n");

	{
		static const char *const bad[] = { "256",
						   "1023K",
						   "1025G",
						   "2T",
						   "256 M",
						   "",
						   "-1M",
						   "0",
						   "1.5G",
						   "M",
						   "99999999999999999999G" };

		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\npolicies = (\n");
		for (size_t i = 0; i < NSI_ARRAY_SIZE(bad); i++)
			fprintf(f,
				"  { name = \"p%zu\"; tmp = { size = \"%s\"; }; }%s # E: tmp.size: "
				"invalid "
				"size \"%s\" (expected 1M to 1024G, e.g. \"256M\")\n",
				i, bad[i], i + 1 < NSI_ARRAY_SIZE(bad) ? "," : "", bad[i]);
		fprintf(f, ");\n");
		fclose(f);
		check_text("bad sizes", big);
		free(big);
	}

	{
		static const char *const bad[] = {
			"bad_name",
			"-lead",
			"trail-",
			"a..b",
			".a",
			"a.",
			"%x",
			"lab%",
			"%u_x",
			"has space",
			"x0123456789012345678901234567890123456789012345678901234567890yz",
		};

		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\npolicies = (\n");
		for (size_t i = 0; i < NSI_ARRAY_SIZE(bad); i++)
			fprintf(f,
				"  { name = \"p%zu\"; hostname = \"%s\"; }%s # E: hostname: \"%s\" "
				"is not a "
				"valid host name (letters, digits, '-', '.', %%u; at most 63)\n",
				i, bad[i], i + 1 < NSI_ARRAY_SIZE(bad) ? "," : "", bad[i]);
		fprintf(f, ");\n");
		fclose(f);
		check_text("bad host names", big);
		free(big);
	}

	check_text(
		"root_id out of range",
		"version = 1;\n"
		"policies = (\n"
		"  { name = \"a\"; userns = { root_id = 0; }; }, # E: userns.root_id: 0 is out of "
		"range (1 to 4294967294)\n"
		"  { name = \"b\"; userns = { root_id = -5; }; }, # E: userns.root_id: -5 is out "
		"of "
		"range (1 to 4294967294)\n"
		"  { name = \"c\"; userns = { root_id = 4294967295L; }; }, # E: userns.root_id: "
		"4294967295 is out of range (1 to 4294967294)\n"
		"  { name = \"d\"; userns = { root_id = -1L; }; } # E: userns.root_id: -1 is out "
		"of "
		"range (1 to 4294967294)\n"
		");\n");

	/* libconfig 1.5 keeps a literal without L in an int: 4294968296 would be 1000. */
	check_text("integers that do not fit libconfig's int",
		   "version = 1;\n"
		   "policies = (\n"
		   "  { name = \"a\"; userns = { root_id = 4294968296; }; }, # E: userns.root_id: "
		   "4294968296 does not fit in an integer (write 4294968296L)\n"
		   "  { name = \"b\"; userns = { root_id = 3000000000; }; }, # E: userns.root_id: "
		   "3000000000 does not fit in an integer (write 3000000000L)\n"
		   "  { name = \"c\"; userns = { root_id = 0x100000001; }; }, # E: userns.root_id: "
		   "0x100000001 does not fit in an integer (write 0x100000001L)\n"
		   "  { name = \"d\"; userns = { root_id = 99999999999999999999L; }; }, # E: "
		   "userns.root_id: 99999999999999999999 is out of range\n"
		   /* 4294967301 wraps to 5: the 5 in the string and the comment are not it. */
		   "  { name = \"e\"; home = { skel = \"/x/root_id = 5\"; }; userns = { # root_id "
		   "= 5\n"
		   "    root_id /* root_id = 5 */ = # E: userns.root_id: 4294967301 does not fit "
		   "in an "
		   "integer (write 4294967301L)\n"
		   "    4294967301; }; }\n"
		   ");\n");
	/* A comment from an earlier line ends on the setting's line: its text is not the value. */
	check_text(
		"a wrapped integer after a comment that began lines before",
		"version = 1;\n"
		"defaults = { userns = { /* an old value:\n"
		"  root_id = 5 */ root_id = 4294967301; }; }; # E: userns.root_id: 4294967301 does "
		"not fit in an integer (write 4294967301L)\n");
	check_text("version 2^32 + 1 is not version 1",
		   "version = 4294967297; # E: version: 4294967297 does not fit in an integer "
		   "(write 4294967297L)\n");

	check_text(
		"tmp.dirs: bad paths",
		"version = 1;\n"
		"policies = (\n"
		"  { name = \"a\"; tmp = { dirs = [\n"
		"    \"tmp\", # E: tmp.dirs: \"tmp\" is not a normalized absolute path\n"
		"    \"/tmp/\", # E: tmp.dirs: \"/tmp/\" is not a normalized absolute path\n"
		"    \"/a//b\", # E: tmp.dirs: \"/a//b\" is not a normalized absolute path\n"
		"    \"/a/./b\", # E: tmp.dirs: \"/a/./b\" is not a normalized absolute path\n"
		"    \"/a/../b\", # E: tmp.dirs: \"/a/../b\" is not a normalized absolute path\n"
		"    \"\", # E: tmp.dirs: \"\" is not a normalized absolute path\n"
		"    \"/proc\" ]; }; }, # E: tmp.dirs: \"/proc\" cannot be polyinstantiated\n"
		"  { name = \"b\"; tmp = { dirs = [\n"
		"    \"/proc/sys\", # E: tmp.dirs: \"/proc/sys\" cannot be polyinstantiated\n"
		"    \"/run/nsisolate\", # E: tmp.dirs: \"/run/nsisolate\" cannot be "
		"polyinstantiated\n"
		"    \"/run/nsisolate/1000\", # E: tmp.dirs: \"/run/nsisolate/1000\" cannot be "
		"polyinstantiated\n"
		"    \"$HOME/tmp\",\n"
		"    \"/tmp\",\n"
		"    \"/var/tmp\",\n"
		"    \"$HOME/tmp\", # E: tmp.dirs: \"$HOME/tmp\" listed twice\n"
		"    \"/tmp\" ]; }; }, # E: tmp.dirs: \"/tmp\" listed twice\n"
		"  { name = \"c\"; tmp = { dirs = [\"/1\", \"/2\", \"/3\", \"/4\", \"/5\", \"/6\", "
		"\"/7\", \"/8\", \"/9\"]; }; } # E: tmp.dirs: more than 8 entries\n"
		");\n");

	{
		char cfg[1024];

		snprintf(cfg, sizeof(cfg),
			 "version = 1;\n"
			 "defaults = { tmp = { dirs = [\"/%0255d\"]; }; }; # E: tmp.dirs: "
			 "\"/%0255d\" is not "
			 "a normalized absolute path\n",
			 0, 0);
		check_text("tmp.dirs: a 256-byte path is refused", cfg);
	}

	/* Apart: "/" is refused as a directory that cannot be polyinstantiated, not as a bad path. */
	check_text("tmp.dirs: \"/\" cannot be polyinstantiated",
		   "version = 1;\n"
		   "defaults = { tmp = { dirs = [\"/\"]; }; }; # E: tmp.dirs: \"/\" cannot be "
		   "polyinstantiated\n");

	check_text(
		"tmp.dirs: bad templates",
		"version = 1;\n"
		"policies = (\n"
		"  { name = \"a\"; tmp = { dirs = [\n"
		"    \"$HOMEX/tmp\", # E: tmp.dirs: \"$HOMEX/tmp\" is not a normalized absolute "
		"path\n"
		"    \"/a/$HOME\", # E: tmp.dirs: \"/a/$HOME\" is not a normalized absolute path\n"
		"    \"/a$HOME\", # E: tmp.dirs: \"/a$HOME\" is not a normalized absolute path\n"
		"    \"$HOME/../tmp\", # E: tmp.dirs: \"$HOME/../tmp\" is not a normalized "
		"absolute path\n"
		"    \"$FOO/tmp\", # E: tmp.dirs: \"$FOO/tmp\" is not a normalized absolute path\n"
		"    \"$USER/tmp\", # E: tmp.dirs: \"$USER/tmp\" is not a normalized absolute "
		"path\n"
		"    \"$HOME/\" ]; }; }, # E: tmp.dirs: \"$HOME/\" is not a normalized absolute "
		"path\n"
		"  { name = \"b\"; tmp = { dirs = [\"$HOME/tmp\", \"/scratch/$USER\"]; }; }\n"
		");\n");

	check_text("home: wrong types",
		   "version = 1;\n"
		   "defaults = {\n"
		   "  home = {\n"
		   "    skel = 1; # E: home.skel: expected a string\n"
		   "    size = 256; # E: home.size: expected a string\n"
		   "  };\n"
		   "};\n"
		   "policies = ( { name = \"p\"; home = { skel = [\"/etc/skel\"]; }; } ); # E: "
		   "home.skel: expected a string\n");

	check_text("policy names: missing, wrong type, invalid, duplicate",
		   "version = 1;\n"
		   "policies = (\n"
		   "  { name = \"dup\"; },\n"
		   "  { name = \"dup\"; }, # E: name: \"dup\" already defined at @MAIN@:3\n"
		   "  { isolate = false; }, # E: policies: entry 3: missing name\n"
		   "  { name = 5; }, # E: name: expected a string\n"
		   "  { name = \"\"; }, # E: name: \"\" is not valid (1 to 32 letters, digits, '_' "
		   "or '-')\n"
		   "  { name = \"with space\"; }, # E: name: \"with space\" is not valid (1 to 32 "
		   "letters, "
		   "digits, '_' or '-')\n"
		   "  { name = \"a.b\"; }, # E: name: \"a.b\" is not valid (1 to 32 letters, "
		   "digits, '_' "
		   "or '-')\n"
		   "  { name = \"n0123456789012345678901234567890x\"; }, # E: name: "
		   "\"n0123456789012345678901234567890x\" is not valid (1 to 32 letters, digits, "
		   "'_' or "
		   "'-')\n"
		   "  { name = \"n0123456789012345678901234567890\"; },\n"
		   "  { name = \"Ok_name-2\"; },\n"
		   "  \"loose\", # E: policies: entry 11: expected a group { ... }\n"
		   "  { name = \"bad name\"; isolate = 3; } # E: name: \"bad name\" is not valid "
		   "(1 to 32 "
		   "letters, digits, '_' or '-') # E: isolate: expected a boolean (true or false)\n"
		   ");\n");

	check_text(
		"policies: not a list",
		"version = 1;\n"
		"policies = { name = \"x\"; }; # E: policies: expected a list ( { ... }, ... )\n");
	check_text("policies: an array is not a list",
		   "version = 1;\n"
		   "policies = [ \"x\" ]; # E: policies: expected a list ( { ... }, ... )\n");

	/* Loaded as a login does: the names exist nowhere, no warning wanted here. */
	login_load = true;
	check_text("match: names as NSS gives them (SSSD, Active Directory)",
		   "version = 1;\n"
		   "policies = (\n"
		   "  { name = \"a\"; match = { users = [\"alice@corp.example\", \"CORP\\\\bob\", "
		   "\"John Smith\"]; "
		   "groups = [\"domain users@corp.example\", \"lab-2024$\"]; }; },\n"
		   "  { name = \"b\"; match = { groups = [\"trailing \"]; }; }, # E: "
		   "match.groups: \"trailing \" is not a valid name\n"
		   "  { name = \"c\"; match = { services = [\"ssh@x\"]; }; } # E: "
		   "match.services: \"ssh@x\" is not a valid name\n"
		   ");\n");
	login_load = false;

	check_text("match: id ranges",
		   "version = 1;\n"
		   "policies = (\n"
		   "  { name = \"a\"; match = { uids = [\"1000\", \"100000-199999\"]; gids = "
		   "[\"4294967294\"]; }; },\n"
		   "  { name = \"b\"; match = { uids = [\"0-999\"]; }; }, # W: match.uids: "
		   "\"0-999\" includes 0 (root), which is never isolated\n"
		   "  { name = \"c\"; match = { uids = [\"200-100\"]; }; }, # E: match.uids: "
		   "\"200-100\" is not an id or a range \"FIRST-LAST\" (decimal, FIRST <= LAST < "
		   "4294967295)\n"
		   "  { name = \"d\"; match = { gids = [\"4294967295\"]; }; }, # E: match.gids: "
		   "\"4294967295\" is not an id or a range \"FIRST-LAST\" (decimal, FIRST <= LAST "
		   "< 4294967295)\n"
		   "  { name = \"e\"; match = { uids = [\"0100\"]; }; }, # E: match.uids: "
		   "\"0100\" is not an id or a range \"FIRST-LAST\" (decimal, FIRST <= LAST < "
		   "4294967295)\n"
		   "  { name = \"f\"; match = { uids = [\"1-2-3\"]; }; }, # E: match.uids: "
		   "\"1-2-3\" is not an id or a range \"FIRST-LAST\" (decimal, FIRST <= LAST < "
		   "4294967295)\n"
		   "  { name = \"g\"; match = { gids = [\" 7\"]; }; }, # E: match.gids: \" 7\" "
		   "is not an id or a range \"FIRST-LAST\" (decimal, FIRST <= LAST < 4294967295)\n"
		   "  { name = \"h\"; match = { uids = []; }; } # E: match.uids: empty list "
		   "matches nobody\n"
		   ");\n");

	check_text(
		"match: empty lists, bad names, wrong types",
		"version = 1;\n"
		"policies = (\n"
		"  { name = \"a\"; match = { users = []; }; }, # E: match.users: empty list "
		"matches "
		"nobody\n"
		"  { name = \"b\"; match = { groups = []; }; }, # E: match.groups: empty list "
		"matches "
		"nobody\n"
		"  { name = \"c\"; match = { services = (); }; }, # E: match.services: empty list "
		"matches nobody\n"
		"  { name = \"d\"; match = \"root\"; }, # E: match: expected a group { ... }\n"
		"  { name = \"e\"; match = { users = \"root\"; }; }, # E: match.users: expected an "
		"array "
		"of strings [ ... ]\n"
		"  { name = \"f\"; match = { users = [\"a/b\"]; }; }, # E: match.users: \"a/b\" is "
		"not a "
		"valid name\n"
		"  { name = \"g\"; match = { groups = [\" x\"]; }; }, # E: match.groups: \" x\" "
		"is not "
		"a valid name\n"
		"  { name = \"h\"; match = { services = [\"\"]; }; }, # E: match.services: \"\" is "
		"not a "
		"valid name\n"
		"  { name = \"i\"; match = { users = [\"root\"]; hosts = [\"x\"]; }; } # E: "
		"match.hosts: "
		"unknown key\n"
		");\n");

	{
		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\npolicies = (\n  { name = \"a\"; match = { users = [");
		for (int i = 0; i < 257; i++)
			fprintf(f, "%s\"root\"", i ? ", " : "");
		fprintf(f, "]; }; }, # E: match.users: more than 256 entries\n"
			   "  { name = \"b\"; match = { services = [");
		for (int i = 0; i < 256; i++)
			fprintf(f, "%s\"s%d\"", i ? ", " : "", i);
		fprintf(f, "]; }; }\n);\n");
		fclose(f);
		check_text("match: 256 entries accepted, 257 refused", big);
		free(big);

		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\npolicies = (\n");
		for (int i = 0; i < NSI_MAX_POLICIES; i++)
			fprintf(f, "  { name = \"p%d\"; },\n", i);
		fprintf(f, "  { name = \"one-too-many\"; } # E: more than 1024 policies\n);\n");
		fclose(f);
		check_text("more than 1024 policies refused", big);
		free(big);
	}

	check_text("version missing", "defaults = { isolate = true; }; # E0: version: missing (add "
				      "\"version = 1;\")\n");
	check_text("version = 2", "version = 2; # E: version: must be 1\n");
	check_text("version = \"1\"", "version = \"1\"; # E: version: must be 1\n");
	check_text("version = 1.0", "version = 1.0; # E: version: must be 1\n");
	check_text("defaults: not a group",
		   "version = 1;\ndefaults = ( ); # E: defaults: expected a "
		   "group { ... }\n");

	check_text("syntax error names its line", "version = 1;\n"
						  "defaults = {\n"
						  "  isolate = ; # E: syntax error: syntax error\n"
						  "};\n");
	check_text("duplicate setting is a syntax error",
		   "version = 1;\n"
		   "defaults = { isolate = true; };\n"
		   "defaults = { isolate = false; }; # E: syntax error: duplicate setting name\n");
	check_text("mixed array is a syntax error", "version = 1;\n"
						    "defaults = { tmp = { dirs = [\"/tmp\", 1]; }; "
						    "}; # E: syntax error: mismatched element "
						    "type in array\n");

	check_text("@include is refused, on every line",
		   "version = 1;\n"
		   "@include \"/etc/passwd\" # E: @include is not allowed\n"
		   "   @include \"x.conf\" # E: @include is not allowed\n"
		   "\t@include \"y.conf\" # E: @include is not allowed\n"
		   "defaults = { bogus = 1; };\n");

	/* An @include that libconfig would not honour either: still no include happens. */
	{
		struct loaded l;
		char inc[PATH_MAX], cfg[PATH_MAX * 2];

		new_case(l.dir, sizeof(l.dir));
		bprintf(inc, "%s/inc.conf", l.dir);
		if (!put(inc, "bogus = 1;\n", 0644))
			bail(inc);
		snprintf(cfg, sizeof(cfg),
			 "version = 1; @include \"%s\" # E: syntax error: syntax error\n", inc);
		check_text("@include after a setting is not an include", cfg);
		snprintf(cfg, sizeof(cfg),
			 "version = 1;\n\r@include \"%s\" # E: syntax error: syntax error\n", inc);
		check_text("@include after a carriage return is not an include", cfg);
	}
}

/* ---- home, hide and readonly ---- */

static void test_home_keys(void)
{
	static const char *const modes[] = { "shared", "private", "ephemeral" };
	static const struct {
		const char *s;
		uint64_t v;
	} sizes[] = {
		{ "1M", 1ull << 20 },	  { "1048576", 1ull << 20 }, { "1024k", 1ull << 20 },
		{ "512m", 512ull << 20 }, { "3g", 3ull << 30 },	     { "1024G", 1ull << 40 }
	};
	static const char *const bad_sizes[] = { "1023K",
						 "1048575",
						 "1025G",
						 "1T",
						 "0",
						 "",
						 "-1M",
						 "1.5G",
						 "256 M",
						 "M",
						 "99999999999999999999G" };
	static const char *const bad_skels[] = { "etc/skel",	"/etc/skel/",	"/etc//skel",
						 "/etc/./skel", "/etc/../skel", "$HOME/skel",
						 "./skel",	"/etc/skel/.." };
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct nsi_resolved res;
	struct nsi_settings *s = &res.settings;
	char cfg[1024], want[NSI_PATH_LEN];
	char *big = NULL;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; i < NSI_ARRAY_SIZE(modes); i++) {
		snprintf(cfg, sizeof(cfg),
			 "version = 1;\ndefaults = { home = { mode = \"%s\"; }; };\n", modes[i]);
		ok(resolve_simple(cfg, &u, &res) == 0 && (size_t)s->home.mode == i,
		   "home.mode = \"%s\" accepted", modes[i]);
	}
	for (size_t i = 0; i < NSI_ARRAY_SIZE(sizes); i++) {
		snprintf(cfg, sizeof(cfg),
			 "version = 1;\ndefaults = { home = { size = \"%s\"; }; };\n", sizes[i].s);
		ok(resolve_simple(cfg, &u, &res) == 0 && s->home.size == sizes[i].v &&
			   s->tmp.size == 256ull << 20,
		   "home.size = \"%s\" accepted (tmp.size untouched)", sizes[i].s);
	}
	ok(resolve_simple("version = 1;\ndefaults = { home = { skel = \"/etc/kiosk/skel\"; }; };\n",
			  &u, &res) == 0 &&
		   !strcmp(s->home.skel, "/etc/kiosk/skel") && s->home.mode == NSI_HOME_SHARED &&
		   s->home.size == 256ull << 20,
	   "home.skel = \"/etc/kiosk/skel\" accepted, mode and size keep their defaults");
	{
		char zero[NSI_PATH_LEN] = { 0 };

		ok(resolve_simple("version = 1;\ndefaults = { home = { skel = \"\"; }; };\n", &u,
				  &res) == 0 &&
			   !memcmp(s->home.skel, zero, sizeof(zero)),
		   "home.skel = \"\" accepted (no skeleton), every byte cleared");
	}
	snprintf(want, sizeof(want), "/%0254d", 0);
	snprintf(cfg, sizeof(cfg), "version = 1;\ndefaults = { home = { skel = \"%s\"; }; };\n",
		 want);
	ok(resolve_simple(cfg, &u, &res) == 0 && !strcmp(s->home.skel, want),
	   "home.skel: a 255-byte path accepted");
	ok(resolve_simple(
		   "version = 1;\n"
		   "defaults = { home = { mode = \"ephemeral\"; skel = \"/srv/skel\"; size = "
		   "\"64M\"; }; };\n"
		   "policies = ( { name = \"p\"; home = { size = \"2G\"; }; } );\n",
		   &u, &res) == 0 &&
		   s->home.mode == NSI_HOME_EPHEMERAL && !strcmp(s->home.skel, "/srv/skel") &&
		   s->home.size == 2ull << 30 && !strcmp(res.policy, "p"),
	   "a policy's home = { size } keeps the mode and skel of the defaults");

	f = open_memstream(&big, &len);
	if (!f)
		bail("open_memstream");
	fprintf(f, "version = 1;\npolicies = (\n");
	for (size_t i = 0; i < NSI_ARRAY_SIZE(bad_sizes); i++)
		fprintf(f,
			"  { name = \"p%zu\"; home = { size = \"%s\"; }; }%s # E: home.size: "
			"invalid "
			"size \"%s\" (expected 1M to 1024G, e.g. \"256M\")\n",
			i, bad_sizes[i], i + 1 < NSI_ARRAY_SIZE(bad_sizes) ? "," : "",
			bad_sizes[i]);
	fprintf(f, ");\n");
	fclose(f);
	check_text("home.size: bad sizes, each named at its line", big);
	free(big);

	f = open_memstream(&big, &len);
	if (!f)
		bail("open_memstream");
	fprintf(f,
		"version = 1;\ndefaults = { home = { skel = \"/%0255d\"; }; }; # E: home.skel: "
		"\"/%0255d\" is not a normalized absolute path\npolicies = (\n",
		0, 0);
	for (size_t i = 0; i < NSI_ARRAY_SIZE(bad_skels); i++)
		fprintf(f,
			"  { name = \"p%zu\"; home = { skel = \"%s\"; }; }%s # E: home.skel: "
			"\"%s\" is "
			"not a normalized absolute path\n",
			i, bad_skels[i], i + 1 < NSI_ARRAY_SIZE(bad_skels) ? "," : "",
			bad_skels[i]);
	fprintf(f, ");\n");
	fclose(f);
	check_text("home.skel: bad paths and a 256-byte path, each named at its line", big);
	free(big);
}

static const char *const bad_templates[] = {
	"$HOMEX/a", "a/b",	"/",   "$HOME/../x", "$FOO/x",	   "/a/$HOME", "",
	"$HOME/",   "/a//b",	"/a/", "/a/./b",     "$HOME/x/..", "$USER/x",  "$HOME$USER",
	"/a/$",	    "/a/$user", "~/x", "$home/x",    "/a$HOME/x",
};

static bool paths_are(unsigned n, const char (*paths)[NSI_PATH_LEN], unsigned want_n,
		      const char *const *want)
{
	char zero[NSI_PATH_LEN] = { 0 };

	if (n != want_n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(paths[i], want[i]))
			return false;
	for (unsigned i = n; i < NSI_MAX_PATHS; i++)
		if (memcmp(paths[i], zero, sizeof(zero)))
			return false;
	return true;
}

static void test_path_keys(void)
{
	static const char *const keys[] = { "hide", "readonly" };
	static const char *const good[] = {
		"$HOME/.ssh",	     "/var/mail/$USER", "$HOME",       "/srv/$USER/x",
		"/x/pre-$USER-post", "$HOME/$USER.d",	"/etc/shadow", "/a$USER"
	};
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct nsi_resolved res;
	struct nsi_settings *s = &res.settings;
	char *big = NULL, cfg[4096], desc[128], long_ok[NSI_PATH_LEN];
	size_t len = 0;
	FILE *f;

	for (size_t k = 0; k < NSI_ARRAY_SIZE(keys); k++) {
		const char *key = keys[k];
		bool hide = k == 0;
		const char *sixteen[NSI_MAX_PATHS];
		char names[NSI_MAX_PATHS][16];

		/* Accepted templates, stored as written: they expand per user at login. */
		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\ndefaults = { %s = [", key);
		for (size_t i = 0; i < NSI_ARRAY_SIZE(good); i++)
			fprintf(f, "%s\"%s\"", i ? ", " : "", good[i]);
		fprintf(f, "]; };\n");
		fclose(f);
		ok(resolve_simple(big, &u, &res) == 0 &&
			   paths_are(hide ? s->nhide : s->nreadonly, hide ? s->hide : s->readonly,
				     NSI_ARRAY_SIZE(good), good) &&
			   (hide ? s->nreadonly : s->nhide) == 0,
		   "%s: templates accepted and kept unexpanded, the other list untouched", key);
		free(big);

		for (int i = 0; i < NSI_MAX_PATHS; i++) {
			snprintf(names[i], sizeof(names[i]), "/p%d", i);
			sixteen[i] = names[i];
		}
		snprintf(cfg, sizeof(cfg), "version = 1;\ndefaults = { %s = (", key);
		for (int i = 0; i < NSI_MAX_PATHS; i++)
			snprintf(cfg + strlen(cfg), sizeof(cfg) - strlen(cfg), "%s\"%s\"",
				 i ? ", " : "", names[i]);
		strcat(cfg, "); };\n");
		ok(resolve_simple(cfg, &u, &res) == 0 &&
			   paths_are(hide ? s->nhide : s->nreadonly, hide ? s->hide : s->readonly,
				     NSI_MAX_PATHS, sixteen),
		   "%s: 16 entries accepted, as a list ( ... ) too", key);

		snprintf(long_ok, sizeof(long_ok), "$HOME/%0249d", 0);
		snprintf(cfg, sizeof(cfg), "version = 1;\ndefaults = { %s = [\"%s\"]; };\n", key,
			 long_ok);
		{
			const char *one[] = { long_ok };

			ok(strlen(long_ok) == 255 && resolve_simple(cfg, &u, &res) == 0 &&
				   paths_are(hide ? s->nhide : s->nreadonly,
					     hide ? s->hide : s->readonly, 1, one),
			   "%s: a 255-byte template accepted", key);
		}

		/*
		 * Every bad entry, one per line, each named at its own line (two lists of at most
		 * 16). The closing bracket shares the last entry's line: libconfig numbers the
		 * last element of an array with the line of the token after it.
		 */
		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\ndefaults = {\n  %s = [\n", key);
		for (size_t i = 0; i < NSI_ARRAY_SIZE(bad_templates); i++) {
			bool last = i + 1 == NSI_ARRAY_SIZE(bad_templates);

			fprintf(f,
				"    \"%s\"%s # E: %s: \"%s\" is not an absolute path "
				"(\"$HOME/...\" "
				"and $USER allowed)\n",
				bad_templates[i],
				i == 8 ? " ]; };"
				: last ? " ]; },"
				       : ",",
				key, bad_templates[i]);
			if (i == 8)
				fprintf(f, "policies = (\n  { name = \"p\"; %s = [\n", key);
		}
		fprintf(f,
			"  { name = \"q\"; %s = [\"/ok\", \"/%0255d\"]; } # E: %s: \"/%0255d\" is "
			"not an absolute path (\"$HOME/...\" and $USER allowed)\n);\n",
			key, 0, key, 0);
		fclose(f);
		snprintf(desc, sizeof(desc),
			 "%s: bad templates and a 256-byte path, each at its line", key);
		check_text(desc, big);
		free(big);

		f = open_memstream(&big, &len);
		if (!f)
			bail("open_memstream");
		fprintf(f, "version = 1;\npolicies = ( { name = \"p\";\n  %s = [", key);
		for (int i = 0; i <= NSI_MAX_PATHS; i++)
			fprintf(f, "%s\"/h%d\"", i ? ", " : "", i);
		fprintf(f, "]; # E: %s: more than 16 entries\n} );\n", key);
		fclose(f);
		snprintf(desc, sizeof(desc), "%s: more than 16 entries", key);
		check_text(desc, big);
		free(big);

		snprintf(cfg, sizeof(cfg),
			 "version = 1;\n"
			 "defaults = {\n"
			 "  %s = { a = \"/x\"; }; # E: %s: expected an array of strings [ ... ]\n"
			 "};\n"
			 "policies = ( { name = \"p\"; %s = [ 1 ]; } ); # E: %s: expected an array "
			 "of "
			 "strings [ ... ]\n",
			 key, key, key, key);
		snprintf(desc, sizeof(desc), "%s: wrong types", key);
		check_text(desc, cfg);
	}
}

/* The new keys print as libconfig that loads back to the same settings. */
static void test_print_new_keys(void)
{
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct nsi_resolved res;
	struct nsi_settings again;
	struct loaded l;
	char *printed, *cfg = NULL;

	if (resolve_simple(
		    "version = 1;\n"
		    "defaults = { home = { mode = \"ephemeral\"; skel = \"\"; size = "
		    "\"524288K\"; };\n"
		    "  hide = [\"$HOME/.ssh\", \"/var/mail/$USER\"]; readonly = [\"/etc\"];\n"
		    "  tmp = { dirs = [\"$HOME/tmp\"]; }; pid = true; };\n",
		    &u, &res) < 0) {
		ok(0, "print of home, hide and readonly (resolve failed)");
		return;
	}
	printed = print_settings(&res.settings);
	ok(strstr(printed, "\nhome = {\n  mode = \"ephemeral\";\n  skel = \"\";\n  size = "
			   "\"512M\";\n};\n") != NULL,
	   "print: the home group with mode, an empty skel and the size in its largest unit");
	ok(strstr(printed, "\nhide = [ \"$HOME/.ssh\", \"/var/mail/$USER\" ];\nreadonly = [ "
			   "\"/etc\" ];\n") != NULL,
	   "print: hide and readonly as written, unexpanded");
	ok(strstr(printed, "  dirs = [ \"$HOME/tmp\" ];\n") && strstr(printed, "\npid = true;\n"),
	   "print: a tmp.dirs template and pid = true");
	if (asprintf(&cfg, "version = 1;\ndefaults = {\n%s};\n", printed) < 0)
		bail("out of memory");
	load_text(&l, cfg);
	ok(l.r == 0 && l.cf && l.d.nerrors == 0, "printed home, hide and readonly load back");
	if (l.cf) {
		nsi_config_defaults(l.cf, &again);
		ok(!memcmp(&again, &res.settings, sizeof(again)),
		   "printed home, hide and readonly load back to the same settings");
	}
	unload(&l);
	free(cfg);
	free(printed);
}

/* ---- nsi_expand_path ---- */

static void test_expand_path(void)
{
	static const struct {
		const char *tmpl, *home, *user, *want;
	} good[] = {
		{ "$HOME/.ssh", "/home/alice", "alice", "/home/alice/.ssh" },
		{ "$HOME", "/home/alice", "alice", "/home/alice" },
		{ "/var/mail/$USER", "/home/alice", "alice", "/var/mail/alice" },
		{ "/srv/$USER/$USER", "/home/alice", "alice", "/srv/alice/alice" },
		{ "$HOME/$USER.d", "/home/alice", "alice", "/home/alice/alice.d" },
		{ "/x/$USERNAME", "/home/alice", "alice", "/x/aliceNAME" },
		{ "/x/a$USER-b", "/home/alice", "alice", "/x/aalice-b" },
		{ "/etc/shadow", "/home/alice", "alice", "/etc/shadow" },
		/* Not recursive: what $HOME and $USER hold is copied as it is. */
		{ "$HOME/x", "/h/$USER", "bob", "/h/$USER/x" },
		{ "/m/$USER", "/home/bob", "$HOME", "/m/$HOME" },
		/* Names as NSS gives them: SSSD's fully qualified, Active Directory's with a space. */
		{ "/var/mail/$USER", "/home/a", "alice@corp.example",
		  "/var/mail/alice@corp.example" },
		{ "/var/mail/$USER", "/home/j", "John Smith", "/var/mail/John Smith" },
		{ "/x/$USER", "/home/d", "...", "/x/..." },
	};
	static const struct {
		const char *tmpl, *home, *user;
	} bad[] = {
		{ "$HOMEX/a", "/home/alice", "alice" },
		{ "a/b", "/home/alice", "alice" },
		{ "/", "/home/alice", "alice" },
		{ "$HOME/../x", "/home/alice", "alice" },
		{ "$FOO/x", "/home/alice", "alice" },
		{ "/a/$HOME", "/home/alice", "alice" },
		{ "/a/$HOME/x", "/home/alice", "alice" },
		{ "/a$HOME", "/home/alice", "alice" }, /* would be "/a/home/alice" */
		{ "/a$HOME/x", "/home/alice", "alice" },
		{ "$HOME$USER", "/home/alice", "alice" },
		{ "", "/home/alice", "alice" },
		{ "$", "/home/alice", "alice" },
		{ "/a/$", "/home/alice", "alice" },
		{ "/a/$user", "/home/alice", "alice" },
		{ "$USER/x", "/home/alice", "alice" },
		{ "$HOME/", "/home/alice", "alice" },
		{ "/a//b", "/home/alice", "alice" },
		{ "/a/./b", "/home/alice", "alice" },
		{ "$HOME", "/", "alice" }, /* expands to "/" */
		{ "$HOME/x", "/", "alice" }, /* "//x" */
		{ "$HOME/x", "/home/alice/", "alice" }, /* "/home/alice//x" */
		{ "$HOME/x", "home/alice", "alice" }, /* relative */
		{ "$HOME/.ssh", "/home/../etc", "alice" },
		{ "/var/mail/$USER", "/home/x", "../etc" },
		{ "/var/mail/$USER", "/home/x", "a/../../b" },
		{ "/$USER", "/home/x", "" }, /* "/" */
		/* $USER is one component: a '/' in a name would add one, even a harmless-looking one. */
		{ "/var/mail/$USER", "/home/x", "a/b" },
		{ "/var/mail/$USER/x", "/home/x", ".." },
		{ "/var/mail/$USER/x", "/home/x", "." },
		{ "/var/mail/$USER", "/home/x", "a\nb" },
		{ "/var/mail/$USER", "/home/x", "a\x7f" },
	};
	char out[64], buf[NSI_PATH_LEN * 2];

	for (size_t i = 0; i < NSI_ARRAY_SIZE(good); i++)
		ok(nsi_expand_path(good[i].tmpl, good[i].home, good[i].user, buf, sizeof(buf)) ==
				   0 &&
			   !strcmp(buf, good[i].want),
		   "nsi_expand_path(\"%s\", home %s, user %s) = \"%s\"", good[i].tmpl, good[i].home,
		   good[i].user, good[i].want);
	for (size_t i = 0; i < NSI_ARRAY_SIZE(bad); i++)
		is_int(nsi_expand_path(bad[i].tmpl, bad[i].home, bad[i].user, buf, sizeof(buf)),
		       -EINVAL, "nsi_expand_path(\"%s\", home \"%s\", user \"%s\") is -EINVAL",
		       bad[i].tmpl, bad[i].home, bad[i].user);

	/* Length: the result and its NUL must fit in outlen, and nothing is written past it. */
	memset(out, 'Z', sizeof(out));
	is_int(nsi_expand_path("$HOME/x", "/home/al", "al", out, 11), 0,
	       "nsi_expand_path: a result of outlen - 1 bytes fits");
	is_str(out, "/home/al/x", "nsi_expand_path: exact fit result");
	memset(out, 'Z', sizeof(out));
	is_int(nsi_expand_path("$HOME/x", "/home/al", "al", out, 10), -ENAMETOOLONG,
	       "nsi_expand_path: one byte short is -ENAMETOOLONG");
	ok(out[10] == 'Z', "nsi_expand_path never writes past outlen (home)");
	memset(out, 'Z', sizeof(out));
	is_int(nsi_expand_path("/m/$USER", "/h", "abcdefgh", out, 11), -ENAMETOOLONG,
	       "nsi_expand_path: a user name too long for outlen is -ENAMETOOLONG");
	ok(out[11] == 'Z', "nsi_expand_path never writes past outlen (user)");
	is_int(nsi_expand_path("/m/$USER", "/h", "abcdefg", out, 11), 0,
	       "nsi_expand_path: the same with one byte less fits");
	is_str(out, "/m/abcdefg", "nsi_expand_path: user exact fit result");
	is_int(nsi_expand_path("/a", "/h", "u", out, 0), -ENAMETOOLONG,
	       "nsi_expand_path into a zero-size buffer");
	is_int(nsi_expand_path("", "/h", "u", out, 0), -ENAMETOOLONG,
	       "nsi_expand_path of \"\" into a zero-size buffer");
	{
		/* A long home from NSS: the longest template with the helper's buffer size. */
		char home[NSI_PATH_LEN], tmpl[NSI_PATH_LEN], want[NSI_PATH_LEN * 2];

		snprintf(home, sizeof(home), "/%0254d", 0);
		snprintf(tmpl, sizeof(tmpl), "$HOME/%0249d", 1);
		snprintf(want, sizeof(want), "%s/%0249d", home, 1);
		ok(nsi_expand_path(tmpl, home, "u", buf, sizeof(buf)) == 0 && !strcmp(buf, want) &&
			   strlen(buf) == 505,
		   "nsi_expand_path: 255-byte template and 255-byte home fit NSI_PATH_LEN * 2");
		is_int(nsi_expand_path(tmpl, home, "u", buf, 505), -ENAMETOOLONG,
		       "nsi_expand_path: the same into 505 bytes is -ENAMETOOLONG");
	}
}

/* ---- merging ---- */

static bool dirs_are(const struct nsi_settings *s, unsigned n, const char *const *want)
{
	char zero[NSI_PATH_LEN] = { 0 };

	if (s->tmp.ndirs != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(s->tmp.dirs[i], want[i]))
			return false;
	for (unsigned i = n; i < NSI_MAX_DIRS; i++)
		if (memcmp(s->tmp.dirs[i], zero, sizeof(zero)))
			return false;
	return true;
}

static void test_merge(void)
{
	static const char *const two[] = { "/tmp", "/var/tmp" };
	static const char *const shm[] = { "/dev/shm" };
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct nsi_settings builtin;
	struct nsi_resolved res;
	struct loaded l;

	nsi_settings_builtin(&builtin);

	is_int(resolve_simple(
		       "version = 1;\npolicies = ( { name = \"n\"; network = { mode = \"none\"; "
		       "}; } );\n",
		       &u, &res),
	       0, "policy setting only network.mode resolves");
	is_str(res.policy, "n", "policy without match is selected");
	is_int(res.settings.network.mode, NSI_NET_NONE, "network.mode from the policy");
	ok(!memcmp(&res.settings.tmp, &builtin.tmp, sizeof(builtin.tmp)),
	   "network = { mode = \"none\"; } keeps the default tmp settings");

	is_int(resolve_simple("version = 1;\ndefaults = { tmp = { size = \"1G\"; }; };\n", &u,
			      &res),
	       0, "defaults setting only tmp.size resolves");
	ok(res.settings.tmp.size == 1ull << 30 && res.settings.tmp.method == NSI_TMP_TMPFS &&
		   !memcmp(res.settings.tmp.dirs, builtin.tmp.dirs, sizeof(builtin.tmp.dirs)) &&
		   res.settings.tmp.ndirs == 3,
	   "defaults tmp = { size } keeps the built-in dirs and method");

	load_text(&l, "version = 1;\n"
		      "defaults = {\n"
		      "  tmp = { dirs = [\"/tmp\", \"/var/tmp\"]; method = \"instance\"; size = "
		      "\"1G\"; };\n"
		      "  network = { mode = \"none\"; };\n"
		      "  hostname = \"box\";\n"
		      "  userns = { nested = true; root_id = 123456789; };\n"
		      "  on_error = \"allow\";\n"
		      "  on_group_change = \"join\";\n"
		      "};\n"
		      "policies = (\n"
		      "  { name = \"net\"; network = { mode = \"host\"; }; },\n"
		      "  { name = \"meth\"; tmp = { method = \"shared\"; }; },\n"
		      "  { name = \"arr\"; tmp = { dirs = [\"/dev/shm\"]; }; },\n"
		      "  { name = \"empty\"; tmp = { dirs = []; }; },\n"
		      "  { name = \"uns\"; userns = { enable = false; }; }\n"
		      ");\n");
	if (!ok(l.r == 0 && l.cf && l.d.nerrors == 0 && nsi_config_npolicies(l.cf) == 5,
		"merge file loads with 5 policies")) {
		unload(&l);
		return;
	}
	nsi_config_policy(l.cf, 0, &res);
	is_str(res.policy, "net", "policy 0 is \"net\"");
	is_int(res.line, 11, "policy \"net\" defined at line 11");
	is_str(res.file, l.path, "policy \"net\" defined in the main file");
	ok(res.settings.network.mode == NSI_NET_HOST && dirs_are(&res.settings, 2, two) &&
		   res.settings.tmp.method == NSI_TMP_INSTANCE &&
		   res.settings.tmp.size == 1ull << 30 && !strcmp(res.settings.hostname, "box") &&
		   res.settings.on_error == NSI_ONERR_ALLOW && res.settings.userns.nested &&
		   res.settings.userns.root_id == 123456789 &&
		   res.settings.on_group_change == NSI_GRPCHG_JOIN,
	   "\"net\": network overridden, everything else from defaults");
	nsi_config_policy(l.cf, 1, &res);
	ok(res.settings.tmp.method == NSI_TMP_SHARED && dirs_are(&res.settings, 2, two) &&
		   res.settings.tmp.size == 1ull << 30 && res.settings.network.mode == NSI_NET_NONE,
	   "tmp = { method = \"shared\"; } keeps the default dirs and size");
	nsi_config_policy(l.cf, 2, &res);
	ok(dirs_are(&res.settings, 1, shm) && res.settings.tmp.method == NSI_TMP_INSTANCE,
	   "tmp.dirs in a policy replaces the array, keeps the method");
	nsi_config_policy(l.cf, 3, &res);
	ok(dirs_are(&res.settings, 0, NULL), "tmp.dirs = [] in a policy empties the array");
	nsi_config_policy(l.cf, 4, &res);
	ok(!res.settings.userns.enable && res.settings.userns.nested &&
		   res.settings.userns.root_id == 123456789,
	   "userns = { enable = false; } keeps nested and root_id");
	nsi_config_defaults(l.cf, &builtin);
	ok(builtin.network.mode == NSI_NET_NONE && dirs_are(&builtin, 2, two),
	   "nsi_config_defaults: the defaults group over the built-in values");
	unload(&l);

	/* home merges key by key; hide and readonly are arrays: a policy's replaces the defaults'. */
	load_text(&l, "version = 1;\n"
		      "defaults = {\n"
		      "  home = { mode = \"private\"; skel = \"/srv/a-long-skeleton-path\"; size = "
		      "\"1G\"; };\n"
		      "  hide = [\"/a\", \"$HOME/.b\", \"/var/mail/$USER\"];\n"
		      "  readonly = [\"/r1\", \"/r2\"];\n"
		      "};\n"
		      "policies = (\n"
		      "  { name = \"mode\"; home = { mode = \"ephemeral\"; }; },\n"
		      "  { name = \"noskel\"; home = { skel = \"\"; }; },\n"
		      "  { name = \"hide1\"; hide = [\"/c\"]; },\n"
		      "  { name = \"none\"; hide = []; readonly = []; },\n"
		      "  { name = \"ro\"; readonly = [\"$HOME/x\"]; tmp = { dirs = "
		      "[\"$HOME/tmp\"]; }; }\n"
		      ");\n");
	if (!ok(l.r == 0 && l.cf && l.d.nerrors == 0 && nsi_config_npolicies(l.cf) == 5,
		"home/hide/readonly merge file loads with 5 policies")) {
		show("errors", l.d.errors, l.d.nerrors);
		unload(&l);
		return;
	}
	{
		static const char *const dhide[] = { "/a", "$HOME/.b", "/var/mail/$USER" };
		static const char *const dro[] = { "/r1", "/r2" };
		static const char *const c[] = { "/c" };
		static const char *const x[] = { "$HOME/x" };
		static const char *const htmp[] = { "$HOME/tmp" };
		char zero[NSI_PATH_LEN] = { 0 };
		struct nsi_settings *s = &res.settings;

		nsi_config_policy(l.cf, 0, &res);
		ok(s->home.mode == NSI_HOME_EPHEMERAL &&
			   !strcmp(s->home.skel, "/srv/a-long-skeleton-path") &&
			   s->home.size == 1ull << 30,
		   "home = { mode } in a policy keeps skel and size of the defaults");
		ok(paths_are(s->nhide, s->hide, 3, dhide) &&
			   paths_are(s->nreadonly, s->readonly, 2, dro),
		   "a policy without hide/readonly keeps the defaults' lists");
		nsi_config_policy(l.cf, 1, &res);
		ok(s->home.mode == NSI_HOME_PRIVATE && !memcmp(s->home.skel, zero, sizeof(zero)) &&
			   s->home.size == 1ull << 30,
		   "home = { skel = \"\" } clears every byte of the defaults' skel, keeps mode and "
		   "size");
		nsi_config_policy(l.cf, 2, &res);
		ok(paths_are(s->nhide, s->hide, 1, c) &&
			   paths_are(s->nreadonly, s->readonly, 2, dro),
		   "hide in a policy replaces the whole array (stale entries zeroed), readonly "
		   "kept");
		nsi_config_policy(l.cf, 3, &res);
		ok(paths_are(s->nhide, s->hide, 0, NULL) &&
			   paths_are(s->nreadonly, s->readonly, 0, NULL),
		   "hide = [] and readonly = [] in a policy empty the arrays");
		nsi_config_policy(l.cf, 4, &res);
		ok(paths_are(s->nhide, s->hide, 3, dhide) &&
			   paths_are(s->nreadonly, s->readonly, 1, x) && dirs_are(s, 1, htmp),
		   "readonly in a policy replaces the array, hide kept; tmp.dirs takes a template");
	}
	unload(&l);
}

/* ---- matching ---- */

static gid_t ugroups[NSI_MAX_GROUPS];
static int nugroups;

static struct nsi_user real_user(const char *service)
{
	return (struct nsi_user){ .name = uname_,
				  .uid = test_uid,
				  .gid = pgid,
				  .groups = ugroups,
				  .ngroups = (size_t)nugroups,
				  .service = service };
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char bufs[4][8192];
	static int which;
	char *b = bufs[which++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return b;
}

static const char *resolved_policy(const char *text, const struct nsi_user *u)
{
	static struct nsi_resolved res;

	if (resolve_simple(text, u, &res) < 0)
		return "(resolve failed)";
	return res.policy[0] ? res.policy : "(defaults)";
}

static void test_matching(void)
{
	struct nsi_user me = real_user("sshd"), other = fake_user("root", 0, "sshd");
	struct nsi_user someone = fake_user("nobody", 65534, "sshd");
	struct nsi_resolved res;
	struct loaded l;
	char *cfg;
	bool has_s = false;

	nugroups = NSI_MAX_GROUPS;
	if (getgrouplist(uname_, pgid, ugroups, &nugroups) < 0)
		nugroups = 0;
	for (int i = 0; i < nugroups; i++)
		has_s = has_s || ugroups[i] == sgid;
	ok(has_s, "NSS lists %s in the supplementary groups of %s", sgroup, uname_);
	me = real_user("sshd");

	cfg = fmt("version = 1;\n"
		  "policies = (\n"
		  "  { name = \"first\"; match = { users = [\"root\"]; }; },\n"
		  "  { name = \"second\"; match = { users = [\"%s\"]; }; hostname = \"two\"; },\n"
		  "  { name = \"third\"; match = { users = [\"%s\"]; }; hostname = \"three\"; }\n"
		  ");\n",
		  uname_, uname_);
	load_text(&l, cfg);
	if (l.cf) {
		char err[256];

		is_int(nsi_config_resolve(l.cf, &me, &res, err, sizeof(err)), 0,
		       "first-match file resolves");
		is_str(res.policy, "second", "the first matching policy wins");
		is_str(res.settings.hostname, "two",
		       "the winner's settings apply, not a later match's");
		is_str(res.why,
		       fmt("policy \"second\" (%s:4) matched: user \"%s\"", l.path, uname_),
		       "why names the policy, its file and line, and the matching user");
		is_str(res.file, l.path, "resolved: file of the policy");
		is_int(res.line, 4, "resolved: line of the policy");
	}
	unload(&l);
	is_str(resolved_policy(cfg, &someone), "(defaults)", "no policy matches another user");

	cfg = fmt(
		"version = 1;\npolicies = ( { name = \"u\"; match = { users = [\"root\", \"%s\"]; "
		"}; } );\n",
		uname_);
	is_str(resolved_policy(cfg, &me), "u", "users: any listed user matches (OR within a key)");
	is_str(resolved_policy(cfg, &other), "u", "users: the other alternative matches too");
	is_str(resolved_policy(cfg, &someone), "(defaults)",
	       "users: an unlisted user does not match");

	/* Id ranges: uids against the uid, gids against the primary and every group. */
	{
		static const gid_t grp[] = { 5000, 1500000123u };
		struct nsi_user a = fake_user("alice", 100000, "sshd");
		struct nsi_user b = fake_user("bob", 199999, "sshd");
		struct nsi_user c = fake_user("carol", 200000, "sshd");
		const char *ranges =
			"version = 1;\npolicies = (\n"
			"  { name = \"dir\"; match = { uids = [\"100000-199999\"]; }; },\n"
			"  { name = \"one\"; match = { uids = [\"200000\"]; }; },\n"
			"  { name = \"ad\"; match = { gids = [\"1500000000-1599999999\"]; }; }\n"
			");\n";

		is_str(resolved_policy(ranges, &a), "dir", "uids: the first id of a range matches");
		is_str(resolved_policy(ranges, &b), "dir", "uids: the last id of a range matches");
		is_str(resolved_policy(ranges, &c), "one", "uids: a single id matches only itself");
		c.uid = 200001;
		is_str(resolved_policy(ranges, &c), "(defaults)",
		       "uids: outside every range: no match");
		c.groups = grp;
		c.ngroups = 2;
		is_str(resolved_policy(ranges, &c), "ad", "gids: a supplementary gid in the range");
		resolve_simple(ranges, &c, &res);
		ok(strstr(res.why, "matched: gid \"1500000000-1599999999\"") != NULL,
		   "why names the matching range");
		c.ngroups = 1;
		is_str(resolved_policy(ranges, &c), "(defaults)", "gids: no group in the range");
		c.gid = 1599999999u;
		is_str(resolved_policy(ranges, &c), "ad", "gids: the primary gid counts");
	}

	/* Primary group: the gid alone, with an empty supplementary list. */
	cfg = fmt(
		"version = 1;\npolicies = ( { name = \"g\"; match = { groups = [\"%s\"]; }; } );\n",
		pgroup);
	{
		struct nsi_user prim = real_user(NULL);
		struct nsi_user notprim = real_user(NULL);

		prim.ngroups = 0;
		notprim.ngroups = 0;
		notprim.gid = sgid;
		is_str(resolved_policy(cfg, &prim), "g", "groups: matches the primary group");
		resolve_simple(cfg, &prim, &res);
		ok(strstr(res.why, fmt("matched: group \"%s\"", pgroup)) != NULL,
		   "why names the matching group");
		is_str(resolved_policy(cfg, &notprim), "(defaults)",
		       "groups: no match without the group");
	}

	/* Supplementary group, as NSS reports it. */
	cfg = fmt("version = 1;\npolicies = ( { name = \"s\"; match = { groups = [\"%s\", "
		  "\"root\"]; }; } );\n",
		  sgroup);
	is_str(resolved_policy(cfg, &me), "s", "groups: matches a supplementary group from NSS");
	{
		struct nsi_user only_primary = real_user(NULL);

		only_primary.ngroups = 0;
		is_str(resolved_policy(cfg, &only_primary), "(defaults)",
		       "groups: no match once the supplementary group is gone");
	}

	cfg = "version = 1;\npolicies = ( { name = \"svc\"; match = { services = [\"sshd\", "
	      "\"login\"]; }; } );\n";
	{
		struct nsi_user login = real_user("login"), su = real_user("su"),
				none = real_user(NULL);

		is_str(resolved_policy(cfg, &me), "svc", "services: sshd matches");
		is_str(resolved_policy(cfg, &login), "svc", "services: login matches");
		is_str(resolved_policy(cfg, &su), "(defaults)", "services: su does not match");
		is_str(resolved_policy(cfg, &none), "(defaults)",
		       "services: no service never matches a services list");
	}

	cfg = fmt("version = 1;\npolicies = (\n"
		  "  { name = \"all3\"; match = { users = [\"%s\"]; groups = [\"%s\"]; services = "
		  "[\"sshd\"]; }; },\n"
		  "  { name = \"fallback\"; }\n"
		  ");\n",
		  uname_, sgroup);
	{
		struct nsi_user su = real_user("su"), nogrp = real_user("sshd");

		nogrp.ngroups = 0;
		is_str(resolved_policy(cfg, &me), "all3", "AND across keys: all three hold");
		resolve_simple(cfg, &me, &res);
		ok(strstr(res.why, fmt("matched: user \"%s\", group \"%s\", service \"sshd\"",
				       uname_, sgroup)) != NULL,
		   "why lists every key that held");
		is_str(resolved_policy(cfg, &su), "fallback",
		       "AND across keys: wrong service fails");
		is_str(resolved_policy(cfg, &nogrp), "fallback",
		       "AND across keys: missing group fails");
		is_str(resolved_policy(cfg, &someone), "fallback",
		       "AND across keys: other user fails");
		resolve_simple(cfg, &someone, &res);
		ok(strstr(res.why, "matched: it has no match, so it matches everyone") != NULL,
		   "a policy without match matches everyone, and why says so");
	}

	is_str(resolved_policy("version = 1;\npolicies = ( { name = \"e\"; match = { }; } );\n",
			       &someone),
	       "e", "an empty match group matches everyone");

	/* Unknown names are warnings; they never match. */
	{
		struct expect x = { 0 };
		const char *text =
			fmt("version = 1;\n"
			    "policies = (\n"
			    "  { name = \"w\"; match = {\n"
			    "    users = [\"nsiu_nx_%d\"]; # W: match.users: unknown user "
			    "\"nsiu_nx_%d\"\n"
			    "    groups = [\"nsiu_nxg_%d\"]; # W: match.groups: unknown group "
			    "\"nsiu_nxg_%d\"\n"
			    "  }; }\n"
			    ");\n",
			    (int)owner, (int)owner, (int)owner, (int)owner);

		load_text(&l, text);
		expect_from(&x, l.path, text);
		diag_is(&l.d, &x, "unknown user and group names are warnings, not errors");
		ok(l.cf && nsi_config_npolicies(l.cf) == 1,
		   "the policy with unknown names is kept");
		unload(&l);
		/* A login does not look the names up: no warning, the same policy. */
		login_load = true;
		load_text(&l, text);
		login_load = false;
		is_int((int)l.d.nwarnings, 0, "loaded for a login: no NSS check, no warning");
		ok(l.cf && nsi_config_npolicies(l.cf) == 1, "... and the policy is kept");
		if (l.cf) {
			char err[256];
			struct nsi_user ghost =
				fake_user(fmt("nsiu_nx_%d", (int)owner), 4243, NULL);

			nsi_config_resolve(l.cf, &ghost, &res, err, sizeof(err));
			is_str(res.policy, "", "a group NSS does not know matches nobody");
		}
		unload(&l);
	}

	/* uid 0 is never isolated, whatever the policy says. */
	{
		struct loaded ll;

		load_text(&ll,
			  "version = 1;\npolicies = ( { name = \"everyone\"; isolate = true; } "
			  ");\n");
		if (ll.cf) {
			char err[256];
			struct nsi_user root = fake_user("root", 0, "sshd");

			is_int(nsi_config_resolve(ll.cf, &root, &res, err, sizeof(err)), 0,
			       "root resolves");
			ok(!res.settings.isolate,
			   "uid 0 is never isolated, even by a matching policy");
			is_str(res.policy, "everyone",
			       "uid 0: the matched policy is still reported");
			is_str(res.why,
			       fmt("policy \"everyone\" (%s:2) matched: it has no match, so it "
				   "matches "
				   "everyone; uid 0 is never isolated",
				   ll.path),
			       "uid 0: why says so");
			root.name = "toor";
			nsi_config_resolve(ll.cf, &root, &res, err, sizeof(err));
			ok(!res.settings.isolate,
			   "uid 0 under another name is not isolated either");
		}
		unload(&ll);
		is_int(resolve_simple("version = 1;\n", &other, &res), 0,
		       "root with defaults only");
		ok(!res.settings.isolate && !strcmp(res.why, "no policy matched; the defaults "
							     "apply; uid 0 is never isolated"),
		   "uid 0 with the defaults: not isolated, why says so");
	}

	/* A host name template that is fine for "u" but not for this user. */
	{
		char err[512] = "";
		struct nsi_user odd = fake_user("a_b", 4244, NULL);
		struct nsi_user lng = fake_user("abcdefghijklmnopqrstuvwxyz0123456789", 4245, NULL);

		is_int(resolve_text("version = 1;\ndefaults = { hostname = \"h-%u\"; };\n", &odd,
				    &res, err, sizeof(err)),
		       -EINVAL, "hostname expanding to an invalid name fails to resolve");
		is_str(err, "hostname \"h-%u\" expands to an invalid host name for user a_b",
		       "... with a message naming the template and the user");
		is_int(resolve_text("version = 1;\ndefaults = { hostname = \"%u.%u\"; };\n", &lng,
				    &res, err, sizeof(err)),
		       -EINVAL, "hostname expanding past 63 characters fails to resolve");
		is_int(resolve_text(
			       "version = 1;\ndefaults = { hostname = \"h-%u\"; isolate = false; "
			       "};\n",
			       &odd, &res, err, sizeof(err)),
		       0, "hostname is not expanded for a user who is not isolated");
		is_int(resolve_text("version = 1;\ndefaults = { hostname = \"lab-%u\"; };\n", &me,
				    &res, err, sizeof(err)),
		       0, "hostname lab-%%u resolves for the test user");
	}
}

/* ---- unsafe files ---- */

/* Refused, with a message naming the directory "ww" as untrusted. */
static bool parent_refused(const struct loaded *l)
{
	bool named = false;

	for (size_t i = 0; i < l->d.nerrors; i++)
		named = named ||
			strstr(l->d.errors[i],
			       "'ww' is not owned by root or is writable by others") ||
			strstr(l->d.errors[i], "/ww: not owned by root or writable by");
	return l->r == 0 && l->cf && named;
}

static void test_unsafe_files(void)
{
	struct loaded l;
	char path[PATH_MAX], target[PATH_MAX], sub[PATH_MAX];
	char *text;

	/* Symlink as the config file, even to a good file. */
	new_case(l.dir, sizeof(l.dir));
	bprintf(target, "%s/real.conf", l.dir);
	bprintf(path, "%s/nsisolate.conf", l.dir);
	if (!put(target, "version = 1;\n", 0644) || symlink(target, path) < 0)
		bail(path);
	load_path(&l, path);
	check_file_error("a symlink as the config file is refused", &l, path, "is a symlink");
	unload(&l);

	load_text(&l, "version = 1;\n");
	if (chmod(l.path, 0664) < 0)
		bail(l.path);
	unload(&l);
	load_path(&l, l.path);
	check_file_error("a group-writable config file is refused", &l, l.path,
			 "writable by group or others (mode 0664)");
	unload(&l);

	load_text(&l, "version = 1;\n");
	if (chmod(l.path, 0646) < 0)
		bail(l.path);
	unload(&l);
	load_path(&l, l.path);
	check_file_error("a world-writable config file is refused", &l, l.path,
			 "writable by group or others (mode 0646)");
	unload(&l);

	load_text(&l, "version = 1;\n");
	if (chown(l.path, OTHER_UID, 0) < 0)
		bail(l.path);
	unload(&l);
	load_path(&l, l.path);
	check_file_error("a config file owned by another uid is refused", &l, l.path,
			 "owned by uid 12345, not root");
	unload(&l);

	load_text(&l, "version = 1;\n");
	if (chown(l.path, 0, OTHER_UID) < 0)
		bail(l.path);
	unload(&l);
	load_path(&l, l.path);
	ok(l.r == 0 && l.d.nerrors == 0, "a root-owned 0644 file of another group is accepted");
	unload(&l);

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s/nsisolate.conf", l.dir);
	if (mkfifo(path, 0644) < 0)
		bail(path);
	alarm(10); /* a blocking open would hang here: the watchdog kills the test */
	load_path(&l, path);
	alarm(300);
	check_file_error("a FIFO as the config file is refused without blocking", &l, path,
			 "not a regular file");
	unload(&l);

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s/nsisolate.conf", l.dir);
	if (mkdir(path, 0755) < 0)
		bail(path);
	load_path(&l, path);
	check_file_error("a directory as the config file is refused", &l, path,
			 "not a regular file");
	unload(&l);

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s/nsisolate.conf", l.dir);
	load_path(&l, path);
	check_file_error("a missing config file is an error", &l, path,
			 "No such file or directory");
	unload(&l);

	/* Exactly the maximum size loads; one byte more does not. */
	text = malloc(NSI_CONFIG_MAX_SIZE + 2);
	if (!text)
		bail("malloc");
	strcpy(text, "version = 1;\n");
	/* Pad with comment lines of at most 64 bytes up to exactly the limit. */
	for (size_t pos = strlen(text); pos < NSI_CONFIG_MAX_SIZE;) {
		size_t n = NSI_CONFIG_MAX_SIZE - pos < 64 ? NSI_CONFIG_MAX_SIZE - pos : 64;

		memset(text + pos, 'x', n);
		text[pos] = n > 1 ? '#' : '\n';
		text[pos + n - 1] = '\n';
		pos += n;
	}
	text[NSI_CONFIG_MAX_SIZE] = '\0';
	load_text(&l, text);
	ok(l.r == 0 && l.d.nerrors == 0 && strlen(text) == NSI_CONFIG_MAX_SIZE,
	   "a file of exactly NSI_CONFIG_MAX_SIZE bytes is accepted");
	if (l.d.nerrors)
		show("errors", l.d.errors, l.d.nerrors);
	unload(&l);
	strcat(text, "#");
	load_text(&l, text);
	check_file_error("a file larger than NSI_CONFIG_MAX_SIZE is refused", &l, l.path,
			 "larger than 262144 bytes");
	unload(&l);
	free(text);

	/*
	 * The buffer is sized by fstat; a file longer than that (grown since,
	 * or a procfs file: size 0, root-owned, mode 0444) is read on, to the cap.
	 */
	{
		_cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_free_ char *got = NULL, *small = NULL;
		char want[4096] = "", why[256] = "";
		FILE *f = fopen("/proc/version", "re");
		size_t n = f ? fread(want, 1, sizeof(want) - 1, f) : 0;

		if (f)
			fclose(f);
		ok(n > 1 &&
			   nsi_read_trusted_file(proc, "version", 4096, &got, why, sizeof(why)) ==
				   0 &&
			   strcmp(got, want) == 0,
		   "a file longer than its fstat size (/proc/version) is read whole (%s)", why);
		ok(nsi_read_trusted_file(proc, "version", n - 1, &small, why, sizeof(why)) ==
				   -EFBIG &&
			   strstr(why, "larger than"),
		   "... and refused when that passes the cap (%s)", why);
	}

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s/nsisolate.conf", l.dir);
	{
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0 || nsi_write_all(fd, "version = 1;\n\0x = 1;\n", 21) < 0)
			bail(path);
	}
	load_path(&l, path);
	check_file_error("a file holding a NUL byte is refused", &l, path, "contains a NUL byte");
	unload(&l);

	load_path(&l, "relative/nsisolate.conf");
	check_file_error("a relative config path is refused", &l, "relative/nsisolate.conf",
			 "not a normalized absolute path");
	unload(&l);

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s//nsisolate.conf", l.dir);
	load_path(&l, path);
	check_file_error("a config path with // is refused", &l, path,
			 "not a normalized absolute path");
	unload(&l);

	new_case(l.dir, sizeof(l.dir));
	bprintf(path, "%s/nope/nsisolate.conf", l.dir);
	bprintf(target, "%s/nope: component 'nope': No such file or directory", l.dir);
	load_path(&l, path);
	check_file_error("a missing parent directory is an error", &l, path, target);
	unload(&l);

	/* Directories on the way. */
	new_case(l.dir, sizeof(l.dir));
	bprintf(sub, "%s/ww", l.dir);
	bprintf(path, "%s/ww/nsisolate.conf", l.dir);
	if (mkdir(sub, 0777) < 0 || chmod(sub, 0777) < 0 || !put(path, "version = 1;\n", 0644))
		bail(sub);
	load_path(&l, path);
	if (!ok(parent_refused(&l),
		"a parent directory writable by others (non-sticky) is refused"))
		show("got errors", l.d.errors, l.d.nerrors);
	unload(&l);

	if (chmod(sub, 01777) < 0)
		bail(sub);
	load_path(&l, path);
	if (!ok(l.r == 0 && l.cf && l.d.nerrors == 0, "a sticky world-writable parent is accepted"))
		show("got errors", l.d.errors, l.d.nerrors);
	unload(&l);

	if (chmod(sub, 0775) < 0)
		bail(sub);
	load_path(&l, path);
	if (!ok(parent_refused(&l), "a group-writable parent directory is refused"))
		show("got errors", l.d.errors, l.d.nerrors);
	unload(&l);

	if (chmod(sub, 0755) < 0 || chown(sub, OTHER_UID, OTHER_UID) < 0)
		bail(sub);
	load_path(&l, path);
	if (!ok(parent_refused(&l), "a parent directory owned by another uid is refused"))
		show("got errors", l.d.errors, l.d.nerrors);
	unload(&l);

	/* Deeper: a directory others can write, passed through on the way to the parent. */
	new_case(l.dir, sizeof(l.dir));
	bprintf(sub, "%s/ww", l.dir);
	bprintf(target, "%s/ww/etc", l.dir);
	bprintf(path, "%s/ww/etc/nsisolate.conf", l.dir);
	if (mkdir(sub, 0777) < 0 || chmod(sub, 0777) < 0 || mkdir(target, 0755) < 0 ||
	    !put(path, "version = 1;\n", 0644))
		bail(sub);
	load_path(&l, path);
	bprintf(sub, "%s: directory 'ww' is not owned by root or is writable by others", target);
	check_file_error("a directory writable by others above the parent is refused", &l, path,
			 sub);
	unload(&l);
}

/* ---- drop-ins ---- */

static void test_dropins(void)
{
	struct loaded l;
	struct nsi_resolved res;
	char path[PATH_MAX], dir[PATH_MAX], f[PATH_MAX * 2];

	{
		static const char *const names[] = { "20-b.conf", "10-a.conf", "15_x-Y.conf" };
		const char *const texts[] = {
			"policies = ( { name = \"b\"; }, { name = \"b2\"; } );\n",
			"policies = ( { name = \"a\"; match = { services = [\"sshd\"]; }; } );\n",
			"policies = (\n  { name = \"x\"; match = { users = [\"root\"]; }; }\n);\n",
		};

		check_dropins("valid drop-ins load cleanly",
			      "version = 1;\npolicies = ( { name = \"main\"; match = { users = "
			      "[\"root\"]; "
			      "}; } );\n",
			      3, names, texts);
	}
	/* The same files, plus names that are not NAME.conf, to look at the order. */
	{
		static const char *const ignored[] = { "bad name.conf", "x.conf.bak", "x.txt",
						       ".hidden.conf",	"a.b.conf",   ".conf",
						       "conf",		"x.CONF",     "x.conf~" };
		char main_path[PATH_MAX];
		size_t n;

		new_case(dir, sizeof(dir));
		bprintf(main_path, "%s/nsisolate.conf", dir);
		bprintf(path, "%s/nsisolate.d", dir);
		if (!put(main_path,
			 "version = 1;\npolicies = ( { name = \"main\"; match = { users = "
			 "[\"root\"]; }; "
			 "} );\n",
			 0644) ||
		    mkdir(path, 0755) < 0)
			bail(main_path);
		snprintf(f, sizeof(f), "%s/20-b.conf", path);
		put(f, "policies = ( { name = \"b\"; }, { name = \"b2\"; } );\n", 0644);
		snprintf(f, sizeof(f), "%s/10-a.conf", path);
		put(f, "policies = ( { name = \"a\"; match = { services = [\"sshd\"]; }; } );\n",
		    0644);
		snprintf(f, sizeof(f), "%s/15_x-Y.conf", path);
		put(f, "policies = (\n  { name = \"x\"; match = { users = [\"root\"]; }; }\n);\n",
		    0644);
		/* Ignored whatever they hold, even unsafe: they are never opened. */
		for (size_t i = 0; i < NSI_ARRAY_SIZE(ignored); i++) {
			snprintf(f, sizeof(f), "%s/%s", path, ignored[i]);
			put(f, "this is not a config file {{{\n", 0666);
		}
		load_path(&l, main_path);
		if (!ok(l.r == 0 && l.cf && l.d.nerrors == 0,
			"drop-in files with invalid names are ignored"))
			show("got errors", l.d.errors, l.d.nerrors);
		n = l.cf ? nsi_config_npolicies(l.cf) : 0;
		is_int(n, 5, "main file and drop-ins give 5 policies");
		if (n == 5) {
			static const char *const order[] = { "main", "a", "x", "b", "b2" };
			bool in_order = true;

			for (size_t i = 0; i < 5; i++) {
				nsi_config_policy(l.cf, i, &res);
				in_order = in_order && !strcmp(res.policy, order[i]);
			}
			ok(in_order,
			   "policies: the main file's first, then drop-ins in name order");
			nsi_config_policy(l.cf, 2, &res);
			snprintf(f, sizeof(f), "%s/15_x-Y.conf", path);
			ok(!strcmp(res.file, f) && res.line == 2,
			   "a drop-in policy names its own file and line");
		}
		if (l.cf) {
			char err[256];
			struct nsi_user root = fake_user("root", 0, "sshd");
			struct nsi_user other = fake_user("nobody", 65534, "sshd");
			struct nsi_user other_su = fake_user("nobody", 65534, "su");

			nsi_config_resolve(l.cf, &root, &res, err, sizeof(err));
			is_str(res.policy, "main", "the main file's policy wins over drop-ins");
			nsi_config_resolve(l.cf, &other, &res, err, sizeof(err));
			is_str(res.policy, "a", "10-a.conf comes before 20-b.conf");
			nsi_config_resolve(l.cf, &other_su, &res, err, sizeof(err));
			is_str(res.policy, "b", "then 20-b.conf");
		}
		unload(&l);
	}

	{
		static const char *const names[] = { "10-bad.conf" };
		static const char *const texts[] = {
			"version = 1; # E: version: only 'policies' is allowed in a drop-in\n"
			"defaults = { isolate = false; }; # E: defaults: only 'policies' is "
			"allowed in a "
			"drop-in\n"
			"bogus = 1; # E: bogus: only 'policies' is allowed in a drop-in\n"
			"policies = (\n"
			"  { name = \"main\"; }, # E: name: \"main\" already defined at @MAIN@:2\n"
			"  { name = \"ok\"; isolate = 1; } # E: isolate: expected a boolean (true "
			"or false)\n"
			");\n",
		};

		check_dropins("a drop-in holding anything but policies is refused; all its errors "
			      "reported",
			      "version = 1;\npolicies = ( { name = \"main\"; } );\n", 1, names,
			      texts);
	}
	{
		static const char *const names[] = { "a.conf", "b.conf" };
		static const char *const texts[] = {
			"policies = ( { name = \"one\"; } );\n",
			"policies = ( { name = \"one\"; } ); # E: name: \"one\" already defined at "
			"@DIR@/a.conf:1\n",
		};

		check_dropins("duplicate names across drop-ins", "version = 1;\n", 2, names, texts);
	}
	{
		static const char *const names[] = { "a.conf" };
		static const char *const texts[] = {
			"policies = (\n  { name = } # E: syntax error: "
			"syntax error\n);\n"
		};

		/* libconfig reports the syntax error on the line it stopped at. */
		check_dropins("a drop-in syntax error names the drop-in", "version = 1;\n", 1,
			      names, texts);
	}

	/* Unsafe drop-in files and directories. */
	new_case(dir, sizeof(dir));
	bprintf(path, "%s/nsisolate.conf", dir);
	snprintf(f, sizeof(f), "%s/nsisolate.d", dir);
	if (!put(path, "version = 1;\n", 0644) || mkdir(f, 0755) < 0)
		bail(f);
	{
		char dpath[PATH_MAX * 2 + 16], dropdir[PATH_MAX * 2];

		snprintf(dropdir, sizeof(dropdir), "%s", f);
		snprintf(dpath, sizeof(dpath), "%s/10-a.conf", dropdir);
		put(dpath, "policies = ( { name = \"a\"; } );\n", 0666);
		load_path(&l, path);
		check_file_error("a world-writable drop-in is refused", &l, dpath,
				 "writable by group or others (mode 0666)");
		unload(&l);

		unlink(dpath);
		snprintf(f, sizeof(f), "%s/real", dir);
		put(f, "policies = ( { name = \"a\"; } );\n", 0644);
		if (symlink(f, dpath) < 0)
			bail(dpath);
		load_path(&l, path);
		check_file_error("a symlinked drop-in is refused", &l, dpath, "is a symlink");
		unload(&l);

		unlink(dpath);
		put(dpath, "policies = ( { name = \"a\"; } );\n", 0644);
		if (chown(dpath, OTHER_UID, 0) < 0)
			bail(dpath);
		load_path(&l, path);
		check_file_error("a drop-in owned by another uid is refused", &l, dpath,
				 "owned by uid 12345, not root");
		unload(&l);
		unlink(dpath);

		if (mkdir(dpath, 0755) < 0)
			bail(dpath);
		load_path(&l, path);
		check_file_error("a directory named like a drop-in is refused", &l, dpath,
				 "not a regular file");
		unload(&l);
		rmdir(dpath);

		put(dpath, "policies = ( { name = \"a\"; } );\n", 0644);
		if (chmod(dropdir, 0775) < 0)
			bail(dropdir);
		load_path(&l, path);
		check_file_error_like("a group-writable drop-in directory is refused", &l, dropdir,
				      "not owned by root or writable by");
		unload(&l);
		if (chmod(dropdir, 01777) < 0)
			bail(dropdir);
		load_path(&l, path);
		check_file_error_like("a sticky world-writable drop-in directory is refused", &l,
				      dropdir, "not owned by root or writable by");
		unload(&l);
		if (chmod(dropdir, 0755) < 0 || chown(dropdir, OTHER_UID, 0) < 0)
			bail(dropdir);
		load_path(&l, path);
		check_file_error_like("a drop-in directory owned by another uid is refused", &l,
				      dropdir, "not owned by root or writable by");
		unload(&l);
		if (chown(dropdir, 0, 0) < 0)
			bail(dropdir);
		load_path(&l, path);
		ok(l.r == 0 && l.d.nerrors == 0 && l.cf && nsi_config_npolicies(l.cf) == 1,
		   "the same drop-in directory, made safe, loads");
		unload(&l);

		/* A regular file where the directory should be. */
		unlink(dpath);
		rmdir(dropdir);
		put(dropdir, "policies = ();\n", 0644);
		load_path(&l, path);
		check_file_error_like("a file in place of the drop-in directory is refused", &l,
				      dropdir, "not a directory");
		unload(&l);
		unlink(dropdir);
	}

	/* More drop-ins than the limit. */
	new_case(dir, sizeof(dir));
	bprintf(path, "%s/nsisolate.conf", dir);
	snprintf(f, sizeof(f), "%s/nsisolate.d", dir);
	if (!put(path, "version = 1;\n", 0644) || mkdir(f, 0755) < 0)
		bail(f);
	for (int i = 0; i <= NSI_MAX_DROPINS; i++) {
		char dpath[PATH_MAX * 2 + 16], text[128];

		snprintf(dpath, sizeof(dpath), "%s/%03d.conf", f, i);
		snprintf(text, sizeof(text), "policies = ( { name = \"p%d\"; } );\n", i);
		put(dpath, text, 0644);
	}
	load_path(&l, path);
	check_file_error("more than 64 drop-ins are refused", &l, f, "more than 64 drop-in files");
	unload(&l);

	/* The drop-in directory of a file not named *.conf is NAME.d. */
	new_case(dir, sizeof(dir));
	bprintf(path, "%s/policy", dir);
	snprintf(f, sizeof(f), "%s/policy.d", dir);
	if (!put(path, "version = 1;\n", 0644) || mkdir(f, 0755) < 0)
		bail(f);
	strcat(f, "/a.conf");
	put(f, "policies = ( { name = \"a\"; } );\n", 0644);
	load_path(&l, path);
	ok(l.r == 0 && l.d.nerrors == 0 && l.cf && nsi_config_npolicies(l.cf) == 1,
	   "FILE without .conf: drop-ins come from FILE.d");
	unload(&l);
}

/* ---- nsi_walk_root ---- */

static ino_t ino_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? 0 : st.st_ino;
}

static bool walk_ok(const char *path, int flags, const char *expect_target, const char *desc)
{
	char why[512] = "";
	int fd = nsi_walk_root(path, flags, why, sizeof(why));
	struct stat st;
	bool pass = fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino_of(expect_target);

	if (!ok(pass, "%s", desc))
		diag("nsi_walk_root(%s) = %d: %s", path, fd, why);
	if (fd >= 0)
		close(fd);
	return pass;
}

static void walk_fails(const char *path, int flags, int err, const char *why_exp, const char *desc)
{
	char why[512] = "";
	int fd = nsi_walk_root(path, flags, why, sizeof(why));

	if (!ok(fd == -err && (!why_exp || !strcmp(why, why_exp)), "%s", desc)) {
		diag("nsi_walk_root(%s) = %d (want %d)", path, fd, -err);
		diag("     why: %s", why);
		if (why_exp)
			diag("expected: %s", why_exp);
	}
	if (fd >= 0)
		close(fd);
}

static void test_walk(void)
{
	const char *R = rundir;
	char real[PATH_MAX], p[PATH_MAX], q[PATH_MAX], why[PATH_MAX * 2];
	struct stat st;
	struct loaded l;

#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
#define Q(...) (snprintf(q, sizeof(q), __VA_ARGS__), q)
	ok(stat("/run", &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022),
	   "/run is root-owned and not writable by others (walk fixtures live there)");
	snprintf(real, sizeof(real), "%s/real", R);
	if (mkdir(real, 0755) < 0 || !put(P("%s/real/f", R), "x", 0644) ||
	    !put(P("%s/real/nsisolate.conf", R), "version = 1;\n", 0644) ||
	    symlink("real", P("%s/link", R)) < 0 || symlink(real, P("%s/alink", R)) < 0 ||
	    symlink("real/f", P("%s/flink", R)) < 0 || symlink("link", P("%s/chain", R)) < 0 ||
	    symlink("real", P("%s/userlink", R)) < 0 ||
	    lchown(P("%s/userlink", R), OTHER_UID, OTHER_UID) < 0 ||
	    symlink("../x", P("%s/dotdot", R)) < 0 || symlink("loop2", P("%s/loop1", R)) < 0 ||
	    symlink("loop1", P("%s/loop2", R)) < 0 || mkdir(P("%s/ww", R), 01777) < 0 ||
	    chmod(p, 01777) < 0 || symlink(real, P("%s/ww/l", R)) < 0 ||
	    mkdir(P("%s/ww2", R), 0777) < 0 || chmod(p, 0777) < 0 ||
	    mkdir(P("%s/ww2/sub", R), 0755) < 0 || mkdir(P("%s/uown", R), 0755) < 0 ||
	    chown(p, OTHER_UID, OTHER_UID) < 0 || mkdir(P("%s/uown/sub", R), 0755) < 0 ||
	    mkdir(P("%s/gw", R), 0775) < 0 || chmod(p, 0775) < 0 ||
	    mkdir(P("%s/gw/sub", R), 0755) < 0 || !put(P("%s/file", R), "", 0644))
		bail("walk fixtures");

	walk_ok(real, NSI_WALK_DIR, real, "walk: a plain root-owned directory");
	walk_ok(P("%s/real/f", R), 0, P("%s/real/f", R), "walk: a plain file");
	walk_ok(P("%s/link", R), NSI_WALK_DIR, real,
		"walk: follows a root-owned relative symlink in root-only directories");
	walk_ok(P("%s/alink", R), NSI_WALK_DIR, real,
		"walk: follows a root-owned absolute symlink");
	walk_ok(P("%s/link/f", R), 0, Q("%s/real/f", R), "walk: follows a symlink in the middle");
	walk_ok(P("%s/chain", R), NSI_WALK_DIR, real, "walk: follows a chain of two symlinks");
	walk_ok(P("%s/flink", R), NSI_WALK_FOLLOW_LAST, Q("%s/real/f", R),
		"walk: NSI_WALK_FOLLOW_LAST follows a final symlink to a file");
	walk_fails(P("%s/flink", R), 0, ELOOP, Q("%s/flink: is a symlink", R),
		   "walk: a final symlink is refused without NSI_WALK_FOLLOW_LAST");
	walk_fails(P("%s/userlink", R), NSI_WALK_DIR, ELOOP,
		   Q("%s/userlink: symlink 'userlink' below a directory others can write", R),
		   "walk: a symlink owned by another uid is refused");
	walk_fails(P("%s/ww/l", R), NSI_WALK_DIR, ELOOP,
		   Q("%s/ww/l: symlink 'l' below a directory others can write", R),
		   "walk: a root-owned symlink under a user-writable (sticky) dir is refused");
	walk_ok(P("%s/ww", R), NSI_WALK_DIR, P("%s/ww", R),
		"walk: a sticky directory is traversable");
	walk_fails(
		P("%s/ww2/sub", R), NSI_WALK_DIR, EPERM,
		Q("%s/ww2/sub: directory 'ww2' is not owned by root or is writable by others", R),
		"walk: a world-writable non-sticky directory on the way is refused");
	walk_fails(P("%s/gw/sub", R), NSI_WALK_DIR, EPERM,
		   Q("%s/gw/sub: directory 'gw' is not owned by root or is writable by others", R),
		   "walk: a group-writable directory on the way is refused");
	walk_fails(
		P("%s/uown/sub", R), NSI_WALK_DIR, EPERM,
		Q("%s/uown/sub: directory 'uown' is not owned by root or is writable by others", R),
		"walk: a directory owned by another uid on the way is refused");
	walk_fails(P("%s/real/../real", R), NSI_WALK_DIR, EINVAL,
		   Q("%s/real/../real: not a normalized absolute path", R),
		   "walk: '..' is refused");
	walk_fails(P("%s/./real", R), NSI_WALK_DIR, EINVAL, NULL, "walk: '.' is refused");
	walk_fails(P("%s//real", R), NSI_WALK_DIR, EINVAL, NULL, "walk: '//' is refused");
	walk_fails(P("%s/real/", R), NSI_WALK_DIR, EINVAL, NULL, "walk: a trailing '/' is refused");
	walk_fails("run", NSI_WALK_DIR, EINVAL, NULL, "walk: a relative path is refused");
	walk_fails(P("%s/dotdot", R), NSI_WALK_DIR, EINVAL,
		   Q("%s/dotdot: symlink 'dotdot' points to '../x', not a normalized path", R),
		   "walk: a symlink whose target has '..' is refused");
	walk_fails(P("%s/loop1", R), NSI_WALK_DIR, ELOOP, Q("%s/loop1: too many symlinks", R),
		   "walk: a symlink loop ends with ELOOP");
	walk_fails(P("%s/missing", R), NSI_WALK_DIR, ENOENT, NULL, "walk: a missing component");
	walk_fails(P("%s/file/x", R), 0, ENOTDIR, Q("%s/file/x: 'file' is not a directory", R),
		   "walk: a file in the middle");
	walk_fails(P("%s/real/f", R), NSI_WALK_DIR, ENOTDIR, Q("%s/real/f: not a directory", R),
		   "walk: NSI_WALK_DIR on a file");
	walk_ok("/", NSI_WALK_DIR, "/", "walk: / itself");

	/* The loader walks the same way: a root-made symlinked /etc/security works. */
	load_path(&l, P("%s/link/nsisolate.conf", R));
	if (!ok(l.r == 0 && l.cf && l.d.nerrors == 0,
		"config whose parent is a root-owned symlink in root-only dirs loads"))
		show("got errors", l.d.errors, l.d.nerrors);
	unload(&l);
	load_path(&l, P("%s/ww/l/nsisolate.conf", R));
	snprintf(why, sizeof(why), "%s/ww/l: symlink 'l' below a directory others can write", R);
	check_file_error("config whose parent is a symlink under a user-writable dir is refused",
			 &l, p, why);
	unload(&l);
#undef P
#undef Q
}

/* ---- hashes ---- */

static __attribute__((noinline)) void scribble_stack(unsigned char pattern)
{
	volatile unsigned char buf[128 * 1024];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern;
}

static __attribute__((noinline)) uint64_t
hash_after_scribble(const struct nsi_config *cf, const struct nsi_user *u, unsigned char pattern)
{
	struct nsi_resolved res;
	char err[256];

	scribble_stack(pattern);
	if (nsi_config_resolve(cf, u, &res, err, sizeof(err)) < 0)
		return 0;
	return nsi_settings_hash(&res.settings);
}

static void test_hashes(void)
{
	static const gid_t a[] = { 1000, 27, 100, 4 };
	static const gid_t b[] = { 4, 100, 1000, 27 };
	static const gid_t c[] = { 4, 100, 1000, 27, 27, 4 };
	static const gid_t d[] = { 4, 100, 1000, 28 };
	static const gid_t e[] = { 4, 100, 1000 };
	struct nsi_settings s0, s1;
	struct nsi_user u = fake_user("someone", 4242, "sshd");
	struct loaded l;
	uint64_t h0;

	ok(nsi_groups_hash(a, 4) == nsi_groups_hash(b, 4), "groups hash: order does not matter");
	ok(nsi_groups_hash(a, 4) == nsi_groups_hash(c, 6), "groups hash: duplicates do not matter");
	ok(nsi_groups_hash(a, 4) != nsi_groups_hash(d, 4), "groups hash: a different gid differs");
	ok(nsi_groups_hash(a, 4) != nsi_groups_hash(e, 3), "groups hash: a missing gid differs");
	ok(nsi_groups_hash(a, 0) == nsi_groups_hash(b, 0), "groups hash: empty lists are equal");
	ok(nsi_groups_hash(a, 0) != nsi_groups_hash(a, 1),
	   "groups hash: empty differs from one gid");

	nsi_settings_builtin(&s0);
	h0 = nsi_settings_hash(&s0);
	nsi_settings_builtin(&s1);
	ok(nsi_settings_hash(&s1) == h0, "settings hash: stable for equal settings");
#define DIFFERS(stmt, what)                                                               \
	do {                                                                              \
		nsi_settings_builtin(&s1);                                                \
		stmt;                                                                     \
		ok(nsi_settings_hash(&s1) != h0, "settings hash: differs when %s", what); \
	} while (0)
	DIFFERS(s1.isolate = false, "isolate differs");
	DIFFERS(s1.tmp.method = NSI_TMP_INSTANCE, "tmp.method differs");
	DIFFERS(s1.tmp.size++, "tmp.size differs");
	DIFFERS(s1.tmp.ndirs = 2, "tmp.ndirs differs");
	DIFFERS(strcpy(s1.tmp.dirs[0], "/tnp"), "a tmp dir differs");
	DIFFERS(s1.network.mode = NSI_NET_NONE, "network.mode differs");
	DIFFERS(s1.ipc = false, "ipc differs");
	DIFFERS(strcpy(s1.hostname, "lab"), "hostname differs");
	DIFFERS(s1.userns.nested = true, "userns.nested differs");
	DIFFERS(s1.userns.root_id--, "userns.root_id differs");
	DIFFERS(s1.on_last_logout = NSI_LAST_LINGER, "on_last_logout differs");
	DIFFERS(s1.on_error = NSI_ONERR_ALLOW, "on_error differs");
	DIFFERS(s1.on_group_change = NSI_GRPCHG_JOIN, "on_group_change differs");
	DIFFERS(s1.pid = true, "pid differs");
	DIFFERS(s1.network.mode = NSI_NET_VETH, "network.mode is veth");
	DIFFERS(s1.home.mode = NSI_HOME_PRIVATE, "home.mode is private");
	DIFFERS(s1.home.mode = NSI_HOME_EPHEMERAL, "home.mode is ephemeral");
	DIFFERS(s1.home.skel[0] = '\0', "home.skel is empty");
	DIFFERS(strcpy(s1.home.skel, "/etc/skem"), "home.skel differs");
	DIFFERS(s1.home.size <<= 1, "home.size differs");
	DIFFERS(s1.nhide = 1, "nhide differs");
	DIFFERS((s1.nhide = 1, strcpy(s1.hide[0], "/x")), "a hide entry differs");
	DIFFERS(s1.nreadonly = 1, "nreadonly differs");
	DIFFERS((s1.nreadonly = 16, strcpy(s1.readonly[15], "/x")),
		"the last readonly entry differs");
	DIFFERS(s1.userns.enable = !s1.userns.enable, "userns.enable differs");
	DIFFERS(s1.network.host_access = !s1.network.host_access, "network.host_access differs");
	DIFFERS(s1.network.nat = !s1.network.nat, "network.nat differs");
	DIFFERS(strcpy(s1.network.subnet, "10.9.0.0/16"), "network.subnet differs");
	DIFFERS((s1.network.ndns = 1, strcpy(s1.network.dns[0], "192.0.2.1")),
		"a network.dns entry differs");
#undef DIFFERS
	nsi_settings_builtin(&s0);
	nsi_settings_builtin(&s1);
	s0.tmp.ndirs = s1.tmp.ndirs = 2;
	strcpy(s0.tmp.dirs[0], "/a");
	strcpy(s0.tmp.dirs[1], "/bc");
	strcpy(s1.tmp.dirs[0], "/a/");
	strcpy(s1.tmp.dirs[1], "bc");
	ok(nsi_settings_hash(&s0) != nsi_settings_hash(&s1),
	   "settings hash: [\"/a\", \"/bc\"] and [\"/a/\", \"bc\"] differ (same bytes joined)");
#define SAME(stmt, what)                                                                   \
	do {                                                                               \
		nsi_settings_builtin(&s1);                                                 \
		stmt;                                                                      \
		ok(nsi_settings_hash(&s1) == h0, "settings hash: the same when %s", what); \
	} while (0)
	SAME(strcpy(s1.hide[3], "/x"), "an unused hide entry changes");
	SAME(strcpy(s1.readonly[15], "/x"), "an unused readonly entry changes");
	SAME(strcpy(s1.network.dns[2], "192.0.2.9"), "an unused dns entry changes");
	SAME(strcpy(s1.tmp.dirs[7], "/x"), "an unused tmp dir changes");
	SAME(s1.hostname[sizeof(s1.hostname) - 1] = 'x', "bytes past a string's end change");
#undef SAME

	/* The hash is compared across logins: it must not depend on stack garbage. */
	load_text(
		&l,
		"version = 1;\n"
		"defaults = { tmp = { dirs = [\"/tmp\", \"/var/tmp\"]; }; hostname = \"lab\"; };\n"
		"policies = ( { name = \"p\"; tmp = { dirs = [\"/dev/shm\"]; }; } );\n");
	if (l.cf) {
		uint64_t x = hash_after_scribble(l.cf, &u, 0x00);
		uint64_t y = hash_after_scribble(l.cf, &u, 0xa5);
		uint64_t z = hash_after_scribble(l.cf, &u, 0x5a);

		ok(x == y && y == z, "settings hash of one resolved policy is the same every time");
		if (x != y || y != z)
			diag("hashes %016llx %016llx %016llx", (unsigned long long)x,
			     (unsigned long long)y, (unsigned long long)z);
	}
	unload(&l);

	/* Equal effective settings hash equal, however the file reached them. */
	{
		struct nsi_resolved r1, r2;
		char *p1, *p2;

		resolve_simple(
			"version = 1;\n"
			"defaults = { hostname = \"a-rather-long-default-name\"; tmp = { dirs = "
			"[\"/tmp\", \"/var/tmp\", \"/dev/shm\", \"/srv/a-long-scratch-path\"]; "
			"}; };\n"
			"policies = ( { name = \"p\"; hostname = \"ab\"; tmp = { dirs = "
			"[\"/x\"]; }; } );\n",
			&u, &r1);
		resolve_simple("version = 1;\n"
			       "policies = ( { name = \"p\"; hostname = \"ab\"; tmp = { dirs = "
			       "[\"/x\"]; }; } );\n",
			       &u, &r2);
		p1 = print_settings(&r1.settings);
		p2 = print_settings(&r2.settings);
		is_str(p1, p2, "two files giving the same effective settings");
		ok(nsi_settings_hash(&r1.settings) == nsi_settings_hash(&r2.settings),
		   "settings hash: equal effective settings hash equal (no stale bytes of "
		   "overridden "
		   "values)");
		free(p1);
		free(p2);

		/* The same for the home group and the path lists (longer values overridden). */
		resolve_simple("version = 1;\n"
			       "defaults = { home = { skel = \"/srv/a-rather-long-skeleton\"; };\n"
			       "  hide = [\"/a-long-one\", \"$HOME/.b\", \"/c\"]; readonly = "
			       "[\"/var/mail/$USER\", \"/r\"]; };\n"
			       "policies = ( { name = \"p\"; home = { skel = \"/s\"; }; hide = "
			       "[\"/h\"]; readonly = [\"/r\"]; } );\n",
			       &u, &r1);
		resolve_simple("version = 1;\n"
			       "policies = ( { name = \"p\"; home = { skel = \"/s\"; }; hide = "
			       "[\"/h\"]; readonly = [\"/r\"]; } );\n",
			       &u, &r2);
		p1 = print_settings(&r1.settings);
		p2 = print_settings(&r2.settings);
		is_str(p1, p2, "two files giving the same home, hide and readonly");
		ok(nsi_settings_hash(&r1.settings) == nsi_settings_hash(&r2.settings),
		   "settings hash: equal home, hide and readonly hash equal (no stale bytes)");
		free(p1);
		free(p2);
	}
}

/* ---- root_id ---- */

static void test_root_id(void)
{
	char why[256];
	const char *want;

	why[0] = '\0';
	is_int(nsi_root_id_check(0, why, sizeof(why)), -EEXIST, "root_id 0 (root) is refused");
	is_str(why, "userns.root_id 0 belongs to user \"root\"", "root_id 0: reason");
	is_int(nsi_root_id_check(test_uid, why, sizeof(why)), -EEXIST,
	       "root_id of an existing user is refused");
	want = fmt("userns.root_id %u belongs to user \"%s\"", (unsigned)test_uid, uname_);
	is_str(why, want, "root_id of an existing user: reason names the user");
	ok(getpwuid(sgid) == NULL, "gid %u of %s is no user's uid", (unsigned)sgid, sgroup);
	is_int(nsi_root_id_check(sgid, why, sizeof(why)), -EEXIST,
	       "root_id of an existing group is refused");
	is_str(why, fmt("userns.root_id %u belongs to group \"%s\"", (unsigned)sgid, sgroup),
	       "root_id of an existing group: reason names the group");
	want = fmt("userns.root_id %u lies inside a range of /etc/subuid or /etc/subgid",
		   SUBID_FIRST);
	is_int(nsi_root_id_check(SUBID_FIRST, why, sizeof(why)), -EEXIST,
	       "root_id at the start of a /etc/subuid range is refused");
	is_str(why, want, "root_id in a subordinate range: reason");
	is_int(nsi_root_id_check(SUBID_LAST, why, sizeof(why)), -EEXIST,
	       "root_id at the end of a /etc/subuid range is refused");
	is_int(nsi_root_id_check(SUBGID_FIRST + 5, why, sizeof(why)), -EEXIST,
	       "root_id inside a range only in /etc/subgid is refused");
	is_int(nsi_root_id_check(FREE_ID, why, sizeof(why)), 0,
	       "root_id just past a subordinate range, owning nothing, is accepted");
	is_int(nsi_root_id_check(SUBID_FIRST - 1, why, sizeof(why)), 0,
	       "root_id just before a subordinate range is accepted");
	/* useradd gave the user a subordinate range of its own (login.defs SUB_UID_COUNT). */
	{
		FILE *f = fopen("/etc/subuid", "re");
		char line[256];
		unsigned long start = 0;

		while (f && fgets(line, sizeof(line), f)) {
			size_t n = strlen(uname_);

			if (!strncmp(line, uname_, n) && line[n] == ':' &&
			    strtoul(line + n + 1, NULL, 10) != SUBID_FIRST)
				start = strtoul(line + n + 1, NULL, 10);
		}
		if (f)
			fclose(f);
		if (start)
			is_int(nsi_root_id_check((uint32_t)start + 1, why, sizeof(why)), -EEXIST,
			       "root_id inside the range useradd allocated is refused");
	}
}

/* ---- NSS static buffers ---- */

/*
 * The loader runs inside PAM applications: it must not overwrite the static
 * struct passwd / struct group that the caller's own getpwnam()/getgrnam()
 * returned (linux-pam's pam_modutil_getpwnam exists for this reason).
 */
static void test_nss_clobber(void)
{
	/* Named "nobody" so that the users key holds and the groups key is looked up. */
	struct nsi_user u = fake_user("nobody", 65534, "sshd");
	struct nsi_resolved res;
	struct passwd *pw;
	struct group *gr;
	struct loaded l;
	char why[256], err[256];
	const char *text = fmt("version = 1;\npolicies = ( { name = \"p\"; match = { users = "
			       "[\"root\", \"nobody\"]; groups = [\"root\", \"%s\"]; }; } );\n",
			       sgroup);

	pw = getpwnam(uname_);
	gr = getgrnam(pgroup);
	load_text(&l, text);
	ok(pw && !strcmp(pw->pw_name, uname_) && pw->pw_uid == test_uid,
	   "nsi_config_load leaves the caller's getpwnam() result alone");
	ok(gr && !strcmp(gr->gr_name, pgroup) && gr->gr_gid == pgid,
	   "nsi_config_load leaves the caller's getgrnam() result alone");
	if (l.cf) {
		pw = getpwnam(uname_);
		gr = getgrnam(pgroup);
		nsi_config_resolve(l.cf, &u, &res, err, sizeof(err));
		ok(pw && !strcmp(pw->pw_name, uname_),
		   "nsi_config_resolve leaves getpwnam() alone");
		ok(gr && !strcmp(gr->gr_name, pgroup) && gr->gr_gid == pgid,
		   "nsi_config_resolve leaves the caller's getgrnam() result alone");
	}
	unload(&l);
	pw = getpwuid(test_uid);
	gr = getgrgid(pgid);
	nsi_root_id_check(0, why, sizeof(why));
	nsi_root_id_check(sgid, why, sizeof(why));
	ok(pw && !strcmp(pw->pw_name, uname_) && gr && !strcmp(gr->gr_name, pgroup),
	   "nsi_root_id_check leaves the caller's getpwuid()/getgrgid() results alone");
	/*
	 * The usual case: root_id owns nothing, so NSS finds nothing, and glibc's
	 * files backend leaves the last /etc/passwd entry it parsed in the
	 * static buffer. helper/main.c holds getpwuid(req.uid) across this call.
	 */
	pw = getpwuid(test_uid);
	gr = getgrgid(pgid);
	nsi_root_id_check(FREE_ID, why, sizeof(why));
	ok(pw && pw->pw_uid == test_uid && !strcmp(pw->pw_name, uname_) && gr && gr->gr_gid == pgid,
	   "nsi_root_id_check of a free id leaves the caller's getpwuid()/getgrgid() results "
	   "alone");
}

static int run_tests(void)
{
	alarm(300);
	test_parse_size();
	test_hostname();
	test_names();
	test_builtin();
	test_all_keys();
	test_errors();
	test_home_keys();
	test_path_keys();
	test_print_new_keys();
	test_expand_path();
	test_merge();
	test_matching();
	test_unsafe_files();
	test_dropins();
	test_walk();
	test_hashes();
	test_root_id();
	test_nss_clobber();
	return done_testing();
}

static void on_signal(int sig)
{
	(void)sig;
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };
	int status;
	pid_t pid;

	umask(022);
	owner = getpid();
	if (geteuid() != 0) {
		printf("1..0 # SKIP policy files must be root-owned and test users made: run as "
		       "root\n");
		return 0;
	}
	atexit(cleanup);
	/* A timeout or ^C reaches the whole process group: outlive the child, then clean up. */
	for (size_t i = 0; i < NSI_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	if (!setup()) {
		printf("not ok 1 - setup (temporary directories, test user and groups): %s\n",
		       strerror(errno));
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("not ok 1 - fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		sa.sa_handler = SIG_DFL;
		for (size_t i = 0; i < NSI_ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
		exit(run_tests());
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFSIGNALED(status)) {
		printf("# test process killed by signal %d (%s)\n", WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
