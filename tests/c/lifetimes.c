/* lifetimes: many node lifetimes and many socket lifetimes, with resident
 * memory read before and after.  Phase "nodes": new, join, address, start,
 * every 10th cycle a 1 KiB echo with a long-lived node, stop, free.  Phase
 * "sockets": TCP and UDP sockets opened and closed on one running node,
 * every 4th bound to an ephemeral port, every 16th (UDP) sending one
 * datagram.  Growth beyond max(8 MiB, 10% of the baseline) fails the run;
 * LIFETIMES_NO_RSS_CHECK=1 only prints (valgrind inflates RSS).  Everything
 * is freed at the end so valgrind's leak check sees what a cycle leaked.
 *
 *   lifetimes [NODE_CYCLES [SOCKET_CYCLES]]   (defaults 1000 and 100000)
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

#define NET "mem:lifetimes"
#define IP_HOME "10.6.0.1" /* the long-lived node */
#define IP_CYCLE "10.6.0.2" /* every cycling node, the same each time */
#define PORT_ECHO 9200
#define PORT_SINK 9201 /* nobody listens: the datagrams are dropped */
#define MSG_LEN 1024
#define WAIT_MS 5000
#define WARM_NODES 5
#define WARM_SOCKETS 4000

static const char *phase = "setup";
static long cycle;

static void die(const char *what)
{
    fprintf(stderr, "lifetimes: %s: cycle %ld: %s: %s\n", phase, cycle, what, strerror(errno));
    exit(1);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        die("fopen /proc/self/status");
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0) {
        errno = ENOENT;
        die("VmRSS in /proc/self/status");
    }
    return kib;
}

static struct sockaddr_in sin4(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
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

/* Bounded so a lost wakeup fails the run rather than hanging it. */
static void bound(int fd)
{
    struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
    if (zts_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        zts_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        die("SO_RCVTIMEO/SO_SNDTIMEO");
}

static void read_full(int fd, char *buf, size_t len, const char *what)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = zts_read(fd, buf + got, len - got);
        if (n == 0)
            errno = ECONNRESET; /* early end of stream, reported as such */
        if (n <= 0)
            die(what);
        got += (size_t)n;
    }
}

/* Node `node` connects to the listener, sends MSG_LEN bytes, reads them back
 * echoed by the accepted end, then both ends close in order. */
static void echo(int node, int lfd)
{
    static char out[MSG_LEN], in[MSG_LEN];
    for (size_t i = 0; i < MSG_LEN; i++)
        out[i] = (char)(i * 7 + (size_t)cycle);
    int cfd = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (cfd < 0)
        die("zts_node_socket (tcp client)");
    bound(cfd);
    struct sockaddr_in home = sin4(IP_HOME, PORT_ECHO);
    if (zts_connect(cfd, (struct sockaddr *)&home, sizeof home) < 0)
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
    bound(sfd);

    if (zts_write(cfd, out, MSG_LEN) != MSG_LEN)
        die("zts_write (client)");
    read_full(sfd, in, MSG_LEN, "zts_read (server)");
    if (zts_write(sfd, in, MSG_LEN) != MSG_LEN)
        die("zts_write (echo)");
    memset(in, 0, sizeof in);
    read_full(cfd, in, MSG_LEN, "zts_read (client)");
    if (memcmp(in, out, MSG_LEN) != 0) {
        fprintf(stderr, "lifetimes: %s: cycle %ld: echoed bytes differ\n", phase, cycle);
        exit(1);
    }
    if (zts_close(cfd) < 0)
        die("zts_close (client)");
    char c;
    ssize_t n = zts_read(sfd, &c, 1); /* the client's FIN */
    if (n != 0) {
        if (n > 0)
            errno = EPROTO;
        die("zts_read (end of stream)");
    }
    if (zts_close(sfd) < 0)
        die("zts_close (server)");
}

