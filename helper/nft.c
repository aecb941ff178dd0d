// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The nft rules of a veth set, in the project's own "table inet nsisolate",
 * sent as one nfnetlink batch with libnftnl (no nft binary at run time). Each
 * set has its own base chains, named after its host link, so that teardown
 * removes exactly those:
 *
 *	chain nsiU_in  { type filter hook input priority filter; policy accept;
 *		iifname "nsiU" ct state established,related accept
 *		iifname "nsiU" drop }			(host_access = false)
 *	chain nsiU_fwd { type filter hook forward priority filter; policy accept;
 *		iifname "nsiU" oifname "nsi*" drop	(never to another set)
 *		iifname "nsiU" drop			(nat = false: nothing leaves)
 *		oifname "nsiU" ct state established,related accept
 *		oifname "nsiU" drop }			(no one else opens a connection in)
 *	chain nsiU_nat { type nat hook postrouting priority srcnat; policy accept;
 *		iifname "nsiU" masquerade }		(nat = true)
 *
 * A drop in any base chain is final, so these chains only ever take away:
 * the host's own firewall still applies on top. Traffic the host itself
 * sends into the set (output hook) is never filtered here, so the host can
 * reach services inside, and their replies come back as established.
 * Runs in the host's network namespace with CAP_NET_ADMIN.
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "cleanup.h"
#include "netns.h"

#define TABLE "nsisolate"
#define BATCH_LIMIT 8192
#define NL_BUF_SIZE 8192

static const struct {
	unsigned bit;
	const char *suffix;
	const char *type;
	unsigned hook;
	int prio;
} chain_defs[] = {
	{ NSI_CHAIN_IN, "in", "filter", NF_INET_LOCAL_IN, 0 },
	{ NSI_CHAIN_FWD, "fwd", "filter", NF_INET_FORWARD, 0 },
	{ NSI_CHAIN_NAT, "nat", "nat", NF_INET_POST_ROUTING, 100 },
};

struct batch {
	char buf[2 * BATCH_LIMIT];
	struct mnl_nlmsg_batch *b;
	uint32_t seq, first_seq;
	unsigned nmsg;
	bool oom;
	const char *what[32]; /* per message, for the error text */
};

unsigned nft_chains_for(bool host_access, bool nat)
{
	return (host_access ? 0 : NSI_CHAIN_IN) | NSI_CHAIN_FWD | (nat ? NSI_CHAIN_NAT : 0);
}

static void chain_name(const struct nsi_lease *l, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s_%s", l->link, suffix);
}

static void batch_init(struct batch *bt)
{
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_LIMIT);
	bt->seq = (uint32_t)time(NULL);
	bt->first_seq = bt->seq;
	bt->nmsg = 0;
	bt->oom = !bt->b;
	if (bt->b) {
		nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
		mnl_nlmsg_batch_next(bt->b);
	}
}

static struct nlmsghdr *batch_hdr(struct batch *bt, uint16_t type, uint16_t flags, const char *what)
{
	struct nlmsghdr *nlh;

	if (bt->oom || bt->nmsg >= NSI_ARRAY_SIZE(bt->what)) {
		bt->oom = true;
		return NULL;
	}
	bt->what[bt->nmsg++] = what;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET,
				    flags | NLM_F_ACK, bt->seq++);
	return nlh;
}

static void batch_next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->oom = true; /* past BATCH_LIMIT: never for a handful of messages */
}

/*
 * One nfnetlink socket for every batch, closed by nft_close(). Closing a
 * socket after a batch that deleted something waits for nf_tables' destroy
 * work, i.e. an RCU grace period (about 20 ms here): the caller does its
 * other slow work (deleting the link) first, and the wait overlaps it.
 */
static struct mnl_socket *sock;

void nft_close(void)
{
	if (sock)
		mnl_socket_close(sock);
	sock = NULL;
}

/*
 * Send the batch and read every answer. nfnetlink runs a batch inside
 * sendmsg(), so all acks and errors are queued when it returns; a batch is
 * applied whole or not at all. Returns 0 or the first error, naming it.
 */
