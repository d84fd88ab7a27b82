/*
 * The C side of the Swift binding's throughput comparison: two nodes on a
 * mem: network, one thread writes N MiB (128 KiB writes) over TCP, the
 * other reads (256 KiB reads) and counts to the end of stream. Prints
 *   c: 256 MiB in 0.210 s, 1219 MiB/s
 * The Swift side (Sources/zts-transfer) does the same with the same sizes.
 *
 * usage: c-transfer [MiB]   (default 256)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zts.h"

enum { WRITE_SIZE = 128 * 1024, READ_SIZE = 256 * 1024, PORT = 5001 };

static void fail(const char *what) {
    fprintf(stderr, "c-transfer: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int node_on(const char *cidr) {
    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    int net = zts_net_join(node, "mem:swift-bench-c");
    if (net < 0) fail("zts_net_join");
    if (zts_addr_add(node, net, cidr) < 0) fail("zts_addr_add");
    if (zts_node_start(node) < 0) fail("zts_node_start");
    return node;
}

struct writer {
    int fd;
    size_t total;
};

static void *write_all(void *arg) {
    struct writer *w = arg;
    static char buf[WRITE_SIZE];
    memset(buf, 'z', sizeof buf);
    for (size_t sent = 0; sent < w->total;) {
        size_t n = w->total - sent < sizeof buf ? w->total - sent : sizeof buf;
        ssize_t k = zts_write(w->fd, buf, n);
        if (k < 0) fail("zts_write");
        sent += (size_t)k;
    }
    if (zts_close(w->fd) < 0) fail("zts_close");
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    int server = node_on("10.77.0.1/24");
    int client = node_on("10.77.0.2/24");

    int lfd = zts_node_socket(server, AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) fail("zts_node_socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, "10.77.0.1", &addr.sin_addr);
    if (zts_bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) fail("zts_bind");
    if (zts_listen(lfd, 1) < 0) fail("zts_listen");

    int cfd = zts_node_socket(client, AF_INET, SOCK_STREAM, 0);
    if (cfd < 0) fail("zts_node_socket");
    if (zts_connect(cfd, (struct sockaddr *)&addr, sizeof addr) < 0) fail("zts_connect");
    int afd = zts_accept(lfd, NULL, NULL);
    if (afd < 0) fail("zts_accept");

    double start = now();
    struct writer w = {.fd = cfd, .total = mib << 20};
    pthread_t t;
    if (pthread_create(&t, NULL, write_all, &w) != 0) {
        fprintf(stderr, "c-transfer: pthread_create failed\n");
        return 1;
    }
    static char buf[READ_SIZE];
    size_t got = 0;
    for (;;) {
        ssize_t k = zts_read(afd, buf, sizeof buf);
        if (k < 0) fail("zts_read");
        if (k == 0) break;
        got += (size_t)k;
    }
    double secs = now() - start;
    pthread_join(t, NULL);
    if (got != w.total) {
        fprintf(stderr, "c-transfer: read %zu bytes, expected %zu\n", got, w.total);
        return 1;
    }
    printf("c: %zu MiB in %.3f s, %.0f MiB/s\n", mib, secs, (double)mib / secs);
    zts_close(afd);
    zts_close(lfd);
    zts_node_free(client);
    zts_node_free(server);
    return 0;
}
