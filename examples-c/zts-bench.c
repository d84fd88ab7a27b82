/* zts-bench: each workload twice, once on kernel sockets over loopback and
 * once on zts, through the same code; prints a table (or JSON with --json).
 *
 *   zts-bench [--json] [--quick] [--rows a,b,c] [--seconds S] [--conns N]
 *             [--repeat N] [--sweep] [--no-iperf3]
 *
 * Every workload is written once against `struct ops`, a table of socket
 * calls: KERNEL holds socket(2), connect(2), ... on 127.0.0.1, ZTS holds
 * zts_node_socket, zts_connect, ... on two nodes of an in-process network
 * `mem:bench-N?mtu=M` (10.N.0.1 serves, 10.N.0.2 is the client). Only the
 * table differs between the two runs of a row.
 *
 * Each side is driven as it does best, and the table says how: bulk flows
 * write and read each side's best size for one flow and for eight
 * (KERNEL.bulk1, .bulk8, ZTS's: chosen with --sweep); request/response and connect rows are blocking
 * calls, one thread per side, TCP_NODELAY on both. Where iperf3 is
 * installed it runs beside every bulk row with the kernel's write size, a
 * second opinion on the kernel column: a row whose kernel figure is more
 * than 10% from iperf3's is marked. --repeat N runs the whole table N
 * times and reports medians and ranges.
 *
 * Rows (ratio > 1 means zts is better: zts/kernel for rates, kernel/zts
 * for times, latencies and memory):
 *   bulk_mtu1500    one TCP flow, Gbit/s (zts at MTU 1500)
 *   bulk_mtu65535   the same at MTU 65535 (the kernel's loopback is 64 KiB:
 *                   this is the fair one)
 *   bulk8           eight parallel flows, aggregate Gbit/s (MTU 65535)
 *   rr              1-byte request/response with TCP_NODELAY, round trips/s;
 *                   rr_p50_us and rr_p99_us: the round trip's latency
 *   crr             connect, 1-byte request/response, close: per second
 *   scale           10,000 connections opened one after another and kept
 *                   established: connections per second while opening them;
 *                   scale_setup_s: seconds to open them all; scale_conns: how
 *                   many opened (the kernel may hit RLIMIT_NOFILE: both ends
 *                   live in this process, two fds per connection);
 *                   scale_rss_kib_per_conn: memory per idle connection (both
 *                   ends), the growth of this process's resident set plus the
 *                   growth of the kernel's slab caches, where kernel sockets
 *                   live (/proc/slabinfo, caches that grew; without root,
 *                   /proc/meminfo Slab), over the opening, divided by the
 *                   connections (zts's figure moves with how much of the
 *                   heap earlier rows left free: calloc clears reused memory,
 *                   so run `--rows scale` alone for the clean figure);
 *                   scale_bulk_none / scale_bulk_idle: one bulk
 *                   flow's Gbit/s with none / with the 10,000 idle connections
 *                   open (MTU 65535); scale_bulk_ratio: idle / none
 *   udp             64-byte datagrams per second received; udp_sent: sent/s
 *   overlay         one TCP flow between two OS processes, Gbit/s: zts over
 *                   its VXLAN overlay on 127.0.0.1 (MTU 1500), the kernel
 *                   over loopback TCP
 *
 * Each measurement is a fixed time window (--seconds, 2 s; 0.2 s with
 * --quick, which also opens 1,000 connections for scale instead of 10,000)
 * after a short warm-up (overlay: from connect to the child's count of
 * what arrived). Payloads are a constant, seeded pattern. The whole run
 * takes under two minutes on two cores; --quick a few seconds. Progress
 * goes to stderr, the table or JSON to stdout. A failed call is reported on stderr with the call and errno, its
 * figure is left empty (null in JSON) and the exit status is 1; a row that
 * stalls past its watchdog ends the program with status 3.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Iinclude examples-c/zts-bench.c \
 *      examples-c/bench/report.c examples-c/bench/iperf3.c \
 *      -o zts-bench -Ltarget/release -lzts -Wl,-rpath,$PWD/target/release -lm
 */
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

#include "bench/bench.h"

#define MAX_BULK (1 << 20)   /* the largest bulk write or read */
#define UDP_SIZE 64          /* udp datagram size */
#define IO_TIMEOUT_S 30      /* SO_RCVTIMEO / SO_SNDTIMEO on benchmark sockets */
#define OVERLAY_VNI 77

/* ------------------------------------------------------------------ */
/* The socket calls, once for the kernel and once for zts.             */

struct ops {
    const char *name;
    int (*socket)(int node, int domain, int type, int protocol);
    int (*bind)(int fd, const struct sockaddr *addr, socklen_t len);
    int (*listen)(int fd, int backlog);
    int (*accept)(int fd, struct sockaddr *addr, socklen_t *len);
    int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
    ssize_t (*read)(int fd, void *buf, size_t len);
    ssize_t (*write)(int fd, const void *buf, size_t len);
    ssize_t (*sendto)(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *addr, socklen_t alen);
    ssize_t (*recvfrom)(int fd, void *buf, size_t len, int flags,
                        struct sockaddr *addr, socklen_t *alen);
    int (*setsockopt)(int fd, int level, int name, const void *val, socklen_t len);
    int (*getsockname)(int fd, struct sockaddr *addr, socklen_t *len);
    int (*shutdown)(int fd, int how);
    int (*close)(int fd);
    int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout_ms);
    /* Bulk flows write and read this much per call: each side's best on
     * this machine for one flow and for eight (zts-bench --sweep). */
    size_t bulk1, bulk8;
};

