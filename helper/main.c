// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nsisolate-helper: creates one user's set of namespaces and its keeper.
 * Spawned by pam_nsisolate.so with an empty environment, the request on
 * stdin, the reply on stdout, stderr on /dev/null and no other fd. Every
 * field of the request is hostile: it is bounds-checked, the user is
 * re-derived from NSS and the policy is re-resolved from the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capbset.h"
#include "cleanup.h"
#include "config.h"
#include "fault.h"
#include "fsutil.h"
#include "helper.h"
#include "netns.h"
#include "proto.h"
#include "state.h"

/* Cut the capability sets to exactly what creating a set needs. */
static void limit_caps(const cap_value_t *keep, int n)
{
	cap_t caps = cap_init();
	uint64_t mask = 0;
	int r;

	/* The bounding set first, then the process sets. */
	for (int i = 0; i < n; i++)
		mask |= NSI_CAP_BIT(keep[i]);
	r = nsi_capbset_drop(mask);
	if (r < 0)
		die(-r, "emptying the capability bounding set: %s", strerror(-r));
	if (!caps || cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) < 0 || cap_set_proc(caps) < 0)
		die(errno, "cannot set capabilities: %m");
	cap_free(caps);
}

/* SigIgn of /proc/self/status; every signal when it cannot be read. */
static uint64_t ignored_signals(void)
{
	_cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	char buf[4096], *p;
	ssize_t n = fd < 0 ? -1 : nsi_read_full(fd, buf, sizeof(buf) - 1);
	unsigned long long mask;

	if (n <= 0)
		return UINT64_MAX;
	buf[n] = '\0';
	p = strstr(buf, "\nSigIgn:\t");
	if (!p || sscanf(p + 9, "%16llx", &mask) != 1)
		return UINT64_MAX;
	return (uint64_t)mask;
}

/*
 * Nothing of an unprivileged caller's process state reaches the set: a user
 * running su can have ignored signals, lowered rlimits (a tiny
 * RLIMIT_FSIZE, RLIMIT_NOFILE or RLIMIT_NPROC makes a step fail half-way),
 * raised its nice value and OOM score, and a working directory the keeper
 * would pin. Signal handlers and the mask, rlimits as PID 1 has them, nice
 * 0, OOM score 0, "/" as the working directory. Runs first, with full root.
 */
static void clean_process_state(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	uint64_t ignored = ignored_signals();
	_cleanup_close_ int oom = -1;
	sigset_t none;

	/* execve() reset every handler; only ignored signals stay ignored. */
	for (int sig = 1; sig < _NSIG && sig <= 64; sig++)
		if ((ignored >> (sig - 1) & 1) && sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		enum __rlimit_resource rr = (enum __rlimit_resource)res;
		struct rlimit want, cur;

		if (getrlimit(rr, &cur) < 0)
			die(errno, "reading resource limit %d: %m", res);
		/* PID 1 out of reach (some containers): at least undo a lowered soft limit. */
		if (prlimit(1, rr, NULL, &want) < 0)
			want = (struct rlimit){ cur.rlim_max, cur.rlim_max };
		if ((want.rlim_cur == cur.rlim_cur && want.rlim_max == cur.rlim_max) ||
		    setrlimit(rr, &want) == 0)
			continue;
		/* Without CAP_SYS_RESOURCE (a container) a hard limit stays where it is. */
		if (errno != EPERM)
			die(errno, "resetting resource limit %d: %m", res);
		if (want.rlim_max > cur.rlim_max)
			want.rlim_max = cur.rlim_max;
		if (want.rlim_cur > want.rlim_max)
			want.rlim_cur = want.rlim_max;
		if (setrlimit(rr, &want) < 0)
			die(errno, "resetting resource limit %d: %m", res);
	}
	if (setpriority(PRIO_PROCESS, 0, 0) < 0)
		die(errno, "resetting the nice value: %m");
	oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom < 0 || write(oom, "0", 1) != 1)
		die(errno, "resetting oom_score_adj: %m");
	if (chdir("/") < 0)
		die(errno, "chdir /: %m");
	umask(0);
}

