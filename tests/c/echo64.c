/* echo64 4|6: 64 concurrent TCP connections between two in-process nodes,
 * each carrying 4 MiB each way, full duplex on one fd (a writer thread and a
 * reader thread per client).  Passes only if every client gets back exactly
 * what it sent, compared by SHA-256.
 *
 *   cc -std=c11 -D_GNU_SOURCE -pthread echo64.c sha256.c -lzts -o echo64
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <zts.h>

#include "sha256.h"

#define CLIENTS 64
/* Bytes each client echoes: 4 MiB, or the KiB given as a second argument
 * (smaller runs under valgrind). A multiple of CHUNK. */
static size_t TOTAL = (size_t)4 << 20;
#define CHUNK ((size_t)64 << 10)
#define PORT 7064
/* Per-operation bound: a stalled transfer fails instead of hanging; slow
 * progress (valgrind, ASan) is fine because each call gets the full time. */
#define IO_TIMEOUT_S 60

static int family;
static struct sockaddr_storage server_addr;
static socklen_t server_len;
static int node_a, node_b;
static pthread_barrier_t start_line;
static atomic_int failures;

struct client {
    int idx;
    int fd;
    size_t sent, received;
    uint8_t sent_hash[SHA256_DIGEST_LEN], recv_hash[SHA256_DIGEST_LEN];
    int ok; /* both directions ran to completion without an error */
};

