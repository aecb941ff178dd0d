// SPDX-License-Identifier: LGPL-2.1-or-later
/* nsisolate(8): check and explain policies; inspect and manage live sets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capbset.h"
#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "hostnet.h"
#include "instances.h"
#include "lease.h"
#include "pamstack.h"
#include "proto.h"
#include "state.h"

static const char *config_path = NSI_DEFAULT_CONFIG;
/* --config made absolute: the checks and the helper take absolute paths only. */
static char config_buf[NSI_PATH_LEN];

static void usage(FILE *f)
{
	fprintf(f, "usage: nsisolate check [--config FILE]\n"
		   "       nsisolate check --pam [--pam-dir DIR] [SERVICE...]\n"
		   "       nsisolate explain USER [--service NAME] [--config FILE]\n"
		   "       nsisolate list [--json]\n"
		   "       nsisolate enter USER [--as-user] [-- CMD [ARG...]]\n"
		   "       nsisolate stop USER\n"
		   "       nsisolate gc\n"
		   "       nsisolate release UID|USER\n"
		   "       nsisolate --version\n");
}

/*
 * A relative --config FILE, resolved against the working directory: its
 * directory through realpath(3), its name kept (FILE.d is found beside it).
 * The loader then checks the result like any configured path.
 */
static int absolute_config(const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg), *dir = NULL;
	char *slash, *base;

	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return -EISDIR;
	dir = realpath(slash ? (*copy ? copy : "/") : ".", NULL);
	if (!dir)
		return -errno;
	if ((size_t)snprintf(config_buf, sizeof(config_buf), "%s/%s", strcmp(dir, "/") ? dir : "",
			     base) >= sizeof(config_buf))
		return -ENAMETOOLONG;
	config_path = config_buf;
	return 0;
}

static void print_diag(const struct nsi_diag *d)
{
	for (size_t i = 0; i < d->nwarnings; i++)
		fprintf(stderr, "warning: %s\n", d->warnings[i]);
	for (size_t i = 0; i < d->nerrors; i++)
		fprintf(stderr, "%s\n", d->errors[i]);
}

/* Load and report; returns the config only when it has no error. */
static struct nsi_config *load_or_report(struct nsi_diag *d)
{
	struct nsi_config *cf = NULL;
	int r;

	r = nsi_config_load(config_path, &cf, d);
	if (r < 0) {
		fprintf(stderr, "nsisolate: %s: %s\n", config_path, strerror(-r));
		return NULL;
	}
	print_diag(d);
	if (d->nerrors > 0) {
		nsi_config_free(cf);
		return NULL;
	}
	return cf;
}

