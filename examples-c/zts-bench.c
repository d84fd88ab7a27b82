/* zts-bench: each workload twice, once on kernel sockets over loopback and
 * once on zts, through the same code; prints a table (or JSON with --json).
 *
 *   zts-bench [--json] [--quick] [--rows a,b,c] [--seconds S] [--conns N]
 *             [--repeat N] [--sweep] [--no-iperf3]
 *
 * Every workload is written once against `struct ops`, a table of socket
 * calls: KERNEL holds socket(2), connect(2), ... on 127.0.0.1, ZTS holds
 * zts_node_socket, zts_connect, ... on two nodes of an in-process network
 * `mem:bench-N?mtu=M` (10.N.0.1 serves, 10.N.0.2 is the client). Only the
 * table differs between the two runs of a row.
 *
 * Each side is driven as it does best, and the table says how: bulk flows
 * write and read each side's best size for one flow and for eight
 * (KERNEL.bulk1, .bulk8, ZTS's: chosen with --sweep); request/response and connect rows are blocking
 * calls, one thread per side, TCP_NODELAY on both. Where iperf3 is
 * installed it runs beside every bulk row with the kernel's write size, a
 * second opinion on the kernel column: a row whose kernel figure is more
 * than 10% from iperf3's is marked. --repeat N runs the whole table N
 * times and reports medians and ranges.
 *
 * Rows (ratio > 1 means zts is better: zts/kernel for rates, kernel/zts
 * for times, latencies and memory):
 *   bulk_mtu1500    one TCP flow, Gbit/s (zts at MTU 1500)
 *   bulk_mtu65535   the same at MTU 65535 (the kernel's loopback is 64 KiB:
 *                   this is the fair one)
 *   bulk8           eight parallel flows, aggregate Gbit/s (MTU 65535)
 *   rr              1-byte request/response with TCP_NODELAY, round trips/s;
 *                   rr_p50_us and rr_p99_us: the round trip's latency
 *   crr             connect, 1-byte request/response, close: per second
 *   scale           10,000 connections opened one after another and kept
 *                   established: connections per second while opening them;
 *                   scale_setup_s: seconds to open them all; scale_conns: how
 *                   many opened (the kernel may hit RLIMIT_NOFILE: both ends
 *                   live in this process, two fds per connection);
 *                   scale_rss_kib_per_conn: memory per idle connection (both
 *                   ends), the growth of this process's resident set plus the
 *                   growth of the kernel's slab caches, where kernel sockets
 *                   live (/proc/slabinfo, caches that grew; without root,
 *                   /proc/meminfo Slab), over the opening, divided by the
 *                   connections (zts's figure moves with how much of the
 *                   heap earlier rows left free: calloc clears reused memory,
 *                   so run `--rows scale` alone for the clean figure);
 *                   scale_bulk_none / scale_bulk_idle: one bulk
 *                   flow's Gbit/s with none / with the 10,000 idle connections
 *                   open (MTU 65535); scale_bulk_ratio: idle / none
 *   udp             64-byte datagrams per second received; udp_sent: sent/s
 *   overlay         one TCP flow between two OS processes, Gbit/s: zts over
 *                   its VXLAN overlay on 127.0.0.1 (MTU 1500), the kernel
 *                   over loopback TCP
 *
 * Each measurement is a fixed time window (--seconds, 2 s; 0.2 s with
 * --quick, which also opens 1,000 connections for scale instead of 10,000)
 * after a short warm-up (overlay: from connect to the child's count of
 * what arrived). Payloads are a constant, seeded pattern. The whole run
 * takes under two minutes on two cores; --quick a few seconds. Progress
 * goes to stderr, the table or JSON to stdout. A failed call is reported on stderr with the call and errno, its
 * figure is left empty (null in JSON) and the exit status is 1; a row that
 * stalls past its watchdog ends the program with status 3.
 *
 * The workloads live in examples-c/bench/ (workloads.h says which file
 * holds what); this file runs them as rows.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Iinclude examples-c/zts-bench.c \
 *      examples-c/bench/[a-z]*.c \
 *      -o zts-bench -Ltarget/release -lzts -Wl,-rpath,$PWD/target/release -lm
 */
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