/* glibc declares the sockaddr arguments as transparent unions under
 * _GNU_SOURCE, hence these thin wrappers. */
static int k_socket(int node, int d, int t, int p)
{
    (void)node;
    return socket(d, t, p);
}
static int k_bind(int fd, const struct sockaddr *a, socklen_t l) { return bind(fd, a, l); }
static int k_accept(int fd, struct sockaddr *a, socklen_t *l) { return accept(fd, a, l); }
static int k_connect(int fd, const struct sockaddr *a, socklen_t l) { return connect(fd, a, l); }
static ssize_t k_write(int fd, const void *b, size_t n) { return send(fd, b, n, MSG_NOSIGNAL); }
static ssize_t k_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a,
                        socklen_t l)
{
    return sendto(fd, b, n, f | MSG_NOSIGNAL, a, l);
}
static ssize_t k_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return recvfrom(fd, b, n, f, a, l);
}
static int k_getsockname(int fd, struct sockaddr *a, socklen_t *l) { return getsockname(fd, a, l); }

static struct ops KERNEL = {
    .name = "kernel",
    .socket = k_socket,
    .bind = k_bind,
    .listen = listen,
    .accept = k_accept,
    .connect = k_connect,
    .read = read,
    .write = k_write,
    .sendto = k_sendto,
    .recvfrom = k_recvfrom,
    .setsockopt = setsockopt,
    .getsockname = k_getsockname,
    .shutdown = shutdown,
    .close = close,
    .poll = poll,
    .bulk1 = 1 << 20,
    .bulk8 = 256 << 10,
};

static struct ops ZTS = {
    .name = "zts",
    .socket = zts_node_socket,
    .bind = zts_bind,
    .listen = zts_listen,
    .accept = zts_accept,
    .connect = zts_connect,
    .read = zts_read,
    .write = zts_write,
    .sendto = zts_sendto,
    .recvfrom = zts_recvfrom,
    .setsockopt = zts_setsockopt,
    .getsockname = zts_getsockname,
    .shutdown = zts_shutdown,
    .close = zts_close,
    .poll = zts_poll,
    .bulk1 = 512 << 10,
    .bulk8 = 64 << 10,
};

/* ------------------------------------------------------------------ */
/* Settings, results, errors.                                          */

static double g_window = 2.0;  /* seconds per measurement */
static double g_warmup = 0.3;  /* seconds before a window */
static int g_conns = 10000;    /* scale */
static int g_failures;
static const char *g_row = "";  /* for messages */
static const char *g_side = "";
static unsigned char payload[MAX_BULK];

/* Reports a failed call (errno as it was) and counts it. */
static void failed(const struct ops *o, const char *call, int err)
{
    fprintf(stderr, "zts-bench: %s (%s): %s: %s", g_row, o ? o->name : g_side, call,
            strerror(err));
    if (o == &ZTS) {
        const char *m = zts_errmsg();
        if (m && *m && strcmp(m, strerror(err)) != 0)
            fprintf(stderr, " (%s)", m);
    }
    fputc('\n', stderr);
    g_failures++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Watchdog: a side of a row that takes longer than this ends the run. */
static char watchdog_msg[256];
static size_t watchdog_len;

static void on_alarm(int sig)
{
    (void)sig;
    ssize_t r = write(2, watchdog_msg, watchdog_len);
    (void)r;
    _exit(3);
}

static void arm_watchdog(int seconds)
{
    int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "zts-bench: %s (%s) stalled: no result after %d s; aborting\n", g_row,
                     g_side, seconds);
    watchdog_len = n < 0 ? 0 : (size_t)n < sizeof watchdog_msg ? (size_t)n : sizeof watchdog_msg - 1;
    alarm((unsigned)seconds);
}

/* ------------------------------------------------------------------ */
/* Environments: where the two ends of a workload live.                */

struct env {
    const struct ops *o;
    int snode, cnode;           /* zts nodes (-1 for the kernel) */
    struct sockaddr_in saddr;   /* the server's address, port 0 */
};

static int net_seq;

static int zts_node_up(const char *uri, const char *cidr)
{
    int node = zts_node_new();
    if (node < 0) {
        failed(&ZTS, "zts_node_new", errno);
        return -1;
    }
    int net = zts_net_join(node, uri);
    if (net < 0) {
        failed(&ZTS, "zts_net_join", errno);
        zts_node_free(node);
        return -1;
    }
    if (zts_addr_add(node, net, cidr) < 0) {
        failed(&ZTS, "zts_addr_add", errno);
        zts_node_free(node);
        return -1;
    }
    if (zts_node_start(node) < 0) {
        failed(&ZTS, "zts_node_start", errno);
        zts_node_free(node);
        return -1;
    }
    return node;
}