static int check_root_id(const struct nsi_settings *s, const char *where)
{
	char why[256];

	if (!s->isolate || !s->userns.enable)
		return 0;
	if (nsi_root_id_check(s->userns.root_id, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", where, why);
		return -1;
	}
	return 0;
}

/*
 * A veth pool over the host's own networks: those /30s are never leased (the
 * helper skips them). A warning, once per pool; the sets' own links (their
 * leases in the run directory) do not count.
 */
static void check_subnet(const struct nsi_settings *s, const char *where, char (*seen)[32],
			 size_t *nseen, size_t maxseen)
{
	_cleanup_free_ struct nsi_cidr *host = NULL;
	_cleanup_free_ struct nsi_lease *leases = NULL;
	_cleanup_close_ int run = -1;
	struct nsi_cidr pool;
	size_t n = 0, nl = 0;
	uint32_t first;
	char why[256];

	if (!s->isolate || s->network.mode != NSI_NET_VETH ||
	    nsi_cidr_parse(s->network.subnet, &pool, why, sizeof(why)) < 0)
		return;
	for (size_t i = 0; i < *nseen; i++)
		if (!strcmp(seen[i], s->network.subnet))
			return;
	if (*nseen < maxseen)
		snprintf(seen[(*nseen)++], sizeof(seen[0]), "%s", s->network.subnet);
	if (nsi_host_prefixes(&pool, &host, &n) < 0) {
		fprintf(stderr,
			"warning: %s: cannot read the host's routes to check network.subnet %s\n",
			where, s->network.subnet);
		return;
	}
	/* check makes nothing: the run directory only if it is there. */
	if (access(NSI_RUN_DIR, F_OK) == 0)
		run = nsi_run_dir_open();
	if (run >= 0 && nsi_lease_scan(run, &leases, &nl) < 0)
		nl = 0;
	n = nsi_prefixes_drop_leased(host, n, leases, nl);
	for (size_t i = 0; i < n; i++) {
		bool again = false;
		char c[32];

		/* An address and its link's route are one network: named once, as the address. */
		for (size_t j = 0; j < i && !again; j++)
			again = host[j].prefix == host[i].prefix &&
				nsi_cidr_overlap_any(&host[i], &host[j], 1) == 0;
		if (again)
			continue;
		nsi_cidr_format(host[i].net, host[i].prefix, c, sizeof(c));
		fprintf(stderr,
			"warning: %s: network.subnet %s overlaps the host's %s: its /30s there are "
			"never leased\n",
			where, s->network.subnet, c);
	}
	if (n > 0 && nsi_lease_pick(&pool, NULL, 0, host, n, &first) == -ENOSPC)
		fprintf(stderr, "warning: %s: network.subnet %s: no /30 of it can be leased\n",
			where, s->network.subnet);
}

/* Host settings that weaken isolation: warnings only, never an error. */
static void host_warnings(void)
{
	char buf[32] = "";
	FILE *f = fopen("/proc/sys/dev/tty/legacy_tiocsti", "re");

	if (f) {
		if (fgets(buf, sizeof(buf), f) && atoi(buf) == 1)
			fprintf(stderr,
				"warning: dev.tty.legacy_tiocsti = 1: a su or runuser session can "
				"inject input into the calling terminal (TIOCSTI); set it to 0\n");
		fclose(f);
	}
	f = fopen("/proc/sys/user/max_user_namespaces", "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f) && atoi(buf) == 0)
			fprintf(stderr, "warning: user.max_user_namespaces = 0: sets with "
					"userns.enable = true cannot be created\n");
		fclose(f);
	}
}

static int cmd_check(void)
{
	struct nsi_diag d;
	struct nsi_config *cf;
	struct nsi_settings def;
	char seen[64][32];
	size_t nseen = 0;
	int bad = 0;

	host_warnings();
	nsi_diag_init(&d);
	d.check_names = true; /* check and explain warn about names NSS does not know */
	cf = load_or_report(&d);
	nsi_diag_free(&d);
	if (!cf)
		return 1;
	nsi_config_defaults(cf, &def);
	bad |= check_root_id(&def, config_path);
	check_subnet(&def, config_path, seen, &nseen, NSI_ARRAY_SIZE(seen));
	for (size_t i = 0; i < nsi_config_npolicies(cf); i++) {
		struct nsi_resolved r;
		char where[NSI_PATH_LEN + 16];

		nsi_config_policy(cf, i, &r);
		snprintf(where, sizeof(where), "%s:%d", r.file, r.line);
		bad |= check_root_id(&r.settings, where);
		check_subnet(&r.settings, where, seen, &nseen, NSI_ARRAY_SIZE(seen));
	}
	if (!bad)
		printf("%s: ok, %zu %s\n", config_path, nsi_config_npolicies(cf),
		       nsi_config_npolicies(cf) == 1 ? "policy" : "policies");
	nsi_config_free(cf);
	return bad ? 1 : 0;
}

static int cmd_explain(const char *user, const char *service)
{
	struct nsi_diag d;
	struct nsi_config *cf;
	struct nsi_resolved res;
	struct passwd *pw;
	gid_t groups[NSI_MAX_GROUPS];
	int ngroups = NSI_MAX_GROUPS;
	char why[512];
	struct nsi_user u;
	char name[256];
	uid_t uid;
	gid_t gid;

	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "nsisolate: %s: no such user\n", user);
		return 1;
	}
	/* Copied: later NSS calls (the loader's, getgrgid below) reuse static storage. */
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (getgrouplist(name, gid, groups, &ngroups) < 0) {
		fprintf(stderr, "nsisolate: %s: more than %d groups\n", user, NSI_MAX_GROUPS);
		return 1;
	}
	nsi_diag_init(&d);
	d.check_names = true; /* check and explain warn about names NSS does not know */
	cf = load_or_report(&d);
	nsi_diag_free(&d);
	if (!cf)
		return 1;
	u = (struct nsi_user){ .name = name,
			       .uid = uid,
			       .gid = gid,
			       .groups = groups,
			       .ngroups = (size_t)ngroups,
			       .service = service };
	if (nsi_config_resolve(cf, &u, &res, why, sizeof(why)) < 0) {
		fprintf(stderr, "nsisolate: %s\n", why);
		nsi_config_free(cf);
		return 1;
	}
	printf("user:     %s (uid %u, gid %u)\n", name, (unsigned)uid, (unsigned)gid);
	printf("groups:  ");
	for (int i = 0; i < ngroups; i++) {
		struct group *g = getgrgid(groups[i]);

		printf(" %s(%u)", g ? g->gr_name : "?", (unsigned)groups[i]);
	}
	printf("\nservice:  %s\n", service ? service : "(any)");
	printf("policy:   %s\n", res.policy[0] ? res.policy : "(defaults)");
	printf("why:      %s\n", res.why);
	printf("isolated: %s\n", res.settings.isolate ? "yes" : "no");
	printf("effective settings:\n");
	nsi_settings_print(&res.settings, stdout);
	nsi_config_free(cf);
	return 0;
}

