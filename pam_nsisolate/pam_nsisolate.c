// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam_nsisolate: put every session of a user into that user's one set of
 * namespaces. The opener (sshd's monitor, login, su, ...) stays in the host's
 * namespaces; a fork handler moves its next direct children into the set.
 * See pam_nsisolate(8) and docs/design.md, "Process model".
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "capbset.h"
#include "cleanup.h"
#include "config.h"
#include "fault.h"
#include "fsutil.h"
#include "idmap.h"
#include "lease.h"
#include "proto.h"
#include "state.h"

#define DATA_KEY "pam_nsisolate_session"
#define LOCK_TIMEOUT_MS 15000

#ifndef NSI_HELPER_PATH
#error "NSI_HELPER_PATH must be set by the build"
#endif

struct opts {
	const char *config;
	bool debug;
	/*
	 * The opener itself joins the set: for PID 1's executor (user@.service,
	 * PAMName= units), which opens the session in the process that then
	 * execs the service. Always so for the service "systemd-user".
	 */
	bool opener;
	/*
	 * Only the first child the application forks after opening joins;
	 * later ones stay in the host: for cron, whose later child is the
	 * mailer (a setuid or setgid MTA is inert inside).
	 */
	bool first_child;
};

/* Per-handle: what close needs to find its record again. */
struct session_data {
	uid_t uid;
	pid_t keeper_pid;
	uint64_t keeper_start;
	bool opener; /* opener mode: this process joined the set itself */
	/*
	 * A shared page the fork handler counts joined children in: a session
	 * that closes with none never ran isolated (NULL in opener mode).
	 */
	unsigned *joined;
};

/*
 * The only global state (docs/design.md, "Security rules": module hygiene): what the fork handler
 * needs, armed at the end of open and disarmed at close.
 */
static struct {
	bool registered;
	bool armed;
	bool userns;
	bool first_child; /* disarm in the parent after the first child */
	pid_t opener;
	pid_t forker; /* set in the parent by the prepare handler */
	gid_t user_gid; /* the user's primary gid, mapped to itself */
	uint64_t pid_ino; /* the set's PID namespace, checked in the child */
	int host_pid; /* the opener's own PID namespace, to return to */
	unsigned *joined; /* the session's shared counter */
	int fd[NSI_NS_COUNT];
} armed = { .host_pid = -1, .fd = { [0 ... NSI_NS_COUNT - 1] = -1 } };

static void disarm(void)
{
	armed.armed = false;
	armed.joined = NULL;
	if (armed.host_pid >= 0) {
		/* Back to the opener's own PID namespace for its later children. */
		(void)setns(armed.host_pid, CLONE_NEWPID);
		nsi_closep(&armed.host_pid);
		armed.host_pid = -1;
	}
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		nsi_closep(&armed.fd[i]);
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		armed.fd[i] = -1;
}

/*
 * The handle's data goes at close (replaced by NULL) or at pam_end(): either
 * way nothing stays armed, no namespace fd stays open and the thread's
 * pid_for_children is the opener's own again, even for an application that
 * never calls pam_close_session.
 */
static void session_data_cleanup(pam_handle_t *ph, void *data, int error_status)
{
	struct session_data *d = data;

	(void)ph;
	(void)error_status;
	if (d && d->joined)
		munmap(d->joined, sizeof(*d->joined));
	free(data);
	disarm();
}

/*
 * Runs in every child the process forks. Only a direct child of the opener is
 * moved: into the set's namespaces, then its user namespace as that
 * namespace's root with an empty bounding set, so the application's own
 * setgroups/setgid/setuid clear every capability. Any failure ends the child:
 * a session never runs un-isolated.
 */
static void atfork_prepare(void)
{
	if (armed.armed)
		armed.forker = getpid();
}

/* In the parent: with first_child, the next children of the opener stay in the host. */
static void atfork_parent(void)
{
	if (!armed.armed || !armed.first_child || armed.forker != armed.opener)
		return;
	armed.armed = false;
	if (armed.host_pid >= 0) {
		/* Later children are born in the opener's own PID namespace again. */
		(void)setns(armed.host_pid, CLONE_NEWPID);
		nsi_closep(&armed.host_pid);
		armed.host_pid = -1;
	}
}

/*
 * Move the calling process into the set: its namespaces (the PID one only
 * changes where children go, and is the caller's business), then its user
 * namespace as that namespace's root with an empty bounding set, so the
 * application's own setgroups/setgid/setuid clear every capability. Used
 * by the fork handler in a session child, and by opener mode in the opener.
 */
static int join_set(const int fds[NSI_NS_COUNT], bool userns, gid_t user_gid)
{
	gid_t rg, eg, sg;
	bool keep_gid;

	for (size_t i = 0; i < NSI_NS_COUNT; i++) {
		if (fds[i] < 0 || i == NSI_NS_USER || i == NSI_NS_PID)
			continue;
		if (setns(fds[i], nsi_ns_types[i].flag) < 0)
			return -errno;
	}
	if (!userns)
		return 0;
	/*
	 * login(1) sets the user's gid before it forks and only calls setuid()
	 * in the child: keep a gid that is exactly the user's primary group
	 * (mapped to itself); anything else becomes the namespace's 0 and the
	 * application sets the gid itself.
	 */
	if (getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	keep_gid = user_gid != 0 && rg == user_gid && eg == user_gid && sg == user_gid;
	if (setns(fds[NSI_NS_USER], CLONE_NEWUSER) < 0)
		return -errno;
	if ((!keep_gid && setresgid(0, 0, 0) < 0) || setresuid(0, 0, 0) < 0)
		return -errno;
	return nsi_capbset_drop(0);
}

static void atfork_child(void)
{
	if (!armed.armed)
		return;
	/*
	 * Only the opener's own children. (Not getppid(): with a PID namespace
	 * the parent is outside it and getppid() returns 0.)
	 */
	if (armed.forker != armed.opener) {
		armed.armed = false;
		return;
	}
	if (armed.pid_ino) {
		struct stat s;

		/* Forked from the thread that armed: the child is the set's PID 1's. */
		if (stat("/proc/self/ns/pid", &s) < 0 || (uint64_t)s.st_ino != armed.pid_ino)
			_exit(127);
	}
	if (join_set(armed.fd, armed.userns, armed.user_gid) < 0)
		_exit(127);
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		if (armed.fd[i] >= 0) {
			close(armed.fd[i]);
			armed.fd[i] = -1;
		}
	if (armed.host_pid >= 0) {
		close(armed.host_pid);
		armed.host_pid = -1;
	}
	/* Seen by the opener at close: this session did run in the set. */
	if (armed.joined)
		__atomic_add_fetch(armed.joined, 1, __ATOMIC_RELAXED);
	armed.armed = false;
}

static int parse_opts(pam_handle_t *ph, int argc, const char **argv, struct opts *o)
{
	const void *svc = NULL;

	o->config = NSI_DEFAULT_CONFIG;
	o->debug = false;
	o->opener = false;
	o->first_child = false;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "config=", 7) && nsi_path_is_normal(argv[i] + 7) &&
		    strlen(argv[i] + 7) < NSI_PATH_LEN) {
			o->config = argv[i] + 7;
		} else if (!strcmp(argv[i], "debug")) {
			o->debug = true;
		} else if (!strcmp(argv[i], "opener")) {
			o->opener = true;
		} else if (!strcmp(argv[i], "first_child")) {
			o->first_child = true;
		} else {
			pam_syslog(ph, LOG_ERR,
				   "unknown or invalid option \"%s\" (expected "
				   "config=/ABSOLUTE/PATH, debug, opener or first_child)",
				   argv[i]);
			return -EINVAL;
		}
	}
	if (pam_get_item(ph, PAM_SERVICE, &svc) == PAM_SUCCESS && svc &&
	    !strcmp(svc, "systemd-user"))
		o->opener = true;
	return 0;
}

