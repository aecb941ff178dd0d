// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam-hold SERVICE USER [CONFDIR]: open a PAM session and hold it until stdin
 * reaches EOF, then close it. Prints "open RC" and "close RC" (numeric PAM
 * codes) on stdout. With "-f CMD...", forks once after opening and runs
 * CMD in the child (the module's fork handler isolates it), waits, then closes.
 * With NSIT_AS_USER set, the child first becomes USER (initgroups, setgid,
 * setuid) as login programs do, inside the set's user namespace. With
 * NSIT_TIMES set, also prints "open_us N" and "close_us N": how long
 * pam_open_session and pam_close_session took (the benchmark's logout time).
 * Used by tests and the benchmark to keep a joining session alive
 * (docs/design.md, "Process model": joining logins, the fork handler).
 */
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *ph = NULL;
	const char *confdir = NULL;
	char **cmd = NULL;
	int r, cr, status = 0;
	long long t0, t1;
	char buf[256];

	if (argc < 3) {
		fprintf(stderr, "usage: pam-hold SERVICE USER [CONFDIR] [-f CMD...]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-f")) {
			cmd = &argv[i + 1];
			break;
		}
		confdir = argv[i];
	}
	r = confdir ? pam_start_confdir(argv[1], argv[2], &c, confdir, &ph)
		    : pam_start(argv[1], argv[2], &c, &ph);
	if (r != PAM_SUCCESS) {
		printf("start %d\n", r);
		return 1;
	}
	t0 = now_us();
	r = pam_open_session(ph, 0);
	t1 = now_us();
	printf("open %d\n", r);
	if (getenv("NSIT_TIMES"))
		printf("open_us %lld\n", t1 - t0);
	fflush(stdout);
	if (r == PAM_SUCCESS && cmd && *cmd) {
		pid_t pid = fork();

		if (pid == 0) {
			const struct passwd *pw = getpwnam(argv[2]);

			if (getenv("NSIT_AS_USER") &&
			    (!pw || initgroups(pw->pw_name, pw->pw_gid) < 0 ||
			     setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)) {
				perror("pam-hold: becoming the user");
				_exit(126);
			}
			execvp(cmd[0], cmd);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			;
		printf("child %d\n",
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fflush(stdout);
	} else {
		while (read(0, buf, sizeof(buf)) > 0)
			;
	}
	t0 = now_us();
	cr = pam_close_session(ph, 0);
	t1 = now_us();
	printf("close %d\n", cr);
	if (getenv("NSIT_TIMES"))
		printf("close_us %lld\n", t1 - t0);
	pam_end(ph, r);
	return r == PAM_SUCCESS && cr == PAM_SUCCESS ? 0 : 1;
}
