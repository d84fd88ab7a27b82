/* iperf3 as a second opinion on the kernel's bulk figures: a one-off
 * `iperf3 -s -1` and `iperf3 -c 127.0.0.1 -J` on a free loopback port,
 * run in the same process tree and the same minute as the benchmark. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* A loopback TCP port nobody listens on now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Starts argv with stdout into *out_fd (or /dev/null when out_fd is NULL). */
static pid_t spawn(char *const argv[], int *out_fd)
{
    int p[2] = {-1, -1};
    if (out_fd && pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(out_fd ? p[1] : null, 1);
        dup2(null, 2);
        if (out_fd) {
            close(p[0]);
            close(p[1]);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (out_fd) {
        close(p[1]);
        *out_fd = p[0];
    }
    return pid;
}

/* Everything `fd` gives until EOF, NUL-terminated (NULL on no memory). */
static char *slurp(int fd)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 == cap) {
            char *more = realloc(buf, cap * 2);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (buf)
        buf[len] = '\0';
    close(fd);
    return buf;
}

/* Runs argv to its end: what it printed (NULL if it did not start), and
 * its wait status in *status. */
static char *run(char *const argv[], int *status)
{
    int fd;
    pid_t pid = spawn(argv, &fd);
    if (pid < 0)
        return NULL;
    char *text = slurp(fd);
    waitpid(pid, status, 0);
    return text;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void iperf3_version(char *out, size_t cap)
{
    out[0] = '\0';
    char *argv[] = {"iperf3", "--version", NULL};
    int status;
    char *text = run(argv, &status);
    if (text && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        snprintf(out, cap, "%s", text);
        out[strcspn(out, "\n")] = '\0';
    }
    free(text);
}

/* end.sum_received.bits_per_second from iperf3's JSON. */
static double received_bps(const char *json)
{
    const char *sum = strstr(json, "\"sum_received\"");
    const char *bps = sum ? strstr(sum, "\"bits_per_second\"") : NULL;
    const char *colon = bps ? strchr(bps, ':') : NULL;
    return colon ? strtod(colon + 1, NULL) : NAN;
}

double iperf3_gbps(int seconds, int streams, size_t len)
{
    int port = free_port();
    if (port < 0) {
        fprintf(stderr, "zts-bench: iperf3: no free loopback port: %s\n", strerror(errno));
        return NAN;
    }
    char p[16], t[16], l[32], n[16];
    snprintf(p, sizeof p, "%d", port);
    snprintf(t, sizeof t, "%d", seconds < 1 ? 1 : seconds);
    snprintf(l, sizeof l, "%zu", len);
    snprintf(n, sizeof n, "%d", streams);
    char *server[] = {"iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", p, NULL};
    pid_t spid = spawn(server, NULL);
    if (spid < 0) {
        fprintf(stderr, "zts-bench: iperf3: cannot start the server: %s\n", strerror(errno));
        return NAN;
    }
    char *client[] = {"iperf3", "-c", "127.0.0.1", "-p", p, "-t", t, "-l", l, "-P", n, "-J", NULL};
    double gbps = NAN;
    /* The server needs a moment to listen; a refused client exits at once. */
    for (int attempt = 0; attempt < 50; attempt++) {
        int status;
        char *json = run(client, &status);
        if (!json)
            break;
        int done = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (done)
            gbps = received_bps(json) / 1e9;
        /* Any failure but "not listening yet" is final. */
        int retry = !done && strstr(json, "unable to connect");
        free(json);
        if (!retry)
            break;
        sleep_ms(20);
    }
    if (!isfinite(gbps))
        fprintf(stderr, "zts-bench: iperf3 -c 127.0.0.1 -p %d failed\n", port);
    /* A one-off server exits after its test; one that never got a client does not. */
    int status;
    for (int i = 0; i < 100 && waitpid(spid, &status, WNOHANG) == 0; i++) {
        if (i == 50)
            kill(spid, SIGTERM);
        sleep_ms(20);
    }
    if (waitpid(spid, &status, WNOHANG) == 0) {
        kill(spid, SIGKILL);
        waitpid(spid, &status, 0);
    }
    return gbps;
}