#include "bench/workloads.h"

/* ------------------------------------------------------------------ */
/* Rows.                                                               */

enum {
    R_BULK1500,
    R_BULK64K,
    R_BULK8,
    R_RR,
    R_CRR,
    R_SCALE,
    R_UDP,
    R_OVERLAY,
    R_LOSS01,
    R_LOSS1,
    R_LOSS5,
    R_REORDER5,
    R_RTT20,
    R_RTT20_LOSS01,
    R_RTT20_LOSS1,
    R_LINUX_PEER,
    R_LINUX_PEER_RECV,
    R_COUNT
};
static const char *const row_names[R_COUNT] = {
    "bulk_mtu1500", "bulk_mtu65535", "bulk8", "rr", "crr", "scale", "udp", "overlay",
    "loss_0.1", "loss_1", "loss_5", "reorder_5", "rtt20", "rtt20_loss_0.1", "rtt20_loss_1",
    "linux_peer_loss_1", "linux_peer_loss_1_recv",
};
/* The loss and rtt rows' drop rate, each way. */
static const double loss_rates[R_COUNT] = {
    [R_LOSS01] = 0.001, [R_LOSS1] = 0.01,      [R_LOSS5] = 0.05,
    [R_RTT20] = 0,      [R_RTT20_LOSS01] = 0.001, [R_RTT20_LOSS1] = 0.01,
};
#define RTT_DELAY_MS 10 /* each way */

static const struct ops *const sides[2] = {&KERNEL, &ZTS};

static void begin_side(const char *row, const struct ops *o, int watchdog_s)
{
    g_row = row;
    g_side = o->name;
    fprintf(stderr, "zts-bench: %s (%s)...\n", row, o->name);
    arm_watchdog(watchdog_s);
}

static int side_watchdog(void)
{
    return (int)(2 * IO_TIMEOUT_S + 6 * (g_window + g_warmup));
}

static int g_iperf3 = 1; /* run iperf3 beside the kernel's bulk rows */
/* How far the kernel column may be from iperf3's figure before the row
 * says so. */
#define IPERF3_TOLERANCE 0.10

static void row_bulk(const char *row, int mtu, int flows)
{
    double v[2];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side(row, sides[i], side_watchdog());
        v[i] = NAN;
        if (env_make(&e, sides[i], mtu) == 0) {
            v[i] = bulk_run(&e, flows);
            env_free(&e);
        }
    }
    report_add(row, "Gbit/s", v[0], v[1], 1);
    if (g_iperf3) {
        g_row = row;
        g_side = "iperf3";
        fprintf(stderr, "zts-bench: %s (iperf3)...\n", row);
        arm_watchdog(side_watchdog() + 30);
        report_set_iperf3(
            iperf3_gbps((int)ceil(g_window), flows, flows > 1 ? KERNEL.bulk8 : KERNEL.bulk1));
    }
}

static void row_rr(void)
{
    double v[2][3];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("rr", sides[i], side_watchdog());
        v[i][0] = v[i][1] = v[i][2] = NAN;
        if (env_make(&e, sides[i], 1500) == 0) {
            rr_run(&e, v[i]);
            env_free(&e);
        }
    }
    report_add("rr", "rt/s", v[0][0], v[1][0], 1);
    report_add("rr_p50_us", "us", v[0][1], v[1][1], 0);
    report_add("rr_p99_us", "us", v[0][2], v[1][2], 0);
}

static void row_crr(void)
{
    double v[2];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("crr", sides[i], side_watchdog());
        v[i] = NAN;
        if (env_make(&e, sides[i], 1500) == 0) {
            v[i] = crr_run(&e);
            env_free(&e);
        }
    }
    report_add("crr", "conn/s", v[0], v[1], 1);
}

