/* echo-server: a TCP echo server on a zts node, one thread per client.
 *
 *   echo-server URI ADDRESS PORT [MAX_CLIENTS]
 *
 * URI is any zts network ("mem:lab", "vxlan://127.0.0.1:0?vni=42&learn=1",
 * "tap:zt0"); ADDRESS is "10.0.0.1/24" or "dhcp". Once it listens it prints
 * "ready IP:PORT (udp port N)", N being the overlay's UDP port (-1 for
 * networks that are not overlays), so that a peer process can join it.
 * With MAX_CLIENTS it exits 0 after serving that many clients; without it,
 * it serves until killed. */
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

static void fail(const char *what)
{
    fprintf(stderr, "echo-server: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int usage(void)
{
    fprintf(stderr, "usage: echo-server URI ADDRESS PORT [MAX_CLIENTS]\n"
                    "  e.g. echo-server 'vxlan://127.0.0.1:0?vni=42&learn=1' 10.0.0.1/24 7 2\n");
    return 2;
}

/* A whole decimal number in [min, max], else -1. */
static long parse_num(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    return v;
}

struct client {
    int fd;
    char name[INET_ADDRSTRLEN + 8]; /* "IP:PORT", for the log */
};

/* Writes all of buf. A blocking zts_write already queues every byte before
 * it returns; the loop keeps this right for a write that comes back short. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = zts_write(fd, p, len);
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One client's thread: echo until it shuts down its half (read 0) or goes
 * away (a reset is how a peer whose node stopped says goodbye, so it is
 * not an error for an echo server). Returns non-NULL on a real failure. */
static void *serve(void *arg)
{
    struct client *c = arg;
    char buf[16384];
    size_t total = 0;
    int failed = 0;
    for (;;) {
        ssize_t n = zts_read(c->fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0 || write_all(c->fd, buf, (size_t)n) < 0) {
            if (zts_errno() == ECONNRESET || zts_errno() == EPIPE) {
                printf("client %s reset the connection\n", c->name);
            } else {
                fprintf(stderr, "echo-server: client %s: %s\n", c->name, zts_errmsg());
                failed = 1;
            }
            break;
        }
        total += (size_t)n;
    }
    printf("client %s done, %zu bytes echoed\n", c->name, total);
    fflush(stdout);
    zts_close(c->fd);
    free(c);
    return failed ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        return usage();
    long port = parse_num(argv[3], 0, 65535);
    long max_clients = argc == 5 ? parse_num(argv[4], 1, 1000000) : 0;
    if (port < 0 || max_clients < 0)
        return usage();

    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    int net = zts_net_join(node, argv[1]);
    if (net < 0) fail(argv[1]);
    if (zts_addr_add(node, net, argv[2]) < 0) fail(argv[2]);
    if (zts_node_start(node) < 0) fail("zts_node_start");

    int l = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (l < 0) fail("zts_node_socket");
    int one = 1;
    if (zts_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        fail("SO_REUSEADDR");
    /* The wildcard address: it also covers an address DHCP brings later. */
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (zts_bind(l, (struct sockaddr *)&sin, sizeof sin) < 0) fail("zts_bind");
    if (zts_listen(l, 16) < 0) fail("zts_listen");
    /* PORT 0 picks a free port: report the one we got. */
    socklen_t slen = sizeof sin;
    if (zts_getsockname(l, (struct sockaddr *)&sin, &slen) < 0) fail("zts_getsockname");

    /* With DHCP the address arrives a little later: wait for it (20 s at
     * most) so that the ready line names an address clients can use. */
    struct sockaddr_storage me;
    for (int i = 0; zts_addr_get(node, net, AF_INET, &me) < 0; i++) {
        if (i == 400) fail("no IPv4 address");
        zts_poll(NULL, 0, 50);
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, ip, sizeof ip);
    /* -1 (EOPNOTSUPP) unless the network is an overlay. */
    int udp_port = zts_net_get_port(node, net);
    printf("ready %s:%u (udp port %d)\n", ip, ntohs(sin.sin_port), udp_port);
    fflush(stdout);

    /* With MAX_CLIENTS the threads are kept to be joined before exiting;
     * without, they are detached and clean up after themselves. */
    pthread_t *threads = NULL;
    if (max_clients > 0 && !(threads = calloc((size_t)max_clients, sizeof *threads))) {
        fprintf(stderr, "echo-server: out of memory\n");
        return 1;
    }
    long served = 0;
    while (max_clients == 0 || served < max_clients) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int fd = zts_accept(l, (struct sockaddr *)&peer, &plen);
        if (fd < 0) fail("zts_accept");
        struct client *c = malloc(sizeof *c);
        if (!c) {
            fprintf(stderr, "echo-server: out of memory\n");
            return 1;
        }
        c->fd = fd;
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        snprintf(c->name, sizeof c->name, "%s:%u", ip, ntohs(peer.sin_port));
        printf("client %s connected\n", c->name);
        fflush(stdout);
        pthread_t t;
        if ((errno = pthread_create(&t, NULL, serve, c)) != 0) {
            fprintf(stderr, "echo-server: pthread_create: %s\n", strerror(errno));
            zts_close(fd);
            free(c);
            return 1;
        }
        if (threads)
            threads[served] = t;
        else
            pthread_detach(t);
        served++;
    }

    /* Only reached with MAX_CLIENTS: wait for the last echoes, then tidy up. */
    int status = 0;
    for (long i = 0; i < served; i++) {
        void *rc;
        pthread_join(threads[i], &rc);
        if (rc)
            status = 1;
    }
    free(threads);
    zts_close(l);
    /* Stopping a node resets its connections at once, even ones whose
     * echoes a zts_close left still on their way. That loses nothing here
     * because a client reads all its echoes before it shuts down. */
    if (zts_node_free(node) < 0) fail("zts_node_free");
    printf("served %ld clients\n", served);
    return status;
}