static int env_make(struct env *e, const struct ops *o, int mtu)
{
    memset(e, 0, sizeof *e);
    e->o = o;
    e->snode = e->cnode = -1;
    e->saddr.sin_family = AF_INET;
    if (o == &KERNEL) {
        e->saddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    int n = ++net_seq;
    char uri[64], scidr[32], ccidr[32], sip[32];
    snprintf(uri, sizeof uri, "mem:bench-%d?mtu=%d", n, mtu);
    snprintf(scidr, sizeof scidr, "10.%d.0.1/24", n % 250);
    snprintf(ccidr, sizeof ccidr, "10.%d.0.2/24", n % 250);
    snprintf(sip, sizeof sip, "10.%d.0.1", n % 250);
    inet_pton(AF_INET, sip, &e->saddr.sin_addr);
    e->snode = zts_node_up(uri, scidr);
    if (e->snode < 0)
        return -1;
    e->cnode = zts_node_up(uri, ccidr);
    if (e->cnode < 0) {
        zts_node_free(e->snode);
        return -1;
    }
    return 0;
}

/* Tells of frames a zts network dropped (they explain stalls). */
static void report_drops(int node, const char *who)
{
    struct zts_net_stats st;
    if (node < 0 || zts_net_stats(node, 0, &st) < 0)
        return;
    unsigned long long drops = st.drop_queue_full + st.drop_not_peer + st.drop_malformed +
                               st.drop_oversize + st.drop_impaired + st.drop_send_failed;
    if (drops)
        fprintf(stderr,
                "zts-bench: %s (zts): the %s node's network dropped %llu frames (queue "
                "full %llu, send failed %llu, not peer %llu, malformed %llu, oversize %llu)\n",
                g_row, who, drops, (unsigned long long)st.drop_queue_full,
                (unsigned long long)st.drop_send_failed, (unsigned long long)st.drop_not_peer,
                (unsigned long long)st.drop_malformed, (unsigned long long)st.drop_oversize);
}

static void env_free(struct env *e)
{
    report_drops(e->snode, "server");
    report_drops(e->cnode, "client");
    if (e->cnode >= 0)
        zts_node_free(e->cnode);
    if (e->snode >= 0)
        zts_node_free(e->snode);
    e->snode = e->cnode = -1;
}

static void set_timeouts(const struct ops *o, int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    if (o->setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        failed(o, "setsockopt SO_RCVTIMEO", errno);
    if (o->setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        failed(o, "setsockopt SO_SNDTIMEO", errno);
}

static void set_nodelay(const struct ops *o, int fd)
{
    int one = 1;
    if (o->setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        failed(o, "setsockopt TCP_NODELAY", errno);
}

/* A bound socket of `type` on the server's address, port 0; its port goes
 * to *port. For SOCK_STREAM it also listens. */
static int server_socket(const struct env *e, int type, int backlog, struct sockaddr_in *bound)
{
    const struct ops *o = e->o;
    int fd = o->socket(e->snode, AF_INET, type, 0);
    if (fd < 0) {
        failed(o, "socket", errno);
        return -1;
    }
    int one = 1;
    if (type == SOCK_STREAM && o->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        failed(o, "setsockopt SO_REUSEADDR", errno);
    set_timeouts(o, fd);
    struct sockaddr_in a = e->saddr;
    socklen_t alen = sizeof a;
    if (o->bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        failed(o, "bind", errno);
        o->close(fd);
        return -1;
    }
    if (type == SOCK_STREAM && o->listen(fd, backlog) < 0) {
        failed(o, "listen", errno);
        o->close(fd);
        return -1;
    }
    if (o->getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        failed(o, "getsockname", errno);
        o->close(fd);
        return -1;
    }
    *bound = a;
    return fd;
}

/* A client connection to `to`; with `timeouts` the I/O timeouts are set. */
static int client_connect(const struct ops *o, int node, const struct sockaddr_in *to, int timeouts)
{
    int fd = o->socket(node, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        failed(o, "socket", errno);
        return -1;
    }
    if (timeouts)
        set_timeouts(o, fd);
    if (o->connect(fd, (const struct sockaddr *)to, sizeof *to) < 0) {
        failed(o, "connect", errno);
        o->close(fd);
        return -1;
    }
    return fd;
}

/* Opens one connection through listener `lfd` (bound to `to`). */
static int open_pair(const struct env *e, int lfd, const struct sockaddr_in *to, int *c, int *s)
{
    const struct ops *o = e->o;
    *c = client_connect(o, e->cnode, to, 1);
    if (*c < 0)
        return -1;
    *s = o->accept(lfd, NULL, NULL);
    if (*s < 0) {
        failed(o, "accept", errno);
        o->close(*c);
        return -1;
    }
    set_timeouts(o, *s);
    return 0;
}

static int read_full(const struct ops *o, int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = o->read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return n == 0 ? (errno = EPIPE, -1) : -1;
        got += (size_t)n;
    }
    return 0;
}

static int write_full(const struct ops *o, int fd, const void *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        ssize_t n = o->write(fd, (const char *)buf + put, len - put);
        if (n < 0)
            return -1;
        put += (size_t)n;
    }
    return 0;
}

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
static double bulk_run(const struct env *e, int nflows)
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* out: round trips/s, p50 us, p99 us */
static void rr_run(const struct env *e, double out[3])
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

static double crr_run(const struct env *e)
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

/* ------------------------------------------------------------------ */
/* scale: many established connections.                               */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long meminfo_kib(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* A snapshot of the kernel's slab caches (/proc/slabinfo, readable by
 * root): bytes of active objects per cache. */
struct slab_snap {
    int n;
    struct {
        char name[64];
        long long bytes;
    } c[1024];
};

static int slab_snapshot(struct slab_snap *sn)
{
    FILE *f = fopen("/proc/slabinfo", "r");
    char line[512];
    sn->n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f) && sn->n < 1024) {
        char name[64];
        long long active, total, size;
        if (line[0] == '#' || sscanf(line, "%63s %lld %lld %lld", name, &active, &total, &size) != 4)
            continue;
        strcpy(sn->c[sn->n].name, name);
        sn->c[sn->n].bytes = active * size;
        sn->n++;
    }
    fclose(f);
    return sn->n > 0 ? 0 : -1;
}

/* KiB the slab caches grew by from `a` to `b`, counting only caches that
 * grew: caches that shrink meanwhile (TIME_WAIT sockets of earlier runs
 * expiring, dentries reclaimed) are the rest of the machine, not us. */
static double slab_growth_kib(const struct slab_snap *a, const struct slab_snap *b)
{
    long long grown = 0;
    for (int i = 0; i < b->n; i++) {
        long long before = 0;
        for (int j = 0; j < a->n; j++) {
            if (!strcmp(a->c[j].name, b->c[i].name)) {
                before = a->c[j].bytes;
                break;
            }
        }
        if (b->c[i].bytes > before)
            grown += b->c[i].bytes - before;
    }
    return (double)grown / 1024;
}

enum { SC_RATE, SC_SETUP, SC_CONNS, SC_KIB, SC_NONE, SC_IDLE, SC_N };

static void scale_run(const struct env *e, double out[SC_N])
{
    const struct ops *o = e->o;
    for (int i = 0; i < SC_N; i++)
        out[i] = NAN;
    out[SC_NONE] = bulk_run(e, 1);

    struct sockaddr_in to;
    int lfd = server_socket(e, SOCK_STREAM, 1024, &to);
    if (lfd < 0)
        return;
    int *cs = malloc((size_t)g_conns * sizeof *cs), *ss = malloc((size_t)g_conns * sizeof *ss);
    if (!cs || !ss) {
        free(cs);
        free(ss);
        o->close(lfd);
        return;
    }
    long avail0 = meminfo_kib("MemAvailable");
    static struct slab_snap snap0, snap1;
    int have_slabinfo = slab_snapshot(&snap0) == 0;
    long rss0 = rss_kib(), slab0 = meminfo_kib("Slab");
    int n = 0;
    const char *stopped = NULL;
    int err = 0;
    double t0 = now_s();
    for (; n < g_conns; n++) {
        /* Idle connections: no timeouts, no options, nothing but connect. */
        int c = o->socket(e->cnode, AF_INET, SOCK_STREAM, 0);
        if (c < 0) {
            stopped = "socket";
            err = errno;
            break;
        }
        if (o->connect(c, (struct sockaddr *)&to, sizeof to) < 0) {
            stopped = "connect";
            err = errno;
            o->close(c);
            break;
        }
        int s = o->accept(lfd, NULL, NULL);
        if (s < 0) {
            stopped = "accept";
            err = errno;
            o->close(c);
            break;
        }
        cs[n] = c;
        ss[n] = s;
        if (n % 1000 == 999 && avail0 > 0) {
            long grown = rss_kib() - rss0 + meminfo_kib("Slab") - slab0;
            if (grown > avail0 / 2) {
                fprintf(stderr, "zts-bench: %s (%s): stopped at %d connections: memory grew "
                                "by %ld MiB, half of what was available\n",
                        g_row, o->name, n + 1, grown / 1024);
                n++;
                break;
            }
        }
    }
    double t1 = now_s();
    long rss1 = rss_kib(), slab1 = meminfo_kib("Slab");
    have_slabinfo = have_slabinfo && slab_snapshot(&snap1) == 0;
    if (stopped) {
        fprintf(stderr, "zts-bench: %s (%s): %s failed after %d connections: %s%s%s\n", g_row,
                o->name, stopped, n, strerror(err),
                o == &ZTS ? " / " : "", o == &ZTS ? zts_errmsg() : "");
        /* Running out of fds on the kernel side is a limit, not a failure. */
        if (o == &KERNEL && (err == EMFILE || err == ENFILE)) {
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                fprintf(stderr, "zts-bench: %s (kernel): RLIMIT_NOFILE is %llu (two fds per "
                                "connection: both ends are in this process)\n",
                        g_row, (unsigned long long)rl.rlim_cur);
        } else {
            g_failures++;
        }
    }
    if (n > 0) {
        out[SC_CONNS] = n;
        out[SC_SETUP] = t1 - t0;
        out[SC_RATE] = n / (t1 - t0);
        double slab_kib = have_slabinfo ? slab_growth_kib(&snap0, &snap1) : (double)(slab1 - slab0);
        out[SC_KIB] = ((double)(rss1 - rss0) + slab_kib) / n;
        /* Out of fds: free a few for the bulk flow (listener and a pair). */
        if (stopped && (err == EMFILE || err == ENFILE))
            for (int k = 0; k < 4 && n > 0; k++) {
                n--;
                o->close(cs[n]);
                o->close(ss[n]);
            }
        out[SC_IDLE] = bulk_run(e, 1);
    }
    for (int i = 0; i < n; i++) {
        o->close(cs[i]);
        o->close(ss[i]);
    }
    free(cs);
    free(ss);
    o->close(lfd);
}

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
static void udp_run(const struct env *e, double out[2])
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

/* ------------------------------------------------------------------ */
/* overlay: one TCP flow between two processes.                        */

/* The child process: a sink per ops; reads each connection to its end and
 * answers with the byte count (8 bytes). */
struct sink_arg {
    const struct ops *o;
    int lfd;
};

static void *sink_serve(void *arg)
{
    struct sink_arg *a = arg;
    const struct ops *o = a->o;
    char *buf = malloc(a->o->bulk1);
    if (!buf)
        return NULL;
    for (;;) {
        int s = o->accept(a->lfd, NULL, NULL);
        if (s < 0)
            break; /* the listener was closed: done */
        set_timeouts(o, s);
        uint64_t total = 0;
        ssize_t n;
        while ((n = o->read(s, buf, o->bulk1)) > 0)
            total += (uint64_t)n;
        if (n == 0)
            write_full(o, s, &total, sizeof total);
        o->close(s);
    }
    free(buf);
    return NULL;
}

struct overlay_info {
    int ok;
    int udp_port;             /* the child's VXLAN port */
    int zts_port, kernel_port; /* the child's TCP listeners */
};

static int overlay_child(int info_fd, int cmd_fd)
{
    struct overlay_info info = {0, 0, 0, 0};
    g_row = "overlay child";
    int node = -1, zl = -1, kl = -1;
    pthread_t tz, tk;
    int have_tz = 0, have_tk = 0;
    struct env ke = {&KERNEL, -1, -1, {0}};
    ke.saddr.sin_family = AF_INET;
    ke.saddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in bound;
    kl = server_socket(&ke, SOCK_STREAM, 8, &bound);
    if (kl < 0)
        goto report;
    info.kernel_port = ntohs(bound.sin_port);
    {
        struct timeval none = {0, 0}; /* the listener waits as long as the parent */
        setsockopt(kl, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    }
    char uri[96];
    snprintf(uri, sizeof uri, "vxlan://127.0.0.1:0?vni=%d&learn=1", OVERLAY_VNI);
    node = zts_node_new();
    int net = node < 0 ? -1 : zts_net_join(node, uri);
    if (net < 0) {
        failed(&ZTS, "zts_net_join (overlay child)", errno);
        goto report;
    }
    info.udp_port = zts_net_get_port(node, net);
    if (info.udp_port < 0 || zts_addr_add(node, net, "10.77.0.2/24") < 0 ||
        zts_node_start(node) < 0) {
        failed(&ZTS, "overlay child setup", errno);
        goto report;
    }
    struct env ze = {&ZTS, node, -1, {0}};
    ze.saddr.sin_family = AF_INET;
    inet_pton(AF_INET, "10.77.0.2", &ze.saddr.sin_addr);
    zl = server_socket(&ze, SOCK_STREAM, 8, &bound);
    if (zl < 0)
        goto report;
    info.zts_port = ntohs(bound.sin_port);
    {
        struct timeval none = {0, 0};
        zts_setsockopt(zl, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    }
    static struct sink_arg sk, sz;
    sk = (struct sink_arg){&KERNEL, kl};
    sz = (struct sink_arg){&ZTS, zl};
    have_tk = pthread_create(&tk, NULL, sink_serve, &sk) == 0;
    have_tz = pthread_create(&tz, NULL, sink_serve, &sz) == 0;
    info.ok = have_tk && have_tz;
report:
    if (write(info_fd, &info, sizeof info) != (ssize_t)sizeof info)
        info.ok = 0;
    close(info_fd);
    /* Serve until the parent closes the command pipe. */
    char b;
    while (info.ok && read(cmd_fd, &b, 1) > 0)
        ;
    close(cmd_fd);
    if (kl >= 0) {
        shutdown(kl, SHUT_RDWR); /* wakes the blocked accept */
        if (have_tk)
            pthread_join(tk, NULL);
        close(kl);
    }
    if (zl >= 0) {
        zts_close(zl); /* wakes the blocked accept with EBADF */
        if (have_tz)
            pthread_join(tz, NULL);
    }
    if (node >= 0) {
        report_drops(node, "child");
        zts_node_free(node);
    }
    return info.ok ? 0 : 1;
}

static pid_t overlay_pid = -1;
static int overlay_node = -1; /* the parent's end, kept across runs */
static int overlay_cmd = -1;
static struct overlay_info overlay_info;

/* Forks the child before any zts call or thread of this process. */
static void overlay_fork(void)
{
    int info[2], cmd[2];
    if (pipe(info) < 0 || pipe(cmd) < 0) {
        perror("zts-bench: pipe");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("zts-bench: fork");
        return;
    }
    if (pid == 0) {
        close(info[0]);
        close(cmd[1]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(1);
        int rc = overlay_child(info[1], cmd[0]);
        fflush(NULL);
        _exit(rc);
    }
    close(info[1]);
    close(cmd[0]);
    overlay_pid = pid;
    overlay_cmd = cmd[1];
    ssize_t n = read(info[0], &overlay_info, sizeof overlay_info);
    if (n != (ssize_t)sizeof overlay_info)
        overlay_info.ok = 0;
    close(info[0]);
}

static void overlay_reap(void)
{
    if (overlay_node >= 0) {
        report_drops(overlay_node, "parent");
        zts_node_free(overlay_node);
        overlay_node = -1;
    }
    if (overlay_pid < 0)
        return;
    close(overlay_cmd);
    int status;
    waitpid(overlay_pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "zts-bench: the overlay child process failed (status %d)\n", status);
        g_failures++;
    }
    overlay_pid = -1;
}

/* Sends 64 KiB writes to the child for the window, then shuts down and
 * waits for the child's count of what arrived. */
static double overlay_send(const struct ops *o, int node, const struct sockaddr_in *to)
{
    int c = client_connect(o, node, to, 1);
    if (c < 0)
        return NAN;
    uint64_t sent = 0, got = 0;
    double gbps = NAN;
    double t0 = now_s(), end = t0 + g_window;
    while (now_s() < end) {
        if (o->write(c, payload, o->bulk1) != (ssize_t)o->bulk1) {
            failed(o, "write (overlay)", errno);
            goto out;
        }
        sent += o->bulk1;
    }
    if (o->shutdown(c, SHUT_WR) < 0) {
        failed(o, "shutdown (overlay)", errno);
        goto out;
    }
    if (read_full(o, c, &got, sizeof got) < 0) {
        failed(o, "read (overlay count)", errno);
        goto out;
    }
    double t1 = now_s();
    if (got != sent) {
        fprintf(stderr, "zts-bench: overlay (%s): sent %llu bytes, the child got %llu\n",
                o->name, (unsigned long long)sent, (unsigned long long)got);
        g_failures++;
        goto out;
    }
    gbps = (double)got * 8 / (t1 - t0) / 1e9;
out:
    o->close(c);
    return gbps;
}

/* The kernel's count of UDP datagrams dropped for a full receive buffer. */
static long udp_rcvbuf_errors(void)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char head[1024], vals[1024];
    long v = -1;
    if (!f)
        return -1;
    while (fgets(head, sizeof head, f) && fgets(vals, sizeof vals, f)) {
        if (strncmp(head, "Udp:", 4) != 0)
            continue;
        char *hs = NULL, *vs = NULL;
        char *h = strtok_r(head, " \n", &hs), *x = strtok_r(vals, " \n", &vs);
        while (h && x) {
            if (!strcmp(h, "RcvbufErrors")) {
                v = strtol(x, NULL, 10);
                break;
            }
            h = strtok_r(NULL, " \n", &hs);
            x = strtok_r(NULL, " \n", &vs);
        }
        break;
    }
    fclose(f);
    return v;
}

static double overlay_run(const struct ops *o)
{
    if (!overlay_info.ok) {
        fprintf(stderr, "zts-bench: overlay (%s): the child process did not start\n", o->name);
        g_failures++;
        return NAN;
    }
    struct sockaddr_in to = {.sin_family = AF_INET};
    if (o == &KERNEL) {
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons((uint16_t)overlay_info.kernel_port);
        return overlay_send(o, -1, &to);
    }
    /* One node for every run: the child's neighbour cache keeps the MAC
     * it learned for 10.77.0.1, and a new node would have another. */
    if (overlay_node < 0) {
        char uri[128];
        snprintf(uri, sizeof uri, "vxlan://127.0.0.1:0?vni=%d&peer=127.0.0.1:%d", OVERLAY_VNI,
                 overlay_info.udp_port);
        overlay_node = zts_node_up(uri, "10.77.0.1/24");
        if (overlay_node < 0)
            return NAN;
    }
    int node = overlay_node;
    inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
    to.sin_port = htons((uint16_t)overlay_info.zts_port);
    long rcvbuf0 = udp_rcvbuf_errors();
    double g = overlay_send(o, node, &to);
    long rcvbuf1 = udp_rcvbuf_errors();
    if (rcvbuf0 >= 0 && rcvbuf1 > rcvbuf0)
        fprintf(stderr,
                "zts-bench: overlay (zts): the kernel dropped %ld UDP datagrams for full "
                "socket buffers meanwhile (/proc/net/snmp Udp RcvbufErrors)\n",
                rcvbuf1 - rcvbuf0);
    return g;
}

/* ------------------------------------------------------------------ */
/* Rows.                                                               */

enum { R_BULK1500, R_BULK64K, R_BULK8, R_RR, R_CRR, R_SCALE, R_UDP, R_OVERLAY, R_COUNT };
static const char *const row_names[R_COUNT] = {
    "bulk_mtu1500", "bulk_mtu65535", "bulk8", "rr", "crr", "scale", "udp", "overlay",
};

static const struct ops *const sides[2] = {&KERNEL, &ZTS};

static void begin_side(const char *row, const struct ops *o, int watchdog_s)
{
    g_row = row;
    g_side = o->name;
    fprintf(stderr, "zts-bench: %s (%s)...\n", row, o->name);
    arm_watchdog(watchdog_s);
}

static int side_watchdog(void)
{
    return (int)(2 * IO_TIMEOUT_S + 6 * (g_window + g_warmup));
}

static int g_iperf3 = 1; /* run iperf3 beside the kernel's bulk rows */
/* How far the kernel column may be from iperf3's figure before the row
 * says so. */
#define IPERF3_TOLERANCE 0.10

static void row_bulk(const char *row, int mtu, int flows)
{
    double v[2];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side(row, sides[i], side_watchdog());
        v[i] = NAN;
        if (env_make(&e, sides[i], mtu) == 0) {
            v[i] = bulk_run(&e, flows);
            env_free(&e);
        }
    }
    report_add(row, "Gbit/s", v[0], v[1], 1);
    if (g_iperf3) {
        g_row = row;
        g_side = "iperf3";
        fprintf(stderr, "zts-bench: %s (iperf3)...\n", row);
        arm_watchdog(side_watchdog() + 30);
        report_set_iperf3(
            iperf3_gbps((int)ceil(g_window), flows, flows > 1 ? KERNEL.bulk8 : KERNEL.bulk1));
    }
}

static void row_rr(void)
{
    double v[2][3];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("rr", sides[i], side_watchdog());
        v[i][0] = v[i][1] = v[i][2] = NAN;
        if (env_make(&e, sides[i], 1500) == 0) {
            rr_run(&e, v[i]);
            env_free(&e);
        }
    }
    report_add("rr", "rt/s", v[0][0], v[1][0], 1);
    report_add("rr_p50_us", "us", v[0][1], v[1][1], 0);
    report_add("rr_p99_us", "us", v[0][2], v[1][2], 0);
}

