/* poll-server: a TCP echo server in one thread, with non-blocking sockets
 * and zts_poll over the listener and every client.
 *
 *   poll-server URI ADDRESS PORT [MAX_CLIENTS]
 *
 * Prints "ready IP:PORT (udp port N)" like echo-server. With MAX_CLIENTS
 * it stops accepting after that many clients and exits 0 once they have
 * all gone; without, it serves until killed.
 *
 * The one rule of a non-blocking echo server: never wait on one client.
 * What a client's socket cannot take now is kept in that client's pending
 * buffer, and the client is not read again (POLLOUT instead of POLLIN)
 * until that buffer has been written: a client that sends but does not
 * read stalls only itself, and the server's memory stays bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zts.h>

#define CHUNK 16384

static void fail(const char *what)
{
    fprintf(stderr, "poll-server: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int usage(void)
{
    fprintf(stderr, "usage: poll-server URI ADDRESS PORT [MAX_CLIENTS]\n"
                    "  e.g. poll-server 'vxlan://127.0.0.1:0?vni=42&learn=1' 10.0.0.1/24 7 3\n");
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

struct client {
    int fd;
    char name[INET_ADDRSTRLEN + 8];
    char pending[CHUNK]; /* read but not yet echoed: pending[off..len) */
    size_t off, len;
    int eof;             /* the client shut down its half: close once flushed */
    size_t total;
};

static struct client **clients; /* clients[i] goes with fds[i + 1] */
static size_t nclients, cap;

static void drop(size_t i, const char *why)
{
    struct client *c = clients[i];
    printf("client %s %s, %zu bytes echoed\n", c->name, why, c->total);
    fflush(stdout);
    zts_close(c->fd);
    free(c);
    clients[i] = clients[--nclients];
}

/* Writes what is pending; 0 when all of it went, 1 when the socket is
 * full (wait for POLLOUT), -1 when the client is gone. */
static int flush(struct client *c)
{
    while (c->off < c->len) {
        ssize_t n = zts_write(c->fd, c->pending + c->off, c->len - c->off);
        if (n < 0)
            return zts_errno() == EAGAIN ? 1 : -1;
        c->off += (size_t)n;
        c->total += (size_t)n;
    }
    c->off = c->len = 0;
    return 0;
}

/* Reads and echoes until the socket has nothing more or is full, or for
 * a few rounds at most so that a busy client cannot starve the others
 * (poll reports it again); -1 if the client must be dropped (gone, or
 * done and flushed). */
static int service(struct client *c)
{
    for (int round = 0; round < 8; round++) {
        int f = flush(c);
        if (f != 0)
            return f < 0 ? -1 : 0;
        if (c->eof)
            return -1;
        ssize_t n = zts_read(c->fd, c->pending, sizeof c->pending);
        if (n < 0)
            return zts_errno() == EAGAIN ? 0 : -1;
        if (n == 0)
            c->eof = 1;
        c->len = (size_t)n;
    }
    int f = flush(c);
    return f < 0 || (f == 0 && c->eof) ? -1 : 0;
}

/* Accepts every waiting connection (a non-blocking listener says EAGAIN
 * when there is none left); returns how many. */
static long accept_all(int l, long limit)
{
    long got = 0;
    while (got < limit) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int fd = zts_accept(l, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            if (zts_errno() == EAGAIN)
                break;
            fail("zts_accept");
        }
        /* An accepted socket does not inherit O_NONBLOCK: set it. */
        if (zts_fcntl(fd, F_SETFL, zts_fcntl(fd, F_GETFL, 0) | O_NONBLOCK) < 0)
            fail("zts_fcntl");
        struct client *c = calloc(1, sizeof *c);
        if (!c || (nclients == cap && !(clients = realloc(clients, (cap = cap * 2 + 8) * sizeof *clients)))) {
            fprintf(stderr, "poll-server: out of memory\n");
            exit(1);
        }
        c->fd = fd;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        snprintf(c->name, sizeof c->name, "%s:%u", ip, ntohs(peer.sin_port));
        printf("client %s connected\n", c->name);
        fflush(stdout);
        clients[nclients++] = c;
        got++;
    }
    return got;
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
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (zts_bind(l, (struct sockaddr *)&sin, sizeof sin) < 0) fail("zts_bind");
    if (zts_listen(l, 64) < 0) fail("zts_listen");
    socklen_t slen = sizeof sin;
    if (zts_getsockname(l, (struct sockaddr *)&sin, &slen) < 0) fail("zts_getsockname");
    /* POLLIN on the listener only says "someone is waiting"; accept must
     * not block if that someone is gone by the time we get there. */
    if (zts_fcntl(l, F_SETFL, O_NONBLOCK) < 0) fail("zts_fcntl");

    struct sockaddr_storage me;
    for (int i = 0; zts_addr_get(node, net, AF_INET, &me) < 0; i++) {
        if (i == 400) fail("no IPv4 address");
        zts_poll(NULL, 0, 50);
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, ip, sizeof ip);
    printf("ready %s:%u (udp port %d)\n", ip, ntohs(sin.sin_port), zts_net_get_port(node, net));
    fflush(stdout);

    struct pollfd *fds = NULL;
    size_t fds_cap = 0;
    long accepted = 0;
    for (;;) {
        int listening = max_clients == 0 || accepted < max_clients;
        if (!listening && nclients == 0)
            break;
        if (fds_cap < nclients + 1) {
            fds_cap = (nclients + 1) * 2;
            if (!(fds = realloc(fds, fds_cap * sizeof *fds))) {
                fprintf(stderr, "poll-server: out of memory\n");
                return 1;
            }
        }
        /* fds[0] is the listener (skipped, as -1, once we accept no more);
         * fds[i + 1] is clients[i]. */
        fds[0] = (struct pollfd){ .fd = listening ? l : -1, .events = POLLIN };
        for (size_t i = 0; i < nclients; i++) {
            struct client *c = clients[i];
            fds[i + 1] = (struct pollfd){ .fd = c->fd, .events = c->len > c->off ? POLLOUT : POLLIN };
        }
        if (zts_poll(fds, nclients + 1, -1) < 0) fail("zts_poll");

        /* Clients first, walking down: drop() moves the last one into the
         * hole, and those were polled at the same indices. */
        for (size_t i = nclients; i-- > 0;) {
            if (fds[i + 1].revents == 0)
                continue;
            /* POLLERR and POLLHUP come whatever we asked for: the read or
             * write in service() then tells what happened. */
            if (service(clients[i]) < 0) {
                int reset = clients[i]->eof == 0;
                drop(i, reset ? "went away" : "done");
            }
        }
        if (fds[0].revents & POLLIN)
            accepted += accept_all(l, max_clients ? max_clients - accepted : 1000000);
    }

    free(fds);
    free(clients);
    zts_close(l);
    /* Stopping a node resets its connections at once, even ones whose
     * echoes a zts_close left still on their way. That loses nothing here
     * because a client reads all its echoes before it shuts down. */
    if (zts_node_free(node) < 0) fail("zts_node_free");
    printf("served %ld clients\n", accepted);
    return 0;
}
