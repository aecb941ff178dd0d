// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam-starter SERVICE USER HOW CMD [ARG...]: a PAM application that opens a
 * session, starts CMD the way HOW says, waits for it, then closes the
 * session. HOW is how real applications start a session:
 *   fork         fork(2), as sshd, login, su and cron do
 *   posix_spawn  posix_spawn(3) (glibc: clone(CLONE_VM|CLONE_VFORK))
 *   vfork        vfork(2)
 *   clone        a raw clone(2) with CLONE_PIDFD, as Qt's forkfd (SDDM)
 *   fork2        fork(2) twice, one child after the other, as cron does for
 *                the job and then the mailer (NSIT_CHILD=1, then 2)
 * None but fork runs pthread_atfork handlers (docs/design.md, "Process model":
 * the fork handler, opener mode). With NSIT_INVOCATION_ID set, puts
 * INVOCATION_ID into the PAM environment first, as PID 1's executor does for
 * a PAMName= unit. Prints "open RC", "opener mnt=NS" (the opener's
 * mount namespace after the open), "child STATUS" and "close RC".
 */
#include <errno.h>
#include <sched.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static pid_t start(const char *how, char **cmd)
{
	pid_t pid;

	if (!strcmp(how, "fork")) {
		pid = fork();
	} else if (!strcmp(how, "vfork")) {
		pid = vfork();
		if (pid == 0) {
			execvp(cmd[0], cmd);
			_exit(127);
		}
		return pid;
	} else if (!strcmp(how, "posix_spawn")) {
		int r = posix_spawnp(&pid, cmd[0], NULL, NULL, cmd, environ);

		if (r != 0) {
			errno = r;
			return -1;
		}
		return pid;
	} else if (!strcmp(how, "clone")) {
		int pidfd = -1;

		/* The raw system call: no libc wrapper, no fork handlers. */
		pid = (pid_t)syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, NULL, &pidfd, NULL, NULL);
		if (pid > 0)
			close(pidfd);
	} else {
		errno = EINVAL;
		return -1;
	}
	if (pid == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *ph = NULL;
	int r, cr, status = 0;
	pid_t pid;

	if (argc < 5) {
		fprintf(stderr, "usage: pam-starter SERVICE USER "
				"fork|posix_spawn|vfork|clone|fork2 CMD [ARG...]\n");
		return 2;
	}
	r = pam_start(argv[1], argv[2], &c, &ph);
	if (r != PAM_SUCCESS) {
		printf("start %d\n", r);
		return 1;
	}
	if (getenv("NSIT_INVOCATION_ID")) {
		char env[128];

		snprintf(env, sizeof(env), "INVOCATION_ID=%s", getenv("NSIT_INVOCATION_ID"));
		(void)pam_putenv(ph, env);
	}
	r = pam_open_session(ph, 0);
	printf("open %d\n", r);
	{
		char mnt[64];
		ssize_t n = readlink("/proc/self/ns/mnt", mnt, sizeof(mnt) - 1);

		/* Where the opener is now: in the set only in opener mode. */
		printf("opener mnt=%.*s\n", n > 0 ? (int)n : 0, mnt);
	}
	fflush(stdout);
	for (int n = 1; r == PAM_SUCCESS && !strcmp(argv[3], "fork2") && n <= 2; n++) {
		char nth[2] = { (char)('0' + n), '\0' };

		setenv("NSIT_CHILD", nth, 1);
		pid = start("fork", argv + 4);
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		printf("child %d\n",
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fflush(stdout);
	}
	if (r == PAM_SUCCESS && strcmp(argv[3], "fork2") != 0) {
		pid = start(argv[3], argv + 4);
		if (pid < 0) {
			perror("pam-starter: start");
		} else {
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			printf("child %d\n",
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			fflush(stdout);
		}
	}
	cr = r == PAM_SUCCESS ? pam_close_session(ph, 0) : r;
	printf("close %d\n", cr);
	pam_end(ph, r);
	return r == PAM_SUCCESS && cr == PAM_SUCCESS ? 0 : 1;
}
