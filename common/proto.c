// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The module/helper protocol, on both sides: building and checking the
 * request, checking the reply, and spawning the helper. The module and
 * nsisolate(8) spawn it the same way (docs/design.md, "Process model").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "proto.h"

#ifndef NSI_HELPER_PATH
#error "NSI_HELPER_PATH must be set by the build"
#endif

bool nsi_field_ok(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

/* SRC into the field DST of SIZE bytes, or -ENAMETOOLONG. */
static int set_field(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

int nsi_request_init(struct nsi_request *req, enum nsi_op op, uid_t uid, const char *user,
		     const char *service, const char *config)
{
	memset(req, 0, sizeof(*req));
	req->magic = NSI_PROTO_MAGIC;
	req->version = NSI_PROTO_VERSION;
	req->size = sizeof(*req);
	req->op = op;
	req->uid = uid;
	if (set_field(req->user, sizeof(req->user), user) < 0 ||
	    set_field(req->service, sizeof(req->service), service ? service : "") < 0 ||
	    set_field(req->config, sizeof(req->config), config) < 0)
		return -ENAMETOOLONG;
	return 0;
}

int nsi_request_check(const struct nsi_request *req, size_t len, bool extra, char *why,
		      size_t whylen)
{
	const char *bad = NULL;

	if (len != sizeof(*req))
		bad = "short request";
	else if (extra)
		bad = "oversized request";
	else if (req->magic != NSI_PROTO_MAGIC || req->version != NSI_PROTO_VERSION ||
		 req->size != sizeof(*req))
		bad = "request version mismatch";
	else if (req->op != NSI_OP_CREATE && req->op != NSI_OP_TEARDOWN)
		bad = "unknown op";
	else if ((req->flags & ~NSI_REQ_DETACHED) ||
		 ((req->flags & NSI_REQ_DETACHED) && req->op != NSI_OP_TEARDOWN))
		bad = "unknown or misplaced flags";
	else if (!nsi_field_ok(req->user, sizeof(req->user)) ||
		 !nsi_field_ok(req->service, sizeof(req->service)) ||
		 !nsi_field_ok(req->config, sizeof(req->config)))
		bad = "unterminated string in request";
	else if (!nsi_path_is_normal(req->config))
		bad = "config path is not absolute";
	if (!bad)
		return 0;
	snprintf(why, whylen, "%s", bad);
	return -EPROTO;
}

int nsi_reply_check(const struct nsi_reply *rep, size_t len)
{
	if (len != sizeof(*rep) || rep->magic != NSI_PROTO_MAGIC ||
	    rep->version != NSI_PROTO_VERSION || !nsi_field_ok(rep->msg, sizeof(rep->msg)) ||
	    rep->status > 0)
		return -EPROTO;
	return 0;
}

struct spawn {
	int in, out, err;
	int keep; /* placed as fd 3 for the helper, or -1 */
	bool detach; /* the waiter does not wait */
	char *helper_stack; /* top of the helper's stack, below the waiter's */
	int *exec_failed; /* errno of a failed set-up or execve() (shared memory) */
};

static int place_fd(int from, int to)
{
	if (from == to)
		return fcntl(to, F_SETFD, 0);
	return dup2(from, to) < 0 ? -1 : 0;
}

/* The helper: on its own stack in the caller's memory until execve; no allocation, no locks. */
static int helper_exec(void *arg)
{
	const struct spawn *sp = arg;
	char *const argv[] = { (char *)"nsisolate-helper", NULL };
	char *const envp[] = { NULL };

	if (place_fd(sp->in, 0) < 0 || place_fd(sp->out, 1) < 0 || place_fd(sp->err, 2) < 0 ||
	    (sp->keep >= 0 && place_fd(sp->keep, 3) < 0))
		goto fail;
	close_range(sp->keep >= 0 ? 4 : 3, ~0u, 0);
	/*
	 * A setuid caller (su run by a user) has the user as its real uid:
	 * the helper starts as root through and through, with no
	 * supplementary groups. Raw system calls: glibc's wrappers would
	 * broadcast the change to the caller's threads, whose memory this is.
	 */
	if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 ||
	    syscall(SYS_setresuid, 0, 0, 0) < 0)
		goto fail;
	execve(NSI_HELPER_PATH, argv, envp);
fail:
	*sp->exec_failed = errno > 0 ? errno : EIO;
	_exit(127);
}

/*
 * The waiter: the caller's direct child, in its memory while the calling
 * thread is suspended (CLONE_VFORK). execve() resets a process's exit
 * signal to SIGCHLD, so the helper cannot be the caller's child without
 * signalling the application; the waiter never execs, exits with signal 0,
 * and bounds the helper's run time.
 */
static int helper_waiter(void *arg)
{
	const struct spawn *sp = arg;
	struct pollfd pf = { .events = POLLIN };
	int pidfd = -1;
	siginfo_t si;

	if (clone(helper_exec, sp->helper_stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
		  arg, &pidfd) < 0)
		_exit(127);
	/* Detached: the helper has exec'd (CLONE_VFORK); orphaned, it is init's to reap. */
	if (sp->detach)
		_exit(*sp->exec_failed ? 127 : 0);
	pf.fd = pidfd;
	if (poll(&pf, 1, NSI_HELPER_TIMEOUT_MS) == 0)
		(void)pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		_exit(127);
	/* As a shell reports it: 128 + the signal that ended the helper. */
	_exit(si.si_code == CLD_EXITED ? si.si_status & 0x7f : 128 + (si.si_status & 0x7f));
}

/* FD moved above the standard ones (a caller may have 0, 1 or 2 closed). */
static int fd_above_2(int fd)
{
	int n;

	if (fd < 0 || fd > 2)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return n;
}

/*
 * Spawn the helper with REQ on its stdin, OUT as its stdout, KEEP (or -1)
 * as its fd 3, through the waiter; reaped here, the waiter's status in *SI,
 * and in *EXEC_ERR the errno of a failed set-up or execve() (else 0).
 */
static int spawn(const struct nsi_request *req, int out, int keep, bool detach, siginfo_t *si,
		 int *exec_err)
{
	_cleanup_close_ int in_r = -1, in_w = -1, null = -1, pidfd = -1, kept = -1;
	const size_t stack_size = 64 * 1024;
	struct spawn sp;
	sigset_t all, old;
	int *shared, p[2], r;
	void *stack;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	in_r = fd_above_2(p[0]);
	in_w = fd_above_2(p[1]);
	null = fd_above_2(open("/dev/null", O_WRONLY | O_CLOEXEC));
	/* Above 3 too: placing 0-2 first must not overwrite it. */
	if (keep >= 0)
		kept = fcntl(keep, F_DUPFD_CLOEXEC, 4);
	if (in_r < 0 || in_w < 0 || null < 0 || (keep >= 0 && kept < 0))
		return -EMFILE;
	/* The request fits the pipe buffer: write it all, then EOF. */
	r = nsi_write_all(in_w, req, sizeof(*req));
	if (r < 0)
		return r;
	nsi_closep(&in_w);
	in_w = -1;

	stack = mmap(NULL, 2 * stack_size + sizeof(int), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	shared = (int *)((char *)stack + 2 * stack_size);
	*shared = 0;
	sp = (struct spawn){ in_r,   out < 0 ? null : out,	 null,	kept,
			     detach, (char *)stack + stack_size, shared };
	/*
	 * CLONE_VM|CLONE_VFORK: no copy of a large caller, and this thread
	 * waits until the waiter is done; exit signal 0: no SIGCHLD reaches the
	 * application. Signals stay blocked in both children, so no handler of
	 * the caller runs on their stacks.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = clone(helper_waiter, (char *)stack + 2 * stack_size,
		  CLONE_VM | CLONE_VFORK | CLONE_PIDFD, &sp, &pidfd);
	r = r < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*exec_err = *shared;
	munmap(stack, 2 * stack_size + sizeof(int));
	if (r < 0)
		return r;
	/* Reap exactly our child: through its pidfd, never waitpid(-1). */
	while (waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int nsi_helper_start(const struct nsi_request *req, int lock)
{
	siginfo_t si = { 0 };
	int exec_err, r = spawn(req, -1, lock, true, &si, &exec_err);

	if (r < 0)
		return r;
	return si.si_code == CLD_EXITED && si.si_status == 0 ? 0 : -ECHILD;
}

int nsi_helper_run(const struct nsi_request *req, struct nsi_reply *rep)
{
	_cleanup_close_ int out_r = -1, out_w = -1;
	siginfo_t si = { 0 };
	int p[2], r, exec_err;
	ssize_t n;

	memset(rep, 0, sizeof(*rep));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	out_r = fd_above_2(p[0]);
	out_w = fd_above_2(p[1]);
	if (out_r < 0 || out_w < 0)
		return -EMFILE;
	/* Read only after the helper is gone: never block on a pipe end someone kept. */
	if (fcntl(out_r, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	r = spawn(req, out_w, -1, false, &si, &exec_err);
	if (r < 0)
		return r;
	if (exec_err) {
		snprintf(rep->msg, sizeof(rep->msg), "cannot execute %s: %s", NSI_HELPER_PATH,
			 strerror(exec_err));
		return -exec_err;
	}
	nsi_closep(&out_w);
	out_w = -1;
	/* The helper has exited: its reply, if any, sits in the pipe. */
	n = nsi_read_full(out_r, rep, sizeof(*rep));
	if (n == -EAGAIN)
		n = 0;
	if (n < 0)
		return (int)n;
	if (nsi_reply_check(rep, (size_t)n) < 0) {
		if (si.si_status > 128)
			/* SIGKILL: the timeout, the OOM killer or an administrator. */
			snprintf(rep->msg, sizeof(rep->msg),
				 "helper %s was killed by signal %d (%s) before it replied",
				 NSI_HELPER_PATH, si.si_status - 128,
				 strsignal(si.si_status - 128));
		else if (si.si_status == NSI_EXIT_NO_REPLY)
			snprintf(rep->msg, sizeof(rep->msg),
				 "helper %s could not write its reply (exit %d);"
				 " it logs why to syslog when it can",
				 NSI_HELPER_PATH, si.si_status);
		else
			snprintf(rep->msg, sizeof(rep->msg),
				 "helper %s failed (exit %d) without a valid reply",
				 NSI_HELPER_PATH, si.si_status);
		return si.si_status > 128 ? -ECHILD : -EPROTO;
	}
	return rep->status;
}
