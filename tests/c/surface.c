/* surface: the whole socket surface of zts, one area per function: every
 * call, flag and option, with the errors each gives.  One line per check
 * ("ok   ..." or "FAIL ..."), a summary line, exit status 1 on any failure.
 *
 * Nodes on "mem:surface-main" (MTU 1500):
 *   A 10.7.0.1/24 fd00:7::1/64   B 10.7.0.2/24 fd00:7::2/64   C 10.7.0.3/24 fd00:7::3/64
 * Some areas make their own nodes: a node with no network (loopback), a
 * stopped node for address and route errors, a node on "mem:surface-ev"
 * whose events are watched.
 *
 * Every socket gets SO_RCVTIMEO/SO_SNDTIMEO of WAIT_MS, so a packet that
 * never comes fails a check instead of hanging the run.  Where a check is
 * about something *not* arriving, a marker sent after it on the same path
 * proves that it had its chance.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zts.h>

#define NET "mem:surface-main?mtu=1500"
#define A4 "10.7.0.1"
#define B4 "10.7.0.2"
#define C4 "10.7.0.3"
#define BCAST4 "10.7.0.255"
#define A6 "fd00:7::1"
#define B6 "fd00:7::2"
#define C6 "fd00:7::3"
#define PORT_PAIR 7100 /* listeners on A that make connected TCP pairs */
#define WAIT_MS 5000   /* bound on every wait that should succeed at once */
#define NO_SUCH_FD 9999
#define NO_SUCH_NODE 9999

static int node_a, node_b, node_c;
static int pair_lfd4, pair_lfd6;
static int checks, failures;
static long last_rc; /* result of the last EXPECT_ERR call, to clean up after it */

/* ---------------------------------------------------------------- checks */

static void die(const char *what)
{
    fprintf(stderr, "surface: setup: %s: %s\n", what, strerror(errno));
    exit(1);
}

static const char *ename(int e)
{
    const char *s = e == 0 ? "0" : strerrorname_np(e);
    return s ? s : "(unknown)";
}

static void check(int ok, const char *area, const char *what, const char *fmt, ...)
{
    checks++;
    if (ok) {
        printf("ok   %s: %s\n", area, what);
        return;
    }
    failures++;
    printf("FAIL %s: %s (", area, what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(")\n");
}

/* A failing call must return -1, set errno to `want`, and zts_errno() must
 * agree with errno. */
static void expect_err(const char *area, const char *what, long rc, int e, int ze, int want)
{
    checks++;
    if (rc == -1 && e == want && ze == e) {
        printf("ok   %s: %s: %s\n", area, ename(want), what);
        return;
    }
    failures++;
    printf("FAIL %s: %s: %s (got rc=%ld errno=%s \"%s\", zts_errno()=%s)\n", area, ename(want),
           what, rc, ename(e), strerror(e), ename(ze));
}

/* errno is read before anything else can touch it. */
#define EXPECT_ERR(area, want, what, call)                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        last_rc = (long)(call);                                                                    \
        int e_ = errno;                                                                            \
        int ze_ = zts_errno();                                                                     \
        expect_err(area, what, last_rc, e_, ze_, want);                                            \
    } while (0)

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ------------------------------------------------------------- addresses */

typedef struct {
    struct sockaddr_storage ss;
    socklen_t len;
} addr_t;

/* "10.7.0.1" or "fd00:7::1" with a port. */
static addr_t mkaddr(const char *ip, int port)
{
    addr_t a;
    memset(&a, 0, sizeof a);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a.ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, ip, &s->sin6_addr) != 1)
            die("inet_pton (IPv6)");
        a.len = sizeof *s;
    } else {
        struct sockaddr_in *s = (struct sockaddr_in *)&a.ss;
        s->sin_family = AF_INET;
        s->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, ip, &s->sin_addr) != 1)
            die("inet_pton (IPv4)");
        a.len = sizeof *s;
    }
    return a;
}

#define SA(a) (const struct sockaddr *)&(a).ss, (a).len

static const char *fmt_sa(const void *sa, socklen_t len, char *out, size_t n)
{
    const struct sockaddr *s = sa;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (len >= sizeof(struct sockaddr_in) && s->sa_family == AF_INET) {
        const struct sockaddr_in *a = sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, n, "%s:%u (len %u)", ip, ntohs(a->sin_port), (unsigned)len);
    } else if (len >= sizeof(struct sockaddr_in6) && s->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, n, "[%s]:%u (len %u)", ip, ntohs(a->sin6_port), (unsigned)len);
    } else {
        snprintf(out, n, "family %d, len %u", len >= 2 ? s->sa_family : -1, (unsigned)len);
    }
    return out;
}

#define FMT(sa, len) fmt_sa((sa), (len), (char[96]){ 0 }, 96)

/* Whether `sa` (of length `len`) is exactly ip:port; port < 0 ignores it. */
static int sa_is(const void *sa, socklen_t len, const char *ip, int port)
{
    addr_t want = mkaddr(ip, port < 0 ? 0 : port);
    const struct sockaddr *s = sa;
    if (len != want.len || s->sa_family != want.ss.ss_family)
        return 0;
    if (s->sa_family == AF_INET) {
        const struct sockaddr_in *a = sa, *w = (const struct sockaddr_in *)&want.ss;
        return a->sin_addr.s_addr == w->sin_addr.s_addr && (port < 0 || a->sin_port == w->sin_port);
    }
    const struct sockaddr_in6 *a = sa, *w = (const struct sockaddr_in6 *)&want.ss;
    return memcmp(&a->sin6_addr, &w->sin6_addr, 16) == 0 && (port < 0 || a->sin6_port == w->sin6_port);
}

static int port_of(const void *sa)
{
    const struct sockaddr *s = sa;
    if (s->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* --------------------------------------------------------------- sockets */

static int set_timeo(int fd, int name, long ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    return zts_setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv);
}

static int get_int(int fd, int level, int name, int *out)
{
    socklen_t len = sizeof *out;
    *out = -12345;
    int r = zts_getsockopt(fd, level, name, out, &len);
    if (r == 0 && len != sizeof *out)
        *out = -23456; /* a wrong length shows as a wrong value */
    return r;
}

static int set_int(int fd, int level, int name, int v)
{
    return zts_setsockopt(fd, level, name, &v, sizeof v);
}

static int sock_on(int node, int domain, int type, int proto)
{
    int fd = zts_node_socket(node, domain, type, proto);
    if (fd < 0)
        die("zts_node_socket");
    if (set_timeo(fd, SO_RCVTIMEO, WAIT_MS) < 0 || set_timeo(fd, SO_SNDTIMEO, WAIT_MS) < 0)
        die("SO_RCVTIMEO/SO_SNDTIMEO");
    return fd;
}

static int family_of(const char *ip)
{
    return strchr(ip, ':') ? AF_INET6 : AF_INET;
}

/* A UDP socket bound to ip:port ("0.0.0.0" and "::" are the wildcards). */
static int udp_on(int node, const char *ip, int port)
{
    int fd = sock_on(node, family_of(ip), SOCK_DGRAM, 0);
    addr_t a = mkaddr(ip, port);
    if (zts_bind(fd, SA(a)) < 0)
        die("zts_bind (UDP)");
    return fd;
}

static int listener(int node, const char *ip, int port)
{
    int fd = sock_on(node, family_of(ip), SOCK_STREAM, 0);
    addr_t a = mkaddr(ip, port);
    if (zts_bind(fd, SA(a)) < 0)
        die("zts_bind (listener)");
    if (zts_listen(fd, 16) < 0)
        die("zts_listen");
    return fd;
}

/* Revents of `fd` after waiting up to `ms` for `events`; 0 on timeout. */
static int wait_for(int fd, short events, int ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    return zts_poll(&p, 1, ms) == 1 ? p.revents : 0;
}

static int accept_from(int lfd, struct sockaddr_storage *peer, socklen_t *plen)
{
    if (!(wait_for(lfd, POLLIN, WAIT_MS) & POLLIN)) {
        errno = ETIMEDOUT;
        die("zts_poll (waiting to accept)");
    }
    int fd = zts_accept(lfd, (struct sockaddr *)peer, plen);
    if (fd < 0)
        die("zts_accept");
    if (set_timeo(fd, SO_RCVTIMEO, WAIT_MS) < 0 || set_timeo(fd, SO_SNDTIMEO, WAIT_MS) < 0)
        die("SO_RCVTIMEO/SO_SNDTIMEO (accepted)");
    return fd;
}

/* A connected TCP pair: client on B, server end accepted on A. */
static void tcp_pair(int family, int *cli, int *srv)
{
    *cli = sock_on(node_b, family, SOCK_STREAM, 0);
    addr_t a = mkaddr(family == AF_INET ? A4 : A6, PORT_PAIR);
    if (zts_connect(*cli, SA(a)) < 0)
        die("zts_connect (pair)");
    *srv = accept_from(family == AF_INET ? pair_lfd4 : pair_lfd6, NULL, NULL);
}

/* Reads exactly len bytes from a stream; returns how many came. */
static size_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = zts_read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

static void fill_pattern(unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 131 + seed + (i >> 8));
}

/* The Internet checksum (RFC 1071); 0 over a message with a valid one. */
static uint16_t inet_cksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int start_node(const char *net, const char *cidr4, const char *cidr6)
{
    int node = zts_node_new();
    if (node < 0)
        die("zts_node_new");
    int id = zts_net_join(node, net);
    if (id < 0)
        die("zts_net_join");
    if (zts_addr_add(node, id, cidr4) < 0 || (cidr6 && zts_addr_add(node, id, cidr6) < 0))
        die("zts_addr_add");
    if (zts_node_start(node) < 0)
        die("zts_node_start");
    return node;
}

/* ------------------------------------------------------------------- UDP */

/* Datagram semantics on one family: boundaries, source, PEEK, TRUNC,
 * DONTWAIT, connected sockets, the size limits and fragmentation. */
