/* Install test, C side: built against an installed zts (find_package(zts),
 * target zts::zts or zts::zts_static). Two nodes on an in-process network,
 * one TCP echo round trip, then "consumer c ok".
 *
 * One thread is enough: the listener's backlog completes the handshake, so
 * connect returns before accept is called. Receive timeouts turn a hang
 * into a failure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* inet_pton etc. under -std=c11 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <zts.h>

#define NET "mem:consumer-c"
#define PORT 7

static void die(const char *what)
{
    fprintf(stderr, "app_c: %s: %s\n", what, zts_errmsg());
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

static int tcp_socket(int node)
{
    int fd = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("zts_node_socket");
    struct timeval tv = { .tv_sec = 10 };
    if (zts_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        die("zts_setsockopt SO_RCVTIMEO");
    return fd;
}

/* Reads exactly len bytes: TCP may deliver them in pieces. */
static void read_full(int fd, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = zts_read(fd, buf + got, len - got);
        if (n == 0) {
            fprintf(stderr, "app_c: connection closed early\n");
            exit(1);
        }
        if (n < 0)
            die("zts_read");
        got += (size_t)n;
    }
}

int main(void)
{
    static const char msg[] = "consumer ping";
    char buf[sizeof msg];
    int a = start_node("10.0.0.1/24");
    int b = start_node("10.0.0.2/24");

    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    inet_pton(AF_INET, "10.0.0.1", &addr.sin_addr);
    int lfd = tcp_socket(a);
    if (zts_bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("zts_bind");
    if (zts_listen(lfd, 1) < 0)
        die("zts_listen");

    int cfd = tcp_socket(b);
    if (zts_connect(cfd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("zts_connect");
    int sfd = zts_accept(lfd, NULL, NULL);
    if (sfd < 0)
        die("zts_accept");

    /* Client to server, and the server echoes it back. */
    if (zts_write(cfd, msg, sizeof msg) != (ssize_t)sizeof msg)
        die("zts_write (client)");
    read_full(sfd, buf, sizeof buf);
    if (zts_write(sfd, buf, sizeof buf) != (ssize_t)sizeof buf)
        die("zts_write (server)");
    memset(buf, 0, sizeof buf);
    read_full(cfd, buf, sizeof buf);
    if (memcmp(buf, msg, sizeof msg) != 0) {
        fprintf(stderr, "app_c: echo came back as '%.*s'\n", (int)sizeof buf, buf);
        return 1;
    }

    if (zts_close(cfd) < 0 || zts_close(sfd) < 0 || zts_close(lfd) < 0)
        die("zts_close");
    if (zts_node_free(a) < 0 || zts_node_free(b) < 0)
        die("zts_node_free");
    printf("consumer c ok\n");
    return 0;
}
