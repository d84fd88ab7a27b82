/* zts demo: two nodes on an in-process network, a TCP echo server on one,
 * a client on the other.  No root, no kernel interfaces: everything below
 * happens inside this process.
 *
 *   cc -std=c11 demo.c -lzts -pthread -o demo && ./demo
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* inet_pton etc. under -std=c11 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zts.h>

#define NET "mem:demo"
#define PORT 7

static void die(const char *what)
{
    fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A node is a host of its own: it joins a network, gets an address, and
 * only then starts its stack thread. */
static int start_node(const char *cidr)
{
    int node = zts_node_new();
    if (node < 0)
        die("zts_node_new");
    int net = zts_net_join(node, NET);
    if (net < 0)
        die("zts_net_join " NET);
    if (zts_addr_add(node, net, cidr) < 0)
        die("zts_addr_add");
    if (zts_node_start(node) < 0)
        die("zts_node_start");
    printf("node %d started with %s\n", node, cidr);
    return node;
}

/* Server side: echo one connection until the client shuts down its half. */
static void *serve(void *arg)
{
    int lfd = *(int *)arg;
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int cfd = zts_accept(lfd, (struct sockaddr *)&peer, &plen);
    if (cfd < 0)
        die("zts_accept");
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    printf("server accepted %s:%u\n", ip, ntohs(peer.sin_port));

    char buf[512];
    size_t total = 0;
    ssize_t n;
    while ((n = zts_read(cfd, buf, sizeof buf)) > 0) {
        /* A blocking write returns only once every byte is queued. */
        if (zts_write(cfd, buf, (size_t)n) != n)
            die("server zts_write");
        total += (size_t)n;
    }
    if (n < 0)
        die("server zts_read");
    printf("server saw end of stream after %zu bytes, closing\n", total);
    zts_close(cfd);
    return NULL;
}

/* Read exactly len bytes: TCP is a byte stream, an echo may come back in pieces. */
static void read_full(int fd, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = zts_read(fd, buf + got, len - got);
        if (n < 0)
            die("client zts_read");
        if (n == 0) {
            fprintf(stderr, "demo: server closed early\n");
            exit(1);
        }
        got += (size_t)n;
    }
}

int main(void)
{
    printf("zts %s\n", zts_version());
    int a = start_node("10.0.0.1/24");
    int b = start_node("10.0.0.2/24");

    /* Listen before the server thread starts, so the client cannot race it. */
    int lfd = zts_node_socket(a, AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        die("zts_node_socket (server)");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    inet_pton(AF_INET, "10.0.0.1", &addr.sin_addr);
    if (zts_bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("zts_bind");
    if (zts_listen(lfd, 1) < 0)
        die("zts_listen");
    printf("server listening on 10.0.0.1:%d\n", PORT);
    pthread_t server;
    if ((errno = pthread_create(&server, NULL, serve, &lfd)) != 0)
        die("pthread_create");

    int fd = zts_node_socket(b, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("zts_node_socket (client)");
    if (zts_connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("zts_connect 10.0.0.1:7");
    struct sockaddr_in me;
    socklen_t mlen = sizeof me;
    if (zts_getsockname(fd, (struct sockaddr *)&me, &mlen) < 0)
        die("zts_getsockname");
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
    printf("client connected to 10.0.0.1:%d from %s:%u\n", PORT, ip, ntohs(me.sin_port));

    const char *lines[] = { "hello", "from node B", "over an in-process network" };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t len = strlen(lines[i]);
        char back[64];
        if (zts_write(fd, lines[i], len) != (ssize_t)len)
            die("client zts_write");
        read_full(fd, back, len);
        if (memcmp(back, lines[i], len) != 0) {
            fprintf(stderr, "demo: echo of '%s' came back as '%.*s'\n", lines[i], (int)len, back);
            exit(1);
        }
        printf("echoed '%s' (%zu bytes)\n", lines[i], len);
    }

    /* Half-close: the server reads end-of-stream, closes, and we read 0. */
    if (zts_shutdown(fd, SHUT_WR) < 0)
        die("zts_shutdown");
    char tail[16];
    ssize_t n = zts_read(fd, tail, sizeof tail);
    if (n != 0) {
        if (n < 0)
            die("client zts_read after shutdown");
        fprintf(stderr, "demo: unexpected %zd bytes after shutdown\n", n);
        exit(1);
    }
    printf("client read end of stream, closing\n");
    zts_close(fd);
    if ((errno = pthread_join(server, NULL)) != 0)
        die("pthread_join");
    zts_close(lfd);

    if (zts_node_stop(a) < 0 || zts_node_stop(b) < 0)
        die("zts_node_stop");
    if (zts_node_free(a) < 0 || zts_node_free(b) < 0)
        die("zts_node_free");
    printf("nodes %d and %d stopped and freed\n", a, b);
    return 0;
}