/* ---- live sets ---- */

enum set_status { SET_LIVE, SET_LINGERING, SET_DEAD };

static const char *status_name(enum set_status s)
{
	switch (s) {
	case SET_LIVE:
		return "live";
	case SET_LINGERING:
		return "lingering";
	case SET_DEAD:
		return "dead";
	}
	return "?";
}

static enum set_status set_status(struct nsi_state *st)
{
	int pfd = nsi_pin_process(st->keeper_pid, st->keeper_start);

	if (pfd == -ESRCH)
		return SET_DEAD;
	if (pfd < 0)
		return SET_LIVE; /* cannot tell (no fd): never ended on a guess */
	close(pfd);
	return nsi_state_prune(st) > 0 ? SET_LIVE : SET_LINGERING;
}

/* Call FN for every uid with a state file; returns FN's first error or 0. */
static int for_each_set(int run, int (*fn)(int run, struct nsi_state *st, void *ud), void *ud)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	struct dirent **names = NULL;
	int n, r = 0;

	if (!st)
		return -ENOMEM;
	n = scandirat(run, ".", &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char *end;
		unsigned long uid = strtoul(names[i]->d_name, &end, 10);

		if (r == 0 && end != names[i]->d_name && !strcmp(end, ".state")) {
			/* Read under the lock: states are rewritten in place. */
			int lock = nsi_lock_uid(run, (uid_t)uid, 15000);
			int q = lock < 0 ? lock : nsi_state_read(run, (uid_t)uid, st);

			/* Ended meanwhile: the lock file taking it made is no set's. */
			if (q == -ENOENT)
				(void)nsi_lock_remove(run, (uid_t)uid);
			if (lock >= 0)
				close(lock);
			if (q == -EBADMSG || q == -ENODATA)
				fprintf(stderr,
					"nsisolate: " NSI_RUN_DIR
					"/%s is corrupt; the next login of "
					"uid %lu keeps it as %s.corrupt and ends the set it "
					"names\n",
					names[i]->d_name, uid, names[i]->d_name);
			else if (q < 0 && q != -ENOENT)
				fprintf(stderr, "nsisolate: " NSI_RUN_DIR "/%s: %s\n",
					names[i]->d_name, strerror(-q));
			else if (q == 0)
				r = fn(run, st, ud);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

struct list_ctx {
	bool json;
	int n;
};

/*
 * Sessions whose opener has started children, none of them in the set: a
 * PAM application that starts the session without fork() (posix_spawn,
 * vfork, a raw clone), whose session runs without isolation. An opener
 * that joined itself (opener mode) or has no child yet is not counted.
 */
static size_t count_unjoined(const struct nsi_state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nsessions; i++) {
		pid_t opener = st->sessions[i].pid;
		char path[64], buf[4096];
		bool children = false, joined = false;
		struct dirent *de;
		uint64_t start;
		DIR *d;

		if (nsi_proc_start(opener, &start) < 0 || start != st->sessions[i].start)
			continue;
		if (nsi_ns_inode(opener, "mnt") == st->ns_ino[NSI_NS_MNT])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task", (int)opener);
		d = opendir(path);
		if (!d)
			continue;
		while (!joined && (de = readdir(d))) {
			_cleanup_close_ int fd = -1;
			char *p, *save = NULL;
			ssize_t len;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)opener,
				 de->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			len = nsi_read_full(fd, buf, sizeof(buf) - 1);
			if (len <= 0)
				continue;
			buf[len] = '\0';
			for (p = strtok_r(buf, " \n", &save); p; p = strtok_r(NULL, " \n", &save)) {
				children = true;
				if (nsi_ns_inode((pid_t)atoi(p), "mnt") == st->ns_ino[NSI_NS_MNT]) {
					joined = true;
					break;
				}
			}
		}
		closedir(d);
		if (children && !joined)
			n++;
	}
	return n;
}