static void raise_nofile(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)want)
        return;
    struct rlimit up = {(rlim_t)want, rl.rlim_max};
    if (up.rlim_max != RLIM_INFINITY && up.rlim_max < (rlim_t)want)
        up.rlim_max = (rlim_t)want; /* works with CAP_SYS_RESOURCE */
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
        return;
    rl.rlim_cur = rl.rlim_max; /* as far as the hard limit goes */
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void row_scale(void)
{
    double v[2][SC_N];
    raise_nofile(2 * g_conns + 256);
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("scale", sides[i], side_watchdog() * 2 + g_conns / 50);
        for (int k = 0; k < SC_N; k++)
            v[i][k] = NAN;
        if (env_make(&e, sides[i], 65535) == 0) {
            scale_run(&e, v[i]);
            env_free(&e);
        }
    }
    report_add("scale", "conn/s", v[0][SC_RATE], v[1][SC_RATE], 1);
    report_add("scale_setup_s", "s", v[0][SC_SETUP], v[1][SC_SETUP], 0);
    report_add("scale_conns", "conns", v[0][SC_CONNS], v[1][SC_CONNS], 1);
    report_add("scale_rss_kib_per_conn", "KiB", v[0][SC_KIB], v[1][SC_KIB], 0);
    report_add("scale_bulk_none", "Gbit/s", v[0][SC_NONE], v[1][SC_NONE], 1);
    report_add("scale_bulk_idle", "Gbit/s", v[0][SC_IDLE], v[1][SC_IDLE], 1);
    report_add("scale_bulk_ratio", "x", v[0][SC_IDLE] / v[0][SC_NONE],
               v[1][SC_IDLE] / v[1][SC_NONE], 1);
}

static void row_udp(void)
{
    double v[2][2];
    for (int i = 0; i < 2; i++) {
        struct env e;
        begin_side("udp", sides[i], side_watchdog());
        v[i][0] = v[i][1] = NAN;
        if (env_make(&e, sides[i], 1500) == 0) {
            udp_run(&e, v[i]);
            env_free(&e);
        }
    }
    report_add("udp", "dgram/s", v[0][0], v[1][0], 1);
    report_add("udp_sent", "dgram/s", v[0][1], v[1][1], 1);
}

static void row_overlay(void)
{
    double v[2];
    for (int i = 0; i < 2; i++) {
        begin_side("overlay", sides[i], side_watchdog());
        v[i] = overlay_run(sides[i]);
    }
    report_add("overlay", "Gbit/s", v[0], v[1], 1);
}

/* One flow at MTU 1500 through random drops each way (loss.c says how the
 * kernel's are made). Without the namespaces the row is left out. */
static void row_loss(int r)
{
    const char *row = row_names[r];
    double p = loss_rates[r], v[2] = {NAN, NAN};
    char why[160];
    struct env e;
    begin_side(row, &KERNEL, side_watchdog());
    if (loss_env_kernel(&e, p, why, sizeof why) < 0) {
        fprintf(stderr, "zts-bench: %s: skipped: %s\n", row, why);
        report_note("%s: skipped: %s", row, why);
        return;
    }
    v[0] = bulk_run(&e, 1);
    loss_env_free(&e);
    begin_side(row, &ZTS, side_watchdog());
    char impair[64];
    snprintf(impair, sizeof impair, "loss=%g&seed=%d", p, r);
    if (env_make_impaired(&e, &ZTS, 1500, impair) == 0) {
        v[1] = bulk_run(&e, 1);
        env_free(&e);
    }
    report_add(row, "Gbit/s", v[0], v[1], 1);
}

/* One flow at MTU 1500 through a link that reorders 5% of frames, against
 * zts on a clean link (the reference is zts itself: how much reordering
 * costs it, not how it compares with the kernel). Both send frames of the
 * MTU's size (gso=off): impairment acts on those, and a clean link that
 * carried 64 KiB segments whole would measure the offload, not the
 * reordering. */
static void row_reorder(void)
{
    double v[2] = {NAN, NAN};
    struct env e;
    for (int i = 0; i < 2; i++) {
        begin_side("reorder_5", &ZTS, side_watchdog());
        if (env_make_impaired(&e, &ZTS, 1500, i ? "reorder=0.05&seed=5&gso=off" : "gso=off") ==
            0) {
            v[i] = bulk_run(&e, 1);
            env_free(&e);
        }
    }
    report_add("reorder_5", "Gbit/s", v[0], v[1], 1);
    report_note("reorder_5: both columns are zts, the first on a clean link, the second with "
                "reorder=0.05 each way; both in frames of the MTU's size (gso=off)");
}

