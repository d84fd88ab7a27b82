/* The kernel side of the rows on impaired paths: two network namespaces of
 * the benchmark's own. Kernel sockets are made inside them by naming a
 * namespace's fd as the socket's node, and run CUBIC, as zts does.
 * - The loss rows join them by a veth pair, each dropping a random share
 *   P of what arrives (iptables' statistic match on INPUT: a real loss,
 *   which the sender learns of only from the receiver).
 * - The rtt rows join them by two TAP devices and a delay line
 *   (delayline.c) that holds each frame and drops at random.
 * zts's side is two nodes on mem:?loss=P(&delay_ms=D), impaired as much
 * each way. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "workloads.h"

#define LOSS_SERVER_IP "10.99.0.1"

static char ns_names[2][40]; /* server's, client's; "" when not made */

/* Runs a shell command quietly; 0 when it succeeded. */
static int quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int quiet(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 20, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd - 20)
        return -1;
    strcat(cmd, " >/dev/null 2>&1");
    return system(cmd) == 0 ? 0 : -1;
}

int netns_socket(int nsfd, int domain, int type, int protocol)
{
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0)
        return -1;
    int fd = -1;
    if (setns(nsfd, CLONE_NEWNET) == 0) {
        fd = socket(domain, type, protocol);
        int err = errno;
        if (fd >= 0 && type == SOCK_STREAM) {
            static const char cubic[] = "cubic";
            setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cubic, sizeof cubic - 1);
        }
        if (setns(home, CLONE_NEWNET) < 0) {
            /* Never go on in the wrong namespace. */
            perror("zts-bench: setns back");
            abort();
        }
        errno = err;
    }
    close(home);
    return fd;
}

static struct delayline *line; /* the delay line of delay_env_kernel */

void loss_env_free(struct env *e)
{
    if (e->snode >= 0)
        close(e->snode);
    if (e->cnode >= 0)
        close(e->cnode);
    e->snode = e->cnode = -1;
    for (int i = 0; i < 2; i++) {
        if (ns_names[i][0])
            quiet("ip netns del %s", ns_names[i]);
        ns_names[i][0] = 0;
    }
    delayline_stop(line);
    line = NULL;
}

/* The two namespaces, with loopback up; the kernel env's server address. */
static int make_namespaces(struct env *e, char *why, size_t whylen)
{
    memset(e, 0, sizeof *e);
    e->o = &KERNEL;
    e->snode = e->cnode = -1;
    e->saddr.sin_family = AF_INET;
    inet_pton(AF_INET, LOSS_SERVER_IP, &e->saddr.sin_addr);
    if (geteuid() != 0) {
        snprintf(why, whylen, "needs root for its network namespaces");
        return -1;
    }
    if (quiet("iptables --version") < 0 || quiet("ethtool --version") < 0) {
        snprintf(why, whylen, "needs iptables and ethtool");
        return -1;
    }
    int pid = (int)getpid();
    snprintf(ns_names[0], sizeof ns_names[0], "ztsb-s-%d", pid);
    snprintf(ns_names[1], sizeof ns_names[1], "ztsb-c-%d", pid);
    for (int i = 0; i < 2; i++)
        if (quiet("ip netns add %s", ns_names[i]) < 0 ||
            quiet("ip -n %s link set lo up", ns_names[i]) < 0) {
            snprintf(why, whylen, "could not make its network namespaces");
            loss_env_free(e);
            return -1;
        }
    return 0;
}

/* Addresses the namespaces' link `dev` (veth0 or the TAP), brings it up,
 * turns its offloads off if it has any (a veth: one drop then takes one
 * segment, not a 64 KiB super-packet; a TAP without a vnet header gets
 * frames already cut to the MTU), and opens the namespaces' fds as the
 * env's nodes. */
static int finish_link(struct env *e, const char *const dev[2], int offloads)
{
    static const char *const cidr[2] = {LOSS_SERVER_IP "/24", "10.99.0.2/24"};
    for (int i = 0; i < 2; i++) {
        const char *n = ns_names[i];
        if (quiet("ip -n %s addr add %s dev %s", n, cidr[i], dev[i]) < 0 ||
            quiet("ip -n %s link set %s up", n, dev[i]) < 0)
            return -1;
        if (offloads &&
            quiet("ip netns exec %s ethtool -K %s tso off gso off gro off tx off", n, dev[i]) < 0)
            return -1;
        char path[80];
        snprintf(path, sizeof path, "/var/run/netns/%s", n);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        *(i ? &e->cnode : &e->snode) = fd;
    }
    return 0;
}