static int list_one(int run, struct nsi_state *st, void *ud)
{
	size_t unjoined = count_unjoined(st);
	struct list_ctx *c = ud;
	enum set_status s = set_status(st);
	char created[32];

	struct nsi_lease lease;
	char addr[24] = "";

	/* The session end of a veth set's /30 (network+2). */
	if (nsi_lease_read(run, st->uid, &lease) == 0)
		nsi_ipv4_format(lease.net + 2, addr, sizeof(addr));
	fmt_time(st->created, created, sizeof(created));
	if (!c->json) {
		char ns[256] = "";
		size_t len = 0;

		if (c->n++ == 0)
			printf("%-16s %7s %-16s %8s %8s %8s %-10s %-20s %-15s %s\n", "USER", "UID",
			       "POLICY", "KEEPER", "SESSIONS", "UNJOINED", "STATE", "CREATED",
			       "ADDRESS", "NAMESPACES");
		for (size_t i = 0; i < NSI_NS_COUNT; i++)
			if (st->ns_ino[i])
				len += (size_t)snprintf(ns + len, sizeof(ns) - len, "%s%s:%" PRIu64,
							len ? "," : "", nsi_ns_types[i].name,
							st->ns_ino[i]);
		printf("%-16s %7u %-16s %8d %8zu %8zu %-10s %-20s %-15s %s\n", st->user,
		       (unsigned)st->uid, st->policy[0] ? st->policy : "(defaults)",
		       (int)st->keeper_pid, st->nsessions, unjoined, status_name(s), created,
		       addr[0] ? addr : "-", ns);
		return 0;
	}
	printf("%s\n  {\"user\": ", c->n++ ? "," : "");
	json_str(st->user);
	printf(", \"uid\": %u, \"policy\": ", (unsigned)st->uid);
	json_str(st->policy);
	printf(", \"keeper_pid\": %d, \"sessions\": %zu, \"unjoined\": %zu, \"namespaces\": {",
	       (int)st->keeper_pid, st->nsessions, unjoined);
	for (size_t i = 0, k = 0; i < NSI_NS_COUNT; i++)
		if (st->ns_ino[i])
			printf("%s\"%s\": %" PRIu64, k++ ? ", " : "", nsi_ns_types[i].name,
			       st->ns_ino[i]);
	printf("}, \"address\": ");
	if (addr[0])
		json_str(addr);
	else
		printf("null");
	printf(", \"created\": ");
	json_str(created);
	printf(", \"state\": ");
	json_str(status_name(s));
	printf("}");
	return 0;
}

