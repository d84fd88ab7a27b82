/* node_cycles: 100 full node lifetimes (new, join, address, start, one TCP
 * exchange, close, stop, free).  Meant for valgrind/ASan: a leak, a thread
 * left running or a use-after-free in teardown shows up as a multiple of 100.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <zts.h>

#define CYCLES 100
#define NET "mem:cycles"
#define PORT 9000
#define WAIT_MS 5000

static int cycle;

static void die(const char *what)
{
    fprintf(stderr, "node_cycles: cycle %d: %s: %s\n", cycle, what, strerror(errno));
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

/* Bounded so a lost wakeup fails the cycle rather than hanging valgrind. */
static int tcp(int node)
{
    int fd = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("zts_node_socket");
    struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
    if (zts_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        zts_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        die("SO_RCVTIMEO/SO_SNDTIMEO");
    return fd;
}

static void read_full(int fd, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = zts_read(fd, buf + got, len - got);
        if (n == 0)
            errno = ECONNRESET; /* early end of stream, reported as such */
        if (n <= 0)
            die("zts_read");
        got += (size_t)n;
    }
}

int main(void)
{
    static const char msg[] = "ping";
    for (cycle = 0; cycle < CYCLES; cycle++) {
        /* Same addresses every cycle: a node's state must not outlive it. */
        int a = start_node("10.4.0.1/24");
        int b = start_node("10.4.0.2/24");

        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PORT) };
        inet_pton(AF_INET, "10.4.0.1", &addr.sin_addr);
        int lfd = tcp(a);
        if (zts_bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0)
            die("zts_bind");
        if (zts_listen(lfd, 1) < 0)
            die("zts_listen");

        int cfd = tcp(b);
        if (zts_connect(cfd, (struct sockaddr *)&addr, sizeof addr) < 0)
            die("zts_connect");
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        int r = zts_poll(&p, 1, WAIT_MS);
        if (r == 0)
            errno = ETIMEDOUT;
        if (r <= 0)
            die("zts_poll (accept)");
        int sfd = zts_accept(lfd, NULL, NULL);
        if (sfd < 0)
            die("zts_accept");

        char buf[sizeof msg];
        if (zts_write(cfd, msg, sizeof msg) != (ssize_t)sizeof msg)
            die("zts_write");
        read_full(sfd, buf, sizeof msg);
        if (memcmp(buf, msg, sizeof msg) != 0) {
            fprintf(stderr, "node_cycles: cycle %d: message corrupted\n", cycle);
            return 1;
        }

        if (zts_close(cfd) < 0 || zts_close(sfd) < 0 || zts_close(lfd) < 0)
            die("zts_close");
        if (zts_node_stop(a) < 0 || zts_node_stop(b) < 0)
            die("zts_node_stop");
        if (zts_node_free(a) < 0 || zts_node_free(b) < 0)
            die("zts_node_free");
    }
    printf("node_cycles: %d cycles of new/start/connect/exchange/close/stop/free\n", CYCLES);
    return 0;
}
