// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include "cleanup.h"
#include "fsutil.h"
#include "state.h"

const struct nsi_ns_type nsi_ns_types[NSI_NS_COUNT] = {
	[NSI_NS_MNT] = { CLONE_NEWNS, "mnt" },	[NSI_NS_NET] = { CLONE_NEWNET, "net" },
	[NSI_NS_IPC] = { CLONE_NEWIPC, "ipc" }, [NSI_NS_UTS] = { CLONE_NEWUTS, "uts" },
	[NSI_NS_PID] = { CLONE_NEWPID, "pid" }, [NSI_NS_USER] = { CLONE_NEWUSER, "user" },
};

int nsi_run_dir_open(void)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	/* /run is root-owned and not writable by others; mkdir fails harmlessly if present. */
	if (mkdir(NSI_RUN_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(NSI_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return -EPERM;
	/*
	 * The mkdir above took the caller's umask (su keeps its user's): a
	 * root-only directory with fewer bits than 0700 is ours to repair.
	 * One open to group or others is refused: someone else made it.
	 */
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int nsi_lock_uid(int dirfd, uid_t uid, int timeout_ms)
{
	char name[32];

	snprintf(name, sizeof(name), "%u.lock", (unsigned)uid);
	return nsi_lock_file_at(dirfd, name, timeout_ms);
}

int nsi_lock_remove(int dirfd, uid_t uid)
{
	char name[32];

	snprintf(name, sizeof(name), "%u.lock", (unsigned)uid);
	return nsi_unlink_at(dirfd, name);
}

static int state_name(uid_t uid, char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%u.state%s", (unsigned)uid, suffix);
	return 0;
}

static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return false;
	return true;
}

/*
 * The user name in the state is one word: a byte that is a space, a control
 * character or '%' is written %XX (names as NSS gives them may hold spaces:
 * "John Smith"). Bytes from 0x80 stay as they are (UTF-8).
 */
static bool user_byte_plain(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '%';
}

static void escape_user(const char *src, char *dst, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)src; *p && o + 4 < size; p++)
		o += (size_t)(user_byte_plain(*p) ? snprintf(dst + o, size - o, "%c", *p)
						  : snprintf(dst + o, size - o, "%%%02X", *p));
	dst[o] = '\0';
}

/* The inverse, strict: "%XX" (upper-case hex) only where escape_user puts it. */
static bool unescape_user(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (const char *p = src; *p; p++) {
		unsigned v;

		if (o + 1 >= size)
			return false;
		if (*p != '%') {
			dst[o++] = *p;
			continue;
		}
		if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
		    islower((unsigned char)p[1]) || islower((unsigned char)p[2]) ||
		    sscanf(p + 1, "%2X", &v) != 1 || user_byte_plain((unsigned char)v) || v == 0)
			return false;
		dst[o++] = (char)v;
		p += 2;
	}
	if (o == 0)
		return false;
	dst[o] = '\0';
	return true;
}