static int batch_send(struct batch *bt, char *why, size_t whylen)
{
	struct mnl_socket *nl = NULL;
	char rbuf[NL_BUF_SIZE];
	int err = 0, acks = 0;
	const char *what = "nft batch";

	if (bt->oom) {
		if (bt->b)
			mnl_nlmsg_batch_stop(bt->b);
		snprintf(why, whylen, "nft: batch too large or out of memory");
		return -ENOMEM;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);

	if (!sock) {
		sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
		if (sock && mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
			nft_close();
		if (!sock) {
			err = -errno;
			goto out;
		}
	}
	nl = sock;
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(nl), rbuf, sizeof(rbuf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && !err)
				err = -errno;
			break;
		}
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (e->error == 0) {
				acks++;
			} else if (!err) {
				uint32_t i = nlh->nlmsg_seq - bt->first_seq - 1;

				err = e->error;
				if (i < bt->nmsg)
					what = bt->what[i];
			}
		}
	}
	if (!err && acks < (int)bt->nmsg)
		err = -EPROTO;
out:
	if (err)
		snprintf(why, whylen, "nft: %s: %s", what, strerror(-err));
	mnl_nlmsg_batch_stop(bt->b);
	return err;
}

static void put_table(struct batch *bt, uint16_t type, uint16_t flags, const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		bt->oom = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = batch_hdr(bt, type, flags, what);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_next(bt);
	}
	nftnl_table_free(t);
}

static void put_chain(struct batch *bt, const struct nsi_lease *l, size_t def, uint16_t type,
		      uint16_t flags, const char *what)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	char name[64];

	if (!c) {
		bt->oom = true;
		return;
	}
	chain_name(l, chain_defs[def].suffix, name, sizeof(name));
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (type == NFT_MSG_NEWCHAIN) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, chain_defs[def].type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, chain_defs[def].hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, chain_defs[def].prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = batch_hdr(bt, type, flags, what);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_next(bt);
	}
	nftnl_chain_free(c);
}

/* Every rule of the chain: a DELRULE naming only table and chain. */
static void put_flush(struct batch *bt, const struct nsi_lease *l, size_t def, const char *what)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	char name[64];

	if (!r) {
		bt->oom = true;
		return;
	}
	chain_name(l, chain_defs[def].suffix, name, sizeof(name));
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nlh = batch_hdr(bt, NFT_MSG_DELRULE, 0, what);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_next(bt);
	}
	nftnl_rule_free(r);
}

/* ---- rule building blocks ---- */

static bool add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

/* meta iifname/oifname == NAME; PREFIX: only the first strlen(NAME) bytes ("nsi*"). */
static bool match_ifname(struct nftnl_rule *r, unsigned key, const char *name, bool prefix)
{
	struct nftnl_expr *meta = nftnl_expr_alloc("meta"), *cmp;
	char data[IFNAMSIZ] = { 0 };

	if (!add_expr(r, meta))
		return false;
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
	cmp = nftnl_expr_alloc("cmp");
	if (!add_expr(r, cmp))
		return false;
	/* A full name compares all IFNAMSIZ bytes, NUL padding included, as nft does. */
	strncpy(data, name, sizeof(data) - 1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, data, prefix ? (uint32_t)strlen(name) : IFNAMSIZ);
	return true;
}

/* ct state established,related */
static bool match_established(struct nftnl_rule *r)
{
	const uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
	const uint32_t zero = 0;
	struct nftnl_expr *ct = nftnl_expr_alloc("ct"), *bw, *cmp;

	if (!add_expr(r, ct))
		return false;
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	bw = nftnl_expr_alloc("bitwise");
	if (!add_expr(r, bw))
		return false;
	nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	cmp = nftnl_expr_alloc("cmp");
	if (!add_expr(r, cmp))
		return false;
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ);
	nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, &zero, sizeof(zero));
	return true;
}

static bool verdict(struct nftnl_rule *r, int v)
{
	struct nftnl_expr *imm = nftnl_expr_alloc("immediate");

	if (!add_expr(r, imm))
		return false;
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	return true;
}

enum rule_kind {
	R_IN_ESTABLISHED, /* iifname L ct state established,related accept */
	R_IN_DROP, /* iifname L drop */
	R_TO_OTHER_SET, /* iifname L oifname "nsi*" drop */
	R_OUT_ESTABLISHED, /* oifname L ct state established,related accept */
	R_OUT_DROP, /* oifname L drop */
	R_MASQ, /* iifname L masquerade */
};