static void udp_datagrams(int family)
{
    const int v6 = family == AF_INET6;
    const char *area = v6 ? "udp6" : "udp4";
    const char *ipa = v6 ? A6 : A4, *ipb = v6 ? B6 : B4, *ipc = v6 ? C6 : C4;
    const int base = v6 ? 7300 : 7200;
    char buf[256];
    ssize_t n, n2;

    int r = udp_on(node_b, ipb, base);     /* receiver on B */
    int s = udp_on(node_a, ipa, base + 1); /* sender on A, with a known port */
    addr_t to_r = mkaddr(ipb, base);

    /* One datagram per call, with the sender's address. */
    n = zts_sendto(s, "hello", 5, 0, SA(to_r));
    n2 = zts_sendto(s, "world!!", 7, 0, SA(to_r));
    check(n == 5 && n2 == 7, area, "sendto returns each datagram's length", "got %zd, %zd", n, n2);
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    memset(&from, 0, sizeof from);
    memset(buf, 0, sizeof buf);
    n = zts_recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 5 && memcmp(buf, "hello", 5) == 0, area,
          "recvfrom returns the first datagram alone (boundary kept)", "got %zd \"%.*s\"", n,
          n > 0 ? (int)n : 0, buf);
    check(sa_is(&from, flen, ipa, base + 1), area, "recvfrom reports the sender's address and length",
          "got %s", FMT(&from, flen));
    /* A short addrlen: the address is cut, *addrlen says the full size. */
    flen = 4;
    n = zts_recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 7 && memcmp(buf, "world!!", 7) == 0, area, "the second datagram comes whole on its own",
          "got %zd", n);
    check(flen == (v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)), area,
          "recvfrom with *addrlen 4 sets it to the address's full size", "got %u", (unsigned)flen);

    /* MSG_PEEK leaves the datagram queued. */
    zts_sendto(s, "peek", 4, 0, SA(to_r));
    memset(buf, 0, sizeof buf);
    n = zts_recv(r, buf, sizeof buf, MSG_PEEK);
    n2 = zts_recv(r, buf + 100, sizeof buf - 100, 0);
    check(n == 4 && n2 == 4 && memcmp(buf, "peek", 4) == 0 && memcmp(buf + 100, "peek", 4) == 0,
          area, "MSG_PEEK returns the datagram and the next recv returns it again",
          "peek %zd, recv %zd", n, n2);

    /* MSG_TRUNC: the full length is returned, only len bytes written. */
    zts_sendto(s, "0123456789", 10, 0, SA(to_r));
    memset(buf, 0, sizeof buf);
    n = zts_recv(r, buf, 4, MSG_TRUNC);
    check(n == 10 && memcmp(buf, "0123", 4) == 0 && buf[4] == 0, area,
          "recv(len 4, MSG_TRUNC) of a 10-byte datagram returns 10, writes 4", "got %zd \"%.8s\"", n,
          buf);
    zts_sendto(s, "abcdefghij", 10, 0, SA(to_r));
    struct iovec iov = { .iov_base = buf, .iov_len = 4 };
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    n = zts_recvmsg(r, &m, 0);
    check(n == 4 && (m.msg_flags & MSG_TRUNC) && memcmp(buf, "abcd", 4) == 0, area,
          "recvmsg into 4 bytes of a 10-byte datagram returns 4 and sets MSG_TRUNC in msg_flags",
          "got %zd, msg_flags %#x", n, (unsigned)m.msg_flags);
    /* The cut-off rest is discarded with the datagram. */
    EXPECT_ERR(area, EAGAIN, "recv MSG_DONTWAIT with nothing queued (the cut rest is gone)",
               zts_recv(r, buf, sizeof buf, MSG_DONTWAIT));

    /* Connected UDP: only the peer's datagrams arrive.  C sends an intruder
     * to r and then a marker to r2 on the same node: once the marker is in,
     * B's stack has handled the intruder too. */
    int c = udp_on(node_c, ipc, base + 2);
    int r2 = udp_on(node_b, ipb, base + 3);
    addr_t peer = mkaddr(ipa, base + 1), to_r2 = mkaddr(ipb, base + 3);
    check(zts_connect(r, SA(peer)) == 0, area, "connect on a UDP socket", "errno %s", ename(errno));
    struct sockaddr_storage pn;
    socklen_t pnlen = sizeof pn;
    int rc = zts_getpeername(r, (struct sockaddr *)&pn, &pnlen);
    check(rc == 0 && sa_is(&pn, pnlen, ipa, base + 1), area, "getpeername on connected UDP is the peer",
          "rc %d, got %s", rc, FMT(&pn, pnlen));
    zts_sendto(c, "intruder", 8, 0, SA(to_r));
    zts_sendto(c, "marker", 6, 0, SA(to_r2));
    n = zts_recv(r2, buf, sizeof buf, 0);
    check(n == 6, area, "(a marker from the third node arrived)", "got %zd errno %s", n, ename(errno));
    zts_sendto(s, "from-peer", 9, 0, SA(to_r));
    memset(buf, 0, sizeof buf);
    n = zts_recv(r, buf, sizeof buf, 0);
    check(n == 9 && memcmp(buf, "from-peer", 9) == 0, area,
          "connected UDP: recv returns the peer's datagram, not the third node's",
          "got %zd \"%.*s\"", n, n > 0 ? (int)n : 0, buf);
    EXPECT_ERR(area, EAGAIN, "connected UDP: nothing else is queued (the third node's was dropped)",
               zts_recv(r, buf, sizeof buf, MSG_DONTWAIT));
    n = zts_send(r, "reply", 5, 0);
    flen = sizeof from;
    n2 = zts_recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 5 && n2 == 5 && memcmp(buf, "reply", 5) == 0 && sa_is(&from, flen, ipb, base), area,
          "connected UDP: send reaches the peer from the bound address", "send %zd, recv %zd from %s",
          n, n2, FMT(&from, flen));

    /* Unconnected sockets need a destination. */
    int u = sock_on(node_a, family, SOCK_DGRAM, 0);
    EXPECT_ERR(area, EDESTADDRREQ, "send on an unconnected UDP socket", zts_send(u, "x", 1, 0));
    addr_t port0 = mkaddr(ipb, 0), far = mkaddr(v6 ? "fd00:abcd::1" : "192.168.200.1", 9);
    EXPECT_ERR(area, EINVAL, "sendto port 0", zts_sendto(u, "x", 1, 0, SA(port0)));
    EXPECT_ERR(area, EINVAL, "sendto with addrlen 3",
               zts_sendto(u, "x", 1, 0, (const struct sockaddr *)&to_r.ss, 3));
    EXPECT_ERR(area, ENETUNREACH, "sendto an address no network reaches (no route)",
               zts_sendto(u, "x", 1, 0, SA(far)));
    int dup = sock_on(node_b, family, SOCK_DGRAM, 0);
    EXPECT_ERR(area, EADDRINUSE, "bind a second UDP socket to a bound address and port",
               zts_bind(dup, SA(to_r)));
    addr_t not_ours = mkaddr(ipa, base + 9);
    EXPECT_ERR(area, EADDRNOTAVAIL, "bind to another node's address", zts_bind(dup, SA(not_ours)));
    zts_close(dup);

    /* Size limits. IPv4: the largest datagram crosses the MTU-1500 network
     * in fragments; one byte more is EMSGSIZE. IPv6: zts does not fragment
     * (zts_sendto's documentation), so what does not fit one frame is
     * EMSGSIZE and the largest that fits arrives. */
    const size_t max = v6 ? 1500 - 40 - 8 : 65507;
    unsigned char *big = malloc(65536), *got = malloc(65536);
    if (!big || !got)
        die("malloc");
    fill_pattern(big, 65536, 7);
    char what[128];
    if (!v6) {
        /* One byte more than fits one Ethernet frame: the smallest
         * datagram that needs fragments. */
        const size_t over = 1500 - 20 - 8 + 1;
        n = zts_sendto(s, big, over, 0, SA(to_r));
        n2 = zts_recv(r, got, 65536, 0);
        snprintf(what, sizeof what, "a %zu-byte datagram (one byte over one frame) arrives intact", over);
        check(n == (ssize_t)over && n2 == (ssize_t)over && memcmp(big, got, over) == 0, area, what,
              "sendto %zd, recv %zd (errno %s)", n, n2, ename(errno));
    }
    snprintf(what, sizeof what, "sendto of %zu bytes (one more than the largest datagram)", max + 1);
    EXPECT_ERR(area, EMSGSIZE, what, zts_sendto(s, big, max + 1, 0, SA(to_r)));
    n = zts_sendto(s, big, max, 0, SA(to_r));
    memset(got, 0, 65536);
    n2 = zts_recv(r, got, 65536, 0);
    snprintf(what, sizeof what, "a %zu-byte datagram (the largest) crosses the MTU-1500 network intact", max);
    check(n == (ssize_t)max && n2 == (ssize_t)max && memcmp(big, got, max) == 0, area, what,
          "sendto %zd, recv %zd (errno %s)", n, n2, ename(errno));
    free(big);
    free(got);

    zts_close(u);
    zts_close(c);
    zts_close(r2);
    zts_close(r);
    zts_close(s);
}

/* Broadcast needs SO_BROADCAST; with it every node's wildcard socket on the
 * port gets the datagram. */