static void node_cycles(long n, int lfd)
{
    for (cycle = 0; cycle < n; cycle++) {
        int node = start_node(IP_CYCLE "/24");
        if (cycle % 10 == 0)
            echo(node, lfd);
        if (zts_node_stop(node) < 0)
            die("zts_node_stop");
        if (zts_node_free(node) < 0)
            die("zts_node_free");
    }
}

static void socket_cycles(long n, int node)
{
    static const char dgram[] = "lifetimes";
    struct sockaddr_in any = sin4("0.0.0.0", 0), sink = sin4(IP_HOME, PORT_SINK);
    for (cycle = 0; cycle < n; cycle++) {
        int udp = cycle % 2 == 0; /* so every 16th cycle is a UDP one */
        int fd = zts_node_socket(node, AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
        if (fd < 0)
            die(udp ? "zts_node_socket (udp)" : "zts_node_socket (tcp)");
        if (cycle % 4 == 0 && zts_bind(fd, (struct sockaddr *)&any, sizeof any) < 0)
            die("zts_bind (port 0)");
        if (cycle % 16 == 0 &&
            zts_sendto(fd, dgram, sizeof dgram, MSG_DONTWAIT, (struct sockaddr *)&sink, sizeof sink) !=
                (ssize_t)sizeof dgram)
            die("zts_sendto");
        if (zts_close(fd) < 0)
            die("zts_close");
    }
}

static long arg(int argc, char **argv, int i, long dflt)
{
    if (argc <= i)
        return dflt;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end != '\0' || v < 0) {
        fprintf(stderr, "usage: lifetimes [NODE_CYCLES [SOCKET_CYCLES]]\n");
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long nodes = arg(argc, argv, 1, 1000), sockets = arg(argc, argv, 2, 100000);
    const char *skip = getenv("LIFETIMES_NO_RSS_CHECK");
    int check = !(skip != NULL && strcmp(skip, "1") == 0);

    int home = start_node(IP_HOME "/24");
    int lfd = zts_node_socket(home, AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        die("zts_node_socket (listener)");
    struct sockaddr_in a = sin4(IP_HOME, PORT_ECHO);
    if (zts_bind(lfd, (struct sockaddr *)&a, sizeof a) < 0)
        die("zts_bind (listener)");
    if (zts_listen(lfd, 4) < 0)
        die("zts_listen");

    phase = "warm-up";
    node_cycles(WARM_NODES, lfd);
    socket_cycles(WARM_SOCKETS, home);
    long base = rss_kib(), limit = base / 10 > 8192 ? base / 10 : 8192;

    const char *names[2] = { "nodes", "sockets" };
    long counts[2] = { nodes, sockets }, after[2];
    for (int i = 0; i < 2; i++) {
        phase = names[i];
        long before = rss_kib();
        if (i == 0)
            node_cycles(counts[i], lfd);
        else
            socket_cycles(counts[i], home);
        after[i] = rss_kib();
        printf("lifetimes: %s: %ld cycles, rss %ld KiB -> %ld KiB\n", names[i], counts[i], before, after[i]);
        fflush(stdout);
    }

    phase = "teardown";
    cycle = 0;
    if (zts_close(lfd) < 0)
        die("zts_close (listener)");
    if (zts_node_stop(home) < 0)
        die("zts_node_stop (home)");
    if (zts_node_free(home) < 0)
        die("zts_node_free (home)");

    int failed = 0;
    for (int i = 0; i < 2 && check; i++)
        if (after[i] - base > limit) {
            fprintf(stderr, "lifetimes: %s: rss grew %ld KiB over the %ld KiB baseline (limit %ld KiB)\n",
                    names[i], after[i] - base, base, limit);
            failed = 1;
        }
    if (failed)
        return 1;
    printf("lifetimes: rss %s (baseline %ld KiB, limit +%ld KiB)\n",
           check ? "within limit" : "not judged", base, limit);
    return 0;
}
