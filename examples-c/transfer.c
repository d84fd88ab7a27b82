/* transfer: one bulk TCP transfer between two nodes on an in-process
 * network, timed; the C API's figure that the Python and Swift bindings'
 * tests print theirs beside.
 *
 *   transfer [MIB]          (default 256)
 *
 * The sender hands the whole buffer to zts_write from an advancing offset
 * (as Python's sendall does); the receiver reads straight into its own
 * buffer of the same size, 256 KiB per call at most. Both buffers are
 * compared after the clock stops. Prints "c: N MiB in S s, R MiB/s". */
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

static unsigned char *sent, *received;
static size_t total;

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
        ssize_t n = zts_write(fd, sent + done, total - done);
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
    if (mib < 1 || mib > 4096) {
        fprintf(stderr, "usage: transfer [MIB]   (1 to 4096, default 256)\n");
        return 2;
    }
    total = (size_t)mib << 20;
    sent = malloc(total);
    received = malloc(total);
    if (!sent || !received) {
        fprintf(stderr, "transfer: out of memory\n");
        return 1;
    }
    uint32_t x = 12345; /* seeded pattern, so a shifted byte is caught */
    for (size_t i = 0; i < total; i++) {
        x = x * 1103515245u + 12345u;
        sent[i] = (unsigned char)(x >> 24);
    }
    memset(received, 0, total); /* both buffers resident before timing */

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
    unsigned char extra; /* where a byte beyond `total` would land */
    for (;;) {
        size_t want = total - got < READ_MAX ? total - got : READ_MAX;
        ssize_t n = want ? zts_read(sfd, received + got, want) : zts_read(sfd, &extra, 1);
        if (n < 0)
            fail("zts_read");
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > total) {
            fprintf(stderr, "transfer: more bytes than were sent\n");
            return 1;
        }
    }
    double secs = now() - t0;
    pthread_join(sender, NULL);

    if (got != total || memcmp(sent, received, total) != 0) {
        fprintf(stderr, "transfer: %zu of %zu bytes arrived, or they differ\n", got, total);
        return 1;
    }
    printf("c: %ld MiB in %.3f s, %.0f MiB/s\n", mib, secs, mib / secs);
    zts_close(sfd);
    zts_close(lfd);
    zts_node_free(a);
    zts_node_free(b);
    free(sent);
    free(received);
    return 0;
}
