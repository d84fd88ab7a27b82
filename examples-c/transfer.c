/* transfer: one bulk TCP transfer between two nodes on an in-process
 * network, timed; the C API's figure that the Python and Swift bindings'
 * tests print theirs beside.
 *
 *   transfer [MIB [WRITE_KIB]]     (default 256 MiB, all in one write)
 *
 * The sender hands the buffer to zts_write from an advancing offset, all
 * that is left per call (as Python's sendall does) or at most WRITE_KIB
 * (as the Swift test's 128 KiB writes); the receiver reads into one
 * 256 KiB buffer and compares each read with what was sent at that offset.
 * Prints "c: N MiB in S s, R MiB/s". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <zts.h>

#define READ_MAX (256 * 1024)
#define PORT 9000

static unsigned char *sent, received[READ_MAX];
static size_t total, write_max;

static void fail(const char *what)
{
    fprintf(stderr, "transfer: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int start_node(const char *cidr)
{
    int node = zts_node_new();
    if (node < 0)
        fail("zts_node_new");
    int net = zts_net_join(node, "mem:transfer");
    if (net < 0)
        fail("zts_net_join");
    if (zts_addr_add(node, net, cidr) < 0)
        fail("zts_addr_add");
    if (zts_node_start(node) < 0)
        fail("zts_node_start");
    return node;
}

static void *send_all(void *arg)
{
    int fd = *(int *)arg;
    size_t done = 0;
    while (done < total) {
        size_t want = total - done < write_max ? total - done : write_max;
        ssize_t n = zts_write(fd, sent + done, want);
        if (n < 0)
            fail("zts_write");
        done += (size_t)n;
    }
    zts_close(fd);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
    long write_kib = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (mib < 1 || mib > 4096 || write_kib < 0 || argc > 3) {
        fprintf(stderr, "usage: transfer [MIB [WRITE_KIB]]   (MIB 1 to 4096, default 256;\n"
                        "                WRITE_KIB per write, default 0: all that is left)\n");
        return 2;
    }
    total = (size_t)mib << 20;
    write_max = write_kib ? (size_t)write_kib << 10 : total;
    sent = malloc(total);
    if (!sent) {
        fprintf(stderr, "transfer: out of memory\n");
        return 1;
    }
    uint32_t x = 12345; /* seeded pattern, so a shifted byte is caught */
    for (size_t i = 0; i < total; i++) {
        x = x * 1103515245u + 12345u;
        sent[i] = (unsigned char)(x >> 24);
    }

    int a = start_node("10.99.0.1/24"), b = start_node("10.99.0.2/24");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, "10.99.0.1", &sin.sin_addr);
    int lfd = zts_node_socket(a, AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || zts_bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        zts_listen(lfd, 1) < 0)
        fail("listen");
    int cfd = zts_node_socket(b, AF_INET, SOCK_STREAM, 0);
    if (cfd < 0 || zts_connect(cfd, (struct sockaddr *)&sin, sizeof sin) < 0)
        fail("connect");
    int sfd = zts_accept(lfd, NULL, NULL);
    if (sfd < 0)
        fail("accept");

    double t0 = now();
    pthread_t sender;
    if (pthread_create(&sender, NULL, send_all, &cfd) != 0)
        fail("pthread_create");
    size_t got = 0;
    for (;;) {
        ssize_t n = zts_read(sfd, received, READ_MAX);
        if (n < 0)
            fail("zts_read");
        if (n == 0)
            break;
        if ((size_t)n > total - got || memcmp(received, sent + got, (size_t)n) != 0) {
            fprintf(stderr, "transfer: the bytes at offset %zu are not what was sent\n", got);
            return 1;
        }
        got += (size_t)n;
    }
    double secs = now() - t0;
    pthread_join(sender, NULL);

    if (got != total) {
        fprintf(stderr, "transfer: %zu of %zu bytes arrived\n", got, total);
        return 1;
    }
    printf("c: %ld MiB in %.3f s, %.0f MiB/s\n", mib, secs, mib / secs);
    zts_close(sfd);
    zts_close(lfd);
    zts_node_free(a);
    zts_node_free(b);
    free(sent);
    return 0;
}
