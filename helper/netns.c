// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * network.mode = "veth" and network.dns (see netns.h for the order of the
 * steps). Links, addresses and routes are made with rtnetlink (libmnl); no
 * ip(8) or nft(8) runs. The host end of the pair is "nsi" + uid with
 * net+1/30, the set's end is eth0 with net+2/30 and a default route via
 * net+1. IPv6 is off on both ends before they come up (disable_ipv6 = 1 and
 * addrgenmode none), so no link-local address ever exists to reach the
 * host's IPv6 services. Only CAP_NET_ADMIN and CAP_SYS_ADMIN (setns into the
 * host's network namespace, the resolv.conf mount) are effective here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helper.h"
#include "mountfd.h"
#include "hostnet.h"
#include "lease.h"
#include "netns.h"
#include "state.h"

#define NET_LOCK_TIMEOUT_MS 10000
#define SESSION_IF "eth0"
#define NL_BUF_SIZE 8192

static const cap_value_t net_caps[] = { CAP_NET_ADMIN, CAP_SYS_ADMIN };

/* What net_prepare() leaves for net_setup(). */
static struct {
	int run; /* /run/nsisolate, opened in the host's namespaces */
	int host_ns; /* the host's network namespace */
	int resolv_tree; /* detached bind mount of UID.resolv, or -1 */
	char resolv_name[32];
	bool leased;
	struct nsi_lease lease;
} net = { .run = -1, .host_ns = -1, .resolv_tree = -1 };

/* Effective capabilities: only KEEP (N of them), or every permitted one when KEEP is NULL. */
static void caps_effective(const cap_value_t *keep, int n)
{
	cap_t c = cap_get_proc();

	if (!c)
		die(errno, "capabilities: %m");
	for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
		cap_flag_value_t perm = CAP_CLEAR;
		bool want = !keep;

		for (int i = 0; keep && i < n; i++)
			want |= keep[i] == v;
		if (cap_get_flag(c, v, CAP_PERMITTED, &perm) < 0)
			continue;
		cap_set_flag(c, CAP_EFFECTIVE, 1, &v,
			     want && perm == CAP_SET ? CAP_SET : CAP_CLEAR);
	}
	if (cap_set_proc(c) < 0)
		die(errno, "capabilities: %m");
	cap_free(c);
}

/* ---- rtnetlink ---- */

struct rtnl {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	char buf[NL_BUF_SIZE];
};

/* A socket of the current network namespace: it stays bound to it. */
static int rtnl_open(struct rtnl *r)
{
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;

		mnl_socket_close(r->nl);
		r->nl = NULL;
		return e;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	return 0;
}

static void rtnl_close(struct rtnl *r)
{
	if (r->nl)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}

static struct nlmsghdr *rtnl_msg(struct rtnl *r, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++r->seq;
	return nlh;
}

/* Send one request and wait for its ack: 0 or -errno. */
static int rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh)
{
	char rbuf[NL_BUF_SIZE];
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(r->nl, rbuf, sizeof(rbuf));
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		ret = mnl_cb_run(rbuf, (size_t)n, seq, r->portid, NULL, NULL);
	} while (ret == MNL_CB_OK);
	return ret < 0 ? -errno : 0;
}