static void row_crr(void)
{
    double v[2];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("crr", sides[i], side_watchdog());
        v[i] = NAN;
        if (env_make(&e, sides[i], 1500) == 0) {
            v[i] = crr_run(&e);
            env_free(&e);
        }
    }
    report_add("crr", "conn/s", v[0], v[1], 1);
}

static void raise_nofile(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)want)
        return;
    struct rlimit up = {(rlim_t)want, rl.rlim_max};
    if (up.rlim_max != RLIM_INFINITY && up.rlim_max < (rlim_t)want)
        up.rlim_max = (rlim_t)want; /* works with CAP_SYS_RESOURCE */
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
        return;
    rl.rlim_cur = rl.rlim_max; /* as far as the hard limit goes */
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void row_scale(void)
{
    double v[2][SC_N];
    raise_nofile(2 * g_conns + 256);
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("scale", sides[i], side_watchdog() * 2 + g_conns / 50);
        for (int k = 0; k < SC_N; k++)
            v[i][k] = NAN;
        if (env_make(&e, sides[i], 65535) == 0) {
            scale_run(&e, v[i]);
            env_free(&e);
        }
    }
    report_add("scale", "conn/s", v[0][SC_RATE], v[1][SC_RATE], 1);
    report_add("scale_setup_s", "s", v[0][SC_SETUP], v[1][SC_SETUP], 0);
    report_add("scale_conns", "conns", v[0][SC_CONNS], v[1][SC_CONNS], 1);
    report_add("scale_rss_kib_per_conn", "KiB", v[0][SC_KIB], v[1][SC_KIB], 0);
    report_add("scale_bulk_none", "Gbit/s", v[0][SC_NONE], v[1][SC_NONE], 1);
    report_add("scale_bulk_idle", "Gbit/s", v[0][SC_IDLE], v[1][SC_IDLE], 1);
    report_add("scale_bulk_ratio", "x", v[0][SC_IDLE] / v[0][SC_NONE],
               v[1][SC_IDLE] / v[1][SC_NONE], 1);
}

