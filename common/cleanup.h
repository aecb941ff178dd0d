/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_CLEANUP_H
#define NSI_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void nsi_freep(void *p)
{
	free(*(void **)p);
}

static inline void nsi_closep(int *fd)
{
	/* Never retry close() on EINTR: the fd is gone either way. */
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void nsi_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(nsi_freep)))
#define _cleanup_close_ __attribute__((cleanup(nsi_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(nsi_fclosep)))

static inline int nsi_take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
#define TAKE_FD(fd) nsi_take_fd(&(fd))

static inline void *nsi_steal(void *pp)
{
	void **p = pp;
	void *r = *p;
	*p = NULL;
	return r;
}
#define steal_pointer(pp) nsi_steal(pp)

#define NSI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
