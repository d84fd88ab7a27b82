/* udp-echo: a UDP echo server and its client over a zts network.
 *
 *   udp-echo server URI ADDRESS PORT [MAX_DATAGRAMS]
 *   udp-echo client URI ADDRESS SERVER_IP:PORT MESSAGE
 *
 * The server prints "ready IP:PORT (udp port N)" (N: the overlay's UDP
 * port, -1 for other networks), sends every datagram back to its sender,
 * and with MAX_DATAGRAMS exits 0 after echoing that many. The client sends
 * MESSAGE, waits up to 5 s for the echo, checks it and prints
 * "echoed: MESSAGE". Over an overlay between two processes:
 *   udp-echo server 'vxlan://127.0.0.1:0?vni=7&learn=1' 10.0.0.1/24 7 1
 *   udp-echo client 'vxlan://127.0.0.2:0?vni=7&peer=127.0.0.1:UDP_PORT' \
 *       10.0.0.2/24 10.0.0.1:7 hello */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <zts.h>

/* The largest UDP payload over IPv4. */
#define MAX_DATAGRAM 65507

static void fail(const char *what)
{
    fprintf(stderr, "udp-echo: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int usage(void)
{
    fprintf(stderr, "usage: udp-echo server URI ADDRESS PORT [MAX_DATAGRAMS]\n"
                    "       udp-echo client URI ADDRESS SERVER_IP:PORT MESSAGE\n"
                    "  e.g. udp-echo server mem:lab 10.0.0.1/24 7 1\n");
    return 2;
}

static long parse_num(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    return v;
}

static int parse_endpoint(const char *s, struct sockaddr_in *sin)
{
    char ip[INET_ADDRSTRLEN];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof ip)
        return -1;
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    long port = parse_num(colon + 1, 1, 65535);
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    return port < 0 || inet_pton(AF_INET, ip, &sin->sin_addr) != 1 ? -1 : 0;
}

/* A started node with ADDRESS on URI; its IPv4 address goes to *me. */
static int start_node(const char *uri, const char *cidr, int *net, struct sockaddr_in *me)
{
    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    *net = zts_net_join(node, uri);
    if (*net < 0) fail(uri);
    if (zts_addr_add(node, *net, cidr) < 0) fail(cidr);
    if (zts_node_start(node) < 0) fail("zts_node_start");
    /* With DHCP the address arrives a little later (20 s at most). */
    struct sockaddr_storage ss;
    for (int i = 0; zts_addr_get(node, *net, AF_INET, &ss) < 0; i++) {
        if (i == 400) fail("no IPv4 address");
        zts_poll(NULL, 0, 50);
    }
    memcpy(me, &ss, sizeof *me);
    return node;
}

/* Waits (5 s at most) until the node has put at least `bytes` more bytes
 * on network `net` than `before`, by its frame counters.
 * Why: zts queues a sent datagram for its stack thread, and zts_close (or
 * stopping the node) before that thread sends it discards it. A server
 * that exits right after its last echo must let the echo leave first. */
static void wait_sent(int node, int net, uint64_t before, uint64_t bytes)
{
    struct zts_net_stats st;
    for (int i = 0; i < 500; i++) {
        if (zts_net_stats(node, net, &st) < 0 || st.tx_bytes >= before + bytes)
            return;
        zts_poll(NULL, 0, 10);
    }
    fprintf(stderr, "udp-echo: the last echo may not have left\n");
}

static int server(const char *uri, const char *cidr, long port, long max)
{
    int net;
    struct sockaddr_in me;
    int node = start_node(uri, cidr, &net, &me);
    int fd = zts_node_socket(node, AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) fail("zts_node_socket");
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (zts_bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) fail("zts_bind");
    socklen_t slen = sizeof sin;
    if (zts_getsockname(fd, (struct sockaddr *)&sin, &slen) < 0) fail("zts_getsockname");
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
    printf("ready %s:%u (udp port %d)\n", ip, ntohs(sin.sin_port), zts_net_get_port(node, net));
    fflush(stdout);

    /* Big enough for any datagram, so none is cut short. */
    char *buf = malloc(MAX_DATAGRAM);
    if (!buf) {
        fprintf(stderr, "udp-echo: out of memory\n");
        return 1;
    }
    for (long done = 0; max == 0 || done < max; done++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        ssize_t n = zts_recvfrom(fd, buf, MAX_DATAGRAM, 0, (struct sockaddr *)&peer, &plen);
        if (n < 0) fail("zts_recvfrom");
        struct zts_net_stats st;
        if (zts_net_stats(node, net, &st) < 0) fail("zts_net_stats");
        /* Answer where it came from: no connection, so each datagram
         * carries its own return address. */
        if (zts_sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen) != n)
            fail("zts_sendto");
        /* On the way out: an Ethernet, IPv4 and UDP header (42 bytes) and
         * the payload (more headers if it is fragmented). */
        if (max != 0 && done + 1 == max)
            wait_sent(node, net, st.tx_bytes, 42 + (uint64_t)n);
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        printf("echoed %zd bytes to %s:%u\n", n, ip, ntohs(peer.sin_port));
        fflush(stdout);
    }
    free(buf);
    zts_close(fd);
    if (zts_node_free(node) < 0) fail("zts_node_free");
    return 0;
}