/* A decimal (BASE 10) or hex (16) number, digits only, at most MAX. */
static bool parse_num(const char *s, int base, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	size_t len = strspn(s, base == 16 ? "0123456789abcdefABCDEF" : "0123456789");

	/* Digits only: no sign, no blank, no 0x, nothing strtoull would skip or take. */
	if (len == 0 || s[len] != '\0')
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* SRC into the field DST of SIZE bytes: a word that fits, or false. */
static bool set_word(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (!word_ok(src) || len >= size)
		return false;
	memcpy(dst, src, len + 1);
	return true;
}

/*
 * One "KEY A [B]" line into ST: true when it is valid. Lines are checked
 * one by one so that a corrupt file can still give up its valid lines.
 */
static bool parse_line(const char *line, struct nsi_state *st, unsigned *seen, bool *have_keeper)
{
	static const char *const once[] = { "uid",	     "user",	    "policy",
					    "settings_hash", "groups_hash", "linger",
					    "created",	     "keeper",	    "nested" };
	char key[32], a[800], b[64], extra; /* a: a user name escaped (3 bytes a byte) */
	uint64_t x, y;
	int n = sscanf(line, "%31s %799s %63s %c", key, a, b, &extra);

	if (n < 2 || n > 3)
		return false;
	/* Each key once (each namespace once): a repeated one is corruption, never "the last wins". */
	for (unsigned i = 0; i < NSI_ARRAY_SIZE(once); i++)
		if (!strcmp(key, once[i])) {
			if (*seen & (1u << i))
				return false;
			*seen |= 1u << i;
		}
	if (!strcmp(key, "ns") && n == 3)
		for (size_t i = 0; i < NSI_NS_COUNT; i++)
			if (!strcmp(a, nsi_ns_types[i].name) && st->ns_ino[i])
				return false;
	if (!strcmp(key, "uid") && n == 2 && parse_num(a, 10, UINT32_MAX - 1, &x))
		st->uid = (uid_t)x;
	else if (!strcmp(key, "user") && n == 2)
		return unescape_user(st->user, sizeof(st->user), a);
	else if (!strcmp(key, "policy") && n == 2 && !strcmp(a, "-"))
		st->policy[0] = '\0';
	else if (!strcmp(key, "policy") && n == 2)
		return set_word(st->policy, sizeof(st->policy), a);
	else if (!strcmp(key, "settings_hash") && n == 2 && parse_num(a, 16, UINT64_MAX, &x))
		st->settings_hash = x;
	else if (!strcmp(key, "groups_hash") && n == 2 && parse_num(a, 16, UINT64_MAX, &x))
		st->groups_hash = x;
	else if (!strcmp(key, "linger") && n == 2 && (!strcmp(a, "0") || !strcmp(a, "1")))
		st->linger = a[0] == '1';
	else if (!strcmp(key, "nested") && n == 2 && (!strcmp(a, "0") || !strcmp(a, "1")))
		st->nested = a[0] == '1';
	else if (!strcmp(key, "created") && n == 2 && parse_num(a, 10, INT64_MAX, &x))
		st->created = (int64_t)x;
	else if (!strcmp(key, "keeper") && n == 3 && parse_num(a, 10, INT32_MAX - 1, &x) &&
		 parse_num(b, 10, UINT64_MAX, &y) && x > 1) {
		st->keeper_pid = (pid_t)x;
		st->keeper_start = y;
		*have_keeper = true;
	} else if (!strcmp(key, "ns") && n == 3 && parse_num(b, 10, UINT64_MAX, &x) && x) {
		for (size_t i = 0; i < NSI_NS_COUNT; i++)
			if (!strcmp(a, nsi_ns_types[i].name)) {
				st->ns_ino[i] = x;
				return true;
			}
		return false;
	} else if (!strcmp(key, "session") && n == 3 && parse_num(a, 10, INT32_MAX - 1, &x) &&
		   parse_num(b, 10, UINT64_MAX, &y) && x > 0) {
		if (st->nsessions >= NSI_MAX_SESSIONS)
			return false;
		st->sessions[st->nsessions++] = (struct nsi_session_rec){ (pid_t)x, y };
	} else {
		return false;
	}
	return true;
}

/*
 * TEXT (modified) into ST. Strict: the first bad line fails it (-EBADMSG,
 * its number in *RET_LINE). Lenient: bad lines are skipped.
 */
static int parse_text(char *text, uid_t uid, struct nsi_state *st, bool lenient, int *ret_line)
{
	char *line, *save = NULL;
	int lineno = 0;
	unsigned seen = 0;
	bool have_keeper = false, ended = false;

	*ret_line = 0;
	/* Not recorded (an older version): nesting is assumed possible. */
	st->nested = true;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (!strcmp(line, "end")) {
			ended = true;
			break;
		}
		if (lineno == 1 && !strcmp(line, "nsisolate-state 1"))
			continue;
		if ((lineno == 1 || !parse_line(line, st, &seen, &have_keeper)) && !lenient) {
			*ret_line = lineno;
			return -EBADMSG;
		}
	}
	if (lenient)
		return have_keeper ? 0 : -ENOENT;
	if (!ended || !have_keeper || st->uid != uid || !st->user[0] || !st->ns_ino[NSI_NS_MNT]) {
		*ret_line = lineno + !ended;
		return -EBADMSG;
	}
	return 0;
}

int nsi_state_parse(char *text, uid_t uid, struct nsi_state *out, int *ret_line)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	int r;

	*ret_line = 0;
	if (!st)
		return -ENOMEM;
	r = parse_text(text, uid, st, false, ret_line);
	if (r == 0)
		memcpy(out, st, sizeof(*st));
	return r;
}