/* One flow at MTU 1500 over a path of RTT_DELAY_MS each way (and drops),
 * from the connect on for five measurement windows (10 s by default), as
 * iperf3 -t measures: slow start and the buffers' growth count. The
 * kernel goes through a delay line (loss.c, delayline.c). */
static void row_rtt(int r)
{
    const char *row = row_names[r];
    double p = loss_rates[r], v[2] = {NAN, NAN};
    double window = g_window, warmup = g_warmup;
    char why[160];
    struct env e;
    g_window = 5 * window;
    g_warmup = 0;
    begin_side(row, &KERNEL, side_watchdog());
    if (delay_env_kernel(&e, RTT_DELAY_MS, p, (uint64_t)r, why, sizeof why) < 0) {
        fprintf(stderr, "zts-bench: %s: skipped: %s\n", row, why);
        report_note("%s: skipped: %s", row, why);
        g_window = window;
        g_warmup = warmup;
        return;
    }
    v[0] = bulk_run(&e, 1);
    loss_env_free(&e);
    begin_side(row, &ZTS, side_watchdog());
    char impair[80];
    snprintf(impair, sizeof impair, "delay_ms=%d&loss=%g&seed=%d", RTT_DELAY_MS, p, r);
    if (env_make_impaired(&e, &ZTS, 1500, impair) == 0) {
        v[1] = bulk_run(&e, 1);
        env_free(&e);
    }
    g_window = window;
    g_warmup = warmup;
    report_add(row, "Gbit/s", v[0], v[1], 1);
    report_note("rtt rows: %d ms each way, %.0f s from the connect; the kernel through two TAP "
                "devices and zts-bench's delay line, CUBIC on both sides",
                RTT_DELAY_MS, 5 * window);
}

/* The Linux kernel as zts's peer across a VXLAN overlay losing 1% each way
 * (linuxpeer.c): seconds for 32 MiB, zts sending to Linux and Linux
 * sending to zts, against the kernel on both ends of the same overlay. */
static void row_linux_peer(void)
{
    double k[2], z[2];
    char why[160] = "";
    begin_side("linux_peer_loss_1", &KERNEL, side_watchdog());
    linux_peer_run(k, z, why, sizeof why);
    if (why[0]) {
        fprintf(stderr, "zts-bench: linux_peer_loss_1: skipped: %s\n", why);
        report_note("linux_peer_loss_1: skipped: %s", why);
        return;
    }
    report_add("linux_peer_loss_1", "s", k[1], z[1], 0);
    report_add("linux_peer_loss_1_recv", "s", k[0], z[0], 0);
    report_note("linux_peer_loss_1: 32 MiB from zts to the Linux kernel across VXLAN losing 1%% "
                "each way (_recv: from Linux to zts), timed to the end of stream; the kernel "
                "column is Linux on both ends of the same overlay, CUBIC");
}

/* Bulk flows at each write/read size on both sides: the evidence for the
 * sizes in KERNEL and ZTS. Medians of `repeat` measurements, Gbit/s. */
static void run_sweep(int repeat)
{
    static const size_t sizes[] = {64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20};
    struct {
        const char *name;
        struct ops *o;
        int mtu, flows;
    } cols[] = {
        {"kernel 1", &KERNEL, 65535, 1}, {"kernel 8", &KERNEL, 65535, 8},
        {"zts 1@1500", &ZTS, 1500, 1},   {"zts 1@64K", &ZTS, 65535, 1},
        {"zts 8@64K", &ZTS, 65535, 8},
    };
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    const struct ops k0 = KERNEL, z0 = ZTS;
    printf("zts-bench --sweep: bulk Gbit/s by write = read size (flows@MTU), median of %d\n",
           repeat);
    printf("%-8s", "size");
    for (int c = 0; c < NCOLS; c++)
        printf(" %11s", cols[c].name);
    printf("\n");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        printf("%4zu KiB", sizes[i] >> 10);
        for (int c = 0; c < NCOLS; c++) {
            double v[64];
            for (int r = 0; r < repeat; r++) {
                struct env e;
                cols[c].o->bulk1 = cols[c].o->bulk8 = sizes[i];
                begin_side("sweep", cols[c].o, side_watchdog());
                v[r] = NAN;
                if (env_make(&e, cols[c].o, cols[c].mtu) == 0) {
                    v[r] = bulk_run(&e, cols[c].flows);
                    env_free(&e);
                }
            }
            printf(" %11.1f", median_of(v, repeat));
            fflush(stdout);
        }
        printf("\n");
    }
    KERNEL = k0;
    ZTS = z0;
}