static int open_run_dir(void)
{
	int run;
	struct stat st;

	/* Read-only commands must not create the directory. */
	if (stat(NSI_RUN_DIR, &st) < 0 && errno == ENOENT)
		return -ENOENT;
	run = nsi_run_dir_open();
	if (run < 0)
		fprintf(stderr, "nsisolate: " NSI_RUN_DIR ": %s\n", strerror(-run));
	return run;
}

static int cmd_list(bool json)
{
	struct list_ctx c = { json, 0 };
	_cleanup_close_ int run = open_run_dir();
	int r = 0;

	if (run >= 0)
		r = for_each_set(run, list_one, &c);
	else if (run != -ENOENT)
		return 1;
	if (json)
		printf("%s]\n", c.n ? "\n" : "");
	else if (c.n == 0)
		printf("no live sets\n");
	return r < 0 ? 1 : 0;
}

/* The JSON array opens before the first row. */
static int cmd_list_json(void)
{
	printf("[");
	return cmd_list(true);
}

/* Find USER's set, locked. Returns the lock fd or -errno (message printed). */
static int find_set(const char *user, int run, struct nsi_state *st, const struct passwd **ret)
{
	const struct passwd *pw = getpwnam(user);
	int lock, r;

	if (!pw) {
		fprintf(stderr, "nsisolate: %s: no such user\n", user);
		return -ESRCH;
	}
	lock = nsi_lock_uid(run, pw->pw_uid, 15000);
	if (lock < 0) {
		fprintf(stderr, "nsisolate: cannot lock the set of %s: %s\n", user,
			strerror(-lock));
		return lock;
	}
	r = nsi_state_read(run, pw->pw_uid, st);
	if (r < 0) {
		if (r == -ENOENT)
			(void)nsi_lock_remove(run, pw->pw_uid); /* ours: made by taking it */
		close(lock);
		if (r == -ENOENT)
			fprintf(stderr, "nsisolate: %s has no live set\n", user);
		else
			fprintf(stderr, "nsisolate: state of %s: %s\n", user, strerror(-r));
		return r;
	}
	*ret = pw;
	return lock;
}

/*
 * A veth set leaves a host link, nft chains and a lease behind its keeper:
 * the helper removes them, as at the last logout (NSI_OP_TEARDOWN).
 */
static int end_network(int run, const struct nsi_state *st)
{
	struct nsi_request req;
	struct nsi_reply rep = { 0 };
	int r;

	if (!nsi_net_leftovers(run, st->uid))
		return 0;
	r = nsi_request_init(&req, NSI_OP_TEARDOWN, st->uid, st->user, NULL, config_path);
	if (r == 0)
		r = nsi_helper_run(&req, &rep);
	if (r < 0)
		fprintf(stderr, "nsisolate: removing the network of %s: %s\n", st->user,
			rep.msg[0] ? rep.msg : strerror(-r));
	return r;
}

static int end_set(int run, struct nsi_state *st, const char *why)
{
	int r = nsi_set_kill(st);

	if (r < 0) {
		fprintf(stderr, "nsisolate: ending the set of %s: %s\n", st->user, strerror(-r));
		return r;
	}
	r = end_network(run, st);
	if (r < 0)
		return r;
	(void)nsi_state_remove(run, st->uid);
	(void)nsi_lock_remove(run, st->uid);
	printf("%s: ended the set of %s (uid %u), keeper %d\n", why, st->user, (unsigned)st->uid,
	       (int)st->keeper_pid);
	return 0;
}

/* The run directory and USER's set, locked: the lock fd, or -1 (message printed). */
static int open_user_set(const char *user, int *run, struct nsi_state *st, const struct passwd **pw)
{
	*run = open_run_dir();
	if (*run == -ENOENT)
		fprintf(stderr, "nsisolate: %s has no live set\n", user);
	if (*run < 0)
		return -1;
	return find_set(user, *run, st, pw);
}