/* Is PID, pinned by PIDFD, a keeper: the helper's image, named so? */
static bool is_keeper(pid_t pid, int pidfd)
{
	char path[64], comm[32] = "";
	struct stat exe, helper;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0 || strcmp(comm, "nsisolate-keep\n") != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &exe) < 0 || stat(NSI_HELPER_PATH, &helper) < 0 ||
	    exe.st_dev != helper.st_dev || exe.st_ino != helper.st_ino)
		return false;
	/* Read while the pinned process was alive: it was PID's. */
	return pidfd_send_signal(pidfd, 0, NULL, 0) == 0;
}

/* Does a valid state of another uid than UID name the keeper PID (started at START)? */
static bool keeper_of_another(int dirfd, uid_t uid, pid_t pid, uint64_t start)
{
	_cleanup_free_ struct nsi_state *other = calloc(1, sizeof(*other));
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!other)
		return true; /* cannot tell: not ours to end */
	d = nsi_opendir_at(dirfd);
	if (!d)
		return true;
	while (!found && (de = readdir(d))) {
		char *end;
		unsigned long u = strtoul(de->d_name, &end, 10);

		if (end == de->d_name || strcmp(end, ".state") || u == uid || u > UINT32_MAX)
			continue;
		found = nsi_state_read(dirfd, (uid_t)u, other) == 0 && other->keeper_pid == pid &&
			other->keeper_start == start;
	}
	closedir(d);
	return found;
}

int nsi_state_salvage(int dirfd, uid_t uid, struct nsi_state *out, int *ret_line)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	_cleanup_free_ char *text = NULL, *copy = NULL;
	_cleanup_close_ int kfd = -1;
	char name[48], bad[48], why[256];
	int r;

	*ret_line = 0;
	if (!st)
		return -ENOMEM;
	state_name(uid, name, sizeof(name), "");
	state_name(uid, bad, sizeof(bad), ".corrupt");
	r = nsi_read_trusted_file(dirfd, name, 256 * 1024, &text, why, sizeof(why));
	if (r < 0)
		return r;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	(void)parse_text(copy, uid, st, false, ret_line);
	/* Kept for the administrator, out of the way of the next set. */
	if (renameat(dirfd, name, dirfd, bad) < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	r = parse_text(text, uid, st, true, &(int){ 0 });
	if (r < 0)
		return r;
	st->uid = uid;
	st->nsessions = 0;
	kfd = nsi_pin_process(st->keeper_pid, st->keeper_start);
	if (kfd < 0 && kfd != -ESRCH)
		return kfd;
	if (kfd >= 0) {
		/*
		 * A live keeper: proven by its image, and no other user's set
		 * may name it (a file edited by hand can name any pid); its
		 * namespaces are taken from it.
		 */
		if (!is_keeper(st->keeper_pid, kfd) ||
		    keeper_of_another(dirfd, uid, st->keeper_pid, st->keeper_start))
			return -ESRCH;
		for (size_t i = 0; i < NSI_NS_COUNT; i++) {
			uint64_t ino = nsi_ns_inode(st->keeper_pid, nsi_ns_types[i].name);

			st->ns_ino[i] =
				ino && ino != nsi_ns_inode(0, nsi_ns_types[i].name) ? ino : 0;
		}
		if (!is_keeper(st->keeper_pid, kfd))
			return -ESRCH;
	}
	/* A dead keeper: its processes are found by the namespaces recorded, and the uid. */
	if (!st->ns_ino[NSI_NS_MNT])
		return -ESRCH;
	memcpy(out, st, sizeof(*st));
	return 0;
}

int nsi_state_read(int dirfd, uid_t uid, struct nsi_state *out)
{
	_cleanup_free_ char *text = NULL;
	char name[48], why[256];
	int r, line;

	state_name(uid, name, sizeof(name), "");
	r = nsi_read_trusted_file(dirfd, name, 256 * 1024, &text, why, sizeof(why));
	if (r < 0)
		return r;
	if (strlen(text) == 0)
		return -ENODATA;
	return nsi_state_parse(text, uid, out, &line);
}