/* ---- spawning the helper without copying the opener's memory ---- */

/* ---- open ---- */

struct login {
	const struct passwd *pw;
	const char *service;
	const char *config;
	const gid_t *groups;
	size_t ngroups;
	const struct nsi_resolved *res;
};

/*
 * A veth set leaves its host link, its nft chains and its lease outside its
 * namespaces. The helper removes them (the module links no netlink
 * library); only when UID.lease (or a staged UID.resolv) exists, so other
 * sets spawn nothing. Called
 * with the uid's lock held, once the set's processes are gone.
 */
static int end_network(pam_handle_t *ph, int run, uid_t uid, const char *user, const char *config)
{
	struct nsi_request req;
	struct nsi_reply rep = { 0 };
	int r;

	if (!nsi_net_leftovers(run, uid))
		return 0;
	r = nsi_request_init(&req, NSI_OP_TEARDOWN, uid, user, NULL, config);
	if (r == 0)
		r = nsi_helper_run(&req, &rep);
	if (r < 0)
		pam_syslog(ph, LOG_ERR, "removing the network of the set of %s (uid %u): %s", user,
			   (unsigned)uid, rep.msg[0] ? rep.msg : strerror(-r));
	return r;
}

/*
 * The record of a set whose processes are gone goes once its network has:
 * a network that cannot be removed now (no fd or process left for the
 * helper) keeps the record, so that the next login of the user or
 * "nsisolate gc" finishes the work. Nothing is left that no state names.
 */
static void forget_set(pam_handle_t *ph, int run, uid_t uid, const char *user, const char *config)
{
	if (end_network(ph, run, uid, user, config) < 0) {
		pam_syslog(ph, LOG_ERR,
			   NSI_RUN_DIR
			   "/%u.state is kept: the next login of %s or \"nsisolate gc\" "
			   "removes what is left of the set",
			   (unsigned)uid, user);
		return;
	}
	NSI_FAULT("forget-network");
	(void)nsi_state_remove(run, uid);
	(void)nsi_lock_remove(run, uid);
}

/*
 * At a logout: removing a veth set's network waits for the kernel (RCU
 * grace periods, about 30 ms). A helper started detached does it while it
 * holds the uid's lock (passed as its fd 3), then ends the record itself:
 * the logout returns at once, and the user's next login waits for the lock,
 * so it never races the teardown. Not started: done here, as before.
 */