static void put_rule(struct batch *bt, const struct nsi_lease *l, size_t def, enum rule_kind k)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	char name[64];
	bool ok = true;

	if (!r) {
		bt->oom = true;
		return;
	}
	chain_name(l, chain_defs[def].suffix, name, sizeof(name));
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	switch (k) {
	case R_IN_ESTABLISHED:
		ok = match_ifname(r, NFT_META_IIFNAME, l->link, false) && match_established(r) &&
		     verdict(r, NF_ACCEPT);
		break;
	case R_IN_DROP:
		ok = match_ifname(r, NFT_META_IIFNAME, l->link, false) && verdict(r, NF_DROP);
		break;
	case R_TO_OTHER_SET:
		ok = match_ifname(r, NFT_META_IIFNAME, l->link, false) &&
		     match_ifname(r, NFT_META_OIFNAME, NSI_LINK_PREFIX, true) &&
		     verdict(r, NF_DROP);
		break;
	case R_OUT_ESTABLISHED:
		ok = match_ifname(r, NFT_META_OIFNAME, l->link, false) && match_established(r) &&
		     verdict(r, NF_ACCEPT);
		break;
	case R_OUT_DROP:
		ok = match_ifname(r, NFT_META_OIFNAME, l->link, false) && verdict(r, NF_DROP);
		break;
	case R_MASQ:
		ok = match_ifname(r, NFT_META_IIFNAME, l->link, false) &&
		     add_expr(r, nftnl_expr_alloc("masq"));
		break;
	}
	nlh = ok ? batch_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, "add rule") : NULL;
	if (!ok)
		bt->oom = true;
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_next(bt);
	}
	nftnl_rule_free(r);
}

int nft_add_set(const struct nsi_lease *l, bool host_access, bool nat, char *why, size_t whylen)
{
	static struct batch bt;
	unsigned chains = nft_chains_for(host_access, nat);

	batch_init(&bt);
	/* Idempotent: the table may exist; a chain left by a crash is emptied first. */
	put_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table inet " TABLE);
	for (size_t i = 0; i < NSI_ARRAY_SIZE(chain_defs); i++) {
		if (!(chains & chain_defs[i].bit))
			continue;
		put_chain(&bt, l, i, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "add chain");
		put_flush(&bt, l, i, "flush chain");
		switch (chain_defs[i].bit) {
		case NSI_CHAIN_IN:
			put_rule(&bt, l, i, R_IN_ESTABLISHED);
			put_rule(&bt, l, i, R_IN_DROP);
			break;
		case NSI_CHAIN_FWD:
			put_rule(&bt, l, i, R_TO_OTHER_SET);
			if (!nat)
				put_rule(&bt, l, i, R_IN_DROP);
			put_rule(&bt, l, i, R_OUT_ESTABLISHED);
			put_rule(&bt, l, i, R_OUT_DROP);
			break;
		case NSI_CHAIN_NAT:
			put_rule(&bt, l, i, R_MASQ);
			break;
		default:
			break;
		}
	}
	return batch_send(&bt, why, whylen);
}

/* One chain per batch: a missing one (ENOENT) is already gone. */
static int del_chain(const struct nsi_lease *l, size_t def, char *why, size_t whylen)
{
	static struct batch bt;
	int r;

	batch_init(&bt);
	put_flush(&bt, l, def, "flush chain");
	put_chain(&bt, l, def, NFT_MSG_DELCHAIN, 0, "delete chain");
	r = batch_send(&bt, why, whylen);
	return r == -ENOENT ? 0 : r;
}

int nft_del_set(const struct nsi_lease *l, char *why, size_t whylen)
{
	static struct batch bt;
	int r;

	if (!l->chains)
		return 0;
	/* All at once; if one is missing, the batch fails whole: then one by one. */
	batch_init(&bt);
	for (size_t i = 0; i < NSI_ARRAY_SIZE(chain_defs); i++)
		if (l->chains & chain_defs[i].bit) {
			put_flush(&bt, l, i, "flush chain");
			put_chain(&bt, l, i, NFT_MSG_DELCHAIN, 0, "delete chain");
		}
	r = batch_send(&bt, why, whylen);
	if (r != -ENOENT)
		return r;
	for (size_t i = 0; i < NSI_ARRAY_SIZE(chain_defs); i++)
		if (l->chains & chain_defs[i].bit) {
			r = del_chain(l, i, why, whylen);
			if (r < 0)
				return r;
		}
	return 0;
}

int nft_del_table(char *why, size_t whylen)
{
	static struct batch bt;
	int r;

	batch_init(&bt);
	put_table(&bt, NFT_MSG_DELTABLE, 0, "delete table inet " TABLE);
	r = batch_send(&bt, why, whylen);
	return r == -ENOENT ? 0 : r;
}
