// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The host's IPv4 prefixes over rtnetlink (libmnl): every address with its
 * prefix, and every route but the default ones and those of the local table
 * (its entries are the addresses). Only those overlapping a pool are kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "hostnet.h"

/* The host's IPv4 prefixes that overlap POOL, collected from address and route dumps. */
struct prefixes {
	struct nsi_cidr pool;
	struct nsi_cidr *v;
	size_t n, cap;
	uint16_t type; /* RTM_NEWADDR or RTM_NEWROUTE */
	int err; /* of prefixes_add, which stops the dump */
};

static int prefixes_add(struct prefixes *p, uint32_t addr, unsigned prefix)
{
	struct nsi_cidr c = { .net = addr, .prefix = prefix };

	/* Only those that matter: a router's full table stays out of memory. */
	if (nsi_cidr_overlap_any(&p->pool, &c, 1) < 0)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct nsi_cidr *v;

		if (cap > 1u << 20)
			return -E2BIG;
		v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = c;
	return 0;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	/* Only the attributes read below, and only with a 4-byte payload. */
	if ((type == IFA_LOCAL || type == IFA_ADDRESS || type == RTA_DST || type == RTA_TABLE) &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int prefix_cb(const struct nlmsghdr *nlh, void *data)
{
	struct prefixes *p = data;
	const struct nlattr *tb[RTA_MAX > IFA_MAX ? RTA_MAX + 1 : IFA_MAX + 1] = { NULL };

	if (nlh->nlmsg_type != p->type)
		return MNL_CB_OK;
	if (p->type == RTM_NEWADDR) {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
		const struct nlattr *a;

		if (ifa->ifa_family != AF_INET || ifa->ifa_prefixlen > 32 ||
		    mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, tb) < 0)
			return MNL_CB_OK;
		a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
		/* The address itself and its prefix's network (a /32 on a point-to-point link). */
		if (!a)
			return MNL_CB_OK;
		p->err = prefixes_add(p, ntohl(mnl_attr_get_u32(a)), ifa->ifa_prefixlen);
		if (p->err)
			return MNL_CB_ERROR;
	} else {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
		uint32_t table;

		if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len == 0 || rtm->rtm_dst_len > 32 ||
		    mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, tb) < 0)
			return MNL_CB_OK;
		table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
		/* Every table but local (whose entries are the addresses, seen above). */
		if (table == RT_TABLE_LOCAL || !tb[RTA_DST])
			return MNL_CB_OK;
		p->err = prefixes_add(p, ntohl(mnl_attr_get_u32(tb[RTA_DST])), rtm->rtm_dst_len);
		if (p->err)
			return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* Dump every IPv4 address or route (TYPE: RTM_GETADDR, RTM_GETROUTE) into P. */
static int dump(struct mnl_socket *nl, uint32_t seq, uint16_t type, struct prefixes *p)
{
	char buf[32768]; /* the kernel's largest dump batch (MNL_SOCKET_DUMP_SIZE) */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (type == RTM_GETADDR) {
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

		ifa->ifa_family = AF_INET;
		p->type = RTM_NEWADDR;
	} else {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = AF_INET;
		p->type = RTM_NEWROUTE;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, prefix_cb, p);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return p->err ? p->err : errno ? -errno : -EIO;
	return 0;
}

int nsi_host_prefixes(const struct nsi_cidr *pool, struct nsi_cidr **ret, size_t *n)
{
	struct prefixes p = { .pool = *pool };
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int r;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (r == 0)
		r = dump(nl, seq, RTM_GETADDR, &p);
	if (r == 0)
		r = dump(nl, seq + 1, RTM_GETROUTE, &p);
	mnl_socket_close(nl);
	if (r < 0) {
		free(p.v);
		return r;
	}
	*ret = p.v;
	*n = p.n;
	return 0;
}