static void forget_set_detached(pam_handle_t *ph, int run, int lock, uid_t uid, const char *user,
				const char *config)
{
	struct nsi_request req;
	int r;

	if (nsi_net_leftovers(run, uid)) {
		r = nsi_request_init(&req, NSI_OP_TEARDOWN, uid, user, NULL, config);
		if (r == 0) {
			req.flags = NSI_REQ_DETACHED;
			r = nsi_helper_start(&req, lock);
		}
		if (r == 0) {
			NSI_FAULT("forget-network");
			return;
		}
		pam_syslog(ph, LOG_NOTICE,
			   "cannot start the helper to remove the network of %s in the "
			   "background (%s); removing it now",
			   user, strerror(-r));
	}
	forget_set(ph, run, uid, user, config);
}

static int create_set(pam_handle_t *ph, int run, const struct login *l, struct nsi_state *st,
		      int *ret_pidfd, char *why, size_t whylen)
{
	struct nsi_request req;
	struct nsi_reply rep = { 0 };
	int r, pidfd;

	r = nsi_request_init(&req, NSI_OP_CREATE, l->pw->pw_uid, l->pw->pw_name, l->service,
			     l->config);
	if (r < 0) {
		snprintf(why, whylen, "user, service or policy path too long for the helper");
		return r;
	}
	req.settings_hash = nsi_settings_hash(&l->res->settings);
	req.groups_hash = nsi_set_groups_hash(&l->res->settings, l->groups, l->ngroups);
	r = nsi_helper_run(&req, &rep);
	if (r < 0) {
		snprintf(why, whylen, "helper: %s", rep.msg[0] ? rep.msg : strerror(-r));
		return r;
	}
	if (rep.msg[0])
		pam_syslog(ph, LOG_NOTICE, "set for %s: %s", l->pw->pw_name, rep.msg);
	pidfd = nsi_pin_process(rep.keeper_pid, rep.keeper_start);
	if (pidfd < 0) {
		if (pidfd == -ESRCH)
			snprintf(why, whylen, "keeper %d is gone", rep.keeper_pid);
		else
			snprintf(why, whylen, "cannot check keeper %d: %s", rep.keeper_pid,
				 strerror(-pidfd));
		return pidfd;
	}
	/* The helper recorded the set before it replied: that record, checked against the reply. */
	r = nsi_state_read(run, l->pw->pw_uid, st);
	if (r == 0 &&
	    (st->keeper_pid != rep.keeper_pid || st->keeper_start != rep.keeper_start ||
	     st->settings_hash != req.settings_hash || st->groups_hash != req.groups_hash))
		r = -ESTALE;
	if (r < 0) {
		close(pidfd);
		snprintf(why, whylen, NSI_RUN_DIR "/%u.state does not record keeper %d: %s",
			 (unsigned)l->pw->pw_uid, (int)rep.keeper_pid, strerror(-r));
		return r;
	}
	*ret_pidfd = pidfd;
	return 0;
}

/* Why a live set cannot take this login, or NULL; *GROUPS_ONLY when only the groups differ. */
static const char *mismatch(const struct nsi_state *st, const struct login *l, char *buf,
			    size_t len, bool *groups_only)
{
	const char *pol = l->res->policy[0] ? l->res->policy : "(defaults)";
	const char *live = st->policy[0] ? st->policy : "(defaults)";

	*groups_only = false;
	if (strcmp(st->policy, l->res->policy) != 0) {
		snprintf(buf, len, "the live set uses policy %s, this login selects %s", live, pol);
		return buf;
	}
	if (st->settings_hash != nsi_settings_hash(&l->res->settings)) {
		snprintf(buf, len, "the settings of policy %s changed since the live set was made",
			 pol);
		return buf;
	}
	if (st->groups_hash != nsi_set_groups_hash(&l->res->settings, l->groups, l->ngroups)) {
		snprintf(buf, len, "the group list of %s differs from the live set's",
			 l->pw->pw_name);
		*groups_only = true;
		return buf;
	}
	return NULL;
}

/*
 * on_group_change = "join": in *BAD the first of the login's gids (primary
 * included) that the set's gid map, read from its keeper (pinned by PIDFD),
 * leaves out, or (gid_t)-1 when it maps them all. Such a gid could never be
 * set in a session of the set. 0, or -errno when the map is unreadable.
 */
static int unmapped_gid(const struct nsi_state *st, int pidfd, const struct login *l, gid_t *bad)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = malloc(16384);
	char path[64], *line, *save = NULL;
	struct {
		uint32_t first, count;
	} map[NSI_MAP_MAX_LINES];
	size_t n = 0;
	ssize_t len;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)st->keeper_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = nsi_read_full(fd, buf, 16383);
	/* Read while the pinned keeper lived: the map is the set's. */
	if (len < 0 || pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		return len < 0 ? (int)len : -ESRCH;
	buf[len] = '\0';
	*bad = (gid_t)-1;
	for (line = strtok_r(buf, "\n", &save); line && n < NSI_MAP_MAX_LINES;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned inside, outside, count;

		if (sscanf(line, "%u %u %u", &inside, &outside, &count) != 3)
			return -EBADMSG;
		map[n].first = outside;
		map[n++].count = count;
	}
	for (size_t i = 0; i <= l->ngroups; i++) {
		gid_t g = i < l->ngroups ? l->groups[i] : l->pw->pw_gid;
		bool in = false;

		for (size_t j = 0; j < n && !in; j++)
			in = g >= map[j].first && g - map[j].first < map[j].count;
		if (!in) {
			*bad = g;
			break;
		}
	}
	return 0;
}

