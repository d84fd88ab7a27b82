/* A delay line for the kernel side of the rtt rows: two TAP devices (each
 * moved into a namespace of the benchmark's, loss.c) and a thread that
 * forwards every frame from one to the other after a fixed delay, dropping
 * a share of IP frames at random (seeded, so a run repeats). This kernel
 * has no netem; a constant delay keeps order, so each direction is a FIFO.
 * A full FIFO drops the frame, as a router's queue would. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "workloads.h"

#define SLOT 2048      /* bytes per frame slot: MTU 1500 frames, no offloads */
#define SLOTS 16384    /* frames held per direction: 24 MB, a 20 ms path at 9.8 Gbit/s */

struct fifo {
    unsigned char (*frame)[SLOT];
    uint16_t *len;
    uint64_t *due_ns;
    size_t head, count;
};

struct delayline {
    int fd[2];
    struct fifo q[2]; /* q[i]: frames read from fd[i], for fd[1 - i] */
    uint64_t delay_ns;
    uint64_t drop_below; /* a frame is dropped when a draw is below this */
    uint64_t rng;
    atomic_int stop;
    pthread_t thread;
    unsigned long long forwarded, dropped, overflowed;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: enough for drop decisions, and the same seed repeats. */
static uint64_t draw(struct delayline *d)
{
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return d->rng * 0x2545f4914f6cdd1dull;
}

static int tap_open(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Reads what fd[i] has into q[i], deciding drops as frames arrive. */
static void take_in(struct delayline *d, int i, uint64_t now)
{
    struct fifo *q = &d->q[i];
    for (;;) {
        unsigned char scratch[SLOT];
        int full = q->count == SLOTS;
        size_t at = (q->head + q->count) % SLOTS;
        unsigned char *into = full ? scratch : q->frame[at];
        ssize_t n = read(d->fd[i], into, SLOT);
        if (n <= 0)
            return;
        if (full) {
            d->overflowed++;
            continue;
        }
        /* Only IPv4 and IPv6 frames are dropped: ARP gets through, so the
         * path comes up at once, as zts's neighbours do. */
        int ip = n >= 14 && ((into[12] == 0x08 && into[13] == 0x00) ||
                             (into[12] == 0x86 && into[13] == 0xdd));
        if (ip && draw(d) < d->drop_below) {
            d->dropped++;
            continue;
        }
        q->len[at] = (uint16_t)n;
        q->due_ns[at] = now + d->delay_ns;
        q->count++;
    }
}

/* Writes the frames of q[i] that are due to the other device. */
static void give_out(struct delayline *d, int i, uint64_t now)
{
    struct fifo *q = &d->q[i];
    while (q->count && q->due_ns[q->head] <= now) {
        /* A full device queue loses the frame, as a full link would. */
        if (write(d->fd[1 - i], q->frame[q->head], q->len[q->head]) > 0)
            d->forwarded++;
        else
            d->overflowed++;
        q->head = (q->head + 1) % SLOTS;
        q->count--;
    }
}

static void *delayline_thread(void *arg)
{
    struct delayline *d = arg;
    while (!atomic_load(&d->stop)) {
        uint64_t now = mono_ns();
        for (int i = 0; i < 2; i++)
            give_out(d, i, now);
        uint64_t next = now + 100 * 1000000ull; /* look at stop at least this often */
        for (int i = 0; i < 2; i++)
            if (d->q[i].count && d->q[i].due_ns[d->q[i].head] < next)
                next = d->q[i].due_ns[d->q[i].head];
        struct pollfd p[2] = {{d->fd[0], POLLIN, 0}, {d->fd[1], POLLIN, 0}};
        struct timespec ts = {0, 0};
        if (next > now)
            ts = (struct timespec){(time_t)((next - now) / 1000000000ull),
                                   (long)((next - now) % 1000000000ull)};
        if (ppoll(p, 2, &ts, NULL) < 0 && errno != EINTR)
            break;
        now = mono_ns();
        for (int i = 0; i < 2; i++)
            if (p[i].revents & POLLIN)
                take_in(d, i, now);
    }
    return NULL;
}

struct delayline *delayline_start(const char *tap_a, const char *tap_b, double delay_ms,
                                  double loss, uint64_t seed)
{
    struct delayline *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->fd[0] = tap_open(tap_a);
    d->fd[1] = d->fd[0] < 0 ? -1 : tap_open(tap_b);
    d->delay_ns = (uint64_t)(delay_ms * 1e6);
    d->drop_below = (uint64_t)(loss * 18446744073709551616.0);
    d->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    int ok = d->fd[1] >= 0;
    for (int i = 0; i < 2 && ok; i++) {
        d->q[i].frame = malloc((size_t)SLOTS * SLOT);
        d->q[i].len = malloc(SLOTS * sizeof *d->q[i].len);
        d->q[i].due_ns = malloc(SLOTS * sizeof *d->q[i].due_ns);
        ok = d->q[i].frame && d->q[i].len && d->q[i].due_ns;
    }
    if (ok && pthread_create(&d->thread, NULL, delayline_thread, d) == 0)
        return d;
    d->thread = 0;
    delayline_stop(d);
    return NULL;
}

void delayline_stop(struct delayline *d)
{
    if (!d)
        return;
    if (d->thread) {
        atomic_store(&d->stop, 1);
        pthread_join(d->thread, NULL);
        fprintf(stderr, "zts-bench: delay line: %llu frames forwarded, %llu dropped at "
                        "random, %llu lost to full queues\n",
                d->forwarded, d->dropped, d->overflowed);
    }
    for (int i = 0; i < 2; i++) {
        if (d->fd[i] >= 0)
            close(d->fd[i]);
        free(d->q[i].frame);
        free(d->q[i].len);
        free(d->q[i].due_ns);
    }
    free(d);
}
