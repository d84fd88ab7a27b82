/* zts-bench: many established connections: setup rate, memory, a busy flow beside them. */
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
/* scale: many established connections.                               */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long meminfo_kib(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* A snapshot of the kernel's slab caches (/proc/slabinfo, readable by
 * root): bytes of active objects per cache. */
struct slab_snap {
    int n;
    struct {
        char name[64];
        long long bytes;
    } c[1024];
};

static int slab_snapshot(struct slab_snap *sn)
{
    FILE *f = fopen("/proc/slabinfo", "r");
    char line[512];
    sn->n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f) && sn->n < 1024) {
        char name[64];
        long long active, total, size;
        if (line[0] == '#' || sscanf(line, "%63s %lld %lld %lld", name, &active, &total, &size) != 4)
            continue;
        strcpy(sn->c[sn->n].name, name);
        sn->c[sn->n].bytes = active * size;
        sn->n++;
    }
    fclose(f);
    return sn->n > 0 ? 0 : -1;
}

/* KiB the slab caches grew by from `a` to `b`, counting only caches that
 * grew: caches that shrink meanwhile (TIME_WAIT sockets of earlier runs
 * expiring, dentries reclaimed) are the rest of the machine, not us. */
static double slab_growth_kib(const struct slab_snap *a, const struct slab_snap *b)
{
    long long grown = 0;
    for (int i = 0; i < b->n; i++) {
        long long before = 0;
        for (int j = 0; j < a->n; j++) {
            if (!strcmp(a->c[j].name, b->c[i].name)) {
                before = a->c[j].bytes;
                break;
            }
        }
        if (b->c[i].bytes > before)
            grown += b->c[i].bytes - before;
    }
    return (double)grown / 1024;
}


void scale_run(const struct env *e, double out[SC_N])
{
    const struct ops *o = e->o;
    for (int i = 0; i < SC_N; i++)
        out[i] = NAN;
    out[SC_NONE] = bulk_run(e, 1);

    struct sockaddr_in to;
    int lfd = server_socket(e, SOCK_STREAM, 1024, &to);
    if (lfd < 0)
        return;
    int *cs = malloc((size_t)g_conns * sizeof *cs), *ss = malloc((size_t)g_conns * sizeof *ss);
    if (!cs || !ss) {
        free(cs);
        free(ss);
        o->close(lfd);
        return;
    }
    long avail0 = meminfo_kib("MemAvailable");
    static struct slab_snap snap0, snap1;
    int have_slabinfo = slab_snapshot(&snap0) == 0;
    long rss0 = rss_kib(), slab0 = meminfo_kib("Slab");
    int n = 0;
    const char *stopped = NULL;
    int err = 0;
    double t0 = now_s();
    for (; n < g_conns; n++) {
        /* Idle connections: no timeouts, no options, nothing but connect. */
        int c = o->socket(e->cnode, AF_INET, SOCK_STREAM, 0);
        if (c < 0) {
            stopped = "socket";
            err = errno;
            break;
        }
        if (o->connect(c, (struct sockaddr *)&to, sizeof to) < 0) {
            stopped = "connect";
            err = errno;
            o->close(c);
            break;
        }
        int s = o->accept(lfd, NULL, NULL);
        if (s < 0) {
            stopped = "accept";
            err = errno;
            o->close(c);
            break;
        }
        cs[n] = c;
        ss[n] = s;
        if (n % 1000 == 999 && avail0 > 0) {
            long grown = rss_kib() - rss0 + meminfo_kib("Slab") - slab0;
            if (grown > avail0 / 2) {
                fprintf(stderr, "zts-bench: %s (%s): stopped at %d connections: memory grew "
                                "by %ld MiB, half of what was available\n",
                        g_row, o->name, n + 1, grown / 1024);
                n++;
                break;
            }
        }
    }
    double t1 = now_s();
    long rss1 = rss_kib(), slab1 = meminfo_kib("Slab");
    have_slabinfo = have_slabinfo && slab_snapshot(&snap1) == 0;
    if (stopped) {
        fprintf(stderr, "zts-bench: %s (%s): %s failed after %d connections: %s%s%s\n", g_row,
                o->name, stopped, n, strerror(err),
                o == &ZTS ? " / " : "", o == &ZTS ? zts_errmsg() : "");
        /* Running out of fds on the kernel side is a limit, not a failure. */
        if (o == &KERNEL && (err == EMFILE || err == ENFILE)) {
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                fprintf(stderr, "zts-bench: %s (kernel): RLIMIT_NOFILE is %llu (two fds per "
                                "connection: both ends are in this process)\n",
                        g_row, (unsigned long long)rl.rlim_cur);
        } else {
            g_failures++;
        }
    }
    if (n > 0) {
        out[SC_CONNS] = n;
        out[SC_SETUP] = t1 - t0;
        out[SC_RATE] = n / (t1 - t0);
        double slab_kib = have_slabinfo ? slab_growth_kib(&snap0, &snap1) : (double)(slab1 - slab0);
        out[SC_KIB] = ((double)(rss1 - rss0) + slab_kib) / n;
        /* Out of fds: free a few for the bulk flow (listener and a pair). */
        if (stopped && (err == EMFILE || err == ENFILE))
            for (int k = 0; k < 4 && n > 0; k++) {
                n--;
                o->close(cs[n]);
                o->close(ss[n]);
            }
        out[SC_IDLE] = bulk_run(e, 1);
    }
    for (int i = 0; i < n; i++) {
        o->close(cs[i]);
        o->close(ss[i]);
    }
    free(cs);
    free(ss);
    o->close(lfd);
}
