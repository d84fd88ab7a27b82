/* zts-bench: one TCP flow between two processes, over the VXLAN overlay and
 * over loopback TCP. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zts.h>

#include "workloads.h"

/* ------------------------------------------------------------------ */
/* overlay: one TCP flow between two processes.                        */

/* The child process: a sink per ops; reads each connection to its end and
 * answers with the byte count (8 bytes). */
struct sink_arg {
    const struct ops *o;
    int lfd;
};

static void *sink_serve(void *arg)
{
    struct sink_arg *a = arg;
    const struct ops *o = a->o;
    char *buf = malloc(a->o->bulk1);
    if (!buf)
        return NULL;
    for (;;) {
        int s = o->accept(a->lfd, NULL, NULL);
        if (s < 0)
            break; /* the listener was closed: done */
        set_timeouts(o, s);
        uint64_t total = 0;
        ssize_t n;
        while ((n = o->read(s, buf, o->bulk1)) > 0)
            total += (uint64_t)n;
        if (n == 0)
            write_full(o, s, &total, sizeof total);
        o->close(s);
    }
    free(buf);
    return NULL;
}

struct overlay_info {
    int ok;
    int udp_port;             /* the child's VXLAN port */
    int zts_port, kernel_port; /* the child's TCP listeners */
};