static int client(const char *uri, const char *cidr, const struct sockaddr_in *to, const char *msg)
{
    size_t len = strlen(msg);
    if (len > MAX_DATAGRAM) {
        fprintf(stderr, "udp-echo: a datagram holds at most %d bytes\n", MAX_DATAGRAM);
        return 2;
    }
    int net;
    struct sockaddr_in me;
    int node = start_node(uri, cidr, &net, &me);
    int fd = zts_node_socket(node, AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) fail("zts_node_socket");
    /* A connected UDP socket hears only its peer: a stray datagram from
     * anyone else cannot pass for the echo. */
    if (zts_connect(fd, (const struct sockaddr *)to, sizeof *to) < 0) fail("zts_connect");
    /* UDP promises nothing: bound the wait instead of hanging on a loss. */
    struct timeval tv = { .tv_sec = 5 };
    if (zts_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) fail("SO_RCVTIMEO");
    if (zts_send(fd, msg, len, 0) != (ssize_t)len) fail("zts_send");

    /* One byte more than we sent, so a longer reply shows as a mismatch. */
    char *back = malloc(len + 1);
    if (!back) {
        fprintf(stderr, "udp-echo: out of memory\n");
        return 1;
    }
    ssize_t n = zts_recv(fd, back, len + 1, 0);
    int ok = 0;
    if (n < 0 && zts_errno() == EAGAIN)
        fprintf(stderr, "udp-echo: no echo within 5 s\n");
    else if (n < 0)
        fail("zts_recv");
    else if ((size_t)n != len || memcmp(back, msg, len) != 0)
        fprintf(stderr, "udp-echo: echo came back as '%.*s' (%zd bytes)\n", (int)n, back, n);
    else
        ok = 1;
    free(back);
    zts_close(fd);
    if (zts_node_free(node) < 0) fail("zts_node_free");
    if (!ok)
        return 1;
    printf("echoed: %s\n", msg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && argc <= 6 && strcmp(argv[1], "server") == 0) {
        long port = parse_num(argv[4], 0, 65535);
        long max = argc == 6 ? parse_num(argv[5], 1, 1000000000) : 0;
        if (port < 0 || max < 0)
            return usage();
        return server(argv[2], argv[3], port, max);
    }
    if (argc == 6 && strcmp(argv[1], "client") == 0) {
        struct sockaddr_in to;
        if (parse_endpoint(argv[4], &to) < 0) {
            fprintf(stderr, "udp-echo: not an IPv4 address and port: %s\n", argv[4]);
            return usage();
        }
        return client(argv[2], argv[3], &to, argv[5]);
    }
    return usage();
}
