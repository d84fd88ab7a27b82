/* echo-client: send a message to a TCP echo server over a zts network and
 * check that each copy comes back unchanged.
 *
 *   echo-client URI ADDRESS SERVER_IP:PORT MESSAGE [COUNT]
 *
 * URI is any zts network; to reach an echo-server in another process over
 * an overlay, give its UDP port as the peer:
 *   echo-client 'vxlan://127.0.0.1:0?vni=42&peer=127.0.0.1:UDP_PORT' \
 *       10.0.0.2/24 10.0.0.1:7 hello 3
 * Prints "echoed N messages" and exits 0 when every echo matched. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <zts.h>

/* How long one echo may take before we give up on the server. */
#define ECHO_TIMEOUT_S 10

static void fail(const char *what)
{
    fprintf(stderr, "echo-client: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int usage(void)
{
    fprintf(stderr, "usage: echo-client URI ADDRESS SERVER_IP:PORT MESSAGE [COUNT]\n"
                    "  e.g. echo-client mem:lab 10.0.0.2/24 10.0.0.1:7 hello 3\n");
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

/* "10.0.0.1:7" into an IPv4 socket address; 0 on success. */
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

/* Sends msg once and checks that it comes back; 0 (said why) if not. */
static int echo_once(int fd, const char *msg, char *back, size_t len, long nth)
{
    /* A blocking write returns once the whole message is queued. */
    if (zts_write(fd, msg, len) != (ssize_t)len) fail("zts_write");
    /* TCP is a byte stream: the echo may come back in pieces. */
    for (size_t got = 0; got < len;) {
        ssize_t n = zts_read(fd, back + got, len - got);
        if (n < 0 && zts_errno() == EAGAIN) {
            fprintf(stderr, "echo-client: no echo %ld within %d s\n", nth, ECHO_TIMEOUT_S);
            return 0;
        }
        if (n < 0) fail("zts_read");
        if (n == 0) {
            fprintf(stderr, "echo-client: server closed before echo %ld\n", nth);
            return 0;
        }
        got += (size_t)n;
    }
    if (memcmp(back, msg, len) != 0) {
        fprintf(stderr, "echo-client: echo %ld came back as '%.*s'\n", nth, (int)len, back);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6)
        return usage();
    struct sockaddr_in server;
    if (parse_endpoint(argv[3], &server) < 0) {
        fprintf(stderr, "echo-client: not an IPv4 address and port: %s\n", argv[3]);
        return usage();
    }
    const char *msg = argv[4];
    size_t len = strlen(msg);
    long count = argc == 6 ? parse_num(argv[5], 1, 1000000) : 1;
    if (len == 0 || count < 0)
        return usage();

    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    int net = zts_net_join(node, argv[1]);
    if (net < 0) fail(argv[1]);
    if (zts_addr_add(node, net, argv[2]) < 0) fail(argv[2]);
    if (zts_node_start(node) < 0) fail("zts_node_start");
    /* With DHCP, connecting before the lease would find no route. */
    struct sockaddr_storage me;
    for (int i = 0; zts_addr_get(node, net, AF_INET, &me) < 0; i++) {
        if (i == 400) fail("no IPv4 address");
        zts_poll(NULL, 0, 50);
    }

    int fd = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("zts_node_socket");
    /* A lost server should end in an error, not a hang: bound every read
     * (connect is bounded too, by its default 30 s). */
    struct timeval tv = { .tv_sec = ECHO_TIMEOUT_S };
    if (zts_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) fail("SO_RCVTIMEO");
    if (zts_connect(fd, (struct sockaddr *)&server, sizeof server) < 0) fail(argv[3]);

    char *back = malloc(len);
    if (!back) {
        fprintf(stderr, "echo-client: out of memory\n");
        return 1;
    }
    int ok = 1;
    for (long i = 0; ok && i < count; i++)
        ok = echo_once(fd, msg, back, len, i + 1);
    free(back);
    if (ok) {
        /* Every echo is in. Stopping the node resets its connections, so
         * say goodbye properly first: shut down our half (the server reads
         * end of stream and closes) and wait for the server's end of
         * stream. A reset here is no failure either: the server may stop
         * its node as soon as it has closed, and the echoes were checked. */
        if (zts_shutdown(fd, SHUT_WR) < 0) fail("zts_shutdown");
        char tail[64];
        ssize_t n = zts_read(fd, tail, sizeof tail);
        if (n > 0) {
            fprintf(stderr, "echo-client: %zd unexpected bytes after the last echo\n", n);
            ok = 0;
        }
        if (n < 0 && zts_errno() != ECONNRESET) fail("zts_read (end of stream)");
    }
    zts_close(fd);
    if (zts_node_free(node) < 0) fail("zts_node_free");
    if (!ok)
        return 1;
    printf("echoed %ld messages\n", count);
    return 0;
}
