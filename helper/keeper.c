// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The keeper holds a set's namespaces for as long as it lives. It owns nothing:
 * it runs as userns.root_id (mapped to 0 inside the set's user namespace when
 * there is one), keeps no capability, has no fd but /dev/null, and waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capbset.h"
#include "cleanup.h"
#include "fault.h"
#include "helper.h"

static void drop_bounding(void)
{
	if (nsi_capbset_drop(0) < 0)
		_exit(1);
}

static void drop_all_caps(void)
{
	cap_t none = cap_init();

	/* Again: a new user namespace starts with a full bounding set. */
	drop_bounding();
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (!none || cap_set_proc(none) < 0)
		_exit(1);
	cap_free(none);
}

_Noreturn void keeper_main(const struct keeper_args *a)
{
	sigset_t all;
	char c = 1;
	int null;

	/* The helper's stdio are the module's pipes: never hold them open. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	close(null);

	NSI_FAULT("keeper-started");
	/* Still real root with the helper's capabilities: mount /proc, then shed them. */
	if (a->pid && mount_proc() < 0)
		_exit(1);
	drop_bounding();
	if (a->userns) {
		struct stat st;

		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		/* Its number, for the set's record: sent while nothing else is. */
		if (stat("/proc/self/ns/user", &st) < 0)
			_exit(1);
		if (write(a->ready_fd, &(uint64_t){ (uint64_t)st.st_ino }, sizeof(uint64_t)) !=
		    sizeof(uint64_t))
			_exit(1);
		/* The helper writes the maps from outside, then releases us. */
		if (read(a->go_fd, &c, 1) != 1)
			_exit(1);
		if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
			_exit(1);
		if (!a->nested) {
			/* Per user namespace limit: 0 here means no nested namespace inside. */
			int fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);

			if (fd < 0 || write(fd, "0\n", 2) != 2)
				_exit(1);
			close(fd);
		}
	} else {
		if (setgroups(0, NULL) < 0 || setresgid(a->root_id, a->root_id, a->root_id) < 0 ||
		    setresuid(a->root_id, a->root_id, a->root_id) < 0)
			_exit(1);
	}
	drop_all_caps();
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)prctl(PR_SET_NAME, "nsisolate-keep", 0, 0, 0);

	if (write(a->ready_fd, &c, 1) != 1)
		_exit(1);
	NSI_FAULT("keeper-ready");
	/*
	 * Until the helper has recorded the set it may still die (killed, out
	 * of memory): its pipe's end of file then ends this keeper too, so no
	 * set outlives the process that was making it without a record.
	 */
	if (read(a->go_fd, &c, 1) != 1)
		_exit(1);
	if (write(a->ready_fd, &c, 1) != 1)
		_exit(1);
	/* From here on the keeper holds nothing but its namespaces. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		_exit(1);
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	close_range(3, ~0u, 0);
	if (chdir("/") < 0)
		_exit(1);

	/* Every signal is taken synchronously; only SIGKILL ends the keeper. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		siginfo_t si;

		if (sigwaitinfo(&all, &si) == SIGCHLD)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
	}
}