static void row_udp(void)
{
    double v[2][2];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("udp", sides[i], side_watchdog());
        v[i][0] = v[i][1] = NAN;
        if (env_make(&e, sides[i], 1500) == 0) {
            udp_run(&e, v[i]);
            env_free(&e);
        }
    }
    report_add("udp", "dgram/s", v[0][0], v[1][0], 1);
    report_add("udp_sent", "dgram/s", v[0][1], v[1][1], 1);
}

static void row_overlay(void)
{
    double v[2];
    for (int i = 0; i < 2; i++) {
        begin_side("overlay", sides[i], side_watchdog());
        v[i] = overlay_run(sides[i]);
    }
    report_add("overlay", "Gbit/s", v[0], v[1], 1);
}

/* Bulk flows at each write/read size on both sides: the evidence for the
 * sizes in KERNEL and ZTS. Medians of `repeat` measurements, Gbit/s. */
static void run_sweep(int repeat)
{
    static const size_t sizes[] = {64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20};
    struct {
        const char *name;
        struct ops *o;
        int mtu, flows;
    } cols[] = {
        {"kernel 1", &KERNEL, 65535, 1}, {"kernel 8", &KERNEL, 65535, 8},
        {"zts 1@1500", &ZTS, 1500, 1},   {"zts 1@64K", &ZTS, 65535, 1},
        {"zts 8@64K", &ZTS, 65535, 8},
    };
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    const struct ops k0 = KERNEL, z0 = ZTS;
    printf("zts-bench --sweep: bulk Gbit/s by write = read size (flows@MTU), median of %d\n",
           repeat);
    printf("%-8s", "size");
    for (int c = 0; c < NCOLS; c++)
        printf(" %11s", cols[c].name);
    printf("\n");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        printf("%4zu KiB", sizes[i] >> 10);
        for (int c = 0; c < NCOLS; c++) {
            double v[64];
            for (int r = 0; r < repeat; r++) {
                struct env e;
                cols[c].o->bulk1 = cols[c].o->bulk8 = sizes[i];
                begin_side("sweep", cols[c].o, side_watchdog());
                v[r] = NAN;
                if (env_make(&e, cols[c].o, cols[c].mtu) == 0) {
                    v[r] = bulk_run(&e, cols[c].flows);
                    env_free(&e);
                }
            }
            qsort(v, (size_t)repeat, sizeof v[0], cmp_double);
            printf(" %11.1f", v[repeat / 2]);
            fflush(stdout);
        }
        printf("\n");
    }
    KERNEL = k0;
    ZTS = z0;
}

