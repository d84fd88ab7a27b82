/* The linux_peer_loss_1 rows: the Linux kernel as zts's TCP peer across a
 * VXLAN overlay that loses 1% of its datagrams each way, 32 MiB one way
 * and then the other, timed from the first write to the receiver's end
 * of stream. The reference is the kernel on both ends of the same kind of
 * overlay through the same drops: two namespaces (loss.c), a veth pair
 * between them as the underlay, iptables dropping 1% of arriving VXLAN
 * datagrams in each, and a kernel vxlan device in each (MTU 1450). zts's
 * node takes the place of one of them, its overlay socket bound in that
 * namespace. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zts.h>

#include "workloads.h"

#define PEER_BYTES (32u << 20)
#define VXLAN_URI "vxlan://10.99.0.2:4789?vni=42&peer=10.99.0.1:4789&mtu=1450"

struct sender {
    const struct ops *o;
    int fd, err;
};

static void *send_all(void *arg)
{
    struct sender *s = arg;
    size_t left = PEER_BYTES;
    while (left) {
        size_t n = left < MAX_BULK ? left : MAX_BULK;
        ssize_t w = s->o->write(s->fd, payload, n);
        if (w <= 0) {
            s->err = errno;
            break;
        }
        left -= (size_t)w;
    }
    s->o->shutdown(s->fd, SHUT_WR);
    return NULL;
}

/* Seconds from the first write on `sfd` to end of stream on `rfd`, every
 * byte counted; NaN on any failure. */
static double timed_transfer(const struct ops *so, int sfd, const struct ops *ro, int rfd)
{
    static char buf[MAX_BULK];
    struct sender s = {so, sfd, 0};
    pthread_t t;
    double t0 = now_s();
    if (pthread_create(&t, NULL, send_all, &s) != 0)
        return NAN;
    size_t got = 0;
    int rerr = 0;
    for (;;) {
        ssize_t n = ro->read(rfd, buf, sizeof buf);
        if (n <= 0) {
            rerr = n < 0 ? errno : 0;
            break;
        }
        got += (size_t)n;
    }
    double secs = now_s() - t0;
    pthread_join(t, NULL);
    if (s.err)
        failed(so, "write (linux peer)", s.err);
    if (rerr)
        failed(ro, "read (linux peer)", rerr);
    return s.err || rerr || got != PEER_BYTES ? NAN : secs;
}

/* A connected pair: a listener made by (lo, lnode) on `at`, dialled by
 * (co, cnode). */
static int peer_pair(const struct ops *lo, int lnode, const struct sockaddr_in *at,
                     const struct ops *co, int cnode, int *server, int *client)
{
    int l = lo->socket(lnode, AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (l < 0)
        return -1;
    lo->setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lo->bind(l, (const struct sockaddr *)at, sizeof *at) < 0 || lo->listen(l, 1) < 0) {
        failed(lo, "bind/listen (linux peer)", errno);
        lo->close(l);
        return -1;
    }
    *client = client_connect(co, cnode, at, 1);
    *server = *client < 0 ? -1 : lo->accept(l, NULL, NULL);
    lo->close(l);
    if (*server < 0) {
        if (*client >= 0)
            co->close(*client);
        return -1;
    }
    set_timeouts(lo, *server);
    return 0;
}

/* Both directions between (ao, anode) at 10.200.0.1 and (bo, bnode):
 * out[0] a to b, out[1] b to a, seconds. */
static void both_directions(const struct ops *ao, int anode, const struct ops *bo, int bnode,
                            double out[2])
{
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(5201)};
    inet_pton(AF_INET, "10.200.0.1", &at.sin_addr);
    int s, c;
    out[0] = out[1] = NAN;
    /* a listens and sends; then b is dialled and sends back. */
    if (peer_pair(ao, anode, &at, bo, bnode, &s, &c) == 0) {
        out[0] = timed_transfer(ao, s, bo, c);
        ao->close(s);
        bo->close(c);
    }
    at.sin_port = htons(5202);
    if (peer_pair(ao, anode, &at, bo, bnode, &s, &c) == 0) {
        out[1] = timed_transfer(bo, c, ao, s);
        ao->close(s);
        bo->close(c);
    }
}

/* A zts node on the overlay, its socket bound inside the namespace `nsfd`. */
static int zts_node_in(int nsfd)
{
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
        if (home >= 0)
            close(home);
        return -1;
    }
    int node = zts_node_up(VXLAN_URI, "10.200.0.2/24");
    if (setns(home, CLONE_NEWNET) < 0) {
        perror("zts-bench: setns back");
        abort();
    }
    close(home);
    return node;
}

void linux_peer_run(double kernel[2], double zts[2], char *why, size_t whylen)
{
    struct env e;
    kernel[0] = kernel[1] = zts[0] = zts[1] = NAN;
    if (overlay_env_kernel(&e, 0.01, why, whylen) < 0)
        return;
    both_directions(&KERNEL, e.snode, &KERNEL, e.cnode, kernel);
    if (overlay_env_drop_client_vxlan() == 0) {
        int node = zts_node_in(e.cnode);
        if (node >= 0) {
            both_directions(&KERNEL, e.snode, &ZTS, node, zts);
            report_drops(node, "linux peer");
            zts_node_free(node);
        }
    }
    loss_env_free(&e);
}
