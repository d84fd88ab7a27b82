/* zts-bench's workloads and what they share: the socket calls of each
 * side (struct ops), settings, environments and helpers (common.c), and
 * the workloads (stream.c, scale.c, udp.c, overlay.c) that zts-bench.c
 * runs as rows. */
#ifndef ZTS_BENCH_WORKLOADS_H
#define ZTS_BENCH_WORKLOADS_H

#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "bench.h"

#define MAX_BULK (1 << 20)   /* the largest bulk write or read */
#define UDP_SIZE 64          /* udp datagram size */
#define IO_TIMEOUT_S 30      /* SO_RCVTIMEO / SO_SNDTIMEO on benchmark sockets */
#define OVERLAY_VNI 77

struct ops {
    const char *name;
    int (*socket)(int node, int domain, int type, int protocol);
    int (*bind)(int fd, const struct sockaddr *addr, socklen_t len);
    int (*listen)(int fd, int backlog);
    int (*accept)(int fd, struct sockaddr *addr, socklen_t *len);
    int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
    ssize_t (*read)(int fd, void *buf, size_t len);
    ssize_t (*write)(int fd, const void *buf, size_t len);
    ssize_t (*sendto)(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *addr, socklen_t alen);
    ssize_t (*recvfrom)(int fd, void *buf, size_t len, int flags,
                        struct sockaddr *addr, socklen_t *alen);
    int (*setsockopt)(int fd, int level, int name, const void *val, socklen_t len);
    int (*getsockname)(int fd, struct sockaddr *addr, socklen_t *len);
    int (*shutdown)(int fd, int how);
    int (*close)(int fd);
    int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout_ms);
    /* Bulk flows write and read this much per call: each side's best on
     * this machine for one flow and for eight (zts-bench --sweep). */
    size_t bulk1, bulk8;
};

extern struct ops KERNEL, ZTS;

extern double g_window, g_warmup; /* seconds per measurement, before one */
extern int g_conns;               /* scale */
extern int g_failures;
extern const char *g_row, *g_side; /* for messages */
extern unsigned char payload[MAX_BULK];

void failed(const struct ops *o, const char *call, int err);
double now_s(void);
uint64_t now_ns(void);
void sleep_s(double s);
void on_alarm(int sig);
void arm_watchdog(int seconds);

/* zts's TCP sockets poll up to this long for their wakeup before they
 * sleep (SO_BUSY_POLL; the kernel's loopback has no busy polling). */
#define ZTS_BUSY_POLL_US 200

struct env {
    const struct ops *o;
    int snode, cnode;           /* zts nodes (-1 for the kernel) */
    struct sockaddr_in saddr;   /* the server's address, port 0 */
};

int zts_node_up(const char *uri, const char *cidr);
int env_make(struct env *e, const struct ops *o, int mtu);
/* zts: the segment's URI also carries `impair` (a query: "loss=0.01&seed=1"). */
int env_make_impaired(struct env *e, const struct ops *o, int mtu, const char *impair);
/* The loss rows' kernel side (loss.c): namespaces dropping a share p each
 * way; -1 with the reason in `why` when they cannot be made. */
int loss_env_kernel(struct env *e, double p, char *why, size_t whylen);
/* The rtt rows' kernel side: the namespaces joined through a delay line
 * (delayline.c) holding frames delay_ms each way and dropping a share p. */
int delay_env_kernel(struct env *e, double delay_ms, double p, uint64_t seed, char *why,
                     size_t whylen);
/* The linux_peer rows' kernel side: the namespaces joined by veth0 (the
 * underlay, dropping a share p of arriving VXLAN datagrams each way) and
 * a kernel vxlan device in each, 10.200.0.1 (server) and 10.200.0.3. */
int overlay_env_kernel(struct env *e, double p, char *why, size_t whylen);
/* Removes the client namespace's vxlan device, freeing its UDP port. */
int overlay_env_drop_client_vxlan(void);
/* linuxpeer.c: seconds for 32 MiB each way, [0] from the kernel server
 * to the client, [1] back, with the kernel and then zts as the client. */
void linux_peer_run(double kernel[2], double zts[2], char *why, size_t whylen);
void loss_env_free(struct env *e);
struct delayline;
struct delayline *delayline_start(const char *tap_a, const char *tap_b, double delay_ms,
                                  double loss, uint64_t seed);
void delayline_stop(struct delayline *d);
/* A socket made in the network namespace `nsfd`. */
int netns_socket(int nsfd, int domain, int type, int protocol);
void report_drops(int node, const char *who);
void env_free(struct env *e);
void set_timeouts(const struct ops *o, int fd);
void set_nodelay(const struct ops *o, int fd);
int server_socket(const struct env *e, int type, int backlog, struct sockaddr_in *bound);
int client_connect(const struct ops *o, int node, const struct sockaddr_in *to, int timeouts);
int open_pair(const struct env *e, int lfd, const struct sockaddr_in *to, int *c, int *s);
int read_full(const struct ops *o, int fd, void *buf, size_t len);
int write_full(const struct ops *o, int fd, const void *buf, size_t len);

/* `nflows` bulk flows from the client node to the server's: Gbit/s. */
double bulk_run(const struct env *e, int nflows);
/* out: round trips/s, p50 us, p99 us */
void rr_run(const struct env *e, double out[3]);
double crr_run(const struct env *e);
enum { SC_RATE, SC_SETUP, SC_CONNS, SC_KIB, SC_NONE, SC_IDLE, SC_N };
void scale_run(const struct env *e, double out[SC_N]);
/* out: received/s, sent/s */
void udp_run(const struct env *e, double out[2]);
/* The overlay's second process: forked before any zts call or thread. */
void overlay_fork(void);
void overlay_reap(void);
double overlay_run(const struct ops *o);

#endif
