/* One thread, one epoll loop: a zts echo server and 200 zts clients (all
 * non-blocking, on two nodes) plus an OS pipe, all woken through epoll.
 * The zts sockets reach epoll through a watch fd (zts_watch_new). */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <poll.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zts.h>

#define CLIENTS 200
#define MSG 1000
#define PORT 4000
#define MAXFD 1024

static void die(const char *what)
{
    fprintf(stderr, "epoll_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

enum role { NONE, LISTENER, SERVER_CONN, CLIENT };

struct conn {
    enum role role;
    int id;            /* client index */
    size_t sent, got;  /* client: bytes echoed back so far */
    unsigned char buf[MSG];
};

static struct conn conns[MAXFD];

static void fill(unsigned char *p, int id)
{
    unsigned x = 2166136261u ^ (unsigned)id;
    for (int i = 0; i < MSG; i++) {
        x = x * 16777619u + 12345u;
        p[i] = (unsigned char)(x >> 24);
    }
}

static int node(const char *cidr)
{
    int n = zts_node_new();
    if (n < 0) die("zts_node_new");
    int net = zts_net_join(n, "mem:epoll-server");
    if (net < 0) die("zts_net_join");
    if (zts_addr_add(n, net, cidr) < 0) die("zts_addr_add");
    if (zts_node_start(n) < 0) die("zts_node_start");
    return n;
}

static void watch(int w, int fd, short events)
{
    if (fd >= MAXFD) { fprintf(stderr, "epoll_server: fd %d too large\n", fd); exit(1); }
    if (zts_watch_add(w, fd, events) < 0) die("zts_watch_add");
}

static void drop(int w, int fd)
{
    if (zts_watch_del(w, fd) < 0) die("zts_watch_del");
    if (zts_close(fd) < 0) die("zts_close");
    conns[fd].role = NONE;
}

int main(void)
{
    int srv = node("10.30.0.1/24"), cli = node("10.30.0.2/24");
    int w = zts_watch_new();
    if (w < 0) die("zts_watch_new");
    int pipefd[2];
    if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) < 0) die("pipe2");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = w };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, w, &ev) < 0) die("epoll_ctl watch");
    ev.data.fd = pipefd[0];
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) < 0) die("epoll_ctl pipe");

    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    inet_pton(AF_INET, "10.30.0.1", &sin.sin_addr);
    int l = zts_node_socket(srv, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (l < 0) die("zts_node_socket listener");
    if (zts_bind(l, (struct sockaddr *)&sin, sizeof sin) < 0) die("zts_bind");
    if (zts_listen(l, CLIENTS) < 0) die("zts_listen");
    conns[l].role = LISTENER;
    watch(w, l, POLLIN);

    for (int i = 0; i < CLIENTS; i++) {
        int c = zts_node_socket(cli, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c < 0) die("zts_node_socket client");
        if (zts_connect(c, (struct sockaddr *)&sin, sizeof sin) == 0 || errno != EINPROGRESS)
            die("non-blocking connect should give EINPROGRESS");
        conns[c] = (struct conn){ .role = CLIENT, .id = i };
        watch(w, c, POLLOUT);
    }

    int done = 0, pipe_events = 0, accepted = 0, wakeups = 0;
    while (done < CLIENTS || pipe_events < CLIENTS / 50) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, 10000);
        if (n < 0) die("epoll_wait");
        if (n == 0) {
            fprintf(stderr, "epoll_server: stalled: %d clients done, %d pipe events\n", done, pipe_events);
            return 1;
        }
        wakeups++;
        for (int e = 0; e < n; e++) {
            if (evs[e].data.fd == pipefd[0]) {
                char b[64];
                ssize_t r;
                while ((r = read(pipefd[0], b, sizeof b)) > 0)
                    pipe_events += (int)r;
                continue;
            }
            struct pollfd ready[64];
            int k;
            while ((k = zts_watch_ready(w, ready, 64)) > 0) {
                for (int i = 0; i < k; i++) {
                    int fd = ready[i].fd;
                    short re = ready[i].revents;
                    struct conn *c = &conns[fd];
                    if (c->role == LISTENER) {
                        int a;
                        while ((a = zts_accept(fd, NULL, NULL)) >= 0) {
                            if (zts_fcntl(a, F_SETFL, O_NONBLOCK) < 0) die("zts_fcntl");
                            conns[a] = (struct conn){ .role = SERVER_CONN };
                            watch(w, a, POLLIN);
                            accepted++;
                        }
                        if (errno != EAGAIN) die("zts_accept");
                    } else if (c->role == SERVER_CONN) {
                        unsigned char b[4096];
                        ssize_t r = zts_read(fd, b, sizeof b);
                        if (r > 0) {
                            if (zts_write(fd, b, (size_t)r) != r) die("server zts_write");
                        } else if (r == 0) {
                            drop(w, fd);
                        } else if (errno != EAGAIN) {
                            die("server zts_read");
                        }
                    } else if (c->role == CLIENT && c->sent == 0 && (re & POLLOUT)) {
                        int err = -1;
                        socklen_t len = sizeof err;
                        if (zts_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
                            errno = err;
                            die("client connect");
                        }
                        unsigned char msg[MSG];
                        fill(msg, c->id);
                        if (zts_write(fd, msg, MSG) != MSG) die("client zts_write");
                        c->sent = MSG;
                        watch(w, fd, POLLIN);
                    } else if (c->role == CLIENT && (re & (POLLIN | POLLHUP | POLLERR))) {
                        ssize_t r = zts_read(fd, c->buf + c->got, MSG - c->got);
                        if (r < 0 && errno == EAGAIN) continue;
                        if (r <= 0) die("client zts_read (early end)");
                        c->got += (size_t)r;
                        if (c->got == MSG) {
                            unsigned char want[MSG];
                            fill(want, c->id);
                            if (memcmp(want, c->buf, MSG) != 0) {
                                fprintf(stderr, "epoll_server: client %d: echo differs\n", c->id);
                                return 1;
                            }
                            drop(w, fd);
                            done++;
                            /* Every 50 clients, a byte through the OS pipe. */
                            if (done % 50 == 0 && write(pipefd[1], "x", 1) != 1) die("write pipe");
                        }
                    }
                }
                if (k < 64) break;
            }
            if (k < 0) die("zts_watch_ready");
        }
    }
    printf("epoll_server: %d zts connections echoed and %d pipe events in one epoll loop "
           "(%d accepted, %d wakeups)\n", done, pipe_events, accepted, wakeups);
    zts_close(l);
    zts_watch_free(w);
    close(ep);
    close(pipefd[0]);
    close(pipefd[1]);
    zts_node_free(srv);
    zts_node_free(cli);
    return 0;
}