/*
 * UID.state does not parse (edited by hand, or a disk error): it is kept as
 * UID.state.corrupt, the set it still names ends, and the login goes on
 * with a new set. A set that cannot be identified any more is left alone:
 * nothing is signalled that is not proven to be the set's.
 */
static int recover_state(pam_handle_t *ph, int run, const struct login *l, struct nsi_state *st)
{
	int line, r;

	r = nsi_state_salvage(run, l->pw->pw_uid, st, &line);
	if (r == -ENOENT || r == -ESRCH) {
		pam_syslog(ph, LOG_ERR,
			   NSI_RUN_DIR
			   "/%u.state is corrupt (line %d); kept as %u.state.corrupt; "
			   "no set can be identified in it, so none is ended; a new set "
			   "is made",
			   (unsigned)l->pw->pw_uid, line, (unsigned)l->pw->pw_uid);
		return 0;
	}
	if (r < 0)
		return r;
	pam_syslog(ph, LOG_ERR,
		   NSI_RUN_DIR "/%u.state is corrupt (line %d); kept as %u.state.corrupt; ending "
			       "the set it names (keeper %d) and making a new one",
		   (unsigned)l->pw->pw_uid, line, (unsigned)l->pw->pw_uid, (int)st->keeper_pid);
	r = nsi_set_kill(st);
	if (r < 0)
		return r;
	(void)end_network(ph, run, l->pw->pw_uid, l->pw->pw_name, l->config);
	return 0;
}

