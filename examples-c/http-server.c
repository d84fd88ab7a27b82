/* http-server: serve the files of a directory over HTTP/1.0 from a zts node.
 *
 *   http-server URI ADDRESS PORT DIR
 *
 * URI is any zts network ("mem:lab", "vxlan://0.0.0.0:4789?vni=42&peer=...",
 * "tap:zt0"); ADDRESS is "10.0.0.1/24" or "dhcp". The server prints
 * "ready ADDRESS:PORT (udp port N)" once it listens, then serves until
 * killed, one connection at a time. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zts.h>

static void fail(const char *what)
{
    fprintf(stderr, "http-server: %s: %s\n", what, zts_errmsg());
    exit(1);
}

/* Writes all of buf; false when the client went away. */
static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = zts_write(fd, p, len);
        if (n < 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static void respond(int fd, const char *dir)
{
    char req[2048];
    size_t got = 0;
    /* Read the request head (we need only its first line). */
    while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t n = zts_read(fd, req + got, sizeof req - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        req[got] = '\0';
    }
    char method[8], path[1024];
    if (sscanf(req, "%7s %1023s", method, path) != 2 || strcmp(method, "GET") != 0) {
        const char *bad = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        send_all(fd, bad, strlen(bad));
        return;
    }
    /* No way out of DIR. */
    if (strstr(path, "..") || path[0] != '/') {
        const char *no = "HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        send_all(fd, no, strlen(no));
        return;
    }
    char file[2048];
    snprintf(file, sizeof file, "%s%s", dir, path);
    FILE *f = fopen(file, "rb");
    if (!f) {
        const char *nf = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        send_all(fd, nf, strlen(nf));
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %ld\r\nConnection: close\r\n\r\n", size);
    if (send_all(fd, head, (size_t)hl)) {
        static char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0 && send_all(fd, buf, n))
            ;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: http-server URI ADDRESS PORT DIR\n"
                        "  e.g. http-server mem:lab 10.0.0.1/24 8080 /srv/files\n");
        return 2;
    }
    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    int net = zts_net_join(node, argv[1]);
    if (net < 0) fail(argv[1]);
    if (zts_addr_add(node, net, argv[2]) < 0) fail(argv[2]);
    if (zts_node_start(node) < 0) fail("zts_node_start");

    int port = atoi(argv[3]);
    int l = zts_node_socket(node, AF_INET, SOCK_STREAM, 0);
    if (l < 0) fail("zts_node_socket");
    int one = 1;
    zts_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (zts_bind(l, (struct sockaddr *)&sin, sizeof sin) < 0) fail("zts_bind");
    if (zts_listen(l, 16) < 0) fail("zts_listen");

    /* With DHCP the address arrives later: wait for it before saying ready. */
    struct sockaddr_storage me;
    while (zts_addr_get(node, net, AF_INET, &me) < 0) {
        struct pollfd none;
        zts_poll(&none, 0, 50);
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, ip, sizeof ip);
    printf("ready %s:%d (udp port %d)\n", ip, port, zts_net_get_port(node, net));
    fflush(stdout);

    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int c = zts_accept(l, (struct sockaddr *)&peer, &len);
        if (c < 0) fail("zts_accept");
        respond(c, argv[4]);
        zts_close(c);
    }
}