static int usage(FILE *to)
{
    fprintf(to,
            "usage: zts-bench [--json] [--quick] [--rows ROW,...] [--seconds S] [--conns N]\n"
            "                 [--repeat N] [--sweep] [--no-iperf3]\n"
            "  --json        print JSON: the machine, and per row the median, min and\n"
            "                max of kernel, zts, ratio and iperf3 over the runs\n"
            "  --quick       a smoke run: 0.2 s windows, 1000 connections for scale\n"
            "  --rows LIST   run only these rows (comma-separated): bulk_mtu1500,\n"
            "                bulk_mtu65535, bulk8, rr, crr, scale, udp, overlay\n"
            "                (bulk: both bulk_mtu rows)\n"
            "  --seconds S   the measurement window per row and side (default 2)\n"
            "  --conns N     connections for scale (default 10000)\n"
            "  --repeat N    run the whole table N times; report medians and ranges\n"
            "  --sweep       bulk flows at write/read sizes 64 KiB to 1 MiB on both\n"
            "                sides (how each side's sizes were chosen), then exit\n"
            "  --no-iperf3   do not run iperf3 beside the kernel's bulk rows\n");
    return 2;
}

static int parse_rows(const char *list, int want[R_COUNT])
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    int any = 0, bad = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        if (!strcmp(tok, "bulk")) {
            want[R_BULK1500] = want[R_BULK64K] = 1;
            found = 1;
        }
        for (int i = 0; i < R_COUNT && !found; i++) {
            if (!strcmp(tok, row_names[i])) {
                want[i] = 1;
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "zts-bench: unknown row '%s'\n", tok);
            bad = 1;
        }
        any |= found;
    }
    free(copy);
    return bad || !any ? -1 : 0;
}