static void lo_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	if (s < 0)
		die(errno, "socket: %m");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die(errno, "lo: %m");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die(errno, "lo up: %m");
}

static void read_request(struct nsi_request *req)
{
	ssize_t n = nsi_read_full(0, req, sizeof(*req));
	char extra, why[64];

	if (n < 0)
		die((int)-n, "reading the request: %s", strerror((int)-n));
	if (nsi_request_check(req, (size_t)n, nsi_read_full(0, &extra, 1) != 0, why, sizeof(why)) <
	    0)
		die(EPROTO, "%s", why);
}

/*
 * Detached (NSI_REQ_DETACHED): fd 3 must be the uid's lock, held. The
 * module has returned; this process ends the set's record once the network
 * is gone, then the lock file, and releases the lock by exiting, so a new
 * login of the user waits for it and never races the teardown.
 */
static int check_lock(int run, uid_t uid)
{
	char name[32];
	struct stat a, b;

	snprintf(name, sizeof(name), "%u.lock", (unsigned)uid);
	if (fstat(3, &a) < 0 || fstatat(run, name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -EBADF;
	/* Our own open file description's lock: granted again only if we hold it. */
	return flock(3, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
}

/*
 * The killed keeper of a PID namespace exits only once its last zombie is
 * reaped, which the module's caller does after the close this process let
 * return: wait for it, a while.
 */
static void wait_keeper(int run, uid_t uid)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	_cleanup_close_ int kfd = -1;
	struct pollfd p = { .events = POLLIN };

	if (!st || nsi_state_read(run, uid, st) < 0)
		return;
	kfd = nsi_pin_process(st->keeper_pid, st->keeper_start);
	if (kfd < 0)
		return;
	p.fd = kfd;
	/* Milliseconds as a rule; still alive after 3 s, net_teardown() says so. */
	(void)poll(&p, 1, 3000);
}

/*
 * NSI_OP_TEARDOWN: remove what a dead veth set left in the host (link, nft
 * chains, lease) with CAP_NET_ADMIN alone. Only the uid counts: NSS may no
 * longer know the user, but if it does, the name must match.
 */
_Noreturn static void teardown(const struct nsi_request *req)
{
	static const cap_value_t teardown_caps[] = { CAP_NET_ADMIN };
	bool detached = req->flags & NSI_REQ_DETACHED;
	struct passwd *pw = getpwuid((uid_t)req->uid);
	_cleanup_close_ int run = -1;
	char why[256] = "";
	int r;

	if (detached) {
		report_detached();
		/* Nobody waits for this process: it bounds itself (net.lock: 10 s). */
		alarm(NSI_HELPER_TIMEOUT_MS / 1000);
	}
	if (req->uid == 0)
		die(EPERM, "uid 0 has no set");
	if (pw && strcmp(pw->pw_name, req->user) != 0)
		die(ESRCH, "uid %u is not user %s", req->uid, req->user);
	if (detached) {
		run = nsi_run_dir_open();
		if (run < 0)
			die(-run, NSI_RUN_DIR ": %s", strerror(-run));
		r = check_lock(run, (uid_t)req->uid);
		if (r < 0)
			die(-r,
			    "removing the network of the set of uid %u: fd 3 is not its held lock",
			    req->uid);
		wait_keeper(run, (uid_t)req->uid);
	}
	limit_caps(teardown_caps, (int)NSI_ARRAY_SIZE(teardown_caps));
	r = net_teardown((uid_t)req->uid, why, sizeof(why));
	if (!detached)
		reply_done(r, why);
	if (r < 0)
		die(-r,
		    "removing the network of the set of %s (uid %u): %s; " NSI_RUN_DIR
		    "/%u.state is kept: the next login of %s or \"nsisolate gc\" removes what is "
		    "left of the set",
		    req->user, req->uid, why[0] ? why : strerror(-r), req->uid, req->user);
	/* net_teardown() found the set dead (or its record gone): forget it. */
	(void)nsi_state_remove(run, (uid_t)req->uid);
	(void)nsi_lock_remove(run, (uid_t)req->uid);
	_exit(0);
}

/*
 * The set's state, written before the reply: from here on a set exists on
 * record, whatever happens to this process or the module. A caller that
 * dies before its login is recorded leaves a set with no session, which
 * the next login of the user (or nsisolate gc) reclaims; nothing is ever
 * left that no state names. The uid's lock is the module's.
 */
static void adopt(int run, const struct passwd *pw, const struct nsi_resolved *res,
		  uint64_t settings_hash, uint64_t groups_hash, pid_t keeper, uint64_t keeper_start,
		  const uint64_t host_ino[NSI_NS_COUNT], const uint64_t set_ino[NSI_NS_COUNT])
{
	struct nsi_state *st = calloc(1, sizeof(*st));
	size_t ulen = strlen(pw->pw_name), plen = strlen(res->policy);
	int r;

	if (!st || ulen >= sizeof(st->user) || plen >= sizeof(st->policy)) {
		kill(keeper, SIGKILL);
		die(st ? ENAMETOOLONG : ENOMEM, "recording the set of %s", pw->pw_name);
	}
	st->uid = pw->pw_uid;
	memcpy(st->user, pw->pw_name, ulen + 1);
	memcpy(st->policy, res->policy, plen + 1);
	st->settings_hash = settings_hash;
	st->groups_hash = groups_hash;
	st->linger = res->settings.on_last_logout == NSI_LAST_LINGER;
	st->nested = res->settings.userns.nested;
	st->keeper_pid = keeper;
	st->keeper_start = keeper_start;
	st->created = (int64_t)time(NULL);
	for (size_t i = 0; i < NSI_NS_COUNT; i++) {
		if (!set_ino[i] || !host_ino[i]) {
			kill(keeper, SIGKILL);
			die(ESRCH, "cannot read the set's %s namespace", nsi_ns_types[i].name);
		}
		st->ns_ino[i] = set_ino[i] != host_ino[i] ? set_ino[i] : 0;
	}
	r = nsi_state_write(run, st);
	free(st);
	if (r < 0) {
		kill(keeper, SIGKILL);
		(void)nsi_state_remove(run, pw->pw_uid);
		die(-r, "cannot write " NSI_RUN_DIR "/%u.state: %s", (unsigned)pw->pw_uid,
		    strerror(-r));
	}
}

static void fetch_groups(const struct passwd *pw, gid_t *groups, int *ngroups)
{
	*ngroups = NSI_MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, ngroups) < 0)
		die(E2BIG, "user %s has %d groups, at most %d are supported", pw->pw_name, *ngroups,
		    NSI_MAX_GROUPS);
}