static void udp_broadcast(void)
{
    const char *area = "broadcast";
    int rb = udp_on(node_b, "0.0.0.0", 7401);
    int rc = udp_on(node_c, "0.0.0.0", 7401);
    int s = udp_on(node_a, A4, 7402);
    addr_t subnet = mkaddr(BCAST4, 7401), limited = mkaddr("255.255.255.255", 7401);
    int v;
    get_int(s, SOL_SOCKET, SO_BROADCAST, &v);
    check(v == 0, area, "SO_BROADCAST is 0 by default", "got %d", v);
    EXPECT_ERR(area, EACCES, "sendto " BCAST4 " without SO_BROADCAST",
               zts_sendto(s, "no", 2, 0, SA(subnet)));
    EXPECT_ERR(area, EACCES, "sendto 255.255.255.255 without SO_BROADCAST",
               zts_sendto(s, "no", 2, 0, SA(limited)));
    set_int(s, SOL_SOCKET, SO_BROADCAST, 1);
    get_int(s, SOL_SOCKET, SO_BROADCAST, &v);
    check(v == 1, area, "SO_BROADCAST set 1 reads back 1", "got %d", v);

    ssize_t n = zts_sendto(s, "bcast", 5, 0, SA(subnet));
    check(n == 5, area, "with SO_BROADCAST, sendto " BCAST4 " is accepted", "got %zd errno %s", n,
          ename(errno));
    int fds[2] = { rb, rc };
    const char *names[2] = { "B", "C" };
    for (int i = 0; i < 2; i++) {
        char buf[64] = { 0 }, what[96];
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        n = zts_recvfrom(fds[i], buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        snprintf(what, sizeof what, "node %s receives the subnet broadcast from A", names[i]);
        check(n == 5 && memcmp(buf, "bcast", 5) == 0 && sa_is(&from, flen, A4, 7402), area, what,
              "got %zd from %s", n, FMT(&from, flen));
    }
    n = zts_sendto(s, "limited", 7, 0, SA(limited));
    char buf[64] = { 0 };
    ssize_t n2 = zts_recv(rb, buf, sizeof buf, 0);
    check(n == 7 && n2 == 7 && memcmp(buf, "limited", 7) == 0, area,
          "with SO_BROADCAST, 255.255.255.255 reaches node B", "sendto %zd, recv %zd errno %s", n, n2,
          ename(errno));
    zts_recv(rc, buf, sizeof buf, MSG_DONTWAIT); /* C's copy, if any */
    zts_close(rb);
    zts_close(rc);
    zts_close(s);
}

/* Multicast membership: joined sockets get the group's datagrams until
 * they leave; a join is per socket and per group. */
static void udp_multicast(void)
{
    const char *area = "multicast";
    char buf[64];
    int m = udp_on(node_b, "0.0.0.0", 7501);
    int s = udp_on(node_a, A4, 7502);
    struct ip_mreq mr;
    memset(&mr, 0, sizeof mr);
    inet_pton(AF_INET, "239.1.2.3", &mr.imr_multiaddr);
    mr.imr_interface.s_addr = htonl(INADDR_ANY);
    int rc = zts_setsockopt(m, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr);
    check(rc == 0, area, "IP_ADD_MEMBERSHIP 239.1.2.3 on INADDR_ANY", "errno %s", ename(errno));
    EXPECT_ERR(area, EADDRINUSE, "a second IP_ADD_MEMBERSHIP of the same group on the same socket",
               zts_setsockopt(m, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr));
    struct ip_mreq bad = mr;
    inet_pton(AF_INET, B4, &bad.imr_multiaddr);
    EXPECT_ERR(area, EINVAL, "IP_ADD_MEMBERSHIP of a unicast address",
               zts_setsockopt(m, IPPROTO_IP, IP_ADD_MEMBERSHIP, &bad, sizeof bad));

    addr_t group = mkaddr("239.1.2.3", 7501), unicast = mkaddr(B4, 7501);
    ssize_t n = zts_sendto(s, "group", 5, 0, SA(group));
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    memset(buf, 0, sizeof buf);
    ssize_t n2 = zts_recvfrom(m, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 5 && n2 == 5 && memcmp(buf, "group", 5) == 0 && sa_is(&from, flen, A4, 7502), area,
          "a member receives a datagram sent to the group", "sendto %zd, recv %zd from %s", n, n2,
          FMT(&from, flen));

    rc = zts_setsockopt(m, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof mr);
    check(rc == 0, area, "IP_DROP_MEMBERSHIP", "errno %s", ename(errno));
    /* After leaving: the group datagram must not come; the unicast marker
     * sent after it from the same socket must be the next one read. */
    zts_sendto(s, "after-drop", 10, 0, SA(group));
    zts_sendto(s, "marker", 6, 0, SA(unicast));
    memset(buf, 0, sizeof buf);
    n = zts_recv(m, buf, sizeof buf, 0);
    check(n == 6 && memcmp(buf, "marker", 6) == 0, area,
          "after IP_DROP_MEMBERSHIP the group's datagrams no longer arrive", "next read %zd \"%.*s\"",
          n, n > 0 ? (int)n : 0, buf);
    EXPECT_ERR(area, EADDRNOTAVAIL, "IP_DROP_MEMBERSHIP of a group not joined",
               zts_setsockopt(m, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof mr));
    zts_close(m);
    zts_close(s);

    /* The same over IPv6 (interface index 0: every network). */
    int m6 = udp_on(node_b, "::", 7503);
    int s6 = udp_on(node_a, A6, 7504);
    struct ipv6_mreq mr6;
    memset(&mr6, 0, sizeof mr6);
    inet_pton(AF_INET6, "ff15::7:1", &mr6.ipv6mr_multiaddr);
    rc = zts_setsockopt(m6, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr6, sizeof mr6);
    check(rc == 0, area, "IPV6_ADD_MEMBERSHIP ff15::7:1 on interface 0", "errno %s", ename(errno));
    addr_t group6 = mkaddr("ff15::7:1", 7503);
    n = zts_sendto(s6, "group6", 6, 0, SA(group6));
    flen = sizeof from;
    memset(buf, 0, sizeof buf);
    n2 = zts_recvfrom(m6, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 6 && n2 == 6 && memcmp(buf, "group6", 6) == 0 && sa_is(&from, flen, A6, 7504), area,
          "an IPv6 member receives a datagram sent to the group", "sendto %zd, recv %zd from %s", n,
          n2, FMT(&from, flen));
    rc = zts_setsockopt(m6, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &mr6, sizeof mr6);
    check(rc == 0, area, "IPV6_DROP_MEMBERSHIP", "errno %s", ename(errno));
    zts_close(m6);
    zts_close(s6);
}

/* ------------------------------------------------------------------ ICMP */

/* Ping sockets: the app writes an echo request (the stack sets checksum
 * and identifier) and reads the echo reply. */
static void icmp_ping(int family)
{
    const int v6 = family == AF_INET6;
    const char *area = v6 ? "ping6" : "ping4";
    const char *ipb = v6 ? B6 : B4;
    const char payload[] = "surface-ping-123"; /* 16 bytes */
    int p = sock_on(node_a, family, SOCK_DGRAM, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);

    unsigned char req[8 + 16], rep[256];
    memset(req, 0, sizeof req);
    req[0] = v6 ? 128 : 8; /* echo request, code 0, checksum 0 */
    req[4] = 0x12, req[5] = 0x34; /* identifier: the stack replaces it */
    req[6] = 0x01, req[7] = 0x02; /* sequence 0x0102 */
    memcpy(req + 8, payload, 16);
    addr_t to = mkaddr(ipb, 0);
    ssize_t n = zts_sendto(p, req, sizeof req, 0, SA(to));
    check(n == (ssize_t)sizeof req, area, "sendto of an echo request to B", "got %zd errno %s", n,
          ename(errno));
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    memset(rep, 0, sizeof rep);
    n = zts_recvfrom(p, rep, sizeof rep, 0, (struct sockaddr *)&from, &flen);
    check(n == (ssize_t)sizeof req && rep[0] == (v6 ? 129 : 0) && rep[1] == 0, area,
          v6 ? "recvfrom gets an echo reply (type 129, code 0) of the same length"
             : "recvfrom gets an echo reply (type 0, code 0) of the same length",
          "got %zd bytes, type %u code %u", n, rep[0], rep[1]);
    check(n >= 8 && rep[6] == 0x01 && rep[7] == 0x02 && memcmp(rep + 8, payload, 16) == 0, area,
          "the reply has the request's sequence number and payload", "seq %02x%02x", rep[6], rep[7]);
    check(sa_is(&from, flen, ipb, -1), area, "the reply comes from B", "from %s", FMT(&from, flen));
    if (!v6)
        check(n > 0 && inet_cksum(rep, (size_t)n) == 0, area, "the reply's ICMP checksum is valid",
              "checksum field %02x%02x", rep[2], rep[3]);

    unsigned char not_echo[8] = { v6 ? 129 : 0 };
    EXPECT_ERR(area, EINVAL, "sendto of an echo reply (not an echo request)",
               zts_sendto(p, not_echo, sizeof not_echo, 0, SA(to)));
    EXPECT_ERR(area, EINVAL, "sendto of 4 bytes (shorter than an ICMP header)",
               zts_sendto(p, req, 4, 0, SA(to)));
    zts_close(p);
}

/* A raw ICMP socket: the app builds the whole ICMP message, checksum
 * included, and reads replies with their IPv4 header in front. */
static void icmp_raw(void)
{
    const char *area = "raw";
    const char payload[] = "surface-raw-icmp"; /* 16 bytes */
    int raw = sock_on(node_a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
    unsigned char req[8 + 16], buf[512];
    memset(req, 0, sizeof req);
    req[0] = 8;
    req[4] = 0x42, req[5] = 0x42; /* identifier 0x4242, kept on a raw socket */
    req[6] = 0x00, req[7] = 0x09; /* sequence 9 */
    memcpy(req + 8, payload, 16);
    uint16_t sum = inet_cksum(req, sizeof req);
    req[2] = (unsigned char)(sum >> 8), req[3] = (unsigned char)sum;
    addr_t to = mkaddr(B4, 0);
    ssize_t n = zts_sendto(raw, req, sizeof req, 0, SA(to));
    check(n == (ssize_t)sizeof req, area, "sendto of a hand-built echo request to B",
          "got %zd errno %s", n, ename(errno));

    /* A raw socket sees every ICMP message to the node; take ours. */
    int found = 0;
    struct sockaddr_storage from;
    socklen_t flen = 0;
    for (int i = 0; i < 8 && !found; i++) {
        flen = sizeof from;
        n = zts_recvfrom(raw, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        if (n < 0)
            break;
        found = n >= 20 + 8 && buf[20] == 0 && buf[24] == 0x42 && buf[25] == 0x42;
    }
    check(found, area, "recvfrom gets the echo reply (identifier 0x4242)", "last read %zd", n);
    if (found) {
        unsigned char src[4], dst[4];
        inet_pton(AF_INET, B4, src);
        inet_pton(AF_INET, A4, dst);
        check(buf[0] == 0x45 && buf[9] == IPPROTO_ICMP && memcmp(buf + 12, src, 4) == 0 &&
                  memcmp(buf + 16, dst, 4) == 0 && (buf[2] << 8 | buf[3]) == n,
              area, "the read starts with a 20-byte IPv4 header: proto 1, B to A, total length",
              "ver/ihl %#x proto %u total %u of %zd", buf[0], buf[9], buf[2] << 8 | buf[3], n);
        check(n == 20 + (ssize_t)sizeof req && buf[26] == 0 && buf[27] == 9 &&
                  memcmp(buf + 28, payload, 16) == 0 && inet_cksum(buf + 20, (size_t)n - 20) == 0,
              area, "then the ICMP reply: sequence, payload, valid checksum", "n %zd seq %u", n,
              buf[26] << 8 | buf[27]);
        check(sa_is(&from, flen, B4, -1), area, "recvfrom reports B as the source", "from %s",
              FMT(&from, flen));
    }
    zts_close(raw);
}

/* ------------------------------------------------------ message calls */

/* sendmsg/recvmsg with several iovecs and addresses; readv/writev; the
 * iovec count limit (1024) and NULL messages. */
static void msg_calls(void)
{
    const char *area = "msg";
    static struct iovec many[1025];
    static char one_byte[1025];
    for (int i = 0; i < 1025; i++)
        many[i] = (struct iovec){ .iov_base = &one_byte[i], .iov_len = 1 };

    int r = udp_on(node_b, B4, 7601), s = udp_on(node_a, A4, 7602);
    addr_t to = mkaddr(B4, 7601);
    char o1[] = "abc", o2[] = "defg", o3[] = "hi";
    struct iovec out[3] = { { o1, 3 }, { o2, 4 }, { o3, 2 } };
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &to.ss;
    m.msg_namelen = to.len;
    m.msg_iov = out;
    m.msg_iovlen = 3;
    ssize_t n = zts_sendmsg(s, &m, 0);
    check(n == 9, area, "sendmsg of 3 iovecs to msg_name sends 9 bytes", "got %zd errno %s", n,
          ename(errno));

    char p1[4], p2[16], ctl[64];
    memset(p2, 0, sizeof p2);
    struct iovec in[2] = { { p1, sizeof p1 }, { p2, sizeof p2 } };
    struct sockaddr_storage from;
    struct msghdr rm;
    memset(&rm, 0, sizeof rm);
    memset(&from, 0, sizeof from);
    rm.msg_name = &from;
    rm.msg_namelen = sizeof from;
    rm.msg_iov = in;
    rm.msg_iovlen = 2;
    rm.msg_control = ctl;
    rm.msg_controllen = sizeof ctl;
    rm.msg_flags = -1;
    n = zts_recvmsg(r, &rm, 0);
    check(n == 9 && memcmp(p1, "abcd", 4) == 0 && memcmp(p2, "efghi", 5) == 0, area,
          "recvmsg scatters the datagram over 2 iovecs in order", "got %zd", n);
    check(sa_is(&from, rm.msg_namelen, A4, 7602), area,
          "recvmsg writes the sender to msg_name and its size to msg_namelen", "got %s",
          FMT(&from, rm.msg_namelen));
    check(rm.msg_controllen == 0 && rm.msg_flags == 0, area,
          "recvmsg sets msg_controllen 0 and msg_flags 0 (not truncated)",
          "msg_controllen %zu, msg_flags %#x", (size_t)rm.msg_controllen, (unsigned)rm.msg_flags);

    /* Datagram sockets: writev sends one datagram. */
    addr_t sa = mkaddr(A4, 7602);
    zts_connect(r, SA(sa));
    n = zts_writev(r, out, 3);
    char buf[64] = { 0 };
    ssize_t n2 = zts_recv(s, buf, sizeof buf, 0);
    check(n == 9 && n2 == 9 && memcmp(buf, "abcdefghi", 9) == 0, area,
          "writev of 3 iovecs on connected UDP is one 9-byte datagram", "writev %zd, recv %zd", n,
          n2);

    struct msghdr bad = m;
    bad.msg_name = NULL;
    bad.msg_namelen = 0;
    EXPECT_ERR(area, EDESTADDRREQ, "sendmsg with no msg_name on an unconnected UDP socket",
               zts_sendmsg(s, &bad, 0));
    bad = m;
    bad.msg_control = ctl;
    bad.msg_controllen = sizeof ctl;
    EXPECT_ERR(area, EOPNOTSUPP, "sendmsg with msg_controllen > 0", zts_sendmsg(s, &bad, 0));
    bad = m;
    bad.msg_iov = many;
    bad.msg_iovlen = 1025;
    EXPECT_ERR(area, EINVAL, "sendmsg with msg_iovlen 1025", zts_sendmsg(s, &bad, 0));
    EXPECT_ERR(area, EINVAL, "recvmsg with msg_iovlen 1025", zts_recvmsg(s, &bad, MSG_DONTWAIT));
    EXPECT_ERR(area, EFAULT, "sendmsg with a NULL msghdr", zts_sendmsg(s, NULL, 0));
    EXPECT_ERR(area, EFAULT, "recvmsg with a NULL msghdr", zts_recvmsg(s, NULL, 0));
    zts_close(r);
    zts_close(s);

    /* TCP: writev gathers, readv scatters. */
    int c, v;
    tcp_pair(AF_INET, &c, &v);
    char w1[] = "one-", w2[] = "two-", w3[] = "three";
    struct iovec wv[3] = { { w1, 4 }, { w2, 4 }, { w3, 5 } };
    n = zts_writev(c, wv, 3);
    check(n == 13, area, "writev of 3 iovecs on TCP writes 13 bytes", "got %zd", n);
    char q1[6], q2[16];
    memset(q2, 0, sizeof q2);
    struct iovec rv[2] = { { q1, sizeof q1 }, { q2, sizeof q2 } };
    wait_for(v, POLLIN, WAIT_MS);
    n = zts_readv(v, rv, 2);
    check(n == 13 && memcmp(q1, "one-tw", 6) == 0 && memcmp(q2, "o-three", 7) == 0, area,
          "readv on TCP fills 2 iovecs in order", "got %zd", n);
    EXPECT_ERR(area, EINVAL, "readv with iovcnt -1", zts_readv(v, rv, -1));
    EXPECT_ERR(area, EINVAL, "readv with iovcnt 1025", zts_readv(v, many, 1025));
    EXPECT_ERR(area, EINVAL, "writev with iovcnt -1", zts_writev(c, wv, -1));
    EXPECT_ERR(area, EINVAL, "writev with iovcnt 1025", zts_writev(c, many, 1025));
    /* 1024 is the limit, and allowed. */
    for (int i = 0; i < 1024; i++)
        one_byte[i] = (char)('a' + i % 26);
    n = zts_writev(c, many, 1024);
    char got[1024];
    size_t all = read_full(v, got, sizeof got);
    check(n == 1024 && all == 1024 && memcmp(got, one_byte, 1024) == 0, area,
          "writev with iovcnt 1024 (the limit) writes all 1024 buffers in order",
          "writev %zd, read %zu", n, all);
    zts_close(c);
    zts_close(v);
}

/* ------------------------------------------------------------- TCP flags */

struct writer {
    int fd;
    const unsigned char *data;
    size_t total, piece, sent;
    int err;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    while (w->sent < w->total) {
        size_t len = w->total - w->sent < w->piece ? w->total - w->sent : w->piece;
        ssize_t n = zts_write(w->fd, w->data + w->sent, len);
        if (n <= 0) {
            w->err = errno;
            break;
        }
        w->sent += (size_t)n;
    }
    return NULL;
}

static void tcp_flags(void)
{
    const char *area = "tcp-flags";
    char buf[64];
    int c, v;
    tcp_pair(AF_INET, &c, &v);

    EXPECT_ERR(area, EAGAIN, "recv MSG_DONTWAIT with nothing queued",
               zts_recv(v, buf, sizeof buf, MSG_DONTWAIT));
    ssize_t n = zts_send(c, "peekaboo", 8, MSG_NOSIGNAL);
    check(n == 8, area, "send with MSG_NOSIGNAL is accepted", "got %zd errno %s", n, ename(errno));
    wait_for(v, POLLIN, WAIT_MS);
    memset(buf, 0, sizeof buf);
    n = zts_recv(v, buf, sizeof buf, MSG_PEEK);
    ssize_t n2 = zts_recv(v, buf + 32, 32, 0);
    check(n == 8 && n2 == 8 && memcmp(buf, "peekaboo", 8) == 0 && memcmp(buf + 32, "peekaboo", 8) == 0,
          area, "MSG_PEEK returns the bytes and leaves them for the next recv", "peek %zd, recv %zd",
          n, n2);
    n = zts_send(c, "dw", 2, MSG_DONTWAIT);
    n2 = (wait_for(v, POLLIN, WAIT_MS) & POLLIN) ? zts_recv(v, buf, sizeof buf, MSG_DONTWAIT) : -1;
    check(n == 2 && n2 == 2, area, "send and recv with MSG_DONTWAIT move data when there is room/data",
          "send %zd, recv %zd", n, n2);
    EXPECT_ERR(area, EOPNOTSUPP, "send with MSG_OOB (unsupported flag)", zts_send(c, "x", 1, MSG_OOB));
    EXPECT_ERR(area, EOPNOTSUPP, "recv with MSG_OOB (unsupported flag)",
               zts_recv(v, buf, sizeof buf, MSG_OOB));

    /* MSG_WAITALL: one recv of 100000 bytes returns them all while another
     * thread writes them 1000 bytes at a time. */
    enum { TOTAL = 100000 };
    unsigned char *data = malloc(TOTAL), *got = malloc(TOTAL);
    if (!data || !got)
        die("malloc");
    fill_pattern(data, TOTAL, 3);
    memset(got, 0, TOTAL);
    struct writer w = { .fd = c, .data = data, .total = TOTAL, .piece = 1000 };
    pthread_t th;
    if (pthread_create(&th, NULL, writer_main, &w) != 0)
        die("pthread_create");
    n = zts_recv(v, got, TOTAL, MSG_WAITALL);
    pthread_join(th, NULL);
    check(n == TOTAL && memcmp(data, got, TOTAL) == 0, area,
          "recv(100000, MSG_WAITALL) returns all 100000 bytes sent in 1000-byte writes",
          "got %zd (writer sent %zu, errno %s)", n, w.sent, ename(w.err));
    free(data);
    free(got);
    zts_close(c);
    zts_close(v);
}

/* ---------------------------------------------------------------- select */

static void select_calls(void)
{
    const char *area = "select";
    int c, v;
    tcp_pair(AF_INET, &c, &v);
    int maxfd = (c > v ? c : v) + 1;
    fd_set r, w, x;
    struct timeval tv = { 0, 100000 };

    FD_ZERO(&r);
    FD_SET(v, &r);
    FD_ZERO(&x);
    FD_SET(v, &x);
    int n = zts_select(maxfd, &r, NULL, &x, &tv);
    check(n == 0 && !FD_ISSET(v, &r), area, "times out with 0 (and clears the set) when nothing is ready",
          "got %d errno %s", n, ename(errno));

    zts_write(c, "s", 1);
    FD_ZERO(&r);
    FD_SET(v, &r);
    FD_ZERO(&x);
    FD_SET(v, &x);
    tv = (struct timeval){ WAIT_MS / 1000, 0 };
    n = zts_select(maxfd, &r, NULL, &x, &tv);
    check(n == 1 && FD_ISSET(v, &r), area, "readable once data arrives", "got %d", n);
    check(!FD_ISSET(v, &x), area, "the exception set is cleared", "still set");

    FD_ZERO(&w);
    FD_SET(c, &w);
    tv = (struct timeval){ 0, 0 };
    n = zts_select(maxfd, NULL, &w, NULL, &tv);
    check(n == 1 && FD_ISSET(c, &w), area, "a connected socket is writable", "got %d", n);

    FD_ZERO(&r);
    FD_SET(v, &r);
    FD_ZERO(&w);
    FD_SET(c, &w);
    tv = (struct timeval){ 0, 0 };
    n = zts_select(maxfd, &r, &w, NULL, &tv);
    check(n == 2 && FD_ISSET(v, &r) && FD_ISSET(c, &w), area,
          "read and write sets together count 2 bits", "got %d", n);
    char b;
    zts_read(v, &b, 1);

    /* A number in range that is not a zts fd. */
    int nz = -1;
    for (int i = 0; i < FD_SETSIZE && nz < 0; i++)
        if (zts_fcntl(i, F_GETFL, 0) == -1 && errno == EBADF)
            nz = i;
    if (nz < 0)
        die("no free fd number below FD_SETSIZE");
    FD_ZERO(&r);
    FD_SET(nz, &r);
    tv = (struct timeval){ 0, 0 };
    EXPECT_ERR(area, EBADF, "a read set naming a number that is not a zts fd",
               zts_select(nz + 1, &r, NULL, NULL, &tv));
    FD_ZERO(&r);
    tv = (struct timeval){ 0, 0 };
    EXPECT_ERR(area, EINVAL, "nfds -1", zts_select(-1, &r, NULL, NULL, &tv));
    EXPECT_ERR(area, EINVAL, "nfds FD_SETSIZE + 1", zts_select(FD_SETSIZE + 1, &r, NULL, NULL, &tv));
    tv = (struct timeval){ -1, 0 };
    EXPECT_ERR(area, EINVAL, "a negative timeout", zts_select(maxfd, &r, NULL, NULL, &tv));
    zts_close(c);
    zts_close(v);
}

/* ----------------------------------------------------------------- ioctl */

static void ioctl_calls(void)
{
    const char *area = "ioctl";
    char buf[256];
    int c, v, q;
    tcp_pair(AF_INET, &c, &v);
    q = -1;
    int rc = zts_ioctl(v, FIONREAD, &q);
    check(rc == 0 && q == 0, area, "TCP: FIONREAD is 0 with nothing queued", "rc %d, got %d", rc, q);
    memset(buf, 'f', sizeof buf);
    zts_write(c, buf, 123); /* one segment: all there once readable */
    wait_for(v, POLLIN, WAIT_MS);
    q = -1;
    rc = zts_ioctl(v, FIONREAD, &q);
    check(rc == 0 && q == 123, area, "TCP: FIONREAD counts the 123 queued bytes", "rc %d, got %d", rc, q);
    read_full(v, buf, 123);

    int on = 1;
    rc = zts_ioctl(v, FIONBIO, &on);
    int fl = zts_fcntl(v, F_GETFL, 0);
    check(rc == 0 && fl >= 0 && (fl & O_NONBLOCK), area, "FIONBIO 1 sets O_NONBLOCK",
          "rc %d, F_GETFL %#x", rc, (unsigned)fl);
    EXPECT_ERR(area, EAGAIN, "read with no data after FIONBIO 1", zts_read(v, buf, sizeof buf));
    on = 0;
    rc = zts_ioctl(v, FIONBIO, &on);
    fl = zts_fcntl(v, F_GETFL, 0);
    check(rc == 0 && fl >= 0 && !(fl & O_NONBLOCK), area, "FIONBIO 0 clears O_NONBLOCK",
          "rc %d, F_GETFL %#x", rc, (unsigned)fl);

    char arg[64] = { 0 };
    EXPECT_ERR(area, ENOTTY, "TIOCGWINSZ (another request)", zts_ioctl(v, TIOCGWINSZ, arg));
    EXPECT_ERR(area, EFAULT, "FIONREAD with a NULL arg", zts_ioctl(v, FIONREAD, NULL));
    EXPECT_ERR(area, EFAULT, "FIONBIO with a NULL arg", zts_ioctl(v, FIONBIO, NULL));
    EXPECT_ERR(area, EBADF, "FIONREAD on fd 9999", zts_ioctl(NO_SUCH_FD, FIONREAD, &q));
    zts_close(c);
    zts_close(v);

    /* UDP: FIONREAD is the size of the next datagram, not the total. */
    int r = udp_on(node_b, B4, 7701), s = udp_on(node_a, A4, 7702);
    addr_t to = mkaddr(B4, 7701);
    q = -1;
    rc = zts_ioctl(r, FIONREAD, &q);
    check(rc == 0 && q == 0, area, "UDP: FIONREAD is 0 with nothing queued", "rc %d, got %d", rc, q);
    zts_sendto(s, buf, 7, 0, SA(to));
    zts_sendto(s, buf, 30, 0, SA(to));
    wait_for(r, POLLIN, WAIT_MS);
    q = -1;
    rc = zts_ioctl(r, FIONREAD, &q);
    check(rc == 0 && q == 7, area, "UDP: FIONREAD is the next datagram's size (7 of 7+30)",
          "rc %d, got %d", rc, q);
    zts_recv(r, buf, sizeof buf, 0);
    wait_for(r, POLLIN, WAIT_MS);
    q = -1;
    rc = zts_ioctl(r, FIONREAD, &q);
    check(rc == 0 && q == 30, area, "UDP: after one recv, FIONREAD is 30", "rc %d, got %d", rc, q);
    zts_recv(r, buf, sizeof buf, 0);
    zts_close(r);
    zts_close(s);
}

/* ------------------------------------------------------------------ poll */

static void poll_calls(void)
{
    const char *area = "poll";
    char buf[64];
    struct pollfd p[2];
    int c, v, n;
    tcp_pair(AF_INET, &c, &v);

    p[0] = (struct pollfd){ .fd = v, .events = POLLIN };
    n = zts_poll(p, 1, 100);
    check(n == 0 && p[0].revents == 0, area, "times out with 0 when nothing is ready",
          "got %d, revents %#x", n, (unsigned)p[0].revents);
    p[0] = (struct pollfd){ .fd = c, .events = POLLOUT };
    n = zts_poll(p, 1, 0);
    check(n == 1 && (p[0].revents & POLLOUT), area, "POLLOUT on a connected socket",
          "got %d, revents %#x", n, (unsigned)p[0].revents);
    zts_write(c, "x", 1);
    p[0] = (struct pollfd){ .fd = v, .events = POLLIN };
    n = zts_poll(p, 1, WAIT_MS);
    check(n == 1 && (p[0].revents & POLLIN), area, "POLLIN once data arrives", "got %d, revents %#x",
          n, (unsigned)p[0].revents);
    zts_read(v, buf, sizeof buf);

    p[0] = (struct pollfd){ .fd = -1, .events = POLLIN, .revents = 0x7fff };
    p[1] = (struct pollfd){ .fd = c, .events = POLLOUT };
    n = zts_poll(p, 2, 0);
    check(n == 1 && p[0].revents == 0 && (p[1].revents & POLLOUT), area,
          "a negative fd is ignored (revents 0, not counted)", "got %d, revents %#x", n,
          (unsigned)p[0].revents);

    /* The peer's SHUT_WR: POLLRDHUP (and POLLIN: read gives 0), not POLLHUP. */
    zts_shutdown(c, SHUT_WR);
    p[0] = (struct pollfd){ .fd = v, .events = POLLIN | POLLRDHUP };
    n = zts_poll(p, 1, WAIT_MS);
    check(n == 1 && (p[0].revents & POLLRDHUP) && (p[0].revents & POLLIN), area,
          "POLLRDHUP and POLLIN after the peer's shutdown(SHUT_WR)", "got %d, revents %#x", n,
          (unsigned)p[0].revents);
    check(!(p[0].revents & (POLLHUP | POLLERR)), area, "no POLLHUP/POLLERR for a half-close",
          "revents %#x", (unsigned)p[0].revents);
    ssize_t r = zts_read(v, buf, sizeof buf);
    check(r == 0, area, "then read returns 0", "got %zd", r);
    zts_close(c);
    zts_close(v);

    /* The peer resets: POLLHUP or POLLERR, and SO_ERROR says why. */
    tcp_pair(AF_INET, &c, &v);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    zts_setsockopt(v, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    zts_close(v);
    p[0] = (struct pollfd){ .fd = c, .events = POLLIN };
    n = zts_poll(p, 1, WAIT_MS);
    check(n == 1 && (p[0].revents & (POLLHUP | POLLERR)), area,
          "POLLHUP/POLLERR after the peer resets (SO_LINGER {1,0} then close)", "got %d, revents %#x",
          n, (unsigned)p[0].revents);
    int err;
    get_int(c, SOL_SOCKET, SO_ERROR, &err);
    check(err == ECONNRESET, area, "SO_ERROR is ECONNRESET after the reset", "got %s", ename(err));
    zts_close(c);

    p[0] = (struct pollfd){ .fd = c, .events = POLLIN };
    n = zts_poll(p, 1, 0);
    check(n == 1 && p[0].revents == POLLNVAL, area, "POLLNVAL (alone) for a closed fd",
          "got %d, revents %#x", n, (unsigned)p[0].revents);
    EXPECT_ERR(area, EFAULT, "NULL fds with nfds 1", zts_poll(NULL, 1, 0));
    n = zts_poll(NULL, 0, 0);
    check(n == 0, area, "NULL fds with nfds 0 returns 0", "got %d errno %s", n, ename(errno));
}

/* --------------------------------------------------------------- options */

/* Sets an int option and reads it back. */
static void roundtrip(const char *area, int fd, int level, int name, const char *oname, int v)
{
    char what[96];
    snprintf(what, sizeof what, "%s set %d reads back %d", oname, v, v);
    int s = set_int(fd, level, name, v);
    int e = errno, got;
    int g = get_int(fd, level, name, &got);
    check(s == 0 && g == 0 && got == v, area, what, "set rc %d (%s), get rc %d, got %d", s, ename(e),
          g, got);
}

static void type_protocol(const char *area, const char *what, int fd, int type, int proto)
{
    int t, p;
    get_int(fd, SOL_SOCKET, SO_TYPE, &t);
    get_int(fd, SOL_SOCKET, SO_PROTOCOL, &p);
    check(t == type && p == proto, area, what, "SO_TYPE %d, SO_PROTOCOL %d", t, p);
}

static void options(void)
{
    const char *area = "options";
    int v, c, s;

    /* TCP keepalive timing and flags. */
    int t = sock_on(node_a, AF_INET, SOCK_STREAM, 0);
    roundtrip(area, t, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 30);
    roundtrip(area, t, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 5);
    roundtrip(area, t, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 4);
    EXPECT_ERR(area, EINVAL, "TCP_KEEPCNT 0", set_int(t, IPPROTO_TCP, TCP_KEEPCNT, 0));
    EXPECT_ERR(area, EINVAL, "TCP_KEEPIDLE 0", set_int(t, IPPROTO_TCP, TCP_KEEPIDLE, 0));
    EXPECT_ERR(area, EINVAL, "TCP_KEEPINTVL 0", set_int(t, IPPROTO_TCP, TCP_KEEPINTVL, 0));
    roundtrip(area, t, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1);
    roundtrip(area, t, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1);
    roundtrip(area, t, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1);

    /* IP level. */
    roundtrip(area, t, IPPROTO_IP, IP_TTL, "IP_TTL", 77);
    EXPECT_ERR(area, EINVAL, "IP_TTL 0", set_int(t, IPPROTO_IP, IP_TTL, 0));
    EXPECT_ERR(area, EINVAL, "IP_TTL 256", set_int(t, IPPROTO_IP, IP_TTL, 256));
    roundtrip(area, t, IPPROTO_IP, IP_TOS, "IP_TOS", 0x10);
    EXPECT_ERR(area, EINVAL, "an int option with optlen 2",
               zts_setsockopt(t, IPPROTO_IP, IP_TTL, &(int){ 9 }, 2));
    EXPECT_ERR(area, EFAULT, "setsockopt with NULL val and optlen 4",
               zts_setsockopt(t, IPPROTO_IP, IP_TTL, NULL, 4));
    EXPECT_ERR(area, EFAULT, "getsockopt with a NULL optlen",
               zts_getsockopt(t, IPPROTO_IP, IP_TTL, &v, NULL));
    EXPECT_ERR(area, ENOPROTOOPT, "IPV6_UNICAST_HOPS on an AF_INET socket",
               set_int(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5));

    /* Timeouts round-trip as a struct timeval. */
    struct timeval tv = { 1, 500000 }, got_tv = { 0, 0 };
    socklen_t len = sizeof got_tv;
    int rc = zts_setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int g = zts_getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &got_tv, &len);
    check(rc == 0 && g == 0 && len == sizeof got_tv && got_tv.tv_sec == 1 && got_tv.tv_usec == 500000,
          area, "SO_RCVTIMEO {1, 500000} reads back", "got {%ld, %ld} len %u", (long)got_tv.tv_sec,
          (long)got_tv.tv_usec, (unsigned)len);

    /* SO_ACCEPTCONN: 1 only on a listener. */
    get_int(t, SOL_SOCKET, SO_ACCEPTCONN, &v);
    check(v == 0, area, "SO_ACCEPTCONN is 0 on a fresh TCP socket", "got %d", v);
    get_int(pair_lfd4, SOL_SOCKET, SO_ACCEPTCONN, &v);
    check(v == 1, area, "SO_ACCEPTCONN is 1 on a listener", "got %d", v);
    tcp_pair(AF_INET, &c, &s);
    get_int(s, SOL_SOCKET, SO_ACCEPTCONN, &v);
    check(v == 0, area, "SO_ACCEPTCONN is 0 on an accepted socket", "got %d", v);
    type_protocol(area, "TCP: SO_TYPE SOCK_STREAM, SO_PROTOCOL IPPROTO_TCP", c, SOCK_STREAM,
                  IPPROTO_TCP);
    get_int(c, SOL_SOCKET, SO_DOMAIN, &v);
    check(v == AF_INET, area, "SO_DOMAIN is AF_INET", "got %d", v);

    /* TCP_MAXSEG: MTU 1500 less the IP and TCP headers. */
    get_int(c, IPPROTO_TCP, TCP_MAXSEG, &v);
    check(v == 1460, area, "TCP_MAXSEG on a connected IPv4 socket over MTU 1500 is 1460", "got %d", v);
    zts_close(c);
    zts_close(s);
    tcp_pair(AF_INET6, &c, &s);
    get_int(c, IPPROTO_TCP, TCP_MAXSEG, &v);
    check(v == 1440, area, "TCP_MAXSEG on a connected IPv6 socket over MTU 1500 is 1440", "got %d", v);
    zts_close(c);
    zts_close(s);

    /* SO_LINGER {1, 0}: close sends RST; the peer's read fails. */
    tcp_pair(AF_INET, &c, &s);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 }, got_lg = { -1, -1 };
    len = sizeof got_lg;
    rc = zts_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    g = zts_getsockopt(s, SOL_SOCKET, SO_LINGER, &got_lg, &len);
    check(rc == 0 && g == 0 && len == sizeof got_lg && got_lg.l_onoff == 1 && got_lg.l_linger == 0,
          area, "SO_LINGER {1, 0} reads back", "got {%d, %d} len %u", got_lg.l_onoff,
          got_lg.l_linger, (unsigned)len);
    zts_close(s);
    char buf[64];
    EXPECT_ERR(area, ECONNRESET, "the peer's read after close with SO_LINGER {1, 0}",
               zts_read(c, buf, sizeof buf));
    zts_close(c);

    /* SO_RCVLOWAT 10 with 4 bytes queued: the read waits for more until
     * SO_RCVTIMEO (200 ms) ends, then returns the 4. */
    tcp_pair(AF_INET, &c, &s);
    zts_write(c, "four", 4);
    wait_for(s, POLLIN, WAIT_MS); /* before the low mark is raised */
    roundtrip(area, s, SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 10);
    set_timeo(s, SO_RCVTIMEO, 200);
    long t0 = now_ms();
    ssize_t n = zts_read(s, buf, sizeof buf);
    long waited = now_ms() - t0;
    check(n == 4 && memcmp(buf, "four", 4) == 0, area,
          "SO_RCVLOWAT 10, 4 bytes queued, SO_RCVTIMEO 200 ms: read returns the 4 bytes",
          "got %zd errno %s", n, ename(errno));
    check(waited >= 150, area, "... after waiting for the timeout (not at once)", "waited %ld ms",
          waited);
    zts_close(c);
    zts_close(s);

    /* IPv6 level. */
    int t6 = sock_on(node_a, AF_INET6, SOCK_STREAM, 0);
    roundtrip(area, t6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", 33);
    get_int(t6, IPPROTO_IPV6, IPV6_V6ONLY, &v);
    check(v == 0, area, "IPV6_V6ONLY is 0 by default", "got %d", v);
    roundtrip(area, t6, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 1);
    zts_close(t6);
    zts_close(t);

    /* UDP and ICMP sockets. */
    int u = sock_on(node_a, AF_INET, SOCK_DGRAM, 0);
    roundtrip(area, u, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 1);
    roundtrip(area, u, IPPROTO_IP, IP_TOS, "IP_TOS (UDP)", 0x20);
    type_protocol(area, "UDP: SO_TYPE SOCK_DGRAM, SO_PROTOCOL IPPROTO_UDP", u, SOCK_DGRAM, IPPROTO_UDP);
    EXPECT_ERR(area, ENOPROTOOPT, "setsockopt TCP_NODELAY on a UDP socket",
               set_int(u, IPPROTO_TCP, TCP_NODELAY, 1));
    EXPECT_ERR(area, ENOPROTOOPT, "getsockopt TCP_NODELAY on a UDP socket",
               get_int(u, IPPROTO_TCP, TCP_NODELAY, &v));
    EXPECT_ERR(area, ENOPROTOOPT, "TCP_MAXSEG on a UDP socket", get_int(u, IPPROTO_TCP, TCP_MAXSEG, &v));
    zts_close(u);
    u = sock_on(node_a, AF_INET6, SOCK_DGRAM, 0);
    type_protocol(area, "UDP over IPv6: SO_TYPE SOCK_DGRAM, SO_PROTOCOL IPPROTO_UDP", u, SOCK_DGRAM,
                  IPPROTO_UDP);
    zts_close(u);
    u = sock_on(node_a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    type_protocol(area, "ping: SO_TYPE SOCK_DGRAM, SO_PROTOCOL IPPROTO_ICMP", u, SOCK_DGRAM,
                  IPPROTO_ICMP);
    zts_close(u);
    u = sock_on(node_a, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
    type_protocol(area, "ping6: SO_TYPE SOCK_DGRAM, SO_PROTOCOL IPPROTO_ICMPV6", u, SOCK_DGRAM,
                  IPPROTO_ICMPV6);
    zts_close(u);
    u = sock_on(node_a, AF_INET, SOCK_RAW, IPPROTO_ICMP);
    type_protocol(area, "raw: SO_TYPE SOCK_RAW, SO_PROTOCOL IPPROTO_ICMP", u, SOCK_RAW, IPPROTO_ICMP);
    zts_close(u);
}

/* ------------------------------------------------------------ dual stack */

/* An AF_INET6 listener on [::] takes IPv4 clients as v4-mapped addresses
 * unless IPV6_V6ONLY was set before bind. */
static void dual_stack(void)
{
    const char *area = "dual-stack";
    char buf[64];
    int l = listener(node_a, "::", 7801);
    int c = sock_on(node_b, AF_INET, SOCK_STREAM, 0);
    addr_t to = mkaddr(A4, 7801);
    int rc = zts_connect(c, SA(to));
    check(rc == 0, area, "an IPv4 client connects to a listener on [::]", "errno %s", ename(errno));
    if (rc == 0) {
        struct sockaddr_storage cl, pa, pn, sn;
        socklen_t cllen = sizeof cl, palen = sizeof pa, pnlen = sizeof pn, snlen = sizeof sn;
        zts_getsockname(c, (struct sockaddr *)&cl, &cllen);
        int port = port_of(&cl);
        int s = accept_from(l, &pa, &palen);
        check(sa_is(&pa, palen, "::ffff:" B4, port), area,
              "zts_accept reports a sockaddr_in6 with ::ffff:" B4 " and the client's port",
              "got %s, client port %d", FMT(&pa, palen), port);
        rc = zts_getpeername(s, (struct sockaddr *)&pn, &pnlen);
        check(rc == 0 && sa_is(&pn, pnlen, "::ffff:" B4, port), area,
              "getpeername on the accepted socket: the same v4-mapped address", "got %s",
              FMT(&pn, pnlen));
        rc = zts_getsockname(s, (struct sockaddr *)&sn, &snlen);
        check(rc == 0 && sa_is(&sn, snlen, "::ffff:" A4, 7801), area,
              "getsockname on the accepted socket: ::ffff:" A4 " port 7801", "got %s", FMT(&sn, snlen));
        ssize_t n = zts_write(c, "v4-to-v6", 8);
        size_t got = read_full(s, buf, 8);
        ssize_t n2 = zts_write(s, "back", 4);
        size_t got2 = read_full(c, buf + 8, 4);
        check(n == 8 && got == 8 && n2 == 4 && got2 == 4 && memcmp(buf, "v4-to-v6back", 12) == 0,
              area, "data flows both ways over the mapped connection", "%zd/%zu, %zd/%zu", n, got,
              n2, got2);
        zts_close(s);
    }
    zts_close(c);
    EXPECT_ERR(area, EINVAL, "IPV6_V6ONLY after bind", set_int(l, IPPROTO_IPV6, IPV6_V6ONLY, 1));
    zts_close(l);

    /* IPV6_V6ONLY before bind: IPv4 is refused, IPv6 still connects. */
    l = sock_on(node_a, AF_INET6, SOCK_STREAM, 0);
    addr_t any = mkaddr("::", 7802);
    if (set_int(l, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0 || zts_bind(l, SA(any)) < 0 || zts_listen(l, 4) < 0)
        die("V6ONLY listener");
    c = sock_on(node_b, AF_INET, SOCK_STREAM, 0);
    to = mkaddr(A4, 7802);
    EXPECT_ERR(area, ECONNREFUSED, "IPv4 connect to a [::] listener with IPV6_V6ONLY",
               zts_connect(c, SA(to)));
    zts_close(c);
    c = sock_on(node_b, AF_INET6, SOCK_STREAM, 0);
    to = mkaddr(A6, 7802);
    rc = zts_connect(c, SA(to));
    check(rc == 0, area, "IPv6 connect to the IPV6_V6ONLY listener works", "errno %s", ename(errno));
    if (rc == 0)
        zts_close(accept_from(l, NULL, NULL));
    zts_close(c);
    zts_close(l);

    /* UDP: an AF_INET6 socket on [::] gets IPv4 datagrams as v4-mapped
     * senders; with IPV6_V6ONLY it does not (a marker to an AF_INET socket,
     * sent after it from the same socket, shows it had its chance). */
    int u6 = udp_on(node_a, "::", 7803);
    int u4 = udp_on(node_b, B4, 7804);
    to = mkaddr(A4, 7803);
    ssize_t n = zts_sendto(u4, "mapped", 6, 0, SA(to));
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t n2 = zts_recvfrom(u6, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    check(n == 6 && n2 == 6 && sa_is(&from, flen, "::ffff:" B4, 7804), area,
          "UDP on [::] receives an IPv4 datagram from ::ffff:" B4, "sendto %zd, recv %zd from %s", n,
          n2, FMT(&from, flen));
    zts_close(u6);
    u6 = sock_on(node_a, AF_INET6, SOCK_DGRAM, 0);
    any = mkaddr("::", 7805);
    if (set_int(u6, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0 || zts_bind(u6, SA(any)) < 0)
        die("V6ONLY UDP socket");
    int mark = udp_on(node_a, A4, 7806);
    to = mkaddr(A4, 7805);
    addr_t to_mark = mkaddr(A4, 7806);
    zts_sendto(u4, "v4", 2, 0, SA(to));
    zts_sendto(u4, "marker", 6, 0, SA(to_mark));
    n = zts_recv(mark, buf, sizeof buf, 0);
    check(n == 6, area, "(the marker arrived)", "got %zd errno %s", n, ename(errno));
    EXPECT_ERR(area, EAGAIN, "UDP on [::] with IPV6_V6ONLY: the IPv4 datagram is not delivered",
               zts_recv(u6, buf, sizeof buf, MSG_DONTWAIT));
    zts_close(mark);
    zts_close(u6);
    zts_close(u4);
}

/* -------------------------------------------------------------- loopback */

/* A node with no network has loopback: TCP and UDP over 127.0.0.1, ::1. */
static void loopback(void)
{
    const char *area = "loopback";
    int node = zts_node_new();
    if (node < 0)
        die("zts_node_new (loopback)");
    int rc = zts_node_start(node);
    check(rc == 0, area, "a node with no network starts", "errno %s", ename(errno));
    if (rc != 0) {
        zts_node_free(node);
        return;
    }
    const char *ips[2] = { "127.0.0.1", "::1" };
    for (int i = 0; i < 2; i++) {
        const char *ip = ips[i];
        char what[96], buf[64] = { 0 };
        int l = listener(node, ip, 7901);
        int c = sock_on(node, family_of(ip), SOCK_STREAM, 0);
        addr_t to = mkaddr(ip, 7901);
        rc = zts_connect(c, SA(to));
        snprintf(what, sizeof what, "TCP connect to %s inside one node", ip);
        check(rc == 0, area, what, "errno %s", ename(errno));
        if (rc == 0) {
            struct sockaddr_storage pa;
            socklen_t palen = sizeof pa;
            int s = accept_from(l, &pa, &palen);
            snprintf(what, sizeof what, "the accepted peer is %s", ip);
            check(sa_is(&pa, palen, ip, -1), area, what, "got %s", FMT(&pa, palen));
            ssize_t n = zts_write(c, "ping", 4);
            size_t got = read_full(s, buf, 4);
            ssize_t n2 = zts_write(s, "pong", 4);
            size_t got2 = read_full(c, buf + 4, 4);
            snprintf(what, sizeof what, "TCP data both ways over %s", ip);
            check(n == 4 && got == 4 && n2 == 4 && got2 == 4 && memcmp(buf, "pingpong", 8) == 0, area,
                  what, "%zd/%zu, %zd/%zu", n, got, n2, got2);
            zts_close(s);
        }
        zts_close(c);
        zts_close(l);

        int u1 = udp_on(node, ip, 7902), u2 = udp_on(node, ip, 7903);
        addr_t to1 = mkaddr(ip, 7902);
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = zts_sendto(u2, "lo-udp", 6, 0, SA(to1));
        ssize_t n2 = zts_recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        snprintf(what, sizeof what, "UDP over %s, from the sender's port", ip);
        check(n == 6 && n2 == 6 && memcmp(buf, "lo-udp", 6) == 0 && sa_is(&from, flen, ip, 7903), area,
              what, "sendto %zd, recv %zd from %s", n, n2, FMT(&from, flen));
        zts_close(u1);
        zts_close(u2);

        c = sock_on(node, family_of(ip), SOCK_STREAM, 0);
        to = mkaddr(ip, 7999);
        snprintf(what, sizeof what, "TCP connect to %s port 7999 (no listener)", ip);
        EXPECT_ERR(area, ECONNREFUSED, what, zts_connect(c, SA(to)));
        zts_close(c);
    }
    zts_node_free(node);
}

/* ----------------------------------------------------------------- names */

static const char *gainame(int c)
{
    switch (c) {
    case 0: return "0";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    default: return "(other)";
    }
}

static struct addrinfo hint(int family, int socktype, int flags)
{
    struct addrinfo h;
    memset(&h, 0, sizeof h);
    h.ai_family = family;
    h.ai_socktype = socktype;
    h.ai_flags = flags;
    return h;
}

/* node < 0: zts_getaddrinfo on the default node. */
static int gai(int node, const char *host, const char *serv, const struct addrinfo *h,
               struct addrinfo **res)
{
    *res = NULL;
    return node < 0 ? zts_getaddrinfo(host, serv, h, res) : zts_node_getaddrinfo(node, host, serv, h, res);
}

static void expect_gai(const char *what, int want, int node, const char *host, const char *serv,
                       struct addrinfo h)
{
    struct addrinfo *res;
    int rc = gai(node, host, serv, &h, &res);
    check(rc == want, "names", what, "got %s (%d)", gainame(rc), rc);
    if (rc == 0)
        zts_freeaddrinfo(res);
}

/* Whether some entry is ip:port (port < 0: any). */
static int ai_has(const struct addrinfo *ai, const char *ip, int port)
{
    for (; ai; ai = ai->ai_next)
        if (sa_is(ai->ai_addr, ai->ai_addrlen, ip, port))
            return 1;
    return 0;
}

static int ai_count(const struct addrinfo *ai)
{
    int n = 0;
    for (; ai; ai = ai->ai_next)
        n++;
    return n;
}

static int ai_all_family(const struct addrinfo *ai, int family)
{
    for (; ai; ai = ai->ai_next)
        if (ai->ai_family != family || ai->ai_addr->sa_family != family)
            return 0;
    return 1;
}

static void names(void)
{
    const char *area = "names";
    struct addrinfo h, *res;
    int rc;

    h = hint(AF_UNSPEC, SOCK_STREAM, 0);
    rc = gai(-1, "10.1.2.3", "80", &h, &res);
    check(rc == 0 && ai_count(res) == 1 && res->ai_family == AF_INET && res->ai_socktype == SOCK_STREAM &&
              res->ai_protocol == IPPROTO_TCP && ai_has(res, "10.1.2.3", 80),
          area, "numeric 10.1.2.3 \"80\" SOCK_STREAM: one AF_INET/TCP entry 10.1.2.3:80",
          "rc %s, %d entries", gainame(rc), rc == 0 ? ai_count(res) : 0);
    zts_freeaddrinfo(res);

    h = hint(AF_UNSPEC, SOCK_DGRAM, 0);
    rc = gai(-1, "fd00::5", "443", &h, &res);
    check(rc == 0 && ai_all_family(res, AF_INET6) && ai_has(res, "fd00::5", 443) &&
              res->ai_protocol == IPPROTO_UDP,
          area, "numeric fd00::5 \"443\" SOCK_DGRAM: AF_INET6/UDP [fd00::5]:443", "rc %s",
          gainame(rc));
    zts_freeaddrinfo(res);

    rc = gai(-1, "10.1.2.3", NULL, NULL, &res);
    check(rc == 0 && ai_count(res) >= 1 && ai_all_family(res, AF_INET) && ai_has(res, "10.1.2.3", 0),
          area, "numeric host with NULL service and NULL hints: port 0 entries", "rc %s",
          gainame(rc));
    zts_freeaddrinfo(res);

    h = hint(AF_INET, SOCK_STREAM, 0);
    rc = gai(-1, "localhost", "http", &h, &res);
    check(rc == 0 && ai_all_family(res, AF_INET) && ai_has(res, "127.0.0.1", 80), area,
          "\"localhost\" \"http\" AF_INET: 127.0.0.1:80", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);
    h = hint(AF_INET6, SOCK_STREAM, 0);
    rc = gai(-1, "localhost", "8080", &h, &res);
    check(rc == 0 && ai_all_family(res, AF_INET6) && ai_has(res, "::1", 8080), area,
          "\"localhost\" AF_INET6: [::1]:8080", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);

    h = hint(AF_INET, SOCK_STREAM, AI_PASSIVE);
    rc = gai(-1, NULL, "8080", &h, &res);
    check(rc == 0 && ai_count(res) == 1 && ai_has(res, "0.0.0.0", 8080), area,
          "AI_PASSIVE, NULL host, AF_INET: 0.0.0.0:8080", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);
    h = hint(AF_INET6, SOCK_STREAM, AI_PASSIVE);
    rc = gai(-1, NULL, "8080", &h, &res);
    check(rc == 0 && ai_count(res) == 1 && ai_has(res, "::", 8080), area,
          "AI_PASSIVE, NULL host, AF_INET6: [::]:8080", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);
    h = hint(AF_INET, SOCK_STREAM, 0);
    rc = gai(-1, NULL, "8080", &h, &res);
    check(rc == 0 && ai_count(res) == 1 && ai_has(res, "127.0.0.1", 8080), area,
          "NULL host without AI_PASSIVE: the loopback 127.0.0.1:8080", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);

    /* The hosts table, per node, before DNS; a name may have several. */
    rc = zts_hosts_add(node_a, "surface.test", B4);
    int rc6 = zts_hosts_add(node_a, "surface.test", B6);
    check(rc == 0 && rc6 == 0, area, "zts_hosts_add of an IPv4 and an IPv6 address for one name",
          "%d %d errno %s", rc, rc6, ename(errno));
    h = hint(AF_UNSPEC, SOCK_STREAM, 0);
    rc = gai(node_a, "surface.test", "7", &h, &res);
    check(rc == 0 && ai_has(res, B4, 7) && ai_has(res, B6, 7), area,
          "zts_node_getaddrinfo finds both addresses of a hosts name", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);
    h = hint(AF_INET, SOCK_STREAM, 0);
    rc = gai(node_a, "surface.test", "7", &h, &res);
    check(rc == 0 && ai_count(res) == 1 && ai_has(res, B4, 7), area,
          "... and only the IPv4 one with AF_INET", "rc %s", gainame(rc));
    zts_freeaddrinfo(res);
    expect_gai("a hosts name on another node: EAI_NONAME", EAI_NONAME, node_b, "surface.test", NULL,
               hint(AF_UNSPEC, SOCK_STREAM, 0));
    EXPECT_ERR(area, ENODEV, "zts_hosts_add on node 9999", zts_hosts_add(NO_SUCH_NODE, "x.test", B4));
    EXPECT_ERR(area, EFAULT, "zts_hosts_add with a NULL name", zts_hosts_add(node_a, NULL, B4));
    EXPECT_ERR(area, EINVAL, "zts_hosts_add with a non-numeric address",
               zts_hosts_add(node_a, "x.test", "not-an-address"));

    /* Errors. */
    expect_gai("an unknown name on a node with no DNS server: EAI_NONAME", EAI_NONAME, node_a,
               "no-such-host.invalid", NULL, hint(AF_UNSPEC, SOCK_STREAM, 0));
    expect_gai("AI_NUMERICHOST with a name: EAI_NONAME", EAI_NONAME, -1, "localhost", NULL,
               hint(AF_UNSPEC, SOCK_STREAM, AI_NUMERICHOST));
    expect_gai("AI_NUMERICSERV with \"http\": EAI_NONAME", EAI_NONAME, -1, "10.1.2.3", "http",
               hint(AF_UNSPEC, SOCK_STREAM, AI_NUMERICSERV));
    expect_gai("an unknown service name: EAI_SERVICE", EAI_SERVICE, -1, "10.1.2.3", "no-such-service",
               hint(AF_UNSPEC, SOCK_STREAM, 0));
    expect_gai("ai_family AF_UNIX: EAI_FAMILY", EAI_FAMILY, -1, "10.1.2.3", "80",
               hint(AF_UNIX, SOCK_STREAM, 0));
    expect_gai("ai_family 12345: EAI_FAMILY", EAI_FAMILY, -1, "10.1.2.3", "80", hint(12345, SOCK_STREAM, 0));
    expect_gai("ai_socktype 12345: EAI_SOCKTYPE", EAI_SOCKTYPE, -1, "10.1.2.3", "80",
               hint(AF_UNSPEC, 12345, 0));
    expect_gai("unknown ai_flags bit 0x40000000: EAI_BADFLAGS", EAI_BADFLAGS, -1, "10.1.2.3", "80",
               hint(AF_UNSPEC, SOCK_STREAM, 0x40000000));
    expect_gai("NULL host and NULL service: EAI_NONAME", EAI_NONAME, -1, NULL, NULL,
               hint(AF_UNSPEC, SOCK_STREAM, 0));

    int codes[] = { EAI_NONAME, EAI_SERVICE, EAI_FAMILY, EAI_SOCKTYPE, EAI_BADFLAGS, EAI_AGAIN, EAI_FAIL,
                    EAI_MEMORY, EAI_SYSTEM };
    int all_text = 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *msg = zts_gai_strerror(codes[i]);
        if (!msg || !*msg) {
            all_text = 0;
            printf("     zts_gai_strerror(%s) is %s\n", gainame(codes[i]), msg ? "empty" : "NULL");
        }
    }
    check(all_text, area, "zts_gai_strerror gives non-empty text for each EAI_* code", "see above");
    zts_freeaddrinfo(NULL);
    check(1, area, "zts_freeaddrinfo(NULL) is a no-op", "");
}

/* ------------------------------------------------- addresses and routes */

static void addresses_routes(void)
{
    const char *area = "addr-route";
    struct sockaddr_storage ss;
    int rc;

    memset(&ss, 0xee, sizeof ss);
    rc = zts_addr_get(node_a, 0, AF_INET, &ss);
    check(rc == 0 && sa_is(&ss, sizeof(struct sockaddr_in), A4, 0), area,
          "zts_addr_get AF_INET: sockaddr_in " A4 " port 0", "rc %d, got %s", rc,
          FMT(&ss, sizeof(struct sockaddr_in)));
    memset(&ss, 0xee, sizeof ss);
    rc = zts_addr_get(node_a, 0, AF_INET6, &ss);
    check(rc == 0 && sa_is(&ss, sizeof(struct sockaddr_in6), A6, 0), area,
          "zts_addr_get AF_INET6: sockaddr_in6 " A6 " port 0", "rc %d, got %s", rc,
          FMT(&ss, sizeof(struct sockaddr_in6)));
    EXPECT_ERR(area, EAFNOSUPPORT, "zts_addr_get AF_UNIX", zts_addr_get(node_a, 0, AF_UNIX, &ss));
    EXPECT_ERR(area, EINVAL, "zts_addr_get on network 7 (none)", zts_addr_get(node_a, 7, AF_INET, &ss));
    EXPECT_ERR(area, ENODEV, "zts_addr_get on node 9999", zts_addr_get(NO_SUCH_NODE, 0, AF_INET, &ss));
    EXPECT_ERR(area, EFAULT, "zts_addr_get with NULL out", zts_addr_get(node_a, 0, AF_INET, NULL));

    /* R: an IPv4-only network, stopped, for address and route errors. */
    int r = zts_node_new();
    if (r < 0 || zts_net_join(r, "mem:surface-r") != 0 || zts_addr_add(r, 0, "10.9.0.1/24") < 0)
        die("node R");
    EXPECT_ERR(area, EADDRNOTAVAIL, "zts_addr_get AF_INET6 on a network with only IPv4",
               zts_addr_get(r, 0, AF_INET6, &ss));
    rc = zts_node_start(r);
    if (rc < 0)
        die("zts_node_start (R)");
    EXPECT_ERR(area, EADDRNOTAVAIL, "... still so once the node runs", zts_addr_get(r, 0, AF_INET6, &ss));
    zts_node_stop(r);

    EXPECT_ERR(area, EADDRINUSE, "zts_addr_add of an address the node has",
               zts_addr_add(r, 0, "10.9.0.1/24"));
    EXPECT_ERR(area, EINVAL, "zts_addr_add \"10.9.0.300/24\"", zts_addr_add(r, 0, "10.9.0.300/24"));
    EXPECT_ERR(area, EINVAL, "zts_addr_add \"10.9.0.5/33\"", zts_addr_add(r, 0, "10.9.0.5/33"));
    EXPECT_ERR(area, EINVAL, "zts_addr_add on network 5 (none)", zts_addr_add(r, 5, "10.9.0.5/24"));
    EXPECT_ERR(area, ENODEV, "zts_addr_add on node 9999", zts_addr_add(NO_SUCH_NODE, 0, "10.9.0.5/24"));
    EXPECT_ERR(area, EFAULT, "zts_addr_add with NULL cidr", zts_addr_add(r, 0, NULL));
    int added = 1;
    for (int i = 2; i <= 8; i++) {
        char cidr[32];
        snprintf(cidr, sizeof cidr, "10.9.0.%d/24", i);
        if (zts_addr_add(r, 0, cidr) == 0)
            added++;
    }
    check(added == 8, area, "a network takes 8 addresses", "took %d", added);
    EXPECT_ERR(area, ENOBUFS, "a ninth address on one network", zts_addr_add(r, 0, "10.9.0.9/24"));

    rc = zts_route_add(r, "10.99.0.0/16", "10.9.0.254");
    int rc2 = zts_route_add(r, "10.99.0.0/16", "10.9.0.253");
    check(rc == 0 && rc2 == 0, area, "zts_route_add via a gateway on the subnet (and replacing it)",
          "%d %d errno %s", rc, rc2, ename(errno));
    rc = zts_route_add(r, "0.0.0.0/0", "10.9.0.254");
    check(rc == 0, area, "zts_route_add of the default route", "errno %s", ename(errno));
    EXPECT_ERR(area, ENETUNREACH, "zts_route_add via 192.168.77.1 (on no network's subnet)",
               zts_route_add(r, "10.98.0.0/16", "192.168.77.1"));
    EXPECT_ERR(area, EINVAL, "zts_route_add of \"10.98.0.0/33\"", zts_route_add(r, "10.98.0.0/33", "10.9.0.254"));
    EXPECT_ERR(area, EINVAL, "zts_route_add of \"not-a-cidr\"", zts_route_add(r, "not-a-cidr", "10.9.0.254"));
    EXPECT_ERR(area, EINVAL, "zts_route_add via \"not-an-ip\"", zts_route_add(r, "10.98.0.0/16", "not-an-ip"));
    EXPECT_ERR(area, EINVAL, "zts_route_add of an IPv6 prefix via an IPv4 gateway",
               zts_route_add(r, "fd00:99::/64", "10.9.0.254"));
    EXPECT_ERR(area, ENODEV, "zts_route_add on node 9999",
               zts_route_add(NO_SUCH_NODE, "10.98.0.0/16", "10.9.0.254"));
    EXPECT_ERR(area, EFAULT, "zts_route_add with NULL cidr", zts_route_add(r, NULL, "10.9.0.254"));
    zts_node_free(r);

    rc = zts_route_add(node_a, "fd00:99::/64", B6);
    check(rc == 0, area, "zts_route_add of an IPv6 prefix via an IPv6 gateway", "errno %s", ename(errno));
}

/* ---------------------------------------------------------------- events */

struct ev_rec {
    int type, node, net;
    struct sockaddr_storage addr;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    struct ev_rec ev[128];
} ev_log = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void on_event(const struct zts_event *ev, void *user)
{
    (void)user;
    pthread_mutex_lock(&ev_log.mu);
    if (ev_log.n < (int)(sizeof ev_log.ev / sizeof ev_log.ev[0])) {
        struct ev_rec *r = &ev_log.ev[ev_log.n++];
        r->type = ev->type;
        r->node = ev->node;
        r->net = ev->net;
        r->addr = ev->addr;
    }
    pthread_cond_broadcast(&ev_log.cv);
    pthread_mutex_unlock(&ev_log.mu);
}

/* Waits (bounded) for an event of `type` on `node`; with `ip`, an address
 * event holding it.  Returns the record's index or -1. */
static int wait_event(int type, int node, const char *ip)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += WAIT_MS / 1000;
    int found = -1, timed_out = 0;
    pthread_mutex_lock(&ev_log.mu);
    while (found < 0 && !timed_out) {
        for (int i = 0; i < ev_log.n && found < 0; i++) {
            struct ev_rec *r = &ev_log.ev[i];
            socklen_t len = r->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
            if (r->type == type && r->node == node && (!ip || sa_is(&r->addr, len, ip, 0)))
                found = i;
        }
        if (found < 0)
            timed_out = pthread_cond_timedwait(&ev_log.cv, &ev_log.mu, &until) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&ev_log.mu);
    return found;
}

static void events(void)
{
    const char *area = "events";
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ev_log.cv, &ca);
    pthread_condattr_destroy(&ca);

    int rc = zts_set_event_handler(on_event, NULL);
    check(rc == 0, area, "zts_set_event_handler", "errno %s", ename(errno));
    int e = zts_node_new();
    if (e < 0 || zts_net_join(e, "mem:surface-ev") != 0 || zts_addr_add(e, 0, "10.8.0.1/24") < 0)
        die("node E");
    if (zts_node_start(e) < 0)
        die("zts_node_start (E)");

    int i = wait_event(ZTS_EVENT_NODE_UP, e, NULL);
    check(i >= 0 && ev_log.ev[i].net == -1 && ev_log.ev[i].addr.ss_family == AF_UNSPEC, area,
          "ZTS_EVENT_NODE_UP for the started node (net -1, no address)", "index %d", i);
    i = wait_event(ZTS_EVENT_NET_UP, e, NULL);
    check(i >= 0 && ev_log.ev[i].net == 0, area, "ZTS_EVENT_NET_UP for its network 0", "index %d", i);
    i = wait_event(ZTS_EVENT_ADDR_ADDED, e, "10.8.0.1");
    check(i >= 0 && ev_log.ev[i].net == 0, area,
          "ZTS_EVENT_ADDR_ADDED with 10.8.0.1 (port 0) in ev->addr on start", "index %d", i);
    rc = zts_addr_add(e, 0, "fd00:8::1/64");
    i = rc == 0 ? wait_event(ZTS_EVENT_ADDR_ADDED, e, "fd00:8::1") : -1;
    check(i >= 0 && ev_log.ev[i].net == 0, area,
          "ZTS_EVENT_ADDR_ADDED with fd00:8::1 for an address added to the running node",
          "rc %d, index %d", rc, i);
    zts_node_stop(e);
    i = wait_event(ZTS_EVENT_NODE_DOWN, e, NULL);
    check(i >= 0, area, "ZTS_EVENT_NODE_DOWN after zts_node_stop", "index %d", i);
    i = wait_event(ZTS_EVENT_NET_DOWN, e, NULL);
    check(i >= 0 && ev_log.ev[i].net == 0, area, "ZTS_EVENT_NET_DOWN for its network", "index %d", i);

    rc = zts_set_event_handler(NULL, NULL);
    check(rc == 0, area, "zts_set_event_handler(NULL) clears the handler", "errno %s", ename(errno));
    /* Once cleared, the handler is never called again. */
    pthread_mutex_lock(&ev_log.mu);
    int before = ev_log.n;
    pthread_mutex_unlock(&ev_log.mu);
    zts_node_start(e);
    zts_node_stop(e);
    pthread_mutex_lock(&ev_log.mu);
    int after = ev_log.n;
    pthread_mutex_unlock(&ev_log.mu);
    check(after == before, area, "no events are delivered after the handler is cleared",
          "%d more", after - before);
    zts_node_free(e);
    pthread_cond_destroy(&ev_log.cv);
}

/* ----------------------------------------------------------------- watch */

static int os_readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void watch(void)
{
    const char *area = "watch";
    struct pollfd out[8];
    char buf[16];
    int w = zts_watch_new();
    check(w >= 0 && fcntl(w, F_GETFD) != -1, area, "zts_watch_new returns an open OS fd",
          "got %d errno %s", w, ename(errno));
    if (w < 0)
        return;
    int c, v;
    tcp_pair(AF_INET, &c, &v);
    int rc = zts_watch_add(w, v, POLLIN);
    check(rc == 0, area, "zts_watch_add(w, fd, POLLIN)", "errno %s", ename(errno));
    int n = zts_watch_ready(w, out, 8);
    check(n == 0 && !os_readable(w, 0), area, "nothing ready: zts_watch_ready 0, OS fd not readable",
          "ready %d", n);

    zts_write(c, "w", 1);
    check(os_readable(w, WAIT_MS), area, "poll() on the OS fd is readable once data arrives", "timed out");
    memset(out, 0xff, sizeof out);
    n = zts_watch_ready(w, out, 8);
    check(n == 1 && out[0].fd == v && (out[0].revents & POLLIN) && out[0].events == 0, area,
          "zts_watch_ready lists the fd with POLLIN (events 0)", "got %d: fd %d revents %#x events %#x",
          n, n > 0 ? out[0].fd : -1, n > 0 ? (unsigned)out[0].revents : 0u,
          n > 0 ? (unsigned)out[0].events : 0u);
    n = zts_watch_ready(w, out, 8);
    check(n == 1 && os_readable(w, 0), area, "level-triggered: still reported while data is queued",
          "ready %d", n);
    zts_read(v, buf, sizeof buf);
    n = zts_watch_ready(w, out, 8);
    check(n == 0 && !os_readable(w, 0), area, "after the read: nothing ready, OS fd not readable",
          "ready %d", n);

    /* Adding again replaces the events. */
    zts_watch_add(w, c, POLLOUT);
    n = zts_watch_ready(w, out, 8);
    check(n == 1 && out[0].fd == c && (out[0].revents & POLLOUT), area,
          "a connected fd watched for POLLOUT is ready", "got %d", n);
    zts_watch_add(w, c, POLLIN);
    n = zts_watch_ready(w, out, 8);
    check(n == 0, area, "adding it again for POLLIN replaces POLLOUT", "got %d", n);
    rc = zts_watch_del(w, c);
    check(rc == 0, area, "zts_watch_del", "errno %s", ename(errno));
    EXPECT_ERR(area, ENOENT, "zts_watch_del of an fd not watched", zts_watch_del(w, c));

    int pfd[2];
    if (pipe(pfd) < 0)
        die("pipe");
    EXPECT_ERR(area, EBADF, "zts_watch_add on an OS fd that is not a watch", zts_watch_add(pfd[0], v, POLLIN));
    close(pfd[0]);
    close(pfd[1]);
    EXPECT_ERR(area, EBADF, "zts_watch_add on watch 9999", zts_watch_add(NO_SUCH_FD, v, POLLIN));
    EXPECT_ERR(area, EBADF, "zts_watch_add of zts fd 9999", zts_watch_add(w, NO_SUCH_FD, POLLIN));
    EXPECT_ERR(area, EBADF, "zts_watch_del on watch 9999", zts_watch_del(NO_SUCH_FD, v));
    EXPECT_ERR(area, EBADF, "zts_watch_ready on watch 9999", zts_watch_ready(NO_SUCH_FD, out, 8));
    EXPECT_ERR(area, EFAULT, "zts_watch_ready with NULL out and max 1", zts_watch_ready(w, NULL, 1));
    EXPECT_ERR(area, EINVAL, "zts_watch_ready with max -1", zts_watch_ready(w, out, -1));

    /* A watched fd that is closed is reported once with POLLNVAL. */
    zts_watch_del(w, v);
    int x = sock_on(node_a, AF_INET, SOCK_DGRAM, 0);
    zts_watch_add(w, x, POLLIN);
    zts_close(x);
    n = zts_watch_ready(w, out, 8);
    check(n == 1 && out[0].fd == x && out[0].revents == POLLNVAL, area,
          "a watched fd that was closed is reported with POLLNVAL", "got %d revents %#x", n,
          n > 0 ? (unsigned)out[0].revents : 0u);
    n = zts_watch_ready(w, out, 8);
    check(n == 0, area, "... once, then forgotten", "got %d", n);

    rc = zts_watch_free(w);
    check(rc == 0, area, "zts_watch_free", "errno %s", ename(errno));
    EXPECT_ERR(area, EBADF, "zts_watch_free of a freed watch", zts_watch_free(w));
    zts_close(c);
    zts_close(v);
}

/* ------------------------------------------------------------------ main */

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *ver = zts_version();
    check(ver && *ver, "version", "zts_version is a non-empty string", "got %s", ver ? "\"\"" : "NULL");

    node_a = start_node(NET, "10.7.0.1/24", "fd00:7::1/64");
    node_b = start_node(NET, "10.7.0.2/24", "fd00:7::2/64");
    node_c = start_node(NET, "10.7.0.3/24", "fd00:7::3/64");
    pair_lfd4 = listener(node_a, A4, PORT_PAIR);
    pair_lfd6 = listener(node_a, A6, PORT_PAIR);

    udp_datagrams(AF_INET);
    udp_datagrams(AF_INET6);
    udp_broadcast();
    udp_multicast();
    icmp_ping(AF_INET);
    icmp_ping(AF_INET6);
    icmp_raw();
    msg_calls();
    tcp_flags();
    select_calls();
    ioctl_calls();
    poll_calls();
    options();
    dual_stack();
    loopback();
    names();
    addresses_routes();
    events();
    watch();

    zts_close(pair_lfd4);
    zts_close(pair_lfd6);
    zts_node_free(node_a);
    zts_node_free(node_b);
    zts_node_free(node_c);
    printf("surface: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