int main(int argc, char **argv)
{
    int json = 0, quick = 0, rows_given = 0;
    int want[R_COUNT] = {0};
    double seconds = -1;
    long conns = -1, repeat = 1;
    int sweep = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (!strcmp(a, "--rows") && i + 1 < argc) {
            if (parse_rows(argv[++i], want) < 0)
                return usage(stderr);
            rows_given = 1;
        } else if (!strncmp(a, "--rows=", 7)) {
            if (parse_rows(a + 7, want) < 0)
                return usage(stderr);
            rows_given = 1;
        } else if (!strcmp(a, "--seconds") && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds >= 0.01 && seconds <= 60))
                return usage(stderr);
        } else if (!strcmp(a, "--conns") && i + 1 < argc) {
            char *end;
            conns = strtol(argv[++i], &end, 10);
            if (*end || conns < 1 || conns > 100000)
                return usage(stderr);
        } else if (!strcmp(a, "--repeat") && i + 1 < argc) {
            char *end;
            repeat = strtol(argv[++i], &end, 10);
            if (*end || repeat < 1 || repeat > 64)
                return usage(stderr);
        } else if (!strcmp(a, "--sweep")) {
            sweep = 1;
        } else if (!strcmp(a, "--no-iperf3")) {
            g_iperf3 = 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "zts-bench: bad argument '%s'\n", a);
            return usage(stderr);
        }
    }
    if (!rows_given)
        for (int i = 0; i < R_COUNT; i++)
            want[i] = 1;
    if (quick) {
        g_window = 0.2;
        g_warmup = 0.05;
        g_conns = 1000;
    }
    if (seconds > 0) {
        g_window = seconds;
        g_warmup = seconds / 6 < 0.3 ? seconds / 6 : 0.3;
    }
    if (conns > 0)
        g_conns = (int)conns;

    /* Before any zts call or thread: the overlay's second process. */
    if (want[R_OVERLAY] && !sweep)
        overlay_fork();
    machine_read(&g_machine);
    if (quick)
        g_iperf3 = 0; /* iperf3 measures whole seconds */
    if (g_iperf3 && !g_machine.iperf3[0]) {
        g_iperf3 = 0;
        report_note("iperf3 is not installed: no second opinion on the kernel's bulk rows");
    }
    int major = 0, minor = 0;
    if (g_iperf3 && sscanf(g_machine.iperf3, "iperf %d.%d", &major, &minor) == 2 &&
        (major < 3 || (major == 3 && minor < 16)) && (want[R_BULK8] || sweep))
        report_note("iperf3 before 3.16 runs all -P streams on one thread: its bulk8 figure is "
                    "that thread's limit, not the kernel's");

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    /* Seeded payload (xorshift32). */
    uint32_t x = 0x2545F491u;
    for (size_t i = 0; i < sizeof payload; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        payload[i] = (unsigned char)x;
    }

    double start = now_s();
    if (sweep) {
        run_sweep((int)repeat);
        alarm(0);
        return g_failures ? 1 : 0;
    }
    for (int run = 0; run < repeat; run++) {
        if (repeat > 1)
            fprintf(stderr, "zts-bench: run %d of %ld\n", run + 1, repeat);
        report_begin_run(run);
        if (want[R_BULK1500])
            row_bulk("bulk_mtu1500", 1500, 1);
        if (want[R_BULK64K])
            row_bulk("bulk_mtu65535", 65535, 1);
        if (want[R_BULK8])
            row_bulk("bulk8", 65535, 8);
        if (want[R_RR])
            row_rr();
        if (want[R_CRR])
            row_crr();
        if (want[R_SCALE])
            row_scale();
        if (want[R_UDP])
            row_udp();
        if (want[R_OVERLAY])
            row_overlay();
    }
    alarm(0);
    overlay_reap();
    double elapsed = now_s() - start;

    report_note("bulk: writes and reads of %zu KiB for the kernel and %zu KiB for zts per call "
                "with one flow (also overlay, scale_bulk), %zu and %zu KiB with eight: each "
                "side's best here (zts-bench --sweep); iperf3 uses the kernel's sizes",
                KERNEL.bulk1 >> 10, ZTS.bulk1 >> 10, KERNEL.bulk8 >> 10, ZTS.bulk8 >> 10);
    report_note("rr, crr: blocking calls, one thread per side, TCP_NODELAY on both sides; "
                "p50 and p99 from the same samples as rr");
    if (json)
        report_print_json(stdout, g_window, IPERF3_TOLERANCE);
    else
        report_print_table(stdout, g_window, elapsed, IPERF3_TOLERANCE);
    fflush(stdout);
    fprintf(stderr, "zts-bench: done in %.1f s%s\n", elapsed,
            g_failures ? " (with failures, see above)" : "");
    return g_failures ? 1 : 0;
}