static int do_open(pam_handle_t *ph, const struct opts *o, const struct login *l, char *why,
		   size_t whylen)
{
	_cleanup_close_ int run = -1, lock = -1, pidfd = -1;
	_cleanup_free_ struct nsi_state *st = NULL;
	struct session_data *data;
	int fds[NSI_NS_COUNT], r;
	bool created = false, have, groups_only;
	uint64_t self_start;
	char diff[256];

	if (armed.armed) {
		snprintf(why, whylen, "this process already holds an isolated session");
		return -EALREADY;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	run = nsi_run_dir_open();
	if (run < 0) {
		snprintf(why, whylen, NSI_RUN_DIR ": %s",
			 run == -EPERM ? "not owned by root with mode 0700" : strerror(-run));
		return run;
	}
	lock = nsi_lock_uid(run, l->pw->pw_uid, LOCK_TIMEOUT_MS);
	if (lock < 0) {
		snprintf(why, whylen, "cannot lock the set of uid %u: %s", (unsigned)l->pw->pw_uid,
			 strerror(-lock));
		return lock;
	}
	NSI_FAULT("open-locked");
	r = nsi_state_read(run, l->pw->pw_uid, st);
	if (r == -EBADMSG || r == -ENODATA) {
		r = recover_state(ph, run, l, st);
		if (r < 0) {
			snprintf(why, whylen,
				 "cannot end the set of the corrupt " NSI_RUN_DIR "/%u.state: %s",
				 (unsigned)l->pw->pw_uid, strerror(-r));
			return r;
		}
		r = -ENOENT;
	}
	if (r < 0 && r != -ENOENT) {
		snprintf(why, whylen, NSI_RUN_DIR "/%u.state: unreadable (%s)",
			 (unsigned)l->pw->pw_uid, strerror(-r));
		return r;
	}
	have = r == 0;
	if (have) {
		pidfd = nsi_pin_process(st->keeper_pid, st->keeper_start);
		if (pidfd < 0 && pidfd != -ESRCH) {
			snprintf(why, whylen, "cannot check keeper %d of the set: %s",
				 (int)st->keeper_pid, strerror(-pidfd));
			return pidfd;
		}
		if (pidfd < 0) {
			/* The keeper died: the set is over; nothing of it may outlive it. */
			r = nsi_set_kill(st);
			pam_syslog(ph, LOG_NOTICE,
				   "set of %s (uid %u) lost its keeper %d; killed what was left of "
				   "it%s",
				   st->user, (unsigned)st->uid, (int)st->keeper_pid,
				   r < 0 ? " (incomplete)" : "");
			if (r < 0) {
				snprintf(why, whylen, "cannot end the previous set: %s",
					 strerror(-r));
				return r;
			}
			(void)end_network(ph, run, st->uid, st->user, l->config);
			(void)nsi_state_remove(run, st->uid);
			have = false;
		} else if (nsi_state_prune(st) == 0 && nsi_set_count_members(st) == 0) {
			/* A lingering set nobody lives in any more: reclaim it. */
			r = nsi_set_kill(st);
			if (r < 0) {
				snprintf(why, whylen,
					 "cannot reclaim the empty set of keeper %d: %s",
					 (int)st->keeper_pid, strerror(-r));
				return r;
			}
			(void)end_network(ph, run, st->uid, st->user, l->config);
			(void)nsi_state_remove(run, st->uid);
			pam_syslog(ph, LOG_INFO,
				   "reclaimed the empty set of %s (uid %u), keeper %d", st->user,
				   (unsigned)st->uid, (int)st->keeper_pid);
			nsi_closep(&pidfd);
			pidfd = -1;
			have = false;
		} else if (mismatch(st, l, diff, sizeof(diff), &groups_only)) {
			gid_t bad = (gid_t)-1;

			if (!groups_only || l->res->settings.on_group_change != NSI_GRPCHG_JOIN) {
				snprintf(why, whylen,
					 "%s; run \"nsisolate stop %s\" or end its sessions", diff,
					 l->pw->pw_name);
				return -EBUSY;
			}
			r = unmapped_gid(st, pidfd, l, &bad);
			if (r < 0) {
				snprintf(why, whylen,
					 "%s; cannot read the live set's group map: %s", diff,
					 strerror(-r));
				return r;
			}
			if (bad != (gid_t)-1) {
				snprintf(why, whylen,
					 "%s, and gid %u is not in the live set's group map "
					 "(on_group_change = \"join\" joins only without new "
					 "groups); run \"nsisolate stop %s\" or end its sessions",
					 diff, (unsigned)bad, l->pw->pw_name);
				return -EBUSY;
			}
			/* A directory that answers with fewer groups (offline, partial). */
			pam_syslog(ph, LOG_NOTICE,
				   "%s; joining the live set as on_group_change = \"join\" says: "
				   "the session gets the groups it now has, all in the set's "
				   "group map",
				   diff);
		}
	}
	if (!have) {
		r = create_set(ph, run, l, st, &pidfd, why, whylen);
		if (r < 0) {
			/*
			 * No set for this login: one the helper recorded before it
			 * failed ends now, and what it leased goes, the lock file too.
			 */
			if (nsi_state_read(run, l->pw->pw_uid, st) == 0) {
				if (nsi_set_kill(st) == 0)
					forget_set(ph, run, st->uid, st->user, l->config);
			} else if (end_network(ph, run, l->pw->pw_uid, l->pw->pw_name, l->config) ==
				   0) {
				(void)nsi_lock_remove(run, l->pw->pw_uid);
			}
			return r;
		}
		created = true;
		NSI_FAULT("open-created");
	}
	/* The set must hold a mount namespace, and a user namespace exactly when asked. */
	if (!st->ns_ino[NSI_NS_MNT] ||
	    !!st->ns_ino[NSI_NS_USER] != l->res->settings.userns.enable ||
	    !!st->ns_ino[NSI_NS_PID] != l->res->settings.pid ||
	    !!st->ns_ino[NSI_NS_NET] != (l->res->settings.network.mode != NSI_NET_HOST)) {
		snprintf(why, whylen, "the set of uid %u lacks its namespaces", (unsigned)st->uid);
		r = -EINVAL;
		goto undo;
	}
	r = nsi_set_open_ns(st, pidfd, fds);
	if (r < 0) {
		snprintf(why, whylen, "cannot open the namespaces of keeper %d",
			 (int)st->keeper_pid);
		goto undo;
	}
	r = nsi_proc_start(getpid(), &self_start);
	if (r < 0 || st->nsessions >= NSI_MAX_SESSIONS) {
		r = r < 0 ? r : -EUSERS;
		snprintf(why, whylen, "cannot record the session: %s", strerror(-r));
		goto undo_fds;
	}
	st->sessions[st->nsessions++] = (struct nsi_session_rec){ getpid(), self_start };
	st->linger = l->res->settings.on_last_logout == NSI_LAST_LINGER;
	r = nsi_state_write(run, st);
	if (r < 0) {
		snprintf(why, whylen, "cannot write " NSI_RUN_DIR "/%u.state: %s",
			 (unsigned)st->uid, strerror(-r));
		/* A set made for this login goes with it (/run full: no keeper left behind). */
		goto undo_record;
	}
	NSI_FAULT("open-recorded");
	data = malloc(sizeof(*data));
	if (!data) {
		r = -ENOMEM;
		goto undo_record;
	}
	*data = (struct session_data){ st->uid, st->keeper_pid, st->keeper_start, o->opener, NULL };
	if (!o->opener) {
		void *page = mmap(NULL, sizeof(*data->joined), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (page == MAP_FAILED) {
			r = -errno;
			free(data);
			goto undo_record;
		}
		data->joined = page;
	}
	if (pam_set_data(ph, DATA_KEY, data, session_data_cleanup) != PAM_SUCCESS) {
		if (data->joined)
			munmap(data->joined, sizeof(*data->joined));
		free(data);
		r = -ENOMEM;
		goto undo_record;
	}
	if (o->opener) {
		/* Opener mode: no way back; a failure fails the session. */
		r = join_set(fds, l->res->settings.userns.enable, l->pw->pw_gid);
		for (size_t i = 0; i < NSI_NS_COUNT; i++)
			nsi_closep(&fds[i]);
		if (r < 0) {
			snprintf(why, whylen, "cannot join the set: %s", strerror(-r));
			(void)pam_set_data(ph, DATA_KEY, NULL, NULL);
			st->nsessions--;
			(void)nsi_state_write(run, st);
			goto undo;
		}
		pam_syslog(ph, LOG_INFO,
			   "%s set for %s (uid %u), policy %s, keeper pid %d, %zu session%s; "
			   "this process joined it (opener)",
			   created ? "created" : "joined", l->pw->pw_name, (unsigned)st->uid,
			   st->policy[0] ? st->policy : "(defaults)", (int)st->keeper_pid,
			   st->nsessions, st->nsessions == 1 ? "" : "s");
		return 0;
	}
	/* pthread_atfork entries go away with the module (glibc ties them to the DSO). */
	if (!armed.registered) {
		if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) {
			(void)pam_set_data(ph, DATA_KEY, NULL, NULL);
			r = -ENOMEM;
			goto undo_record;
		}
		armed.registered = true;
	}
	if (fds[NSI_NS_PID] >= 0) {
		/*
		 * The opener itself stays in its PID namespace; only where its
		 * future children go changes (pid_for_children), until close.
		 */
		armed.host_pid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (armed.host_pid < 0 || setns(fds[NSI_NS_PID], CLONE_NEWPID) < 0) {
			r = -errno;
			nsi_closep(&armed.host_pid);
			armed.host_pid = -1;
			snprintf(why, whylen, "cannot enter the set's PID namespace: %s",
				 strerror(-r));
			(void)pam_set_data(ph, DATA_KEY, NULL, NULL);
			goto undo_record;
		}
		armed.pid_ino = st->ns_ino[NSI_NS_PID];
	} else {
		armed.pid_ino = 0;
	}
	memcpy(armed.fd, fds, sizeof(fds));
	armed.joined = data->joined;
	armed.userns = l->res->settings.userns.enable;
	armed.first_child = o->first_child;
	armed.user_gid = l->pw->pw_gid;
	armed.opener = getpid();
	armed.armed = true;

	pam_syslog(ph, LOG_INFO, "%s set for %s (uid %u), policy %s, keeper pid %d, %zu session%s",
		   created ? "created" : "joined", l->pw->pw_name, (unsigned)st->uid,
		   st->policy[0] ? st->policy : "(defaults)", (int)st->keeper_pid, st->nsessions,
		   st->nsessions == 1 ? "" : "s");
	if (o->debug)
		for (size_t i = 0; i < NSI_NS_COUNT; i++)
			pam_syslog(ph, LOG_DEBUG, "namespace %s: %llu%s", nsi_ns_types[i].name,
				   (unsigned long long)st->ns_ino[i],
				   st->ns_ino[i] ? "" : " (host)");
	return 0;

undo_record:
	st->nsessions--;
	(void)nsi_state_write(run, st);
	goto undo_fds;
undo_fds:
	for (size_t i = 0; i < NSI_NS_COUNT; i++)
		nsi_closep(&fds[i]);
undo:
	if (created && st->nsessions == 0 && nsi_set_kill(st) == 0)
		forget_set(ph, run, st->uid, st->user, l->config);
	return r;
}

static int errno_to_pam(int r)
{
	return r == -ENOMEM ? PAM_BUF_ERR : PAM_SESSION_ERR;
}

/* The user's groups as initgroups() would set them; NGROUPS is -1 until fetched. */
static int fetch_groups(pam_handle_t *ph, const struct passwd *pw, gid_t *groups, int *ngroups)
{
	int n = NSI_MAX_GROUPS;

	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
		/* getgrouplist() leaves the number it needed in n. */
		pam_syslog(ph, LOG_ERR, "refused %s: %d groups, at most %d are supported",
			   pw->pw_name, n, NSI_MAX_GROUPS);
		return -E2BIG;
	}
	*ngroups = n;
	return 0;
}