/* The namespaces joined by veth0, each dropping a share p of what arrives
 * that `what` (iptables' match options, "" for everything) selects. */
static int veth_with_drops(struct env *e, double p, const char *what, char *why,
                           size_t whylen)
{
    if (make_namespaces(e, why, whylen) < 0)
        return -1;
    const char *s = ns_names[0], *c = ns_names[1];
    static const char *const dev[2] = {"veth0", "veth0"};
    int bad = quiet("ip -n %s link add veth0 type veth peer name veth0 netns %s", s, c) < 0 ||
              finish_link(e, dev, 1) < 0;
    /* Drops on INPUT are real losses; on OUTPUT the stack is told and
     * simply sends again. */
    for (int i = 0; i < 2 && !bad; i++)
        bad = quiet("ip netns exec %s iptables -A INPUT -i veth0 %s -m statistic --mode random "
                    "--probability %.6f -j DROP",
                    ns_names[i], what, p) < 0;
    if (bad) {
        snprintf(why, whylen, "could not make its namespaces, veth pair and drops (ip, ethtool, "
                              "iptables' statistic match)");
        loss_env_free(e);
        return -1;
    }
    return 0;
}

int loss_env_kernel(struct env *e, double p, char *why, size_t whylen)
{
    return veth_with_drops(e, p, "", why, whylen);
}

int delay_env_kernel(struct env *e, double delay_ms, double p, uint64_t seed, char *why,
                     size_t whylen)
{
    if (make_namespaces(e, why, whylen) < 0)
        return -1;
    char tap[2][IFNAMSIZ];
    const char *dev[2] = {tap[0], tap[1]};
    for (int i = 0; i < 2; i++)
        snprintf(tap[i], sizeof tap[i], "ztsd%d-%d", i, (int)getpid() % 1000000);
    line = delayline_start(tap[0], tap[1], delay_ms, p, seed);
    int bad = !line;
    for (int i = 0; i < 2 && !bad; i++)
        bad = quiet("ip link set %s netns %s", tap[i], ns_names[i]) < 0;
    if (bad || finish_link(e, dev, 0) < 0) {
        snprintf(why, whylen, "could not make its namespaces, TAP devices and delay line");
        loss_env_free(e);
        return -1;
    }
    return 0;
}

/* A kernel vxlan device in namespace i: VNI 42 over veth0, to the other
 * namespace's underlay address, at `cidr`. */
static int add_vxlan(int i, const char *cidr)
{
    static const char *const under[2] = {LOSS_SERVER_IP, "10.99.0.2"};
    const char *n = ns_names[i];
    return quiet("ip -n %s link add vx42 type vxlan id 42 dstport 4789 local %s dev veth0", n,
                 under[i]) < 0 ||
                   quiet("ip -n %s link set vx42 addrgenmode none", n) < 0 ||
                   quiet("bridge -n %s fdb append 00:00:00:00:00:00 dev vx42 dst %s", n,
                         under[1 - i]) < 0 ||
                   quiet("ip -n %s addr add %s dev vx42", n, cidr) < 0 ||
                   quiet("ip -n %s link set vx42 up", n) < 0 ||
                   /* No NIC computes the inner checksums over a veth. */
                   quiet("ip netns exec %s ethtool -K vx42 tx off", n) < 0
               ? -1
               : 0;
}

int overlay_env_kernel(struct env *e, double p, char *why, size_t whylen)
{
    if (veth_with_drops(e, p, "-p udp --dport 4789", why, whylen) < 0)
        return -1;
    if (add_vxlan(0, "10.200.0.1/24") < 0 || add_vxlan(1, "10.200.0.3/24") < 0) {
        snprintf(why, whylen, "could not make its VXLAN devices (ip, bridge, ethtool)");
        loss_env_free(e);
        return -1;
    }
    return 0;
}

int overlay_env_drop_client_vxlan(void)
{
    return quiet("ip -n %s link del vx42", ns_names[1]);
}
