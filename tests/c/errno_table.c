/* errno_table: the error each call must give, checked one call at a time,
 * plus socket options, MSG_PEEK/MSG_DONTWAIT, half-close and a node talking
 * to itself.  One line per check; any mismatch makes the exit status 1.
 *
 * Nodes A 10.2.0.1 and B 10.2.0.2 on "mem:errno"; C 10.2.0.3 is stopped
 * for the ENETDOWN checks.  Nobody has 10.2.0.99, so nothing answers ARP.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <zts.h>

#define NET "mem:errno"
#define IP_A "10.2.0.1"
#define IP_B "10.2.0.2"
#define IP_NOBODY "10.2.0.99"
#define PORT_MAIN 7000
#define WAIT_MS 5000 /* bound on every wait that should succeed at once */

static int node_a, node_b;
static int main_lfd; /* listener on A:PORT_MAIN used to make connected pairs */
static int checks, failures;
static long last_rc; /* result of the last EXPECT_ERR call, to clean up after it */

static void die(const char *what)
{
    fprintf(stderr, "errno_table: setup: %s: %s\n", what, strerror(errno));
    exit(1);
}

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EADDRINUSE: return "EADDRINUSE";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTCONN: return "ENOTCONN";
    case EAGAIN: return "EAGAIN";
    case EINPROGRESS: return "EINPROGRESS";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case ENETDOWN: return "ENETDOWN";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    default: return "(other)";
    }
}

/* A failing call must return -1, set errno to the expected value (or the
 * one accepted alternative), and zts_errno() must agree with errno. */
static void expect_err(const char *what, long rc, int e, int ze, int want, int alt)
{
    checks++;
    int ok = rc == -1 && (e == want || (alt != 0 && e == alt)) && ze == e;
    if (ok) {
        printf("ok   %s: %s\n", ename(e), what);
        return;
    }
    failures++;
    char label[64];
    if (alt != 0)
        snprintf(label, sizeof label, "%s/%s", ename(want), ename(alt));
    else
        snprintf(label, sizeof label, "%s", ename(want));
    printf("FAIL %s: %s (got rc=%ld errno=%d %s \"%s\", zts_errno()=%d)\n", label, what, rc, e,
           ename(e), strerror(e), ze);
}

/* errno is read before anything else can touch it. */
#define EXPECT_ERR(want, alt, what, call)                                                          \
    do {                                                                                           \
        errno = 0;                                                                                 \
        last_rc = (long)(call);                                                                    \
        int e_ = errno;                                                                            \
        int ze_ = zts_errno();                                                                     \
        expect_err(what, last_rc, e_, ze_, want, alt);                                             \
    } while (0)

