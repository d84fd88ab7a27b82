/* zts-bench's results: every row of every run, then the table or JSON of
 * medians and ranges over the runs (--repeat N), with iperf3's figure
 * beside the kernel's where it ran. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <zts.h>

#include "bench.h"

#define MAX_RUNS 64
#define MAX_ROWS 64
#define MAX_NOTES 16

static struct result runs[MAX_RUNS][MAX_ROWS];
static int nrows[MAX_RUNS];
static int nruns;
static char notes[MAX_NOTES][256];
static int nnotes;

struct machine g_machine;

void report_begin_run(int run)
{
    if (run >= 0 && run < MAX_RUNS) {
        nruns = run + 1;
        nrows[run] = 0;
    }
}

void report_add(const char *row, const char *unit, double k, double z, int higher_better)
{
    int r = nruns - 1;
    if (r < 0 || nrows[r] >= MAX_ROWS)
        return;
    runs[r][nrows[r]++] = (struct result){row, unit, k, z, higher_better, NAN};
}

void report_set_iperf3(double gbps)
{
    int r = nruns - 1;
    if (r >= 0 && nrows[r] > 0)
        runs[r][nrows[r] - 1].iperf3 = gbps;
}

void report_note(const char *fmt, ...)
{
    if (nnotes >= MAX_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes[nnotes], sizeof notes[0], fmt, ap);
    va_end(ap);
    for (int i = 0; i < nnotes; i++)
        if (!strcmp(notes[i], notes[nnotes]))
            return; /* said in an earlier run */
    nnotes++;
}