static int overlay_child(int info_fd, int cmd_fd)
{
    struct overlay_info info = {0, 0, 0, 0};
    g_row = "overlay child";
    int node = -1, zl = -1, kl = -1;
    pthread_t tz, tk;
    int have_tz = 0, have_tk = 0;
    struct env ke = {&KERNEL, -1, -1, {0}};
    ke.saddr.sin_family = AF_INET;
    ke.saddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in bound;
    kl = server_socket(&ke, SOCK_STREAM, 8, &bound);
    if (kl < 0)
        goto report;
    info.kernel_port = ntohs(bound.sin_port);
    {
        struct timeval none = {0, 0}; /* the listener waits as long as the parent */
        setsockopt(kl, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    }
    char uri[96];
    snprintf(uri, sizeof uri, "vxlan://127.0.0.1:0?vni=%d&learn=1", OVERLAY_VNI);
    node = zts_node_new();
    int net = node < 0 ? -1 : zts_net_join(node, uri);
    if (net < 0) {
        failed(&ZTS, "zts_net_join (overlay child)", errno);
        goto report;
    }
    info.udp_port = zts_net_get_port(node, net);
    if (info.udp_port < 0 || zts_addr_add(node, net, "10.77.0.2/24") < 0 ||
        zts_node_start(node) < 0) {
        failed(&ZTS, "overlay child setup", errno);
        goto report;
    }
    struct env ze = {&ZTS, node, -1, {0}};
    ze.saddr.sin_family = AF_INET;
    inet_pton(AF_INET, "10.77.0.2", &ze.saddr.sin_addr);
    zl = server_socket(&ze, SOCK_STREAM, 8, &bound);
    if (zl < 0)
        goto report;
    info.zts_port = ntohs(bound.sin_port);
    {
        struct timeval none = {0, 0};
        zts_setsockopt(zl, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    }
    static struct sink_arg sk, sz;
    sk = (struct sink_arg){&KERNEL, kl};
    sz = (struct sink_arg){&ZTS, zl};
    have_tk = pthread_create(&tk, NULL, sink_serve, &sk) == 0;
    have_tz = pthread_create(&tz, NULL, sink_serve, &sz) == 0;
    info.ok = have_tk && have_tz;
report:
    if (write(info_fd, &info, sizeof info) != (ssize_t)sizeof info)
        info.ok = 0;
    close(info_fd);
    /* Serve until the parent closes the command pipe. */
    char b;
    while (info.ok && read(cmd_fd, &b, 1) > 0)
        ;
    close(cmd_fd);
    if (kl >= 0) {
        shutdown(kl, SHUT_RDWR); /* wakes the blocked accept */
        if (have_tk)
            pthread_join(tk, NULL);
        close(kl);
    }
    if (zl >= 0) {
        zts_close(zl); /* wakes the blocked accept with EBADF */
        if (have_tz)
            pthread_join(tz, NULL);
    }
    if (node >= 0) {
        report_drops(node, "child");
        zts_node_free(node);
    }
    return info.ok ? 0 : 1;
}

static pid_t overlay_pid = -1;
static int overlay_node = -1; /* the parent's end, kept across runs */
static int overlay_cmd = -1;
static struct overlay_info overlay_info;

/* Forks the child before any zts call or thread of this process. */
void overlay_fork(void)
{
    int info[2], cmd[2];
    if (pipe(info) < 0 || pipe(cmd) < 0) {
        perror("zts-bench: pipe");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("zts-bench: fork");
        return;
    }
    if (pid == 0) {
        close(info[0]);
        close(cmd[1]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(1);
        int rc = overlay_child(info[1], cmd[0]);
        fflush(NULL);
        _exit(rc);
    }
    close(info[1]);
    close(cmd[0]);
    overlay_pid = pid;
    overlay_cmd = cmd[1];
    ssize_t n = read(info[0], &overlay_info, sizeof overlay_info);
    if (n != (ssize_t)sizeof overlay_info)
        overlay_info.ok = 0;
    close(info[0]);
}

void overlay_reap(void)
{
    if (overlay_node >= 0) {
        report_drops(overlay_node, "parent");
        zts_node_free(overlay_node);
        overlay_node = -1;
    }
    if (overlay_pid < 0)
        return;
    close(overlay_cmd);
    int status;
    waitpid(overlay_pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "zts-bench: the overlay child process failed (status %d)\n", status);
        g_failures++;
    }
    overlay_pid = -1;
}

/* Sends 64 KiB writes to the child for the window, then shuts down and
 * waits for the child's count of what arrived. */
static double overlay_send(const struct ops *o, int node, const struct sockaddr_in *to)
{
    int c = client_connect(o, node, to, 1);
    if (c < 0)
        return NAN;
    uint64_t sent = 0, got = 0;
    double gbps = NAN;
    double t0 = now_s(), end = t0 + g_window;
    while (now_s() < end) {
        if (o->write(c, payload, o->bulk1) != (ssize_t)o->bulk1) {
            failed(o, "write (overlay)", errno);
            goto out;
        }
        sent += o->bulk1;
    }
    if (o->shutdown(c, SHUT_WR) < 0) {
        failed(o, "shutdown (overlay)", errno);
        goto out;
    }
    if (read_full(o, c, &got, sizeof got) < 0) {
        failed(o, "read (overlay count)", errno);
        goto out;
    }
    double t1 = now_s();
    if (got != sent) {
        fprintf(stderr, "zts-bench: overlay (%s): sent %llu bytes, the child got %llu\n",
                o->name, (unsigned long long)sent, (unsigned long long)got);
        g_failures++;
        goto out;
    }
    gbps = (double)got * 8 / (t1 - t0) / 1e9;
out:
    o->close(c);
    return gbps;
}

/* The kernel's count of UDP datagrams dropped for a full receive buffer. */
static long udp_rcvbuf_errors(void)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char head[1024], vals[1024];
    long v = -1;
    if (!f)
        return -1;
    while (fgets(head, sizeof head, f) && fgets(vals, sizeof vals, f)) {
        if (strncmp(head, "Udp:", 4) != 0)
            continue;
        char *hs = NULL, *vs = NULL;
        char *h = strtok_r(head, " \n", &hs), *x = strtok_r(vals, " \n", &vs);
        while (h && x) {
            if (!strcmp(h, "RcvbufErrors")) {
                v = strtol(x, NULL, 10);
                break;
            }
            h = strtok_r(NULL, " \n", &hs);
            x = strtok_r(NULL, " \n", &vs);
        }
        break;
    }
    fclose(f);
    return v;
}

double overlay_run(const struct ops *o)
{
    if (!overlay_info.ok) {
        fprintf(stderr, "zts-bench: overlay (%s): the child process did not start\n", o->name);
        g_failures++;
        return NAN;
    }
    struct sockaddr_in to = {.sin_family = AF_INET};
    if (o == &KERNEL) {
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons((uint16_t)overlay_info.kernel_port);
        return overlay_send(o, -1, &to);
    }
    /* One node for every run: the child's neighbour cache keeps the MAC
     * it learned for 10.77.0.1, and a new node would have another. */
    if (overlay_node < 0) {
        char uri[128];
        snprintf(uri, sizeof uri, "vxlan://127.0.0.1:0?vni=%d&peer=127.0.0.1:%d", OVERLAY_VNI,
                 overlay_info.udp_port);
        overlay_node = zts_node_up(uri, "10.77.0.1/24");
        if (overlay_node < 0)
            return NAN;
    }
    int node = overlay_node;
    inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
    to.sin_port = htons((uint16_t)overlay_info.zts_port);
    long rcvbuf0 = udp_rcvbuf_errors();
    double g = overlay_send(o, node, &to);
    long rcvbuf1 = udp_rcvbuf_errors();
    if (rcvbuf0 >= 0 && rcvbuf1 > rcvbuf0)
        fprintf(stderr,
                "zts-bench: overlay (zts): the kernel dropped %ld UDP datagrams for full "
                "socket buffers meanwhile (/proc/net/snmp Udp RcvbufErrors)\n",
                rcvbuf1 - rcvbuf0);
    return g;
}