static int usage(FILE *to)
{
    fprintf(to,
            "usage: zts-bench [--json] [--quick] [--rows ROW,...] [--seconds S] [--conns N]\n"
            "                 [--repeat N] [--sweep] [--no-iperf3]\n"
            "  --json        print JSON: the machine, and per row the median, min and\n"
            "                max of kernel, zts, ratio and iperf3 over the runs\n"
            "  --quick       a smoke run: 0.2 s windows, 1000 connections for scale\n"
            "  --rows LIST   run only these rows (comma-separated): bulk_mtu1500,\n"
            "                bulk_mtu65535, bulk8, rr, crr, scale, udp, overlay,\n"
            "                loss_0.1, loss_1, loss_5, reorder_5, rtt20, rtt20_loss_0.1,\n"
            "                rtt20_loss_1, linux_peer_loss_1 (bulk: both bulk_mtu rows;\n"
            "                loss: the three loss rows; rtt: the three rtt rows; the\n"
            "                loss, rtt and linux_peer rows need root)\n"
            "  --seconds S   the measurement window per row and side (default 2)\n"
            "  --conns N     connections for scale (default 10000)\n"
            "  --repeat N    run the whole table N times; report medians and ranges\n"
            "  --sweep       bulk flows at write/read sizes 64 KiB to 1 MiB on both\n"
            "                sides (how each side's sizes were chosen), then exit\n"
            "  --no-iperf3   do not run iperf3 beside the kernel's bulk rows\n");
    return 2;
}

static int parse_rows(const char *list, int want[R_COUNT])
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    int any = 0, bad = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        if (!strcmp(tok, "bulk")) {
            want[R_BULK1500] = want[R_BULK64K] = 1;
            found = 1;
        }
        if (!strcmp(tok, "loss")) {
            want[R_LOSS01] = want[R_LOSS1] = want[R_LOSS5] = 1;
            found = 1;
        }
        if (!strcmp(tok, "rtt")) {
            want[R_RTT20] = want[R_RTT20_LOSS01] = want[R_RTT20_LOSS1] = 1;
            found = 1;
        }
        for (int i = 0; i < R_COUNT && !found; i++) {
            if (!strcmp(tok, row_names[i])) {
                want[i] = 1;
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "zts-bench: unknown row '%s'\n", tok);
            bad = 1;
        }
        any |= found;
    }
    free(copy);
    return bad || !any ? -1 : 0;
}