static void check(int ok, const char *name, const char *what, const char *fmt, ...)
{
    checks++;
    if (ok) {
        printf("ok   %s: %s\n", name, what);
        return;
    }
    failures++;
    printf("FAIL %s: %s (", name, what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(")\n");
}

static int start_node(const char *cidr, int start)
{
    int node = zts_node_new();
    if (node < 0)
        die("zts_node_new");
    int net = zts_net_join(node, NET);
    if (net < 0)
        die("zts_net_join");
    if (zts_addr_add(node, net, cidr) < 0)
        die("zts_addr_add");
    if (start && zts_node_start(node) < 0)
        die("zts_node_start");
    return node;
}

static struct sockaddr_in sin4(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int set_timeo(int fd, int name, long ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    return zts_setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv);
}

/* Every socket gets send/receive timeouts so a stack that never answers
 * fails the check instead of hanging the test. */
static int tcp(int node)
{
    int fd = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("zts_node_socket");
    if (set_timeo(fd, SO_RCVTIMEO, WAIT_MS) < 0 || set_timeo(fd, SO_SNDTIMEO, WAIT_MS) < 0)
        die("SO_RCVTIMEO/SO_SNDTIMEO");
    return fd;
}

static int listen_on(int node, const char *ip, int port)
{
    int fd = tcp(node);
    struct sockaddr_in a = sin4(ip, port);
    if (zts_bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("zts_bind (listener)");
    if (zts_listen(fd, 16) < 0)
        die("zts_listen");
    return fd;
}

static int accept_one(int lfd)
{
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    int r = zts_poll(&p, 1, WAIT_MS);
    if (r == 0)
        errno = ETIMEDOUT;
    if (r <= 0)
        die("zts_poll (waiting to accept)");
    int fd = zts_accept(lfd, NULL, NULL);
    if (fd < 0)
        die("zts_accept");
    if (set_timeo(fd, SO_RCVTIMEO, WAIT_MS) < 0 || set_timeo(fd, SO_SNDTIMEO, WAIT_MS) < 0)
        die("SO_RCVTIMEO/SO_SNDTIMEO (accepted)");
    return fd;
}

/* A connected pair: client on `node`, server end accepted on A. */
static void pair_from(int node, int *cli, int *srv)
{
    *cli = tcp(node);
    struct sockaddr_in a = sin4(IP_A, PORT_MAIN);
    if (zts_connect(*cli, (struct sockaddr *)&a, sizeof a) < 0)
        die("zts_connect (pair)");
    *srv = accept_one(main_lfd);
}

static int read_full(int fd, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = zts_read(fd, buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static int get_int(int fd, int level, int name, int *out)
{
    socklen_t len = sizeof *out;
    *out = -12345;
    return zts_getsockopt(fd, level, name, out, &len);
}

static int set_int(int fd, int level, int name, int v)
{
    return zts_setsockopt(fd, level, name, &v, sizeof v);
}

static void connect_errors(void)
{
    int s = tcp(node_b);
    struct sockaddr_in a = sin4(IP_A, 7999);
    EXPECT_ERR(ECONNREFUSED, 0, "connect to a port with no listener",
               zts_connect(s, (struct sockaddr *)&a, sizeof a));
    zts_close(s);

    s = tcp(node_b);
    if (set_timeo(s, SO_SNDTIMEO, 300) < 0)
        die("SO_SNDTIMEO 300 ms");
    a = sin4(IP_NOBODY, 80);
    EXPECT_ERR(ETIMEDOUT, 0, "connect to " IP_NOBODY " (no ARP answer) with SO_SNDTIMEO 300 ms",
               zts_connect(s, (struct sockaddr *)&a, sizeof a));
    zts_close(s);

    s = tcp(node_b);
    EXPECT_ERR(EFAULT, 0, "connect(fd, NULL, sizeof(struct sockaddr_in))",
               zts_connect(s, NULL, sizeof(struct sockaddr_in)));
    zts_close(s);
}

static void bind_errors(void)
{
    int s1 = tcp(node_a), s2 = tcp(node_a);
    struct sockaddr_in a = sin4(IP_A, 7001);
    if (zts_bind(s1, (struct sockaddr *)&a, sizeof a) < 0)
        die("zts_bind (first of two)");
    EXPECT_ERR(EADDRINUSE, 0, "second bind to the same port without SO_REUSEADDR",
               zts_bind(s2, (struct sockaddr *)&a, sizeof a));
    zts_close(s1);
    zts_close(s2);

    int s = tcp(node_a);
    a = sin4(IP_A, 7002);
    EXPECT_ERR(EINVAL, 0, "bind with addrlen 3", zts_bind(s, (struct sockaddr *)&a, 3));
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(7002) };
    inet_pton(AF_INET6, "fd00::1", &a6.sin6_addr);
    /* zts reports a family mismatch as EINVAL on every call (Linux says
       EAFNOSUPPORT for bind and connect on AF_INET sockets). */
    EXPECT_ERR(EINVAL, 0, "bind a full-length sockaddr_in6 to an AF_INET socket",
               zts_bind(s, (struct sockaddr *)&a6, sizeof a6));
    struct sockaddr_in a4 = sin4(IP_A, 7003);
    int s6 = zts_node_socket(node_a, AF_INET6, SOCK_STREAM, 0);
    if (s6 < 0)
        die("zts_node_socket(AF_INET6)");
    EXPECT_ERR(EINVAL, 0, "connect an AF_INET6 socket to a sockaddr_in",
               zts_connect(s6, (struct sockaddr *)&a4, sizeof a4));
    zts_close(s6);
    zts_close(s);
}

static void fd_errors(void)
{
    char buf[16] = "x";
    EXPECT_ERR(EBADF, 0, "read on fd 9999", zts_read(9999, buf, sizeof buf));
    EXPECT_ERR(EBADF, 0, "write on fd 9999", zts_write(9999, buf, 1));
    EXPECT_ERR(EBADF, 0, "close on fd 9999", zts_close(9999));

    int s = tcp(node_a);
    if (zts_close(s) < 0)
        die("zts_close");
    /* Nothing is opened in between, so the number cannot have been reused. */
    EXPECT_ERR(EBADF, 0, "read on a closed fd", zts_read(s, buf, sizeof buf));
    EXPECT_ERR(EBADF, 0, "write on a closed fd", zts_write(s, buf, 1));
    EXPECT_ERR(EBADF, 0, "close on a closed fd", zts_close(s));

    EXPECT_ERR(EBADF, 0, "read on fd -1", zts_read(-1, buf, sizeof buf));
    EXPECT_ERR(EBADF, 0, "write on fd -1", zts_write(-1, buf, 1));
    EXPECT_ERR(EBADF, 0, "close on fd -1", zts_close(-1));

    int c, v;
    pair_from(node_b, &c, &v);
    EXPECT_ERR(EFAULT, 0, "write(fd, NULL, 10) on a connected socket", zts_write(c, NULL, 10));
    zts_close(c);
    zts_close(v);
}

static void socket_errors(void)
{
    EXPECT_ERR(EAFNOSUPPORT, 0, "socket(AF_UNIX, SOCK_STREAM, 0)", zts_socket(AF_UNIX, SOCK_STREAM, 0));
    if (last_rc >= 0)
        zts_close((int)last_rc);
    EXPECT_ERR(EAFNOSUPPORT, 0, "socket(12345, SOCK_STREAM, 0)", zts_socket(12345, SOCK_STREAM, 0));
    if (last_rc >= 0)
        zts_close((int)last_rc);

    int s = tcp(node_b);
    char buf[16];
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    EXPECT_ERR(ENOTCONN, 0, "getpeername on an unconnected TCP socket",
               zts_getpeername(s, (struct sockaddr *)&peer, &plen));
    EXPECT_ERR(ENOTCONN, 0, "read on an unconnected TCP socket", zts_read(s, buf, sizeof buf));
    EXPECT_ERR(ENOTCONN, 0, "shutdown on an unconnected TCP socket", zts_shutdown(s, SHUT_RDWR));
    zts_close(s);

    int one = 1, v;
    s = tcp(node_a);
    socklen_t len = sizeof v;
    EXPECT_ERR(ENOPROTOOPT, 0, "setsockopt(SOL_SOCKET, 9999)",
               zts_setsockopt(s, SOL_SOCKET, 9999, &one, sizeof one));
    EXPECT_ERR(ENOPROTOOPT, 0, "setsockopt(level 9999, SO_REUSEADDR)",
               zts_setsockopt(s, 9999, SO_REUSEADDR, &one, sizeof one));
    EXPECT_ERR(ENOPROTOOPT, 0, "getsockopt(SOL_SOCKET, 9999)",
               zts_getsockopt(s, SOL_SOCKET, 9999, &v, &len));
    zts_close(s);
}

static void nonblocking(void)
{
    int c, v;
    char buf[16];
    pair_from(node_b, &c, &v);
    int fl = zts_fcntl(c, F_GETFL, 0);
    if (fl < 0 || zts_fcntl(c, F_SETFL, fl | O_NONBLOCK) < 0)
        die("zts_fcntl F_GETFL/F_SETFL");
    fl = zts_fcntl(c, F_GETFL, 0);
    check(fl >= 0 && (fl & O_NONBLOCK), "O_NONBLOCK", "F_GETFL reports it after F_SETFL",
          "F_GETFL gave %#x", fl);
    EXPECT_ERR(EAGAIN, 0, "read with no data on an O_NONBLOCK socket", zts_read(c, buf, sizeof buf));
    zts_close(c);
    zts_close(v);

    int l = listen_on(node_a, IP_A, 7003);
    fl = zts_fcntl(l, F_GETFL, 0);
    if (fl < 0 || zts_fcntl(l, F_SETFL, fl | O_NONBLOCK) < 0)
        die("zts_fcntl on listener");
    EXPECT_ERR(EAGAIN, 0, "accept with no pending connection on an O_NONBLOCK listener",
               zts_accept(l, NULL, NULL));
    if (last_rc >= 0)
        zts_close((int)last_rc);
    zts_close(l);

    /* Nonblocking connect: EINPROGRESS, then POLLOUT, then SO_ERROR 0. */
    int s = tcp(node_b);
    fl = zts_fcntl(s, F_GETFL, 0);
    if (fl < 0 || zts_fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0)
        die("zts_fcntl (connect)");
    struct sockaddr_in a = sin4(IP_A, PORT_MAIN);
    EXPECT_ERR(EINPROGRESS, 0, "nonblocking connect", zts_connect(s, (struct sockaddr *)&a, sizeof a));
    struct pollfd p = { .fd = s, .events = POLLOUT };
    int r = zts_poll(&p, 1, WAIT_MS);
    check(r == 1 && (p.revents & POLLOUT), "EINPROGRESS", "then zts_poll reports POLLOUT",
          "poll gave %d, revents %#x", r, (unsigned)p.revents);
    int soerr;
    r = get_int(s, SOL_SOCKET, SO_ERROR, &soerr);
    check(r == 0 && soerr == 0, "EINPROGRESS", "then SO_ERROR is 0", "rc %d, SO_ERROR %d", r, soerr);
    if (r == 0 && soerr == 0) {
        v = accept_one(main_lfd);
        zts_close(v);
    }
    zts_close(s);
}

static void reset_errors(void)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    char buf[1024];
    memset(buf, 'r', sizeof buf);

    /* Separate pairs for read and write: whichever call sees the reset
     * first may consume it, and each must be judged on its own. */
    int c, v;
    pair_from(node_b, &c, &v);
    if (zts_setsockopt(v, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
        die("SO_LINGER {1,0}");
    zts_close(v);
    EXPECT_ERR(ECONNRESET, 0, "read after the peer closed with SO_LINGER {1,0} (RST)",
               zts_read(c, buf, sizeof buf));
    zts_close(c);

    pair_from(node_b, &c, &v);
    if (zts_setsockopt(v, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
        die("SO_LINGER {1,0}");
    zts_close(v);
    /* The first writes may be queued before the RST lands; bounded by
     * count here and by SO_SNDTIMEO if the queue fills. */
    long rc = 0;
    int e = 0, ze = 0;
    for (int i = 0; i < 4096 && rc >= 0; i++) {
        errno = 0;
        rc = zts_write(c, buf, sizeof buf);
        e = errno;
        ze = zts_errno();
    }
    expect_err("write repeatedly after the peer's RST", rc, e, ze, EPIPE, ECONNRESET);
    zts_close(c);
}

static void netdown_errors(void)
{
    int node_c = start_node("10.2.0.3/24", 0);
    EXPECT_ERR(ENETDOWN, 0, "socket on a node that was never started",
               zts_node_socket(node_c, AF_INET, SOCK_STREAM, 0));
    if (last_rc >= 0)
        zts_close((int)last_rc);
    if (zts_node_start(node_c) < 0)
        die("zts_node_start (C)");

    int c, v;
    char buf[16] = "x";
    pair_from(node_c, &c, &v);
    if (zts_node_stop(node_c) < 0)
        die("zts_node_stop (C)");
    EXPECT_ERR(ENETDOWN, 0, "read on a socket after zts_node_stop on its node",
               zts_read(c, buf, sizeof buf));
    EXPECT_ERR(ENETDOWN, 0, "write on a socket after zts_node_stop on its node",
               zts_write(c, buf, 1));
    EXPECT_ERR(ENETDOWN, 0, "socket on a stopped node", zts_node_socket(node_c, AF_INET, SOCK_STREAM, 0));
    if (last_rc >= 0)
        zts_close((int)last_rc);
    zts_close(c); /* releases the fd; its result after a stop is not under test here */
    zts_close(v);
    if (zts_node_free(node_c) < 0)
        die("zts_node_free (C)");
}

static void options(void)
{
    int s = tcp(node_a), v;
    struct {
        int level, name;
        const char *label;
    } flags[] = {
        { SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR" },
        { SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE" },
        { IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY" },
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        int r1 = set_int(s, flags[i].level, flags[i].name, 1);
        int r2 = get_int(s, flags[i].level, flags[i].name, &v);
        check(r1 == 0 && r2 == 0 && v != 0, flags[i].label, "set 1, get nonzero",
              "set rc %d, get rc %d, value %d, errno %s", r1, r2, v, strerror(errno));
        r1 = set_int(s, flags[i].level, flags[i].name, 0);
        r2 = get_int(s, flags[i].level, flags[i].name, &v);
        check(r1 == 0 && r2 == 0 && v == 0, flags[i].label, "set 0, get 0",
              "set rc %d, get rc %d, value %d, errno %s", r1, r2, v, strerror(errno));
    }

    int bufs[] = { SO_RCVBUF, SO_SNDBUF };
    for (int i = 0; i < 2; i++) {
        const char *label = bufs[i] == SO_RCVBUF ? "SO_RCVBUF" : "SO_SNDBUF";
        int r1 = set_int(s, SOL_SOCKET, bufs[i], 65536);
        int r2 = get_int(s, SOL_SOCKET, bufs[i], &v);
        check(r1 == 0 && r2 == 0 && v >= 65536, label, "set 65536, get >= 65536",
              "set rc %d, get rc %d, value %d, errno %s", r1, r2, v, strerror(errno));
    }

    int r = get_int(s, SOL_SOCKET, SO_TYPE, &v);
    check(r == 0 && v == SOCK_STREAM, "SO_TYPE", "is SOCK_STREAM", "rc %d, value %d", r, v);

    struct timeval in = { .tv_sec = 1, .tv_usec = 500000 }, out = { 0, 0 };
    socklen_t len = sizeof out;
    int r1 = zts_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &in, sizeof in);
    int r2 = zts_getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &out, &len);
    check(r1 == 0 && r2 == 0 && len == sizeof out && out.tv_sec == 1 && out.tv_usec == 500000,
          "SO_RCVTIMEO", "{1 s, 500000 us} round-trips",
          "set rc %d, get rc %d, len %u, got {%ld, %ld}", r1, r2, (unsigned)len, (long)out.tv_sec,
          (long)out.tv_usec);
    zts_close(s);
}

static void stream_behaviour(void)
{
    int c, v;
    char buf[16], pk[16];
    pair_from(node_b, &c, &v);

    if (set_timeo(c, SO_RCVTIMEO, 200) < 0)
        die("SO_RCVTIMEO 200 ms");
    EXPECT_ERR(EAGAIN, 0, "blocking read with no data and SO_RCVTIMEO 200 ms",
               zts_read(c, buf, sizeof buf));
    if (set_timeo(c, SO_RCVTIMEO, WAIT_MS) < 0)
        die("SO_RCVTIMEO restore");

    EXPECT_ERR(EAGAIN, 0, "recv MSG_DONTWAIT on an empty blocking socket",
               zts_recv(c, buf, sizeof buf, MSG_DONTWAIT));
    int fl = zts_fcntl(c, F_GETFL, 0);
    check(fl >= 0 && !(fl & O_NONBLOCK), "MSG_DONTWAIT", "leaves the socket blocking",
          "F_GETFL gave %#x", fl);

    /* MSG_PEEK: what a peek returns, the next read returns again. */
    if (zts_write(v, "peekaboo", 8) != 8)
        die("zts_write peekaboo");
    ssize_t n = zts_recv(c, pk, 8, MSG_PEEK);
    ssize_t m = n > 0 ? zts_read(c, buf, (size_t)n) : -1;
    check(n > 0 && m == n && memcmp(pk, buf, (size_t)n) == 0 && memcmp(pk, "peekaboo", (size_t)n) == 0,
          "MSG_PEEK", "peek then read give the same bytes", "peek %zd, read %zd", n, m);
    if (n > 0 && n < 8 && read_full(c, buf, (size_t)(8 - n)) < 0)
        die("reading the rest of peekaboo");

    /* Half-close: the peer reads end of stream, not an error. */
    int r = zts_shutdown(c, SHUT_WR);
    n = r == 0 ? zts_read(v, buf, sizeof buf) : -2;
    check(r == 0 && n == 0, "SHUT_WR", "the peer reads 0 (end of stream)",
          "shutdown rc %d, peer read %zd, errno %s", r, n, strerror(errno));
    zts_close(c);
    zts_close(v);
}

static void self_connect(void)
{
    int l = listen_on(node_a, IP_A, 7004);
    int s = tcp(node_a);
    struct sockaddr_in a = sin4(IP_A, 7004);
    int r = zts_connect(s, (struct sockaddr *)&a, sizeof a);
    int ok = 0;
    char buf[8];
    if (r == 0) {
        int v = accept_one(l);
        ok = zts_write(s, "self", 4) == 4 && read_full(v, buf, 4) == 0 && memcmp(buf, "self", 4) == 0 &&
             zts_write(v, buf, 4) == 4 && read_full(s, buf, 4) == 0 && memcmp(buf, "self", 4) == 0;
        zts_close(v);
    }
    check(ok, "loopback", "a node connects to its own address and echoes one message",
          "connect rc %d, errno %s", r, strerror(errno));
    zts_close(s);
    zts_close(l);
}

int main(void)
{
    node_a = start_node(IP_A "/24", 1);
    node_b = start_node(IP_B "/24", 1);
    if (zts_node_set_default(node_a) < 0)
        die("zts_node_set_default");
    main_lfd = listen_on(node_a, IP_A, PORT_MAIN);

    connect_errors();
    bind_errors();
    fd_errors();
    socket_errors();
    nonblocking();
    reset_errors();
    netdown_errors();
    options();
    stream_behaviour();
    self_connect();

    zts_close(main_lfd);
    if (zts_node_stop(node_a) < 0 || zts_node_stop(node_b) < 0)
        die("zts_node_stop");
    if (zts_node_free(node_a) < 0 || zts_node_free(node_b) < 0)
        die("zts_node_free");

    printf("errno_table: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