size_t nsi_state_format(const struct nsi_state *st, char *buf, size_t cap)
{
	char user[3 * sizeof(st->user)];
	size_t len = 0;

#define OUT(...) (len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__))
	OUT("nsisolate-state %d\n", NSI_STATE_VERSION);
	escape_user(st->user, user, sizeof(user));
	OUT("uid %u\nuser %s\npolicy %s\n", (unsigned)st->uid, user,
	    st->policy[0] ? st->policy : "-");
	OUT("settings_hash %016" PRIx64 "\ngroups_hash %016" PRIx64 "\n", st->settings_hash,
	    st->groups_hash);
	OUT("linger %d\nnested %d\ncreated %" PRId64 "\nkeeper %d %" PRIu64 "\n",
	    st->linger ? 1 : 0, st->nested ? 1 : 0, st->created, (int)st->keeper_pid,
	    st->keeper_start);
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		if (st->ns_ino[i])
			OUT("ns %s %" PRIu64 "\n", nsi_ns_types[i].name, st->ns_ino[i]);
	for (size_t i = 0; i < st->nsessions; i++)
		OUT("session %d %" PRIu64 "\n", (int)st->sessions[i].pid, st->sessions[i].start);
	OUT("end\n");
#undef OUT
	return len;
}

/*
 * Rewritten in place, under the uid's lock: a rename over the old file costs
 * a forced writeback and a truncate on a disk-backed /run (ext4's
 * replace-by-rename heuristic) at every login. The text ends with "end", so
 * a shorter rewrite never leaves a readable tail, and a torn file fails to
 * parse (refused, never misread).
 */
int nsi_state_write(int dirfd, const struct nsi_state *st)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 1024 + st->nsessions * 48, len;
	char name[48];
	struct stat s;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	len = nsi_state_format(st, buf, cap);
	if (len >= cap)
		return -E2BIG;

	state_name(st->uid, name, sizeof(name), "");
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &s) < 0)
		return -errno;
	if (!S_ISREG(s.st_mode) || s.st_uid != 0 || s.st_nlink != 1)
		return -EPERM;
	if (pwrite(fd, buf, len, 0) != (ssize_t)len)
		return errno ? -errno : -EIO;
	if (ftruncate(fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

int nsi_state_remove(int dirfd, uid_t uid)
{
	char name[48];

	state_name(uid, name, sizeof(name), "");
	return nsi_unlink_at(dirfd, name);
}

int nsi_proc_start(pid_t pid, uint64_t *ret)
{
	return nsi_proc_start_at(AT_FDCWD, pid, ret);
}

int nsi_proc_start_at(int procfd, pid_t pid, uint64_t *ret)
{
	_cleanup_close_ int fd = -1;
	char path[64], buf[1024], *p;
	unsigned long long start;
	ssize_t n;

	if (procfd == AT_FDCWD)
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	else
		snprintf(path, sizeof(path), "%d/stat", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = nsi_read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	/* A zombie has ended: it holds no namespace and is no session. */
	if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return -ESRCH;
	/* Field 3 (state) follows; start time is field 22, i.e. 19 fields later. */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
		   "%llu",
		   &start) != 1)
		return -EBADMSG;
	*ret = start;
	return 0;
}

int nsi_pin_process(pid_t pid, uint64_t start)
{
	_cleanup_close_ int pfd = -1;
	uint64_t now;
	int r;

	if (pid <= 1)
		return -ESRCH;
	pfd = pidfd_open(pid, 0);
	if (pfd < 0)
		return -errno;
	/* Read after pinning: if the pid was reused, the start time tells. */
	r = nsi_proc_start(pid, &now);
	if (r < 0)
		return r == -EBADMSG ? -ESRCH : r;
	if (now != start)
		return -ESRCH;
	if (pidfd_send_signal(pfd, 0, NULL, 0) < 0)
		return -ESRCH;
	return TAKE_FD(pfd);
}

size_t nsi_state_prune(struct nsi_state *st)
{
	size_t keep = 0;

	for (size_t i = 0; i < st->nsessions; i++) {
		uint64_t start;

		if (nsi_proc_start(st->sessions[i].pid, &start) == 0 &&
		    start == st->sessions[i].start)
			st->sessions[keep++] = st->sessions[i];
	}
	st->nsessions = keep;
	return keep;
}

/* PROC is "" below the procfs PROCFD, or "/proc/" with AT_FDCWD. */
static uint64_t ns_inode(int procfd, const char *proc, pid_t pid, const char *name)
{
	char path[64];
	struct stat s;

	if (pid)
		snprintf(path, sizeof(path), "%s%d/ns/%s", proc, (int)pid, name);
	else
		snprintf(path, sizeof(path), "%sself/ns/%s", proc, name);
	if (fstatat(procfd, path, &s, 0) < 0)
		return 0;
	return (uint64_t)s.st_ino;
}

uint64_t nsi_ns_inode_at(int procfd, pid_t pid, const char *name)
{
	return ns_inode(procfd, "", pid, name);
}

uint64_t nsi_ns_inode(pid_t pid, const char *name)
{
	return ns_inode(AT_FDCWD, "/proc/", pid, name);
}

/*
 * Who belongs to a set. Namespace inode numbers are recycled once a
 * namespace is freed, so they prove membership only while the set's
 * namespaces are pinned (held open here, taken from its live keeper). A
 * dead set's numbers may belong to another user's set by now: then a process
 * is taken as a leftover only if every one of its uids is the set's user, so
 * no process of another uid is ever signalled.
 */
struct members {
	const struct nsi_state *st;
	bool pinned;
	uint64_t host_user; /* the initial user namespace (the caller's) */
	int (*fn)(const struct members *, pid_t);
};

/* Real, effective, saved and fs uid, as the initial user namespace sees them. */
static bool all_uids_are(pid_t pid, uid_t uid)
{
	char path[64], line[256];
	unsigned long u[4];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) == 4) {
			ok = u[0] == uid && u[1] == uid && u[2] == uid && u[3] == uid;
			break;
		}
	fclose(f);
	return ok;
}

