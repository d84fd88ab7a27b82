/* The loss rows' kernel side: two network namespaces of the benchmark's
 * own, joined by a veth pair with its offloads off (so one drop takes one
 * segment, not a 64 KiB super-packet), each dropping a random share P of
 * what arrives (iptables' statistic match on INPUT: a real loss, which the
 * sender learns of only from the receiver). Kernel sockets are made inside
 * them by naming a namespace's fd as the socket's node, and run CUBIC, as
 * zts does. zts's side is two nodes on mem:?loss=P, which drops as much
 * each way. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
}

int loss_env_kernel(struct env *e, double p, char *why, size_t whylen)
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
    const char *s = ns_names[0], *c = ns_names[1];
    int bad = quiet("ip netns add %s", s) < 0 || quiet("ip netns add %s", c) < 0 ||
              quiet("ip -n %s link add veth0 type veth peer name veth0 netns %s", s, c) < 0 ||
              quiet("ip -n %s addr add " LOSS_SERVER_IP "/24 dev veth0", s) < 0 ||
              quiet("ip -n %s addr add 10.99.0.2/24 dev veth0", c) < 0;
    for (int i = 0; i < 2 && !bad; i++) {
        const char *n = ns_names[i];
        bad = quiet("ip -n %s link set lo up", n) < 0 ||
              quiet("ip -n %s link set veth0 up", n) < 0 ||
              quiet("ip netns exec %s ethtool -K veth0 tso off gso off gro off tx off", n) < 0 ||
              quiet("ip netns exec %s iptables -A INPUT -i veth0 -m statistic --mode random "
                    "--probability %.6f -j DROP",
                    n, p) < 0;
    }
    if (!bad) {
        char path[80];
        snprintf(path, sizeof path, "/var/run/netns/%s", s);
        e->snode = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof path, "/var/run/netns/%s", c);
        e->cnode = open(path, O_RDONLY | O_CLOEXEC);
        bad = e->snode < 0 || e->cnode < 0;
    }
    if (bad) {
        snprintf(why, whylen, "could not make its namespaces, veth pair and drops (ip, ethtool, "
                              "iptables' statistic match)");
        loss_env_free(e);
        return -1;
    }
    return 0;
}