/*
 * USER from NSS into PWBUF (strings in *MEM, the caller's to free): 0 with
 * *PW set, 0 with *PW NULL when NSS says there is no such user, or the
 * error (a source that is down or timed out: nslcd, SSSD without a cache).
 */
static int lookup_user(const char *user, struct passwd *pwbuf, char **mem, struct passwd **pw)
{
	size_t len = 16384;
	int r;

	*pw = NULL;
	for (;;) {
		char *m = realloc(*mem, len);

		if (!m)
			return ENOMEM;
		*mem = m;
		r = getpwnam_r(user, pwbuf, m, len, pw);
		if (r == EINTR)
			continue;
		if (r != ERANGE || len >= 1024 * 1024)
			break;
		len *= 4;
	}
	/* getpwnam_r(3): these say "not found", not "failed". */
	if (r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		r = 0;
	if (r != 0)
		*pw = NULL;
	return r;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	_cleanup_free_ char *pwmem = NULL;
	struct passwd pwbuf;
	struct nsi_config *cf = NULL;
	struct nsi_diag diag;
	struct opts o;
	const char *user = NULL;
	const void *svc = NULL;
	struct passwd *pw;
	gid_t groups[NSI_MAX_GROUPS];
	int ngroups = -1, r, ret;
	struct nsi_resolved *res = NULL;
	char why[512] = "";
	struct login l;

	(void)flags;
	if (parse_opts(ph, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	if (pam_get_user(ph, &user, NULL) != PAM_SUCCESS || !user || !nsi_user_name_valid(user)) {
		pam_syslog(ph, LOG_ERR, "cannot determine the user name");
		return PAM_USER_UNKNOWN;
	}
	r = lookup_user(user, &pwbuf, &pwmem, &pw);
	if (r != 0) {
		/* Not "unknown": a directory that did not answer must not read as one. */
		pam_syslog(ph, LOG_ERR,
			   "cannot look up user %s: %s (the user database did not answer); "
			   "refused",
			   user, strerror(r));
		return PAM_SESSION_ERR;
	}
	if (!pw) {
		/* glibc reports a source that is down (nslcd, SSSD) as "not found". */
		pam_syslog(ph, LOG_ERR,
			   "unknown user %s: no user database (NSS) knows it, or the one that "
			   "does did not answer; refused",
			   user);
		return PAM_USER_UNKNOWN;
	}
	if (pw->pw_uid == 0) {
		if (o.debug)
			pam_syslog(ph, LOG_DEBUG, "uid 0 is never isolated");
		return PAM_IGNORE;
	}
	(void)pam_get_item(ph, PAM_SERVICE, &svc);

	nsi_diag_init(&diag);
	r = nsi_config_load(o.config, &cf, &diag);
	if (r < 0 || diag.nerrors > 0) {
		if (r < 0)
			pam_syslog(ph, LOG_ERR, "%s: %s", o.config, strerror(-r));
		for (size_t i = 0; i < diag.nerrors; i++)
			pam_syslog(ph, LOG_ERR, "%s", diag.errors[i]);
		pam_syslog(ph, LOG_ERR,
			   "refused %s: bad configuration (run \"nsisolate check --config %s\")",
			   pw->pw_name, o.config);
		nsi_diag_free(&diag);
		nsi_config_free(cf);
		return r == -ENOMEM ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	}
	if (o.debug)
		for (size_t i = 0; i < diag.nwarnings; i++)
			pam_syslog(ph, LOG_DEBUG, "warning: %s", diag.warnings[i]);
	nsi_diag_free(&diag);

	/*
	 * The group list costs a full NSS initgroups walk: fetched only when a
	 * policy matches on groups, or below when the set's gid_map needs it.
	 */
	if (nsi_config_matches_groups(cf) && fetch_groups(ph, pw, groups, &ngroups) < 0) {
		nsi_config_free(cf);
		return PAM_SESSION_ERR;
	}
	res = malloc(sizeof(*res));
	if (!res) {
		nsi_config_free(cf);
		return PAM_BUF_ERR;
	}
	r = nsi_config_resolve(cf,
			       &(struct nsi_user){ .name = pw->pw_name,
						   .uid = pw->pw_uid,
						   .gid = pw->pw_gid,
						   .groups = ngroups < 0 ? NULL : groups,
						   .ngroups = ngroups < 0 ? 0 : (size_t)ngroups,
						   .service = svc },
			       res, why, sizeof(why));
	nsi_config_free(cf);
	if (r < 0) {
		pam_syslog(ph, LOG_ERR, "refused %s: %s", pw->pw_name, why);
		free(res);
		return PAM_SERVICE_ERR;
	}
	if (!res->settings.isolate) {
		if (o.debug)
			pam_syslog(ph, LOG_DEBUG, "%s not isolated: %s", pw->pw_name, res->why);
		free(res);
		return PAM_IGNORE;
	}
	if (!o.opener && pam_getenv(ph, "INVOCATION_ID")) {
		/*
		 * PID 1's executor (a PAMName= unit) puts the unit's
		 * INVOCATION_ID into the PAM environment; it execs the service
		 * in this process and forks only its closer, (sd-pam): armed,
		 * the fork handler would move the closer and nothing else.
		 */
		snprintf(why, sizeof(why),
			 "service %s is started by systemd (a PAMName= unit), which runs the "
			 "session in the opening process: add the option \"opener\" to its "
			 "module line",
			 svc ? (const char *)svc : "?");
		r = -EINVAL;
		goto refuse;
	}
	if (o.opener && res->settings.pid) {
		/* A running process cannot move into a PID namespace. */
		snprintf(why, sizeof(why),
			 "policy %s has pid = true: a set with a PID namespace cannot take "
			 "the opener itself (service %s)",
			 res->policy[0] ? res->policy : "(defaults)",
			 svc ? (const char *)svc : "?");
		r = -EINVAL;
		goto refuse;
	}
	if (res->settings.userns.enable && ngroups < 0 &&
	    fetch_groups(ph, pw, groups, &ngroups) < 0) {
		free(res);
		return PAM_SESSION_ERR;
	}
	if (ngroups < 0)
		ngroups = 0;

	l = (struct login){ .pw = pw,
			    .service = svc,
			    .config = o.config,
			    .groups = groups,
			    .ngroups = (size_t)ngroups,
			    .res = res };
	r = do_open(ph, &o, &l, why, sizeof(why));
refuse:
	if (r == 0) {
		ret = PAM_SUCCESS;
	} else if (r == -EBUSY) {
		pam_syslog(ph, LOG_ERR, "refused %s (uid %u): %s", pw->pw_name,
			   (unsigned)pw->pw_uid, why);
		ret = PAM_SESSION_ERR;
	} else if (res->settings.on_error == NSI_ONERR_ALLOW) {
		pam_syslog(ph, LOG_WARNING,
			   "%s (uid %u) logs in WITHOUT isolation (on_error = \"allow\"): %s",
			   pw->pw_name, (unsigned)pw->pw_uid, why[0] ? why : strerror(-r));
		ret = PAM_SUCCESS;
	} else {
		pam_syslog(ph, LOG_ERR, "refused %s (uid %u): %s", pw->pw_name,
			   (unsigned)pw->pw_uid, why[0] ? why : strerror(-r));
		ret = errno_to_pam(r);
	}
	free(res);
	return ret;
}

/* ---- close ---- */

PAM_EXTERN int pam_sm_close_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	_cleanup_close_ int run = -1, lock = -1;
	_cleanup_free_ struct nsi_state *st = NULL;
	const void *d = NULL;
	struct session_data data;
	uint64_t self_start = 0;
	struct opts o;
	int r;

	(void)flags;
	if (parse_opts(ph, argc, argv, &o) < 0)
		return PAM_SERVICE_ERR;
	if (pam_get_data(ph, DATA_KEY, &d) != PAM_SUCCESS || !d)
		return PAM_IGNORE;
	data = *(const struct session_data *)d;
	if (data.joined && __atomic_load_n(data.joined, __ATOMIC_RELAXED) == 0) {
		const void *svc = NULL;

		(void)pam_get_item(ph, PAM_SERVICE, &svc);
		pam_syslog(ph, LOG_ERR,
			   "session of uid %u (service %s) ends, and no process ever joined its "
			   "set: the session ran WITHOUT isolation; %s starts it without fork() "
			   "(posix_spawn, vfork, clone) or execs it in the opener (then add the "
			   "option \"opener\"); see pam_nsisolate(8), SESSION STARTERS",
			   (unsigned)data.uid, svc ? (const char *)svc : "?",
			   svc ? (const char *)svc : "the application");
	}
	if (o.opener && geteuid() != 0) {
		/*
		 * PID 1's (sd-pam) closes as the user, inside the set: it can
		 * do nothing here. The session's record names the opener,
		 * which is gone by now; "nsisolate release" (run by PID 1
		 * when the unit stops) or the next login ends the set.
		 */
		(void)pam_set_data(ph, DATA_KEY, NULL, NULL);
		if (o.debug)
			pam_syslog(ph, LOG_DEBUG, "opener session of uid %u closed unprivileged",
				   (unsigned)data.uid);
		return PAM_IGNORE;
	}
	/* Frees the data and disarms (session_data_cleanup). */
	(void)pam_set_data(ph, DATA_KEY, NULL, NULL);

	st = calloc(1, sizeof(*st));
	if (!st)
		return PAM_BUF_ERR;
	run = nsi_run_dir_open();
	if (run < 0) {
		pam_syslog(ph, LOG_ERR, NSI_RUN_DIR ": %s; the set of uid %u is left as it is",
			   run == -EPERM ? "not owned by root with mode 0700" : strerror(-run),
			   (unsigned)data.uid);
		return PAM_SESSION_ERR;
	}
	lock = nsi_lock_uid(run, data.uid, LOCK_TIMEOUT_MS);
	if (lock < 0) {
		pam_syslog(ph, LOG_ERR, "cannot lock the set of uid %u: %s", (unsigned)data.uid,
			   strerror(-lock));
		return PAM_SESSION_ERR;
	}
	NSI_FAULT("close-locked");
	r = nsi_state_read(run, data.uid, st);
	if (r == -ENOENT)
		(void)nsi_lock_remove(run, data.uid);
	if (r < 0 && r != -ENOENT) {
		pam_syslog(ph, LOG_ERR,
			   NSI_RUN_DIR "/%u.state: unreadable (%s); the set is left as it is",
			   (unsigned)data.uid, strerror(-r));
		return PAM_SESSION_ERR;
	}
	if (r < 0 || st->keeper_pid != data.keeper_pid || st->keeper_start != data.keeper_start)
		return PAM_SUCCESS; /* that set has already ended */

	(void)nsi_proc_start(getpid(), &self_start);
	for (size_t i = 0; i < st->nsessions; i++)
		if (st->sessions[i].pid == getpid() && st->sessions[i].start == self_start) {
			st->sessions[i] = st->sessions[--st->nsessions];
			break;
		}
	if (nsi_state_prune(st) > 0) {
		r = nsi_state_write(run, st);
		return r < 0 ? PAM_SESSION_ERR : PAM_SUCCESS;
	}
	if (st->linger) {
		r = nsi_state_write(run, st);
		pam_syslog(ph, LOG_INFO,
			   "last session of %s (uid %u) closed; set lingers, keeper pid %d",
			   st->user, (unsigned)st->uid, (int)st->keeper_pid);
		return r < 0 ? PAM_SESSION_ERR : PAM_SUCCESS;
	}
	r = nsi_set_kill(st);
	if (r < 0) {
		pam_syslog(ph, LOG_ERR, "tearing down the set of %s (uid %u): %s", st->user,
			   (unsigned)st->uid, strerror(-r));
		return PAM_SESSION_ERR;
	}
	NSI_FAULT("close-killed");
	forget_set_detached(ph, run, lock, st->uid, st->user, o.config);
	pam_syslog(ph, LOG_INFO, "tore down set of %s (uid %u), policy %s, keeper pid %d", st->user,
		   (unsigned)st->uid, st->policy[0] ? st->policy : "(defaults)",
		   (int)st->keeper_pid);
	return PAM_SUCCESS;
}
