/* zts-bench's parts beyond the workloads: results across repeated runs
 * (report.c) and iperf3 as a second opinion on the kernel's bulk figures
 * (iperf3.c). */
#ifndef ZTS_BENCH_H
#define ZTS_BENCH_H

#include <stddef.h>
#include <stdio.h>

/* One row's figures in one run; NaN where a side failed. */
struct result {
    const char *row, *unit;
    double kernel, zts;
    int higher_better; /* rates: zts/kernel; times, latencies, memory: kernel/zts */
    double iperf3;     /* Gbit/s, NaN where not run */
};

/* Starts run `run` (0-based) of the table; rows are added in the same
 * order every run. */
void report_begin_run(int run);
void report_add(const char *row, const char *unit, double kernel, double zts, int higher_better);
/* The median of the finite values of v[0..n), NaN when there are none. */
double median_of(const double *v, int n);
/* iperf3's figure for the row added last. */
void report_set_iperf3(double gbps);
/* A line printed under the table (how each side was driven). */
void report_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How the two agreed: iperf3 and the kernel column within `tolerance`. */
void report_print_table(FILE *out, double window_s, double elapsed_s, double tolerance);
void report_print_json(FILE *out, double window_s, double tolerance);

/* The machine, for the header and the JSON. */
struct machine {
    long cpus;
    char kernel[200];
    char cpu[128];
    char zts[32];
    char iperf3[64]; /* "" when not installed */
};
void machine_read(struct machine *m);
extern struct machine g_machine;

/* iperf3 -c 127.0.0.1 against its own one-off server on a free loopback
 * port, `streams` flows of `len`-byte writes for `seconds` (whole, >= 1):
 * the receiver's Gbit/s, or NaN (the reason on stderr). */
double iperf3_gbps(int seconds, int streams, size_t len);
/* iperf3's version line, or "" when it is not installed. */
void iperf3_version(char *out, size_t cap);

#endif
