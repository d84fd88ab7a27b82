/* zts-bench: 64-byte datagrams. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zts.h>

#include "workloads.h"

/* ------------------------------------------------------------------ */
/* udp: 64-byte datagrams.                                             */

struct udp_arg {
    const struct ops *o;
    int fd;
    struct sockaddr_in to;
    atomic_int *stop;
    atomic_ullong count;
    unsigned long long soft_errs;
    int err;
    const char *call;
};

static void *udp_send(void *arg)
{
    struct udp_arg *a = arg;
    while (!atomic_load(a->stop)) {
        ssize_t n = a->o->sendto(a->fd, payload, UDP_SIZE, 0, (struct sockaddr *)&a->to,
                                 sizeof a->to);
        if (n == UDP_SIZE) {
            atomic_fetch_add_explicit(&a->count, 1, memory_order_relaxed);
        } else if (n < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
            a->soft_errs++; /* a full queue: try again */
        } else {
            a->err = n < 0 ? errno : EMSGSIZE;
            a->call = "sendto (udp)";
            break;
        }
    }
    return NULL;
}

static void *udp_recv(void *arg)
{
    struct udp_arg *a = arg;
    char buf[2048];
    while (!atomic_load(a->stop)) {
        struct pollfd p = {a->fd, POLLIN, 0};
        int r = a->o->poll(&p, 1, 100);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            a->err = errno;
            a->call = "poll (udp)";
            break;
        }
        if (r == 0)
            continue;
        for (;;) {
            ssize_t n = a->o->recvfrom(a->fd, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    a->err = errno;
                    a->call = "recvfrom (udp)";
                }
                break;
            }
            atomic_fetch_add_explicit(&a->count, 1, memory_order_relaxed);
        }
        if (a->err)
            break;
    }
    return NULL;
}

/* out: received/s, sent/s */
void udp_run(const struct env *e, double out[2])
{
    const struct ops *o = e->o;
    out[0] = out[1] = NAN;
    struct sockaddr_in to;
    int rfd = server_socket(e, SOCK_DGRAM, 0, &to);
    if (rfd < 0)
        return;
    int sfd = o->socket(e->cnode, AF_INET, SOCK_DGRAM, 0);
    if (sfd < 0) {
        failed(o, "socket (udp)", errno);
        o->close(rfd);
        return;
    }
    set_timeouts(o, sfd);
    atomic_int stop = 0;
    struct udp_arg rx = {.o = o, .fd = rfd, .stop = &stop};
    struct udp_arg tx = {.o = o, .fd = sfd, .to = to, .stop = &stop};
    pthread_t tr, ts;
    if (pthread_create(&tr, NULL, udp_recv, &rx) != 0) {
        failed(o, "pthread_create", errno);
        goto close;
    }
    if (pthread_create(&ts, NULL, udp_send, &tx) != 0) {
        failed(o, "pthread_create", errno);
        atomic_store(&stop, 1);
        pthread_join(tr, NULL);
        goto close;
    }
    sleep_s(g_warmup);
    double t0 = now_s();
    unsigned long long r0 = atomic_load(&rx.count), s0 = atomic_load(&tx.count);
    sleep_s(g_window);
    double t1 = now_s();
    unsigned long long r1 = atomic_load(&rx.count), s1 = atomic_load(&tx.count);
    atomic_store(&stop, 1);
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    out[0] = (double)(r1 - r0) / (t1 - t0);
    out[1] = (double)(s1 - s0) / (t1 - t0);
    if (tx.err) {
        failed(o, tx.call, tx.err);
        out[0] = out[1] = NAN;
    }
    if (rx.err) {
        failed(o, rx.call, rx.err);
        out[0] = out[1] = NAN;
    }
    if (tx.soft_errs)
        fprintf(stderr, "zts-bench: %s (%s): sendto returned ENOBUFS/EAGAIN %llu times\n",
                g_row, o->name, tx.soft_errs);
close:
    o->close(sfd);
    o->close(rfd);
}
