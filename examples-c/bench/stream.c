/* zts-bench: TCP workloads: bulk flows, request/response, connect/request/close. */
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
/* bulk / bulk8: flows of 64 KiB writes.                               */

struct flow {
    const struct ops *o;
    size_t size; /* per write and per read */
    int c, s;
    atomic_ullong rx;
    atomic_int *stop;
    int snd_err, rcv_err;
    pthread_t ts, tr;
};

static void *flow_send(void *arg)
{
    struct flow *f = arg;
    while (!atomic_load(f->stop)) {
        if (f->o->write(f->c, payload, f->size) < 0) {
            if (!atomic_load(f->stop))
                f->snd_err = errno;
            break;
        }
    }
    f->o->shutdown(f->c, SHUT_WR);
    return NULL;
}

static void *flow_recv(void *arg)
{
    struct flow *f = arg;
    char *buf = malloc(f->size);
    if (!buf) {
        f->rcv_err = ENOMEM;
        return NULL;
    }
    for (;;) {
        ssize_t n = f->o->read(f->s, buf, f->size);
        if (n > 0) {
            atomic_fetch_add(&f->rx, (unsigned long long)n);
        } else {
            if (n < 0)
                f->rcv_err = errno;
            break;
        }
    }
    free(buf);
    return NULL;
}

static unsigned long long flows_rx(struct flow *f, int n)
{
    unsigned long long sum = 0;
    for (int i = 0; i < n; i++)
        sum += atomic_load(&f[i].rx);
    return sum;
}

/* `nflows` flows from the client node to the server node; the aggregate
 * Gbit/s the receivers saw during the window. */
double bulk_run(const struct env *e, int nflows)
{
    const struct ops *o = e->o;
    struct sockaddr_in to;
    int lfd = server_socket(e, SOCK_STREAM, 64, &to);
    if (lfd < 0)
        return NAN;
    struct flow *f = calloc((size_t)nflows, sizeof *f);
    atomic_int stop = 0;
    int opened = 0, started = 0;
    double gbps = NAN;
    if (!f)
        goto out;
    for (; opened < nflows; opened++) {
        f[opened].o = o;
        f[opened].size = nflows > 1 ? o->bulk8 : o->bulk1;
        f[opened].stop = &stop;
        if (open_pair(e, lfd, &to, &f[opened].c, &f[opened].s) < 0)
            goto out;
    }
    for (; started < nflows; started++) {
        if (pthread_create(&f[started].tr, NULL, flow_recv, &f[started]) != 0)
            goto out;
        if (pthread_create(&f[started].ts, NULL, flow_send, &f[started]) != 0) {
            atomic_store(&stop, 1);
            o->shutdown(f[started].c, SHUT_WR);
            pthread_join(f[started].tr, NULL);
            goto out;
        }
    }
    sleep_s(g_warmup);
    double t0 = now_s();
    unsigned long long b0 = flows_rx(f, nflows);
    sleep_s(g_window);
    double t1 = now_s();
    unsigned long long b1 = flows_rx(f, nflows);
    gbps = (double)(b1 - b0) * 8 / (t1 - t0) / 1e9;
out:
    atomic_store(&stop, 1);
    for (int i = 0; i < started; i++) {
        pthread_join(f[i].ts, NULL);
        pthread_join(f[i].tr, NULL);
        if (f[i].snd_err) {
            failed(o, "write (bulk sender)", f[i].snd_err);
            gbps = NAN;
        }
        if (f[i].rcv_err) {
            failed(o, "read (bulk receiver)", f[i].rcv_err);
            gbps = NAN;
        }
    }
    for (int i = 0; i < opened; i++) {
        o->close(f[i].c);
        o->close(f[i].s);
    }
    if (started < opened)
        gbps = NAN;
    free(f);
    o->close(lfd);
    return gbps;
}

/* ------------------------------------------------------------------ */
/* rr: 1-byte request/response.                                        */

struct echo_arg {
    const struct ops *o;
    int fd;
    int err;
};