int main(int argc, char **argv)
{
    int json = 0, quick = 0, rows_given = 0;
    int want[R_COUNT] = {0};
    double seconds = -1;
    long conns = -1, repeat = 1;
    int sweep = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (!strcmp(a, "--rows") && i + 1 < argc) {
            if (parse_rows(argv[++i], want) < 0)
                return usage(stderr);
            rows_given = 1;
        } else if (!strncmp(a, "--rows=", 7)) {
            if (parse_rows(a + 7, want) < 0)
                return usage(stderr);
            rows_given = 1;
        } else if (!strcmp(a, "--seconds") && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds >= 0.01 && seconds <= 60))
                return usage(stderr);
        } else if (!strcmp(a, "--conns") && i + 1 < argc) {
            char *end;
            conns = strtol(argv[++i], &end, 10);
            if (*end || conns < 1 || conns > 100000)
                return usage(stderr);
        } else if (!strcmp(a, "--repeat") && i + 1 < argc) {
            char *end;
            repeat = strtol(argv[++i], &end, 10);
            if (*end || repeat < 1 || repeat > 64)
                return usage(stderr);
        } else if (!strcmp(a, "--sweep")) {
            sweep = 1;
        } else if (!strcmp(a, "--no-iperf3")) {
            g_iperf3 = 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "zts-bench: bad argument '%s'\n", a);
            return usage(stderr);
        }
    }
    if (!rows_given)
        for (int i = 0; i < R_COUNT; i++)
            want[i] = 1;
    if (quick) {
        g_window = 0.2;
        g_warmup = 0.05;
        g_conns = 1000;
    }
    if (seconds > 0) {
        g_window = seconds;
        g_warmup = seconds / 6 < 0.3 ? seconds / 6 : 0.3;
    }
    if (conns > 0)
        g_conns = (int)conns;

    /* Before any zts call or thread: the overlay's second process. */
    if (want[R_OVERLAY] && !sweep)
        overlay_fork();
    machine_read(&g_machine);
    if (quick)
        g_iperf3 = 0; /* iperf3 measures whole seconds */
    if (g_iperf3 && !g_machine.iperf3[0]) {
        g_iperf3 = 0;
        report_note("iperf3 is not installed: no second opinion on the kernel's bulk rows");
    }
    int major = 0, minor = 0;
    if (g_iperf3 && sscanf(g_machine.iperf3, "iperf %d.%d", &major, &minor) == 2 &&
        (major < 3 || (major == 3 && minor < 16)) && (want[R_BULK8] || sweep))
        report_note("iperf3 before 3.16 runs all -P streams on one thread: its bulk8 figure is "
                    "that thread's limit, not the kernel's");

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    /* Seeded payload (xorshift32). */
    uint32_t x = 0x2545F491u;
    for (size_t i = 0; i < sizeof payload; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        payload[i] = (unsigned char)x;
    }

    double start = now_s();
    if (sweep) {
        run_sweep((int)repeat);
        alarm(0);
        return g_failures ? 1 : 0;
    }
    for (int run = 0; run < repeat; run++) {
        if (repeat > 1)
            fprintf(stderr, "zts-bench: run %d of %ld\n", run + 1, repeat);
        report_begin_run(run);
        if (want[R_BULK1500])
            row_bulk("bulk_mtu1500", 1500, 1);
        if (want[R_BULK64K])
            row_bulk("bulk_mtu65535", 65535, 1);
        if (want[R_BULK8])
            row_bulk("bulk8", 65535, 8);
        if (want[R_RR])
            row_rr();
        if (want[R_CRR])
            row_crr();
        if (want[R_SCALE])
            row_scale();
        if (want[R_UDP])
            row_udp();
        if (want[R_OVERLAY])
            row_overlay();
        for (int r = R_LOSS01; r <= R_LOSS5; r++)
            if (want[r])
                row_loss(r);
        if (want[R_REORDER5])
            row_reorder();
        for (int r = R_RTT20; r <= R_RTT20_LOSS1; r++)
            if (want[r])
                row_rtt(r);
        if (want[R_LINUX_PEER] || want[R_LINUX_PEER_RECV])
            row_linux_peer();
    }
    alarm(0);
    overlay_reap();
    double elapsed = now_s() - start;

    report_note("bulk: writes and reads of %zu KiB for the kernel and %zu KiB for zts per call "
                "with one flow (also overlay, scale_bulk), %zu and %zu KiB with eight: each "
                "side's best here (zts-bench --sweep); iperf3 uses the kernel's sizes",
                KERNEL.bulk1 >> 10, ZTS.bulk1 >> 10, KERNEL.bulk8 >> 10, ZTS.bulk8 >> 10);
    report_note("rr, crr: blocking calls, one thread per side, TCP_NODELAY on both sides; "
                "p50 and p99 from the same samples as rr");
    report_note("zts's TCP sockets poll up to %d us before a blocking call sleeps "
                "(SO_BUSY_POLL); the kernel's loopback has no busy polling",
                ZTS_BUSY_POLL_US);
    if (json)
        report_print_json(stdout, g_window, IPERF3_TOLERANCE);
    else
        report_print_table(stdout, g_window, elapsed, IPERF3_TOLERANCE);
    fflush(stdout);
    fprintf(stderr, "zts-bench: done in %.1f s%s\n", elapsed,
            g_failures ? " (with failures, see above)" : "");
    return g_failures ? 1 : 0;
}
