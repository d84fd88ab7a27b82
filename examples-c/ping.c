/* ping: send ICMP echo requests from a zts node, like the system's ping.
 *
 *   ping URI ADDRESS TARGET_IP [COUNT]
 *
 * Every zts node answers pings, so TARGET_IP can be any node on the
 * network, e.g. an echo-server in another process over an overlay:
 *   ping 'vxlan://127.0.0.2:0?vni=42&peer=127.0.0.1:UDP_PORT' 10.0.0.9/24 10.0.0.1
 * Sends COUNT (default 3) requests, each as soon as the previous reply is
 * in (or after one second without one), prints each reply's sequence
 * number and round-trip time, and exits 0 if every request was answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <zts.h>

#define PAYLOAD 56           /* the system ping's default */
#define HEADER 8             /* type, code, checksum, identifier, sequence */
#define ECHO_REQUEST 8
#define ECHO_REPLY 0
#define WAIT_MS 1000         /* how long one request waits for its reply */

static void fail(const char *what)
{
    fprintf(stderr, "ping: %s: %s\n", what, zts_errmsg());
    exit(1);
}

static int usage(void)
{
    fprintf(stderr, "usage: ping URI ADDRESS TARGET_IP [COUNT]\n"
                    "  e.g. ping mem:lab 10.0.0.2/24 10.0.0.1 3\n");
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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Waits (until `deadline`, in now_ms() time) for the reply to `seq`;
 * returns its size in bytes, 0 on timeout. Other ICMP messages (a late
 * reply to an earlier request, say) are skipped. */
static ssize_t await_reply(int fd, uint16_t seq, const unsigned char *req, double deadline)
{
    unsigned char rep[HEADER + PAYLOAD + 64];
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = zts_poll(&p, 1, left);
        if (r < 0) fail("zts_poll");
        if (r == 0)
            return 0;
        /* A ping socket returns the ICMP message without the IP header. */
        ssize_t n = zts_recv(fd, rep, sizeof rep, MSG_DONTWAIT);
        if (n < 0 && zts_errno() == EAGAIN)
            continue;
        if (n < 0) fail("zts_recv");
        if (n < HEADER || rep[0] != ECHO_REPLY || rep[1] != 0)
            continue;
        if ((uint16_t)(rep[6] << 8 | rep[7]) != seq)
            continue;
        if (n != HEADER + PAYLOAD || memcmp(rep + HEADER, req + HEADER, PAYLOAD) != 0) {
            fprintf(stderr, "ping: reply %u carries a different payload\n", seq);
            continue;
        }
        return n;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        return usage();
    struct sockaddr_in target = { .sin_family = AF_INET };
    if (inet_pton(AF_INET, argv[3], &target.sin_addr) != 1) {
        fprintf(stderr, "ping: not an IPv4 address: %s\n", argv[3]);
        return usage();
    }
    long count = argc == 5 ? parse_num(argv[4], 1, 65535) : 3;
    if (count < 0)
        return usage();

    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    int net = zts_net_join(node, argv[1]);
    if (net < 0) fail(argv[1]);
    if (zts_addr_add(node, net, argv[2]) < 0) fail(argv[2]);
    if (zts_node_start(node) < 0) fail("zts_node_start");
    struct sockaddr_storage me;
    for (int i = 0; zts_addr_get(node, net, AF_INET, &me) < 0; i++) {
        if (i == 400) fail("no IPv4 address");
        zts_poll(NULL, 0, 50);
    }

    /* Linux's unprivileged ping socket: we write the echo request, the
     * stack fills in the checksum and its own identifier, and hands us only
     * the replies to that identifier. */
    int fd = zts_node_socket(node, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (fd < 0) fail("zts_node_socket (ping)");

    printf("PING %s %d data bytes\n", argv[3], PAYLOAD);
    fflush(stdout);
    unsigned char req[HEADER + PAYLOAD];
    long received = 0;
    double min = 0, max = 0, sum = 0, start = now_ms();
    for (long i = 0; i < count; i++) {
        uint16_t seq = (uint16_t)(i + 1);
        memset(req, 0, HEADER);
        req[0] = ECHO_REQUEST;
        req[6] = (unsigned char)(seq >> 8);
        req[7] = (unsigned char)seq;
        for (int b = 0; b < PAYLOAD; b++)
            req[HEADER + b] = (unsigned char)(seq + b);
        double sent = now_ms();
        if (zts_sendto(fd, req, sizeof req, 0, (struct sockaddr *)&target, sizeof target) < 0)
            fail("zts_sendto");
        /* The wait for the reply paces the requests: the next one goes as
         * soon as this one is answered, or after WAIT_MS without answer. */
        ssize_t n = await_reply(fd, seq, req, sent + WAIT_MS);
        if (n == 0) {
            printf("no reply for icmp_seq=%u within %d ms\n", seq, WAIT_MS);
        } else {
            double rtt = now_ms() - sent;
            printf("%zd bytes from %s: icmp_seq=%u time=%.3f ms\n", n, argv[3], seq, rtt);
            if (received == 0 || rtt < min) min = rtt;
            if (received == 0 || rtt > max) max = rtt;
            sum += rtt;
            received++;
        }
        fflush(stdout);
    }

    printf("--- %s ping statistics ---\n", argv[3]);
    printf("%ld packets transmitted, %ld received, %ld%% packet loss, time %.0fms\n", count,
           received, (count - received) * 100 / count, now_ms() - start);
    if (received > 0)
        printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", min, sum / (double)received, max);
    zts_close(fd);
    if (zts_node_free(node) < 0) fail("zts_node_free");
    return received == count ? 0 : 1;
}
