/* zts-bench: the socket calls of each side, settings, environments and helpers
 * the workloads share. */
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
/* The socket calls, once for the kernel and once for zts.             */


/* glibc declares the sockaddr arguments as transparent unions under
 * _GNU_SOURCE, hence these thin wrappers. */
static int k_socket(int node, int d, int t, int p)
{
    /* A kernel node is a network namespace's fd (the loss rows), or -1. */
    return node < 0 ? socket(d, t, p) : netns_socket(node, d, t, p);
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

struct ops KERNEL = {
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

static int z_socket(int node, int d, int t, int p)
{
    int fd = zts_node_socket(node, d, t, p);
    int us = ZTS_BUSY_POLL_US;
    if (fd >= 0 && (t & 0xf) == SOCK_STREAM &&
        zts_setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof us) < 0) {
        int err = errno;
        zts_close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

struct ops ZTS = {
    .name = "zts",
    .socket = z_socket,
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

double g_window = 2.0;  /* seconds per measurement */
double g_warmup = 0.3;  /* seconds before a window */
int g_conns = 10000;    /* scale */
int g_failures;
const char *g_row = "";  /* for messages */
const char *g_side = "";
unsigned char payload[MAX_BULK];

/* Reports a failed call (errno as it was) and counts it. */
void failed(const struct ops *o, const char *call, int err)
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

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_s(double s)
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

void on_alarm(int sig)
{
    (void)sig;
    ssize_t r = write(2, watchdog_msg, watchdog_len);
    (void)r;
    _exit(3);
}

void arm_watchdog(int seconds)
{
    int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "zts-bench: %s (%s) stalled: no result after %d s; aborting\n", g_row,
                     g_side, seconds);
    watchdog_len = n < 0 ? 0 : (size_t)n < sizeof watchdog_msg ? (size_t)n : sizeof watchdog_msg - 1;
    alarm((unsigned)seconds);
}

/* ------------------------------------------------------------------ */
/* Environments: where the two ends of a workload live.                */


static int net_seq;

int zts_node_up(const char *uri, const char *cidr)
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

int env_make(struct env *e, const struct ops *o, int mtu)
{
    return env_make_impaired(e, o, mtu, NULL);
}

int env_make_impaired(struct env *e, const struct ops *o, int mtu, const char *impair)
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
    char uri[160], scidr[32], ccidr[32], sip[32];
    snprintf(uri, sizeof uri, "mem:bench-%d?mtu=%d%s%s", n, mtu, impair ? "&" : "",
             impair ? impair : "");
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
void report_drops(int node, const char *who)
{
    struct zts_net_stats st;
    if (node < 0 || zts_net_stats(node, 0, &st) < 0)
        return;
    unsigned long long drops = st.drop_queue_full + st.drop_not_peer + st.drop_malformed +
                               st.drop_oversize + st.drop_impaired + st.drop_send_failed;
    if (drops)
        fprintf(stderr,
                "zts-bench: %s (zts): the %s node's network dropped %llu frames (impaired "
                "%llu, queue full %llu, send failed %llu, not peer %llu, malformed %llu, "
                "oversize %llu)\n",
                g_row, who, drops, (unsigned long long)st.drop_impaired,
                (unsigned long long)st.drop_queue_full,
                (unsigned long long)st.drop_send_failed, (unsigned long long)st.drop_not_peer,
                (unsigned long long)st.drop_malformed, (unsigned long long)st.drop_oversize);
}

void env_free(struct env *e)
{
    report_drops(e->snode, "server");
    report_drops(e->cnode, "client");
    if (e->cnode >= 0)
        zts_node_free(e->cnode);
    if (e->snode >= 0)
        zts_node_free(e->snode);
    e->snode = e->cnode = -1;
}

void set_timeouts(const struct ops *o, int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    if (o->setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        failed(o, "setsockopt SO_RCVTIMEO", errno);
    if (o->setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        failed(o, "setsockopt SO_SNDTIMEO", errno);
}

void set_nodelay(const struct ops *o, int fd)
{
    int one = 1;
    if (o->setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        failed(o, "setsockopt TCP_NODELAY", errno);
}

/* A bound socket of `type` on the server's address, port 0; its port goes
 * to *port. For SOCK_STREAM it also listens. */
int server_socket(const struct env *e, int type, int backlog, struct sockaddr_in *bound)
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
int client_connect(const struct ops *o, int node, const struct sockaddr_in *to, int timeouts)
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
int open_pair(const struct env *e, int lfd, const struct sockaddr_in *to, int *c, int *s)
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

int read_full(const struct ops *o, int fd, void *buf, size_t len)
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

int write_full(const struct ops *o, int fd, const void *buf, size_t len)
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