static void die(const char *what)
{
    fprintf(stderr, "echo64: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Record a failure but keep going, so threads still get joined and one
 * broken connection does not hide the state of the others. */
static void fail(const char *who, int idx, const char *what, int err)
{
    fprintf(stderr, "echo64: %s %d: %s: %s\n", who, idx, what, strerror(err));
    atomic_fetch_add(&failures, 1);
}

static void start_node(int *node, const char *net_uri, const char *cidr)
{
    *node = zts_node_new();
    if (*node < 0)
        die("zts_node_new");
    int net = zts_net_join(*node, net_uri);
    if (net < 0)
        die("zts_net_join");
    if (zts_addr_add(*node, net, cidr) < 0)
        die("zts_addr_add");
    if (zts_node_start(*node) < 0)
        die("zts_node_start");
}

static int set_timeouts(int fd)
{
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
    if (zts_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        zts_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return -1;
    return 0;
}

/* Loops anyway: a send timeout may cut a blocking write short. */
static int write_all(int fd, const uint8_t *p, size_t len)
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

/* ---- server: one thread per accepted connection, echo until EOF ---- */

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint8_t *buf = malloc(CHUNK);
    if (buf == NULL) {
        fail("server conn fd", fd, "malloc", ENOMEM);
        zts_close(fd);
        return NULL;
    }
    ssize_t n;
    while ((n = zts_read(fd, buf, CHUNK)) > 0) {
        if (write_all(fd, buf, (size_t)n) < 0) {
            fail("server conn fd", fd, "zts_write", errno);
            break;
        }
    }
    if (n < 0)
        fail("server conn fd", fd, "zts_read", errno);
    zts_close(fd);
    free(buf);
    return NULL;
}

static void *acceptor(void *arg)
{
    int lfd = *(int *)arg;
    pthread_t conns[CLIENTS];
    int started = 0;
    for (; started < CLIENTS; started++) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        int r = zts_poll(&p, 1, IO_TIMEOUT_S * 1000);
        if (r <= 0) {
            fail("server accept", started, r == 0 ? "no connection within timeout" : "zts_poll",
                 r == 0 ? ETIMEDOUT : errno);
            break;
        }
        int fd = zts_accept(lfd, NULL, NULL);
        if (fd < 0) {
            fail("server accept", started, "zts_accept", errno);
            break;
        }
        if (set_timeouts(fd) < 0)
            fail("server conn fd", fd, "set timeouts", errno);
        int e = pthread_create(&conns[started], NULL, echo_conn, (void *)(intptr_t)fd);
        if (e != 0) {
            fail("server accept", started, "pthread_create", e);
            zts_close(fd);
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(conns[i], NULL);
    return NULL;
}

/* ---- client: writer thread sends, the client thread itself reads ---- */

/* xorshift64 needs a nonzero state, so the thread index goes through one
 * splitmix64 step first; every client still gets its own fixed stream. */
static uint64_t seed_from_index(int idx)
{
    uint64_t z = (uint64_t)idx + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return z ? z : 1;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void *writer(void *arg)
{
    struct client *c = arg;
    uint8_t *buf = malloc(CHUNK);
    if (buf == NULL) {
        fail("client", c->idx, "malloc", ENOMEM);
        zts_shutdown(c->fd, SHUT_RDWR); /* wake our reader */
        return NULL;
    }
    uint64_t state = seed_from_index(c->idx);
    sha256_ctx h;
    sha256_init(&h);
    for (; c->sent < TOTAL; c->sent += CHUNK) {
        for (size_t i = 0; i < CHUNK; i += 8) {
            uint64_t r = xorshift64(&state);
            memcpy(buf + i, &r, 8);
        }
        sha256_update(&h, buf, CHUNK);
        if (write_all(c->fd, buf, CHUNK) < 0) {
            fail("client", c->idx, "zts_write", errno);
            zts_shutdown(c->fd, SHUT_RDWR);
            break;
        }
    }
    sha256_final(&h, c->sent_hash);
    /* Our half is done; the server sees EOF once it has echoed everything. */
    if (c->sent == TOTAL && zts_shutdown(c->fd, SHUT_WR) < 0)
        fail("client", c->idx, "zts_shutdown(SHUT_WR)", errno);
    free(buf);
    return NULL;
}

static void *client(void *arg)
{
    struct client *c = arg;
    c->fd = zts_node_socket(node_b, family, SOCK_STREAM, 0);
    int sock_err = errno;
    if (c->fd >= 0 && set_timeouts(c->fd) < 0)
        fail("client", c->idx, "set timeouts", errno);
    /* Everyone waits at the line, even a client whose socket failed,
     * or the others would wait forever. */
    pthread_barrier_wait(&start_line);
    if (c->fd < 0) {
        fail("client", c->idx, "zts_node_socket", sock_err);
        return NULL;
    }
    if (zts_connect(c->fd, (struct sockaddr *)&server_addr, server_len) < 0) {
        fail("client", c->idx, "zts_connect", errno);
        zts_close(c->fd);
        return NULL;
    }

    pthread_t w;
    int e = pthread_create(&w, NULL, writer, c);
    if (e != 0) {
        fail("client", c->idx, "pthread_create", e);
        zts_close(c->fd);
        return NULL;
    }

    uint8_t *buf = malloc(CHUNK);
    int read_ok = 0;
    sha256_ctx h;
    sha256_init(&h);
    if (buf == NULL) {
        fail("client", c->idx, "malloc", ENOMEM);
        zts_shutdown(c->fd, SHUT_RDWR); /* wake our writer */
    } else {
        ssize_t n;
        while ((n = zts_read(c->fd, buf, CHUNK)) > 0) {
            sha256_update(&h, buf, (size_t)n);
            c->received += (size_t)n;
        }
        if (n < 0) {
            fail("client", c->idx, "zts_read", errno);
            zts_shutdown(c->fd, SHUT_RDWR);
        } else {
            read_ok = 1;
        }
    }
    sha256_final(&h, c->recv_hash);
    pthread_join(w, NULL);
    zts_close(c->fd);
    free(buf);
    c->ok = read_ok && c->sent == TOTAL;
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if ((argc != 2 && argc != 3) || (strcmp(argv[1], "4") != 0 && strcmp(argv[1], "6") != 0)) {
        fprintf(stderr, "usage: echo64 4|6 [KIB_PER_CLIENT]\n");
        return 1;
    }
    if (argc == 3) {
        long kib = atol(argv[2]);
        if (kib <= 0 || (kib * 1024) % CHUNK != 0) {
            fprintf(stderr, "echo64: KIB_PER_CLIENT must be a positive multiple of %zu\n", CHUNK / 1024);
            return 1;
        }
        TOTAL = (size_t)kib * 1024;
    }
    int v6 = argv[1][0] == '6';
    const char *tag = v6 ? "ipv6" : "ipv4";

    /* Guard the checker before trusting it: FIPS 180-4's "abc" example. */
    char hex[SHA256_HEX_LEN];
    sha256_hex_of("abc", 3, hex);
    if (strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != 0) {
        fprintf(stderr, "echo64: sha256 self-test failed: %s\n", hex);
        return 1;
    }

    /* A network name per family, so both runs can share a process or a host. */
    const char *net = v6 ? "mem:echo64-6" : "mem:echo64-4";
    start_node(&node_a, net, v6 ? "fd00:1::1/64" : "10.1.0.1/24");
    start_node(&node_b, net, v6 ? "fd00:1::2/64" : "10.1.0.2/24");

    memset(&server_addr, 0, sizeof server_addr);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&server_addr;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(PORT);
        inet_pton(AF_INET6, "fd00:1::1", &s6->sin6_addr);
        server_len = sizeof *s6;
        family = AF_INET6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&server_addr;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(PORT);
        inet_pton(AF_INET, "10.1.0.1", &s4->sin_addr);
        server_len = sizeof *s4;
        family = AF_INET;
    }

    int lfd = zts_node_socket(node_a, family, SOCK_STREAM, 0);
    if (lfd < 0)
        die("zts_node_socket (listener)");
    if (zts_bind(lfd, (struct sockaddr *)&server_addr, server_len) < 0)
        die("zts_bind");
    /* Backlog 64: all clients connect at once and must all fit. */
    if (zts_listen(lfd, CLIENTS) < 0)
        die("zts_listen");

    pthread_t acc, threads[CLIENTS];
    struct client *clients = calloc(CLIENTS, sizeof *clients);
    if (clients == NULL)
        die("calloc");
    if ((errno = pthread_barrier_init(&start_line, NULL, CLIENTS)) != 0)
        die("pthread_barrier_init");
    if ((errno = pthread_create(&acc, NULL, acceptor, &lfd)) != 0)
        die("pthread_create (acceptor)");

    double t0 = now_s();
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].idx = i;
        clients[i].fd = -1;
        if ((errno = pthread_create(&threads[i], NULL, client, &clients[i])) != 0)
            die("pthread_create (client)"); /* the barrier cannot complete now */
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(threads[i], NULL);
    double elapsed = now_s() - t0;
    pthread_join(acc, NULL);
    pthread_barrier_destroy(&start_line);
    zts_close(lfd);

    int bad = 0;
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &clients[i];
        int same = memcmp(c->sent_hash, c->recv_hash, SHA256_DIGEST_LEN) == 0;
        if (!c->ok || c->received != TOTAL || !same) {
            char hs[SHA256_HEX_LEN], hr[SHA256_HEX_LEN];
            sha256_hex(c->sent_hash, hs);
            sha256_hex(c->recv_hash, hr);
            fprintf(stderr, "echo64: client %d: sent %zu bytes sha256 %s, received %zu bytes sha256 %s%s\n",
                    i, c->sent, hs, c->received, hr, c->ok ? "" : " (errors above)");
            bad++;
        }
    }
    free(clients);

    if (zts_node_stop(node_a) < 0 || zts_node_stop(node_b) < 0)
        die("zts_node_stop");
    if (zts_node_free(node_a) < 0 || zts_node_free(node_b) < 0)
        die("zts_node_free");

    if (bad > 0 || atomic_load(&failures) > 0) {
        fprintf(stderr, "echo64 %s: FAILED: %d of %d clients bad, %d errors\n", tag, bad, CLIENTS,
                atomic_load(&failures));
        return 1;
    }
    /* Timing is informational only; the verdict is the hashes. */
    printf("echo64 %s: %d clients x %zu KiB, all hashes match (%.2f s, %.1f MiB/s each way)\n", tag,
           CLIENTS, TOTAL >> 10, elapsed, (double)CLIENTS * (double)TOTAL / 1048576.0 / elapsed);
    return 0;
}