static double ratio_of(const struct result *r)
{
    if (!isfinite(r->kernel) || !isfinite(r->zts) || r->kernel == 0 || r->zts == 0)
        return NAN;
    return r->higher_better ? r->zts / r->kernel : r->kernel / r->zts;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median, min and max of the finite values; NaN when there are none. */
struct spread {
    double median, min, max;
    int n;
};

static struct spread spread_of(const double *v, int n)
{
    double s[MAX_RUNS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            s[k++] = v[i];
    if (k == 0)
        return (struct spread){NAN, NAN, NAN, 0};
    qsort(s, (size_t)k, sizeof s[0], cmp_double);
    double median = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
    return (struct spread){median, s[0], s[k - 1], k};
}

double median_of(const double *v, int n)
{
    return spread_of(v, n).median;
}

/* One row across the runs. */
struct summary {
    const struct result *first;
    struct spread kernel, zts, ratio, iperf3;
    double gap; /* kernel median against iperf3's, as a fraction; NaN if none */
};

static struct summary summarize(int row)
{
    double k[MAX_RUNS], z[MAX_RUNS], q[MAX_RUNS], p[MAX_RUNS];
    int n = 0;
    for (int r = 0; r < nruns; r++) {
        if (row >= nrows[r])
            continue;
        const struct result *x = &runs[r][row];
        k[n] = x->kernel;
        z[n] = x->zts;
        q[n] = ratio_of(x);
        p[n] = x->iperf3;
        n++;
    }
    struct summary s = {&runs[0][row], spread_of(k, n), spread_of(z, n), spread_of(q, n),
                        spread_of(p, n), NAN};
    if (s.iperf3.n && isfinite(s.kernel.median) && s.iperf3.median > 0)
        s.gap = s.kernel.median / s.iperf3.median - 1;
    return s;
}

static void fmt_num(char *out, size_t cap, double v, const char *none)
{
    if (!isfinite(v))
        snprintf(out, cap, "%s", none);
    else if (fabs(v) >= 1000)
        snprintf(out, cap, "%.0f", v);
    else if (fabs(v) >= 10)
        snprintf(out, cap, "%.1f", v);
    else
        snprintf(out, cap, "%.3f", v);
}

void machine_read(struct machine *m)
{
    memset(m, 0, sizeof *m);
    m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof m->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (colon && !strncmp(line, "model name", 10)) {
            snprintf(m->cpu, sizeof m->cpu, "%s", colon + 2);
            m->cpu[strcspn(m->cpu, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    snprintf(m->zts, sizeof m->zts, "%s", zts_version());
    iperf3_version(m->iperf3, sizeof m->iperf3);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, out);
    }
    fputc('"', out);
}

void report_print_table(FILE *out, double window_s, double elapsed_s, double tolerance)
{
    const struct machine *m = &g_machine;
    fprintf(out, "zts-bench: zts %s, %.1f s per measurement, %d run%s%s, took %.1f s\n", m->zts,
            window_s, nruns, nruns == 1 ? "" : "s",
            nruns > 1 ? " (medians; ratio range over the runs)" : "", elapsed_s);
    fprintf(out, "machine: %ld cpus, %s, %s; iperf3: %s\n", m->cpus, m->cpu, m->kernel,
            m->iperf3[0] ? m->iperf3 : "not installed");
    fprintf(out, "%-24s %-8s %12s %12s %8s %13s %9s\n", "row", "unit", "kernel", "zts", "ratio",
            "ratio range", "iperf3");
    int disagree = 0;
    for (int i = 0; i < nrows[0]; i++) {
        struct summary s = summarize(i);
        char k[32], z[32], q[32], range[32], p[32];
        fmt_num(k, sizeof k, s.kernel.median, "-");
        fmt_num(z, sizeof z, s.zts.median, "-");
        if (isfinite(s.ratio.median))
            snprintf(q, sizeof q, "%.2f", s.ratio.median);
        else
            snprintf(q, sizeof q, "-");
        if (s.ratio.n > 1)
            snprintf(range, sizeof range, "%.2f-%.2f", s.ratio.min, s.ratio.max);
        else
            snprintf(range, sizeof range, "-");
        fmt_num(p, sizeof p, s.iperf3.median, "");
        int off = isfinite(s.gap) && fabs(s.gap) > tolerance;
        disagree |= off;
        fprintf(out, "%-24s %-8s %12s %12s %8s %13s %9s%s\n", s.first->row, s.first->unit, k, z,
                q, range, p, off ? " *" : "");
    }
    fprintf(out, "(ratio > 1: zts is better; zts/kernel for rates, kernel/zts for times, "
                 "latencies, memory)\n");
    if (disagree) {
        fprintf(out, "* the kernel column and iperf3 differ by more than %.0f%%:", tolerance * 100);
        for (int i = 0; i < nrows[0]; i++) {
            struct summary s = summarize(i);
            if (isfinite(s.gap) && fabs(s.gap) > tolerance)
                fprintf(out, " %s %+.0f%%", s.first->row, s.gap * 100);
        }
        fprintf(out, "\n");
    }
    for (int i = 0; i < nnotes; i++)
        fprintf(out, "%s\n", notes[i]);
}

static void json_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.6g", v);
    else
        fprintf(out, "null");
}

static void json_spread(FILE *out, const char *name, struct spread s)
{
    fprintf(out, ", \"%s\": ", name);
    json_num(out, s.median);
    fprintf(out, ", \"%s_min\": ", name);
    json_num(out, s.min);
    fprintf(out, ", \"%s_max\": ", name);
    json_num(out, s.max);
}

void report_print_json(FILE *out, double window_s, double tolerance)
{
    const struct machine *m = &g_machine;
    fprintf(out, "{\n  \"machine\": {\"cpus\": %ld, \"cpu\": ", m->cpus);
    json_str(out, m->cpu);
    fprintf(out, ", \"kernel\": ");
    json_str(out, m->kernel);
    fprintf(out, ", \"zts\": ");
    json_str(out, m->zts);
    fprintf(out, ", \"iperf3\": ");
    if (m->iperf3[0])
        json_str(out, m->iperf3);
    else
        fprintf(out, "null");
    fprintf(out, "},\n  \"window_s\": %.3g, \"runs\": %d, \"iperf3_tolerance\": %.2f,\n",
            window_s, nruns, tolerance);
    fprintf(out, "  \"notes\": [");
    for (int i = 0; i < nnotes; i++) {
        json_str(out, notes[i]);
        if (i + 1 < nnotes)
            fprintf(out, ", ");
    }
    fprintf(out, "],\n  \"rows\": [\n");
    for (int i = 0; i < nrows[0]; i++) {
        struct summary s = summarize(i);
        fprintf(out, "    {\"row\": \"%s\", \"unit\": \"%s\"", s.first->row, s.first->unit);
        json_spread(out, "kernel", s.kernel);
        json_spread(out, "zts", s.zts);
        json_spread(out, "ratio", s.ratio);
        json_spread(out, "iperf3", s.iperf3);
        fprintf(out, ", \"iperf3_agrees\": ");
        if (isfinite(s.gap))
            fprintf(out, "%s", fabs(s.gap) <= tolerance ? "true" : "false");
        else
            fprintf(out, "null");
        fprintf(out, "}%s\n", i + 1 < nrows[0] ? "," : "");
    }
    fprintf(out, "  ]\n}\n");
}
