/* http-get: fetch a URL over a zts network and save the body.
 *
 *   http-get URI ADDRESS URL OUTFILE [DNS_SERVER]
 *
 * URI is any zts network; ADDRESS is "10.0.0.2/24" or "dhcp" (then the
 * lease's DNS server is used). URL is http://HOST[:PORT]/PATH, HOST a name
 * or an IPv4 address. Prints the address used and the byte count. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zts.h>

static void fail(const char *what)
{
    fprintf(stderr, "http-get: %s: %s\n", what, zts_errmsg());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: http-get URI ADDRESS URL OUTFILE [DNS_SERVER]\n"
                        "  e.g. http-get mem:lab 10.0.0.2/24 http://10.0.0.1:8080/index.html out.html\n");
        return 2;
    }
    char host[256], path[1024] = "/", port[8] = "80";
    if (sscanf(argv[3], "http://%255[^:/]:%7[0-9]%1023s", host, port, path) < 2 &&
        sscanf(argv[3], "http://%255[^:/]%1023s", host, path) < 1) {
        fprintf(stderr, "http-get: not an http:// URL: %s\n", argv[3]);
        return 2;
    }
    int node = zts_node_new();
    if (node < 0) fail("zts_node_new");
    int net = zts_net_join(node, argv[1]);
    if (net < 0) fail(argv[1]);
    if (zts_addr_add(node, net, argv[2]) < 0) fail(argv[2]);
    if (argc == 6 && zts_dns_add(node, argv[5]) < 0) fail(argv[5]);
    if (zts_node_start(node) < 0) fail("zts_node_start");
    if (zts_node_set_default(node) < 0) fail("zts_node_set_default");

    /* With DHCP the address (and DNS server) arrive a little later. */
    struct sockaddr_storage me;
    for (int i = 0; zts_addr_get(node, net, AF_INET, &me) < 0; i++) {
        if (i > 400) fail("no IPv4 address (DHCP)");
        struct pollfd none;
        zts_poll(&none, 0, 50);
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, ip, sizeof ip);
    printf("address %s\n", ip);

    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
    int rc = zts_getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "http-get: %s: %s\n", host, zts_gai_strerror(rc));
        return 1;
    }
    char peer[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, peer, sizeof peer);
    printf("resolved %s to %s\n", host, peer);
    int fd = zts_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("zts_socket");
    if (zts_connect(fd, res->ai_addr, res->ai_addrlen) < 0) fail("zts_connect");
    zts_freeaddrinfo(res);

    char req[1400];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
                      path, host);
    if (zts_write(fd, req, (size_t)rl) != rl) fail("zts_write");

    FILE *out = fopen(argv[4], "wb");
    if (!out) {
        perror(argv[4]);
        return 1;
    }
    /* Skip the response head, then copy the body to the file. */
    static char buf[65536];
    char head[8192];
    size_t hl = 0, body = 0;
    int in_body = 0;
    ssize_t n;
    while ((n = zts_read(fd, buf, sizeof buf)) > 0) {
        char *p = buf;
        size_t left = (size_t)n;
        if (!in_body) {
            size_t take = left < sizeof head - 1 - hl ? left : sizeof head - 1 - hl;
            memcpy(head + hl, p, take);
            hl += take;
            head[hl] = '\0';
            char *end = strstr(head, "\r\n\r\n");
            if (!end) {
                if (hl == sizeof head - 1) {
                    fprintf(stderr, "http-get: response head too long\n");
                    return 1;
                }
                continue;
            }
            if (strncmp(head, "HTTP/1.", 7) != 0 || strncmp(head + 9, "200", 3) != 0) {
                fprintf(stderr, "http-get: %.*s\n", (int)strcspn(head, "\r"), head);
                return 1;
            }
            size_t head_len = (size_t)(end + 4 - head);
            size_t consumed = head_len - (hl - take);
            p += consumed;
            left -= consumed;
            in_body = 1;
        }
        if (left > 0 && fwrite(p, 1, left, out) != left) {
            perror(argv[4]);
            return 1;
        }
        body += left;
    }
    if (n < 0) fail("zts_read");
    fclose(out);
    zts_close(fd);
    printf("saved %zu bytes to %s\n", body, argv[4]);
    zts_node_free(node);
    return 0;
}