static void *echo_1byte(void *arg)
{
    struct echo_arg *a = arg;
    char b;
    for (;;) {
        ssize_t n = a->o->read(a->fd, &b, 1);
        if (n <= 0) {
            if (n < 0)
                a->err = errno;
            break;
        }
        if (a->o->write(a->fd, &b, 1) != 1) {
            a->err = errno;
            break;
        }
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* out: round trips/s, p50 us, p99 us */
void rr_run(const struct env *e, double out[3])
{
    const struct ops *o = e->o;
    out[0] = out[1] = out[2] = NAN;
    struct sockaddr_in to;
    int lfd = server_socket(e, SOCK_STREAM, 8, &to);
    if (lfd < 0)
        return;
    int c, s;
    if (open_pair(e, lfd, &to, &c, &s) < 0) {
        o->close(lfd);
        return;
    }
    set_nodelay(o, c);
    set_nodelay(o, s);
    struct echo_arg ea = {o, s, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, echo_1byte, &ea) != 0) {
        failed(o, "pthread_create", errno);
        goto close;
    }
    size_t cap = 1 << 16, n = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    char b = 'r';
    int ok = lat != NULL;
    double warm_end = now_s() + g_warmup;
    while (ok && now_s() < warm_end) {
        if (o->write(c, &b, 1) != 1 || o->read(c, &b, 1) != 1) {
            failed(o, "write/read (rr warm-up)", errno);
            ok = 0;
        }
    }
    uint64_t start = now_ns(), end = start + (uint64_t)(g_window * 1e9), t1 = start;
    while (ok && t1 < end) {
        uint64_t t0 = t1;
        if (o->write(c, &b, 1) != 1) {
            failed(o, "write (rr)", errno);
            ok = 0;
            break;
        }
        ssize_t r = o->read(c, &b, 1);
        if (r != 1) {
            failed(o, "read (rr)", r == 0 ? EPIPE : errno);
            ok = 0;
            break;
        }
        t1 = now_ns();
        if (n == cap) {
            uint64_t *more = realloc(lat, 2 * cap * sizeof *lat);
            if (!more) {
                ok = 0;
                break;
            }
            lat = more;
            cap *= 2;
        }
        lat[n++] = t1 - t0;
    }
    if (ok && n > 0) {
        qsort(lat, n, sizeof *lat, cmp_u64);
        out[0] = (double)n / ((double)(t1 - start) * 1e-9);
        out[1] = (double)lat[n / 2] / 1e3;
        out[2] = (double)lat[(size_t)((double)n * 0.99)] / 1e3;
    }
    free(lat);
    o->shutdown(c, SHUT_WR);
    pthread_join(t, NULL);
    if (ea.err) {
        failed(o, "read/write (rr echo)", ea.err);
        out[0] = out[1] = out[2] = NAN;
    }
close:
    o->close(c);
    o->close(s);
    o->close(lfd);
}

/* ------------------------------------------------------------------ */
/* crr: connect, request, response, close.                             */

struct crr_server {
    const struct ops *o;
    int lfd;
    int err;
    const char *call;
    long served;
};

static void *crr_serve(void *arg)
{
    struct crr_server *a = arg;
    const struct ops *o = a->o;
    char b, sink[64];
    for (;;) {
        int s = o->accept(a->lfd, NULL, NULL);
        if (s < 0) {
            a->err = errno;
            a->call = "accept (crr)";
            break;
        }
        set_nodelay(o, s);
        ssize_t n = o->read(s, &b, 1);
        if (n != 1) {
            a->err = n == 0 ? EPIPE : errno;
            a->call = "read (crr server)";
            o->close(s);
            break;
        }
        if (b == 'Q') {
            o->close(s);
            break;
        }
        if (o->write(s, &b, 1) != 1) {
            a->err = errno;
            a->call = "write (crr server)";
            o->close(s);
            break;
        }
        /* Wait for the client's close, as netperf's TCP_CRR does. */
        while ((n = o->read(s, sink, sizeof sink)) > 0)
            ;
        o->close(s);
        a->served++;
    }
    return NULL;
}

double crr_run(const struct env *e)
{
    const struct ops *o = e->o;
    struct sockaddr_in to;
    int lfd = server_socket(e, SOCK_STREAM, 128, &to);
    if (lfd < 0)
        return NAN;
    struct crr_server sv = {o, lfd, 0, NULL, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, crr_serve, &sv) != 0) {
        failed(o, "pthread_create", errno);
        o->close(lfd);
        return NAN;
    }
    double rate = NAN;
    long count = 0;
    int ok = 1;
    double warm_end = now_s() + g_warmup, t0 = 0, t1 = now_s();
    int warm = 1;
    for (;;) {
        if (warm && t1 >= warm_end) {
            warm = 0;
            count = 0;
            t0 = t1;
        }
        if (!warm && t1 - t0 >= g_window)
            break;
        int c = client_connect(o, e->cnode, &to, 1);
        if (c < 0) {
            ok = 0;
            break;
        }
        set_nodelay(o, c);
        char b = 'x';
        if (o->write(c, &b, 1) != 1) {
            failed(o, "write (crr client)", errno);
            o->close(c);
            ok = 0;
            break;
        }
        ssize_t n = o->read(c, &b, 1);
        if (n != 1) {
            failed(o, "read (crr client)", n == 0 ? EPIPE : errno);
            o->close(c);
            ok = 0;
            break;
        }
        o->close(c);
        count++;
        t1 = now_s();
    }
    if (ok)
        rate = (double)count / (t1 - t0);
    /* Tell the server to stop. */
    int c = client_connect(o, e->cnode, &to, 1);
    if (c >= 0) {
        char q = 'Q';
        if (o->write(c, &q, 1) != 1)
            failed(o, "write (crr stop)", errno);
        o->close(c);
    } else {
        /* The server's accept times out (SO_RCVTIMEO) and ends it. */
    }
    pthread_join(t, NULL);
    if (sv.err && ok) {
        failed(o, sv.call, sv.err);
        rate = NAN;
    }
    o->close(lfd);
    return rate;
}
