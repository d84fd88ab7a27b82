/* close_wakeup: a thread blocked in accept, read, connect or write must be
 * woken when another thread closes the fd (-1/EBADF) or stops the node that
 * owns it (-1/ENETDOWN).  The main thread pauses before closing only to make
 * it likely the call is already blocked; the result must be the same if it
 * is not.  Wakeup times are printed for information, never judged.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_timedjoin_np */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zts.h>

#define NET "mem:wakeup"
#define IP_A "10.3.0.1"
#define IP_NOBODY "10.3.0.99" /* no node has it: ARP is never answered */
#define PORT_PAIRS 8001
#define WRITE_LEN ((size_t)16 << 20) /* far beyond any send+receive buffering */
#define PAUSE_MS 100
#define WATCHDOG_S 15 /* a thread still blocked this long was never woken */

enum kind { ACCEPT, READ, CONNECT, WRITE };
static const char *kind_name[] = { "accept", "read", "connect", "write" };

struct job {
    enum kind kind;
    int fd;
    char *buf;
    long rc;
    int err, zerr;
};

static int node_a, pairs_lfd, failures;

static void die(const char *what)
{
    fprintf(stderr, "close_wakeup: setup: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int start_node(const char *cidr)
{
    int node = zts_node_new();
    if (node < 0)
        die("zts_node_new");
    int net = zts_net_join(node, NET);
    if (net < 0)
        die("zts_net_join");
    if (zts_addr_add(node, net, cidr) < 0)
        die("zts_addr_add");
    if (zts_node_start(node) < 0)
        die("zts_node_start");
    return node;
}

static struct sockaddr_in sin4(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int tcp(int node)
{
    int fd = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("zts_node_socket");
    return fd;
}

static int listener(int node, const char *ip, int port)
{
    int fd = tcp(node);
    struct sockaddr_in a = sin4(ip, port);
    if (zts_bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("zts_bind");
    if (zts_listen(fd, 8) < 0)
        die("zts_listen");
    return fd;
}

/* Client on `node` connected to A; *peer is A's end, which never reads. */
static int connected(int node, int *peer)
{
    int fd = tcp(node);
    struct sockaddr_in a = sin4(IP_A, PORT_PAIRS);
    if (zts_connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("zts_connect");
    struct pollfd p = { .fd = pairs_lfd, .events = POLLIN };
    int r = zts_poll(&p, 1, 5000);
    if (r == 0)
        errno = ETIMEDOUT;
    if (r <= 0 || (*peer = zts_accept(pairs_lfd, NULL, NULL)) < 0)
        die("zts_accept");
    return fd;
}

static void *blocker(void *arg)
{
    struct job *j = arg;
    struct sockaddr_in nobody = sin4(IP_NOBODY, 80);
    errno = 0;
    switch (j->kind) {
    case ACCEPT: j->rc = zts_accept(j->fd, NULL, NULL); break;
    case READ: j->rc = zts_read(j->fd, j->buf, 16); break;
    case CONNECT: j->rc = zts_connect(j->fd, (struct sockaddr *)&nobody, sizeof nobody); break;
    case WRITE: j->rc = zts_write(j->fd, j->buf, WRITE_LEN); break;
    }
    j->err = errno;
    j->zerr = zts_errno();
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Start the blocked call, then close its fd (stop_node < 0) or stop the
 * node, and check how the call came back. */
static void run(enum kind kind, int fd, char *buf, int stop_node)
{
    struct job j = { .kind = kind, .fd = fd, .buf = buf };
    pthread_t t;
    if ((errno = pthread_create(&t, NULL, blocker, &j)) != 0)
        die("pthread_create");
    struct timespec pause = { 0, PAUSE_MS * 1000000L };
    nanosleep(&pause, NULL);

    const char *how = stop_node < 0 ? "zts_close" : "zts_node_stop";
    int want = stop_node < 0 ? EBADF : ENETDOWN;
    double t0 = now_ms();
    int r = stop_node < 0 ? zts_close(fd) : zts_node_stop(stop_node);
    int how_err = errno;

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WATCHDOG_S;
    if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
        /* The thread cannot be joined or freed; leave now with the verdict. */
        printf("FAIL %s: still blocked %d s after %s\n", kind_name[kind], WATCHDOG_S, how);
        fflush(stdout);
        _exit(1);
    }
    double waited = now_ms() - t0;

    if (r < 0) {
        printf("FAIL %s: %s itself failed: %s\n", kind_name[kind], how, strerror(how_err));
        failures++;
    }
    if (j.rc == -1 && j.err == want && j.zerr == want) {
        printf("ok   %-7s %s -> -1 %s (woke after %.1f ms)\n", kind_name[kind], how,
               want == EBADF ? "EBADF" : "ENETDOWN", waited);
    } else {
        printf("FAIL %-7s %s -> rc %ld, errno %d (%s), zts_errno() %d; want -1 %s\n", kind_name[kind],
               how, j.rc, j.err, strerror(j.err), j.zerr, want == EBADF ? "EBADF" : "ENETDOWN");
        failures++;
    }
}

/* Set the fd up for one kind of blocked call; *peer gets A's end if any. */
static int prepare(enum kind kind, int node, const char *ip, int *peer)
{
    *peer = -1;
    switch (kind) {
    case ACCEPT: return listener(node, ip, 8000);
    case READ: return connected(node, peer);
    case CONNECT: return tcp(node);
    case WRITE: {
        int fd = connected(node, peer);
        /* Small queues so the writer blocks early whatever the defaults are. */
        int sz = 65536;
        if (zts_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) < 0)
            die("SO_SNDBUF");
        return fd;
    }
    }
    return -1;
}

int main(void)
{
    char *buf = calloc(1, WRITE_LEN);
    if (buf == NULL)
        die("calloc");
    node_a = start_node(IP_A "/24");
    int node_b = start_node("10.3.0.2/24");
    pairs_lfd = listener(node_a, IP_A, PORT_PAIRS);

    printf("-- wakeup by zts_close --\n");
    for (enum kind k = ACCEPT; k <= WRITE; k++) {
        int peer, fd = prepare(k, k == ACCEPT ? node_a : node_b, IP_A, &peer);
        run(k, fd, buf, -1);
        if (peer >= 0)
            zts_close(peer);
    }

    /* A fresh node per case, since stopping it is the point. */
    printf("-- wakeup by zts_node_stop --\n");
    for (enum kind k = ACCEPT; k <= WRITE; k++) {
        char ip[32], cidr[40];
        snprintf(ip, sizeof ip, "10.3.0.%d", 10 + (int)k);
        snprintf(cidr, sizeof cidr, "%s/24", ip);
        int x = start_node(cidr);
        int peer, fd = prepare(k, x, ip, &peer);
        run(k, fd, buf, x);
        zts_close(fd); /* releases the fd; its result after a stop is not under test */
        if (peer >= 0)
            zts_close(peer);
        if (zts_node_free(x) < 0)
            die("zts_node_free");
    }

    zts_close(pairs_lfd);
    if (zts_node_stop(node_a) < 0 || zts_node_stop(node_b) < 0)
        die("zts_node_stop");
    if (zts_node_free(node_a) < 0 || zts_node_free(node_b) < 0)
        die("zts_node_free");
    free(buf);
    if (failures > 0) {
        fprintf(stderr, "close_wakeup: %d failure(s)\n", failures);
        return 1;
    }
    printf("close_wakeup: all 8 blocked calls woke with the expected error\n");
    return 0;
}