static int link_delete(struct rtnl *r, const char *name)
{
	struct nlmsghdr *nlh = rtnl_msg(r, RTM_DELLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return rtnl_talk(r, nlh);
}

/* HOST here, PEER created directly in the namespace NSFD: never moved, never in the host. */
static int veth_create(struct rtnl *r, const char *host, const char *peer, int nsfd)
{
	struct nlmsghdr *nlh = rtnl_msg(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct nlattr *info, *data, *p;
	struct ifinfomsg *pifm;

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes start with its own ifinfomsg. */
	pifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return rtnl_talk(r, nlh);
}

static int addr_add(struct rtnl *r, unsigned idx, uint32_t addr, unsigned prefix)
{
	struct nlmsghdr *nlh = rtnl_msg(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	uint32_t be = htonl(addr);

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, be);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
	return rtnl_talk(r, nlh);
}

/* Up, with IPv6 address generation off (when the kernel has IPv6). */
static int link_up(struct rtnl *r, unsigned idx, bool ipv6)
{
	struct nlmsghdr *nlh = rtnl_msg(r, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (ipv6) {
		struct nlattr *af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
		struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);

		mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
		mnl_attr_nest_end(nlh, in6);
		mnl_attr_nest_end(nlh, af);
	}
	return rtnl_talk(r, nlh);
}

static int route_default(struct rtnl *r, unsigned idx, uint32_t gw)
{
	struct nlmsghdr *nlh = rtnl_msg(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	return rtnl_talk(r, nlh);
}

/*
 * disable_ipv6 = 1 for IFNAME in the current network namespace, before the
 * link is up. Returns 1 when done, 0 when the kernel has no IPv6 at all.
 */
static int ipv6_off(const char *ifname)
{
	_cleanup_close_ int fd = -1;
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	/* procfs, and the name is ours: nothing a user controls is on this path. */
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && access("/proc/sys/net/ipv6", F_OK) < 0)
			return 0;
		return -errno;
	}
	if (write(fd, "1\n", 2) != 2)
		return -errno;
	return 1;
}

/* ---- leases and leftovers ---- */

/*
 * End what UID's previous set left outside its namespaces, net.lock held:
 * the host link (deleted if still there, then checked gone), the chains the
 * lease names (all three possible ones if the lease is unreadable), the
 * lease, a staged resolv.conf; and the table with the lock file once no
 * lease is left.
 */
static int end_lease(int run, uid_t uid, char *why, size_t whylen)
{
	struct nsi_lease l = { .uid = uid, .chains = NSI_CHAIN_IN | NSI_CHAIN_FWD | NSI_CHAIN_NAT };
	_cleanup_free_ struct nsi_lease *all = NULL;
	struct rtnl r = { 0 };
	char name[32];
	size_t n = 0, others = 0;
	int e;

	if (nsi_lease_read(run, uid, &l) < 0) {
		l = (struct nsi_lease){ .uid = uid,
					.chains = NSI_CHAIN_IN | NSI_CHAIN_FWD | NSI_CHAIN_NAT };
		nsi_link_name(uid, l.link);
	}
	/*
	 * The rules first, the link second: both wait for RCU (the batch when
	 * its socket closes, the link in the kernel's netdev_run_todo), so the
	 * two waits overlap. The set's processes are gone: nothing sends meanwhile.
	 */
	if (nsi_lease_scan(run, &all, &n) == 0)
		for (size_t i = 0; i < n; i++)
			others += all[i].uid != uid;
	else
		others = 1; /* an unreadable lease: keep the table */
	/* The last lease takes the whole table with it: one batch. */
	e = others ? nft_del_set(&l, why, whylen) : nft_del_table(why, whylen);
	if (e < 0) {
		nft_close();
		return e;
	}
	/*
	 * The set's namespace takes the pair with it, but asynchronously (about
	 * as late as an explicit delete returns: both wait for RCU). Deleting
	 * one end of a veth pair deletes both, even if the namespace lives on.
	 */
	e = rtnl_open(&r);
	if (e == 0) {
		e = link_delete(&r, l.link);
		rtnl_close(&r);
	}
	nft_close();
	if (e < 0 && e != -ENODEV) {
		snprintf(why, whylen, "deleting link %s: %s", l.link, strerror(-e));
		return e;
	}
	if (if_nametoindex(l.link) != 0) {
		snprintf(why, whylen, "link %s is still there after deleting it", l.link);
		return -EBUSY;
	}
	e = nsi_lease_remove(run, uid);
	if (e < 0) {
		snprintf(why, whylen, NSI_RUN_DIR "/%u.lease: %s", (unsigned)uid, strerror(-e));
		return e;
	}
	snprintf(name, sizeof(name), "%u.resolv", (unsigned)uid);
	(void)unlinkat(run, name, 0);
	if (!others)
		(void)nsi_lease_lock_remove(run);
	return 0;
}

static bool forwarding_on(void)
{
	_cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	char c = '0';

	if (fd < 0 || read(fd, &c, 1) != 1)
		return false;
	return c != '0';
}

static void lease_one(const struct nsi_settings *s, uid_t uid)
{
	_cleanup_free_ struct nsi_lease *all = NULL;
	_cleanup_free_ struct nsi_cidr *host = NULL;
	size_t nhost = 0;
	struct nsi_cidr pool;
	char why[256], msg[256], cidr[32];
	uint32_t net30;
	size_t n = 0;
	int r;

	if (nsi_cidr_parse(s->network.subnet, &pool, why, sizeof(why)) < 0)
		die(EINVAL, "network.subnet: %s", why);
	r = nsi_lease_scan(net.run, &all, &n);
	if (r < 0)
		die(-r, "reading the leases in " NSI_RUN_DIR ": %s", strerror(-r));
	r = nsi_host_prefixes(&pool, &host, &nhost);
	if (r < 0)
		die(-r, "reading the host's addresses and routes: %s", strerror(-r));
	nhost = nsi_prefixes_drop_leased(host, nhost, all, n);
	r = nsi_lease_pick(&pool, all, n, host, nhost, &net30);
	/* Refused before leasing: with no other lease, net.lock goes as at the last teardown. */
	if (r < 0 && n == 0)
		(void)nsi_lease_lock_remove(net.run);
	/* Every prefix kept overlaps the pool: the first one names the cause. */
	if (r == -ENOSPC && nhost > 0) {
		nsi_cidr_format(host[0].net, host[0].prefix, cidr, sizeof(cidr));
		die(ENOSPC,
		    "network.subnet %s has no free /30: each is leased or overlaps an address "
		    "or route of the host (such as %s)",
		    s->network.subnet, cidr);
	}
	if (r == -ENOSPC)
		die(ENOSPC, "network.subnet %s is exhausted: all %llu /30 networks are leased",
		    s->network.subnet, 1ull << (30 - pool.prefix));
	if (r < 0)
		die(-r, "leasing from %s: %s", s->network.subnet, strerror(-r));
	net.lease = (struct nsi_lease){ .uid = uid,
					.net = net30,
					.chains = nft_chains_for(s->network.host_access,
								 s->network.nat) };
	nsi_link_name(uid, net.lease.link);
	/* Recorded before anything is made: whatever fails later, teardown finds it. */
	r = nsi_lease_write(net.run, &net.lease);
	if (r < 0)
		die(-r, "writing " NSI_RUN_DIR "/%u.lease: %s", (unsigned)uid, strerror(-r));
	net.leased = true;
	r = nft_add_set(&net.lease, s->network.host_access, s->network.nat, msg, sizeof(msg));
	nft_close();
	if (r < 0)
		die(-r, "%s", msg);
}

/*
 * network.dns: the file is written in the root-only run directory and
 * cloned as a detached bind mount here, in the host's mount namespace;
 * net_setup() attaches it inside the set and unlinks the name.
 */
static void stage_resolv(const struct nsi_settings *s, uid_t uid)
{
	_cleanup_close_ int fd = -1;
	char text[512];
	size_t o;

	snprintf(net.resolv_name, sizeof(net.resolv_name), "%u.resolv", (unsigned)uid);
	(void)unlinkat(net.run, net.resolv_name, 0);
	o = (size_t)snprintf(text, sizeof(text),
			     "# This session's resolvers: network.dns in nsisolate.conf(5).\n");
	for (unsigned i = 0; i < s->network.ndns && i < NSI_MAX_DNS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "nameserver %s\n",
				      s->network.dns[i]);
	fd = openat(net.run, net.resolv_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0)
		die(errno, "network.dns: creating " NSI_RUN_DIR "/%s: %m", net.resolv_name);
	if (nsi_write_all(fd, text, strlen(text)) < 0 || fchmod(fd, 0644) < 0)
		die(errno, "network.dns: writing " NSI_RUN_DIR "/%s: %m", net.resolv_name);
	/* Private: the copy of /run's mount must not join its peer group. */
	net.resolv_tree = mountfd_clone(fd, false,
					MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						MOUNT_ATTR_NOEXEC,
					MS_PRIVATE);
	if (net.resolv_tree < 0)
		die(-net.resolv_tree, "network.dns: cloning the resolver file: %s",
		    strerror(-net.resolv_tree));
}

void net_prepare(const struct nsi_settings *s, uid_t uid)
{
	_cleanup_close_ int lock = -1;
	char msg[256];
	int r;

	net.run = nsi_run_dir_open();
	if (net.run < 0)
		die(-net.run, NSI_RUN_DIR ": %s", strerror(-net.run));
	if (s->network.mode != NSI_NET_VETH && s->network.ndns == 0 &&
	    !nsi_net_leftovers(net.run, uid)) {
		nsi_closep(&net.run);
		net.run = -1;
		return;
	}
	/* The helper never changes ip_forward: that is the administrator's call. */
	if (s->network.mode == NSI_NET_VETH && s->network.nat && !forwarding_on())
		die(EHOSTUNREACH,
		    "network.nat = true needs IPv4 forwarding, but "
		    "net.ipv4.ip_forward is 0 on this host (the helper never changes it)");
	caps_effective(net_caps, (int)NSI_ARRAY_SIZE(net_caps));
	if (s->network.mode == NSI_NET_VETH || nsi_net_leftovers(net.run, uid)) {
		lock = nsi_lease_lock(net.run, NET_LOCK_TIMEOUT_MS);
		if (lock < 0)
			die(-lock, "cannot lock " NSI_RUN_DIR "/net.lock: %s", strerror(-lock));
		/* The module calls us only without a live set: what is there is left over. */
		if (nsi_net_leftovers(net.run, uid)) {
			r = end_lease(net.run, uid, msg, sizeof(msg));
			if (r < 0)
				die(-r, "removing what an earlier set left: %s", msg);
		}
		if (s->network.mode == NSI_NET_VETH)
			lease_one(s, uid);
	}
	if (s->network.mode == NSI_NET_VETH) {
		net.host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (net.host_ns < 0)
			die(errno, "/proc/self/ns/net: %m");
	}
	if (s->network.ndns > 0)
		stage_resolv(s, uid);
	caps_effective(NULL, 0);
}

static void rtnl_open_or_die(struct rtnl *r)
{
	int e = rtnl_open(r);

	if (e < 0)
		die(-e, "rtnetlink: %s", strerror(-e));
}

/* The link NAME (index IDX): IPv6 off, ADDR/30 on it, up. */
static void address_link(struct rtnl *r, const char *name, unsigned idx, uint32_t addr)
{
	int e, v6 = ipv6_off(name);

	if (v6 < 0)
		die(-v6, "disable_ipv6 on %s: %s", name, strerror(-v6));
	e = addr_add(r, idx, addr, 30);
	if (e < 0)
		die(-e, "address on %s: %s", name, strerror(-e));
	e = link_up(r, idx, v6 > 0);
	if (e < 0)
		die(-e, "%s up: %s", name, strerror(-e));
}

/* Host side of the pair, while in the host's network namespace. */
static void setup_host_end(const struct nsi_lease *l, int set_ns)
{
	struct rtnl r = { 0 };
	unsigned idx;
	int e;

	rtnl_open_or_die(&r);
	e = veth_create(&r, l->link, SESSION_IF, set_ns);
	if (e == -EEXIST) {
		/* A link of this uid's earlier set, still being torn down: ours to remove. */
		(void)link_delete(&r, l->link);
		e = veth_create(&r, l->link, SESSION_IF, set_ns);
	}
	if (e < 0)
		die(-e, "creating veth pair %s: %s", l->link, strerror(-e));
	idx = if_nametoindex(l->link);
	if (!idx)
		die(errno, "link %s: %m", l->link);
	address_link(&r, l->link, idx, l->net + 1);
	rtnl_close(&r);
}

static void setup_set_end(const struct nsi_lease *l)
{
	struct rtnl r = { 0 };
	unsigned idx;
	int e;

	rtnl_open_or_die(&r);
	idx = if_nametoindex(SESSION_IF);
	if (!idx)
		die(errno, SESSION_IF " in the set: %m");
	address_link(&r, SESSION_IF, idx, l->net + 2);
	e = route_default(&r, idx, l->net + 1);
	if (e < 0)
		die(-e, "default route in the set: %s", strerror(-e));
	rtnl_close(&r);
}

/*
 * Over /etc/resolv.conf of the set. When it is a symlink, the mount goes on
 * the link itself, so nothing it points to is followed; a kernel that
 * refuses that gets the link's target, reached through root-owned
 * directories only (nsi_walk_root).
 */
static void attach_resolv(void)
{
	_cleanup_close_ int etc = -1, target = -1;
	char why[512];
	struct stat st;
	int r;

	etc = nsi_walk_root("/etc", NSI_WALK_DIR, why, sizeof(why));
	if (etc < 0)
		die(-etc, "network.dns: %s", why);
	target = openat(etc, "resolv.conf", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0 && errno == ENOENT)
		die(ENOENT,
		    "network.dns: /etc/resolv.conf does not exist on this host, so there is "
		    "nothing to mount the session's resolver list over");
	if (target < 0 || fstat(target, &st) < 0)
		die(errno, "network.dns: /etc/resolv.conf: %m");
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		die(EINVAL, "network.dns: /etc/resolv.conf is not a file");
	r = mountfd_attach(net.resolv_tree, target);
	if (r == 0)
		goto done;
	if (!S_ISLNK(st.st_mode))
		die(-r, "network.dns: mount over /etc/resolv.conf: %s", strerror(-r));
	nsi_closep(&target);
	target = nsi_walk_root("/etc/resolv.conf", NSI_WALK_FOLLOW_LAST, why, sizeof(why));
	if (target < 0)
		die(-target, "network.dns: %s", why);
	if (fstat(target, &st) < 0 || !S_ISREG(st.st_mode))
		die(EINVAL, "network.dns: /etc/resolv.conf does not lead to a regular file");
	r = mountfd_attach(net.resolv_tree, target);
	if (r < 0)
		die(-r, "network.dns: mount over the target of /etc/resolv.conf: %s", strerror(-r));
done:
	nsi_closep(&net.resolv_tree);
	net.resolv_tree = -1;
	/* Mounted: the name can go (only after attaching, the kernel insists). */
	(void)unlinkat(net.run, net.resolv_name, 0);
}

void net_setup(const struct nsi_settings *s, uid_t uid)
{
	_cleanup_close_ int set_ns = -1;

	(void)uid;
	if (!net.leased && net.resolv_tree < 0) {
		nsi_closep(&net.run);
		net.run = -1;
		return;
	}
	caps_effective(net_caps, (int)NSI_ARRAY_SIZE(net_caps));
	if (net.leased && s->network.mode == NSI_NET_VETH) {
		set_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (set_ns < 0)
			die(errno, "/proc/self/ns/net: %m");
		/* Into the host's network namespace for its end only, then back. */
		if (setns(net.host_ns, CLONE_NEWNET) < 0)
			die(errno, "setns to the host network: %m");
		setup_host_end(&net.lease, set_ns);
		if (setns(set_ns, CLONE_NEWNET) < 0)
			die(errno, "setns back to the set's network: %m");
		setup_set_end(&net.lease);
		nsi_closep(&net.host_ns);
		net.host_ns = -1;
	}
	if (net.resolv_tree >= 0)
		attach_resolv();
	/* Nothing of the host's is left open for the keeper, forked next. */
	nsi_closep(&net.run);
	net.run = -1;
	caps_effective(NULL, 0);
}

/*
 * Is the keeper of UID's recorded set still running? A zombie is not
 * (nsi_proc_start says so); a state that cannot be read counts as alive, so
 * nothing of a set is removed on a guess.
 */
static bool set_alive(int run, uid_t uid)
{
	_cleanup_free_ struct nsi_state *st = calloc(1, sizeof(*st));
	int r, fd;

	if (!st)
		return true;
	r = nsi_state_read(run, uid, st);
	if (r == -ENOENT)
		return false;
	if (r < 0)
		return true;
	/* A zombie keeper (killed, not reaped yet) is dead: nsi_pin_process says so. */
	fd = nsi_pin_process(st->keeper_pid, st->keeper_start);
	if (fd == -ESRCH)
		return false;
	if (fd >= 0)
		close(fd);
	return true;
}

int net_teardown(uid_t uid, char *why, size_t whylen)
{
	_cleanup_close_ int run = -1, lock = -1;

	run = nsi_run_dir_open();
	if (run < 0) {
		snprintf(why, whylen, NSI_RUN_DIR ": %s", strerror(-run));
		return run;
	}
	if (set_alive(run, uid)) {
		snprintf(why, whylen, "the set of uid %u is still running", (unsigned)uid);
		return -EBUSY;
	}
	lock = nsi_lease_lock(run, NET_LOCK_TIMEOUT_MS);
	if (lock < 0) {
		snprintf(why, whylen, "cannot lock " NSI_RUN_DIR "/net.lock: %s", strerror(-lock));
		return lock;
	}
	return end_lease(run, uid, why, whylen);
}