static int cmd_stop(const char *user)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	_cleanup_close_ int run = -1, lock = -1;
	const struct passwd *pw;

	if (!st)
		return 1;
	lock = open_user_set(user, &run, st, &pw);
	if (lock < 0)
		return 1;
	return end_set(run, st, "stop") < 0 ? 1 : 0;
}

/*
 * release UID|USER: run by PID 1 after a user manager that joined the set in
 * opener mode has stopped (ExecStopPost= of user@.service, see
 * pam_nsisolate(8)). Its (sd-pam) closes unprivileged and cannot end the
 * set: here, the set ends if none of its sessions is left and it does not
 * linger, as the last pam_close_session would end it.
 */
static int cmd_release(const char *arg)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	_cleanup_close_ int run = -1, lock = -1;
	const struct passwd *pw;
	unsigned long uid;
	char *end;
	int r;

	if (!st)
		return 1;
	errno = 0;
	uid = strtoul(arg, &end, 10);
	if (*arg >= '0' && *arg <= '9' && !*end && !errno && uid < UINT32_MAX) {
		pw = NULL;
	} else if ((pw = getpwnam(arg))) {
		uid = pw->pw_uid;
	} else {
		fprintf(stderr, "nsisolate: %s: no such user\n", arg);
		return 1;
	}
	if (uid == 0)
		return 0; /* never isolated */
	run = open_run_dir();
	if (run == -ENOENT)
		return 0;
	if (run < 0)
		return 1;
	lock = nsi_lock_uid(run, (uid_t)uid, 15000);
	if (lock < 0) {
		fprintf(stderr, "nsisolate: cannot lock the set of uid %lu: %s\n", uid,
			strerror(-lock));
		return 1;
	}
	r = nsi_state_read(run, (uid_t)uid, st);
	if (r == -ENOENT) {
		(void)nsi_lock_remove(run, (uid_t)uid);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "nsisolate: state of uid %lu: %s\n", uid, strerror(-r));
		return 1;
	}
	if (set_status(st) == SET_DEAD)
		return end_set(run, st, "release (keeper dead)") < 0 ? 1 : 0;
	if (nsi_state_prune(st) > 0 || st->linger) {
		r = nsi_state_write(run, st);
		printf("release: the set of %s (uid %lu) stays: %zu session%s%s\n", st->user, uid,
		       st->nsessions, st->nsessions == 1 ? "" : "s", st->linger ? ", lingers" : "");
		return r < 0 ? 1 : 0;
	}
	return end_set(run, st, "release") < 0 ? 1 : 0;
}

static int gc_one(int run, struct nsi_state *st, void *ud)
{
	_cleanup_close_ int lock = nsi_lock_uid(run, st->uid, 15000);
	int *done = ud;

	if (lock < 0)
		return 0;
	/* Re-read under the lock: a login may have changed it meanwhile. */
	if (nsi_state_read(run, st->uid, st) < 0)
		return 0;
	switch (set_status(st)) {
	case SET_LIVE:
		return 0;
	case SET_LINGERING:
		if (nsi_set_count_members(st) > 0)
			return 0;
		(*done)++;
		(void)end_set(run, st, "gc (empty lingering set)");
		return 0;
	case SET_DEAD:
		(*done)++;
		(void)end_set(run, st, "gc (keeper dead)");
		return 0;
	}
	return 0;
}