int main(void)
{
	static const cap_value_t create_caps[] = { CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID,
						   CAP_SETGID, CAP_SETPCAP };
	static const cap_value_t map_caps[] = { CAP_SETUID, CAP_SETGID };
	struct nsi_request req;
	struct nsi_diag diag;
	struct nsi_config *cf = NULL;
	struct nsi_resolved res;
	struct nsi_user u;
	struct passwd pwbuf, *pw = NULL;
	char nssbuf[16384];
	gid_t groups[NSI_MAX_GROUPS];
	bool have_groups;
	int ngroups = NSI_MAX_GROUPS, flags, r;
	int ready[2], go[2], procfd, run;
	uint64_t host_ino[NSI_NS_COUNT], set_ino[NSI_NS_COUNT];
	char why[512], c;
	uint64_t keeper_start;
	pid_t keeper;

	if (getuid() != 0 || geteuid() != 0)
		die(EPERM, "must be run by root (from pam_nsisolate.so)");
	clean_process_state();
	/* A keeper that died closes its pipe: a write must fail, not kill. */
	signal(SIGPIPE, SIG_IGN);
	/* Nothing this process or the keeper execs may gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(errno, "no_new_privs: %m");
	limit_caps(create_caps, (int)NSI_ARRAY_SIZE(create_caps));
	if (setgroups(0, NULL) < 0)
		die(errno, "setgroups: %m");

	NSI_FAULT("helper-started");
	read_request(&req);
	if (req.op == NSI_OP_TEARDOWN)
		teardown(&req);
	/* A private copy: later NSS calls (root_id check, matching) reuse getpw*'s buffer. */
	if (getpwuid_r((uid_t)req.uid, &pwbuf, nssbuf, sizeof(nssbuf), &pw) != 0)
		pw = NULL;
	if (!pw || strcmp(pw->pw_name, req.user) != 0)
		die(ESRCH, "uid %u is not user %s", req.uid, req.user);
	if (pw->pw_uid == 0)
		die(EPERM, "uid 0 is never isolated");

	nsi_diag_init(&diag);
	r = nsi_config_load(req.config, &cf, &diag);
	if (r < 0 || diag.nerrors > 0)
		die(r < 0 ? -r : EINVAL, "%s", r < 0 ? strerror(-r) : diag.errors[0]);
	nsi_diag_free(&diag);
	/* As in the module: the groups only when matching or the gid_map needs them. */
	have_groups = nsi_config_matches_groups(cf);
	if (have_groups)
		fetch_groups(pw, groups, &ngroups);
	u = (struct nsi_user){ .name = pw->pw_name,
			       .uid = pw->pw_uid,
			       .gid = pw->pw_gid,
			       .groups = have_groups ? groups : NULL,
			       .ngroups = have_groups ? (size_t)ngroups : 0,
			       .service = req.service[0] ? req.service : NULL };
	if (nsi_config_resolve(cf, &u, &res, why, sizeof(why)) < 0)
		die(EINVAL, "%s", why);
	nsi_config_free(cf);
	if (!res.settings.isolate)
		die(EINVAL, "policy does not isolate user %s", pw->pw_name);
	if (res.settings.userns.enable) {
		if (!have_groups)
			fetch_groups(pw, groups, &ngroups);
		for (int i = 0; i < ngroups; i++)
			if (groups[i] == 0)
				die(EPERM, "user %s is in group 0 (root), which is never mapped",
				    pw->pw_name);
	} else if (!have_groups) {
		ngroups = 0;
	}
	if (nsi_settings_hash(&res.settings) != req.settings_hash ||
	    nsi_set_groups_hash(&res.settings, groups, (size_t)ngroups) != req.groups_hash)
		die(ESTALE, "policy or groups of %s changed during login", pw->pw_name);
	if (nsi_root_id_check(res.settings.userns.root_id, why, sizeof(why)) < 0)
		die(EEXIST, "%s", why);

	/* In the host's namespaces: the run directory (hidden in the set), leftovers of an
	 * earlier set, the lease, nft chains. */
	run = nsi_run_dir_open();
	if (run < 0)
		die(-run, NSI_RUN_DIR ": %s", strerror(-run));
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		host_ino[i] = nsi_ns_inode(0, nsi_ns_types[i].name);
	net_prepare(&res.settings, pw->pw_uid);
	NSI_FAULT("helper-prepared");

	/* Real root creates every namespace but the user one: nothing inside can reconfigure them. */
	flags = CLONE_NEWNS;
	if (res.settings.network.mode != NSI_NET_HOST)
		flags |= CLONE_NEWNET;
	if (res.settings.ipc)
		flags |= CLONE_NEWIPC;
	if (res.settings.hostname[0])
		flags |= CLONE_NEWUTS;
	if (res.settings.pid)
		flags |= CLONE_NEWPID; /* the keeper, forked next, is its PID 1 */
	if (unshare(flags) < 0)
		die(errno, "unshare: %m");
	NSI_FAULT("helper-unshared");
	{
		struct nsi_user_id uid = { pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir };

		setup_mounts(&res.settings, &uid);
	}
	NSI_FAULT("helper-mounted");
	if (flags & CLONE_NEWNET)
		lo_up();
	net_setup(&res.settings, pw->pw_uid);
	NSI_FAULT("helper-network");
	if (flags & CLONE_NEWIPC) {
		r = setup_mqueue();
		if (r < 0)
			die(-r, "mqueue on /dev/mqueue: %s", strerror(-r));
	}
	if (flags & CLONE_NEWUTS) {
		char host[NSI_HOSTNAME_LEN];

		if (nsi_hostname_expand(res.settings.hostname, pw->pw_name, host, sizeof(host)) <
			    0 ||
		    !nsi_hostname_valid(host))
			die(EINVAL, "invalid hostname for %s", pw->pw_name);
		if (sethostname(host, strlen(host)) < 0)
			die(errno, "sethostname: %m");
	}
	/* The host's procfs, kept before the keeper may mount its own on /proc. */
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		die(errno, "/proc: %m");
	/*
	 * The set's namespaces are read here, not from the keeper's /proc
	 * entries (closed to this process once either changed credentials):
	 * the keeper shares the mount, network, IPC and UTS namespaces with
	 * this process, its PID namespace is where this process's children go
	 * (readable once the keeper exists), and it reports its user namespace.
	 */
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		set_ino[i] = nsi_ns_inode_at(procfd, 0, nsi_ns_types[i].name);
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		die(errno, "pipe: %m");
	keeper = fork();
	if (keeper < 0)
		die(errno, "fork: %m");
	if (keeper == 0) {
		struct keeper_args ka = {
			.ready_fd = ready[1],
			.go_fd = go[0],
			.userns = res.settings.userns.enable,
			.nested = res.settings.userns.nested,
			.root_id = res.settings.userns.root_id,
			.pid = res.settings.pid,
		};

		/* Not in the caller's session: its hangups are not ours. */
		setsid();
		/* Only the helper holds the write ends: their EOF means it is gone. */
		close(go[1]);
		close(ready[0]);
		keeper_main(&ka);
	}
	close(ready[1]);
	close(go[0]);
	NSI_FAULT("helper-forked");
	if (flags & CLONE_NEWPID)
		set_ino[NSI_NS_PID] = nsi_ns_inode_at(procfd, 0, "pid_for_children");
	/* Setup is done: only the map writes remain. */
	limit_caps(map_caps, (int)NSI_ARRAY_SIZE(map_caps));
	if (res.settings.userns.enable) {
		if (read(ready[0], &set_ino[NSI_NS_USER], sizeof(uint64_t)) != sizeof(uint64_t))
			die(ECHILD, "keeper failed to create the user namespace");
		r = write_id_maps(procfd, keeper, pw->pw_name, pw->pw_uid, groups, (size_t)ngroups,
				  res.settings.userns.root_id);
		if (r < 0) {
			kill(keeper, SIGKILL);
			die(-r, "writing the id maps: %s", strerror(-r));
		}
		if (write(go[1], &c, 1) != 1)
			die(errno, "keeper: %m");
	}
	NSI_FAULT("helper-mapped");
	if (read(ready[0], &c, 1) != 1) {
		kill(keeper, SIGKILL);
		die(ECHILD, "keeper failed to start");
	}
	r = nsi_proc_start_at(procfd, keeper, &keeper_start);
	if (r < 0) {
		kill(keeper, SIGKILL);
		die(-r, "reading the keeper's start time: %s", strerror(-r));
	}
	{
		char unit[64];

		r = keeper_scope(procfd, keeper, pw->pw_uid, unit, sizeof(unit), why, sizeof(why));
		if (r < 0) {
			kill(keeper, SIGKILL);
			die(-r, "systemd: %s", why);
		}
	}
	NSI_FAULT("helper-scoped");
	adopt(run, pw, &res, req.settings_hash, req.groups_hash, keeper, keeper_start, host_ino,
	      set_ino);
	NSI_FAULT("helper-adopted");
	/* The keeper now outlives this process: hand it over. */
	if (write(go[1], &c, 1) != 1 || read(ready[0], &c, 1) != 1) {
		kill(keeper, SIGKILL);
		die(ECHILD, "keeper did not take over the set");
	}
	NSI_FAULT("helper-handed-over");
	if (reply_created(keeper, keeper_start) < 0) {
		kill(keeper, SIGKILL);
		return NSI_EXIT_NO_REPLY;
	}
	return 0;
}