/*
 * Is USERNS_FD's namespace the set's user namespace or one nested below it
 * (userns.nested = true)? Walked up with NS_GET_PARENT; takes the fd.
 */
static bool userns_below(int userns_fd, uint64_t set_user, uint64_t host_user)
{
	int fd = userns_fd;
	bool found = false;

	/* The kernel nests user namespaces at most 32 deep. */
	for (int depth = 0; fd >= 0 && depth < 40; depth++) {
		struct stat s;
		int parent;

		if (fstat(fd, &s) < 0 || (uint64_t)s.st_ino == host_user)
			break;
		if ((uint64_t)s.st_ino == set_user) {
			found = true;
			break;
		}
		parent = ioctl(fd, NS_GET_PARENT);
		close(fd);
		fd = parent;
	}
	if (fd >= 0)
		close(fd);
	return found;
}

static bool same_ns(pid_t pid, const struct nsi_state *st, size_t i)
{
	return nsi_ns_inode(pid, nsi_ns_types[i].name) == st->ns_ino[i];
}

static bool is_member(const struct members *m, pid_t pid)
{
	const struct nsi_state *st = m->st;
	uint64_t user;

	if (st->ns_ino[NSI_NS_USER] && !st->nested) {
		/*
		 * No nesting: a member cannot leave the set's mount namespace
		 * (owned by the initial user namespace, where it has no
		 * capability) nor make a user namespace, so one stat rules out
		 * almost every process on the host, and zombies (no namespaces).
		 */
		if (nsi_ns_inode(pid, "mnt") != st->ns_ino[NSI_NS_MNT])
			return false;
		user = nsi_ns_inode(pid, "user");
		if (user == m->host_user)
			return m->pinned; /* root entered by "nsisolate enter" */
		if (user != st->ns_ino[NSI_NS_USER])
			return false;
		return m->pinned || all_uids_are(pid, st->uid);
	}
	if (st->ns_ino[NSI_NS_USER]) {
		char path[64];
		uint64_t mnt;
		int fd;

		user = nsi_ns_inode(pid, "user");
		/*
		 * A zombie keeps its credentials, so its user namespace, but
		 * has left every other namespace: it is no member (its parent
		 * reaps it, a signal would change nothing).
		 */
		mnt = user ? nsi_ns_inode(pid, "mnt") : 0;
		if (!mnt)
			return false;
		if (user == m->host_user) {
			/* Root entered by "nsisolate enter": only a pinned set's. */
			return m->pinned && mnt == st->ns_ino[NSI_NS_MNT];
		}
		if (user != st->ns_ino[NSI_NS_USER]) {
			/* Nested below the set's (a session that unshared more), or not ours. */
			snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || !userns_below(fd, st->ns_ino[NSI_NS_USER], m->host_user))
				return false;
		}
		return m->pinned || all_uids_are(pid, st->uid);
	}
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		if (i != NSI_NS_USER && st->ns_ino[i] && !same_ns(pid, st, i))
			return false;
	return m->pinned || all_uids_are(pid, st->uid);
}