static int cmd_gc(void)
{
	_cleanup_close_ int run = open_run_dir();
	struct dirent **names = NULL;
	int done = 0, n = 0, r;

	if (run < 0 && run != -ENOENT)
		return 1;
	if (run >= 0 && for_each_set(run, gc_one, &done) < 0)
		return 1;
	/*
	 * Lock files without a state belong to no set; so does a lease whose
	 * set was refused while its network could not be removed (no fd left).
	 */
	if (run >= 0)
		n = scandirat(run, ".", &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char *end, state[64];
		unsigned long uid = strtoul(names[i]->d_name, &end, 10);
		struct stat s;

		snprintf(state, sizeof(state), "%lu.state", uid);
		if (end != names[i]->d_name && !strcmp(end, ".lease") &&
		    fstatat(run, state, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			_cleanup_close_ int lock = nsi_lock_uid(run, (uid_t)uid, 1000);
			struct passwd *pw = getpwuid((uid_t)uid);
			struct nsi_state orphan = { .uid = (uid_t)uid };

			snprintf(orphan.user, sizeof(orphan.user), "%s", pw ? pw->pw_name : "-");
			if (lock >= 0 && fstatat(run, state, &s, AT_SYMLINK_NOFOLLOW) < 0 &&
			    end_network(run, &orphan) == 0) {
				(void)nsi_lock_remove(run, (uid_t)uid);
				printf("gc: removed the network of uid %lu, which no set names\n",
				       uid);
				done++;
			}
		}
		if (end != names[i]->d_name && !strcmp(end, ".lock") &&
		    fstatat(run, state, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			_cleanup_close_ int lock = nsi_lock_uid(run, (uid_t)uid, 1000);

			if (lock >= 0 && fstatat(run, state, &s, AT_SYMLINK_NOFOLLOW) < 0) {
				(void)nsi_lock_remove(run, (uid_t)uid);
				printf("gc: removed stale lock %s\n", names[i]->d_name);
				done++;
			}
		}
		free(names[i]);
	}
	free(names);
	/* After the sets: a dead set of a removed user has just ended. */
	r = nsi_gc_instances(run, stdout);
	if (r > 0)
		done += r;
	if (!done)
		printf("gc: nothing to do\n");
	return r < 0 ? 1 : 0;
}

static int cmd_enter(const char *user, bool as_user, char **cmd)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	_cleanup_close_ int run = -1, lock = -1, kfd = -1;
	char *shell[] = { (char *)"/bin/sh", NULL };
	const struct passwd *pw;
	int fds[NSI_NS_COUNT] = { [0 ... NSI_NS_COUNT - 1] = -1 };
	pid_t child;
	int status, r;

	if (!st)
		return 1;
	lock = open_user_set(user, &run, st, &pw);
	if (lock < 0)
		return 1;
	kfd = nsi_pin_process(st->keeper_pid, st->keeper_start);
	if (kfd < 0) {
		fprintf(stderr,
			"nsisolate: the set of %s is dead (keeper %d gone); run nsisolate gc\n",
			user, (int)st->keeper_pid);
		return 1;
	}
	if (as_user && !st->ns_ino[NSI_NS_USER]) {
		fprintf(stderr, "nsisolate: the set of %s has no user namespace\n", user);
		return 1;
	}
	/*
	 * A process of the user in the set may ptrace the entered one (same
	 * uid, same user namespace) and use every fd it holds: root's
	 * terminal would take injected input (TIOCSTI) and give away what
	 * root types. So never a terminal; a pipe or a file is only data.
	 */
	if (as_user && (isatty(0) || isatty(1) || isatty(2))) {
		fprintf(stderr,
			"nsisolate: enter --as-user will not run on a terminal: processes of %s "
			"in the set could read and inject input on it; redirect standard "
			"input, output and error (or log in as %s, e.g. \"su --pty -l %s\")\n",
			user, user, user);
		return 1;
	}
	r = nsi_set_open_ns(st, kfd, fds);
	if (r < 0) {
		fprintf(stderr, "nsisolate: cannot open the namespaces of %s: %s\n", user,
			strerror(-r));
		return 1;
	}
	/* The set's namespaces in the same order a session joins them; the user one last. */
	for (size_t i = 0; i < NSI_NS_COUNT; i++) {
		if (fds[i] < 0 || i == NSI_NS_USER)
			continue;
		r = setns(fds[i], nsi_ns_types[i].flag) < 0 ? -errno : 0;
		if (r < 0) {
			fprintf(stderr, "nsisolate: cannot enter the %s namespace of %s: %s\n",
				nsi_ns_types[i].name, user, strerror(-r));
			return 1;
		}
	}
	nsi_closep(&lock);
	lock = -1;
	child = fork(); /* into the PID namespace, if the set has one */
	if (child < 0) {
		perror("nsisolate: fork");
		return 1;
	}
	if (child == 0) {
		if (as_user) {
			/* A session of its own: no controlling terminal to reach through /dev/tty. */
			if (setsid() < 0) {
				perror("nsisolate: setsid");
				_exit(127);
			}
			if (setns(fds[NSI_NS_USER], CLONE_NEWUSER) < 0) {
				perror("nsisolate: entering the user namespace");
				_exit(127);
			}
			/* Nothing of root's but standard input, output and error. */
			close_range(3, ~0u, 0);
			/* Like a session: no file capability can apply either. */
			if (nsi_capbset_drop(0) < 0) {
				perror("nsisolate: emptying the capability bounding set");
				_exit(127);
			}
			if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
			    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
			    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
				perror("nsisolate: becoming the user inside the set");
				_exit(127);
			}
			if (chdir(pw->pw_dir) < 0 && chdir("/") < 0)
				_exit(127);
			/* None of root's environment: what a login would set. */
			if (clearenv() != 0 || setenv("HOME", pw->pw_dir, 1) < 0 ||
			    setenv("USER", pw->pw_name, 1) < 0 ||
			    setenv("LOGNAME", pw->pw_name, 1) < 0 ||
			    setenv("SHELL", pw->pw_shell[0] ? pw->pw_shell : "/bin/sh", 1) < 0 ||
			    setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1) < 0)
				_exit(127);
		} else if (chdir("/") < 0) {
			_exit(127);
		}
		if (!cmd || !*cmd)
			cmd = shell;
		execvp(cmd[0], cmd);
		fprintf(stderr, "nsisolate: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "as-user", no_argument, NULL, 'u' },
		{ "pam", no_argument, NULL, 'p' },
		{ "pam-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *service = NULL, *cmd,
		   *pam_dirs[NSI_PAM_DIRS_MAX] = { "/etc/pam.d", "/usr/lib/pam.d" };
	bool json = false, as_user = false, pam = false, config_given = false;
	size_t npam_dirs = 2, ngiven = 0;
	int o, r;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--version") && argc == 2) {
		printf("nsisolate " NSI_VERSION "\n");
		return 0;
	}
	optind = 2;
	while ((o = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 's':
			service = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'u':
			as_user = true;
			break;
		case 'p':
			pam = true;
			break;
		case 'P':
			/* Instead of /etc/pam.d and /usr/lib/pam.d, searched in order. */
			if (ngiven == NSI_PAM_DIRS_MAX) {
				usage(stderr);
				return 2;
			}
			pam_dirs[ngiven++] = optarg;
			npam_dirs = ngiven;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_given && config_path[0] != '/' && (r = absolute_config(config_path)) < 0) {
		fprintf(stderr, "nsisolate: %s: %s\n", config_path, strerror(-r));
		return 1;
	}
	if (!strcmp(cmd, "check") && pam && !config_given && !service && !json && !as_user)
		return nsi_pam_check(pam_dirs, npam_dirs, argv + optind, (size_t)(argc - optind),
				     stdout, stderr);
	if (pam || ngiven) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "check") && optind == argc && !service && !json && !as_user)
		return cmd_check();
	if (!strcmp(cmd, "explain") && optind + 1 == argc && !json && !as_user)
		return cmd_explain(argv[optind], service);
	if (!strcmp(cmd, "list") && optind == argc && !service && !as_user)
		return json ? cmd_list_json() : cmd_list(false);
	if (!strcmp(cmd, "enter") && optind < argc && !service && !json)
		return cmd_enter(argv[optind], as_user, argv + optind + 1);
	if (!strcmp(cmd, "stop") && optind + 1 == argc && !service && !json && !as_user)
		return cmd_stop(argv[optind]);
	if (!strcmp(cmd, "gc") && optind == argc && !service && !json && !as_user)
		return cmd_gc();
	if (!strcmp(cmd, "release") && optind + 1 == argc && !service && !json && !as_user)
		return cmd_release(argv[optind]);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