/* Call M->fn for each member pid; FN returns <0 to stop. Returns members seen. */
static int scan_members(const struct members *m)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;
	pid_t self = getpid();

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 1 || pid == self || pid == m->st->keeper_pid)
			continue;
		if (!is_member(m, (pid_t)pid))
			continue;
		count++;
		if (m->fn && m->fn(m, (pid_t)pid) < 0)
			break;
	}
	closedir(d);
	return count;
}

/*
 * Pin the set's namespaces through its keeper, if it lives: FDS then hold
 * them, and their inode numbers cannot be reused while the scan runs.
 */
static void members_init(struct members *m, const struct nsi_state *st, int fds[NSI_NS_COUNT])
{
	_cleanup_close_ int kfd = nsi_pin_process(st->keeper_pid, st->keeper_start);

	/* The caller, root outside every set, is in the initial user namespace. */
	*m = (struct members){ .st = st, .host_user = nsi_ns_inode(0, "user") };
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		fds[i] = -1;
	m->pinned = kfd >= 0 && nsi_set_open_ns(st, kfd, fds) == 0;
}

static void members_done(int fds[NSI_NS_COUNT])
{
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		nsi_closep(&fds[i]);
}

int nsi_set_count_members(const struct nsi_state *st)
{
	struct members m;
	int fds[NSI_NS_COUNT], n;

	members_init(&m, st, fds);
	n = m.host_user ? scan_members(&m) : -ESRCH;
	members_done(fds);
	return n;
}

static int kill_member(const struct members *m, pid_t pid)
{
	_cleanup_close_ int pfd = pidfd_open(pid, 0);

	/* Pinned first, checked second: a recycled pid is never signalled. */
	if (pfd < 0 || !is_member(m, pid))
		return 0;
	(void)pidfd_send_signal(pfd, SIGKILL, NULL, 0);
	return 0;
}

int nsi_set_kill(const struct nsi_state *st)
{
	_cleanup_close_ int kfd = -1;
	struct members m;
	int fds[NSI_NS_COUNT], n = 0;

	if (!st->ns_ino[NSI_NS_MNT] || st->ns_ino[NSI_NS_MNT] == nsi_ns_inode(0, "mnt"))
		return -EINVAL; /* never the host's own namespace */
	members_init(&m, st, fds);
	if (!m.host_user) {
		members_done(fds);
		return -ESRCH;
	}
	m.fn = kill_member;
	for (int round = 0; round < 500; round++) {
		n = scan_members(&m);
		if (n <= 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	}
	members_done(fds);
	if (n < 0)
		return n;
	if (n > 0)
		return -EBUSY;
	kfd = nsi_pin_process(st->keeper_pid, st->keeper_start);
	/* Dead is -ESRCH; anything else (no fd, no memory) leaves the keeper unknown. */
	if (kfd < 0 && kfd != -ESRCH)
		return kfd;
	if (kfd >= 0) {
		struct pollfd p = { .fd = kfd, .events = POLLIN };

		(void)pidfd_send_signal(kfd, SIGKILL, NULL, 0);
		/*
		 * A pidfd turns readable when the process has exited. Not so
		 * for the init of a PID namespace: it exits only once every
		 * zombie in it is reaped, and the caller (sshd's monitor) may
		 * still hold one, its session child, unreaped until after this
		 * close: waiting would stall the logout. Nothing lives in the
		 * set any more (the scan above), so the kill is enough.
		 */
		if (!st->ns_ino[NSI_NS_PID])
			(void)poll(&p, 1, 2000);
	}
	return 0;
}

int nsi_set_open_ns(const struct nsi_state *st, int pidfd, int fds[NSI_NS_COUNT])
{
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		fds[i] = -1;
	for (size_t i = 0; i < NSI_NS_COUNT; i++) {
		char path[64];
		struct stat s;

		if (!st->ns_ino[i])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)st->keeper_pid,
			 nsi_ns_types[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 || fstat(fds[i], &s) < 0 || (uint64_t)s.st_ino != st->ns_ino[i])
			goto fail;
	}
	/* Opened while the pinned keeper was alive: the fds are its namespaces. */
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		goto fail;
	return 0;
fail:
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		nsi_closep(&fds[i]);
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		fds[i] = -1;
	return -ESRCH;
}
