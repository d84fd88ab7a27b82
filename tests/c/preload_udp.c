/* preload_udp: a connected UDP socket on zts under libzts_preload.so,
 * driven through sendmmsg, recvmmsg and a fortified recvfrom (built with
 * -D_FORTIFY_SOURCE=2, which makes it __recvfrom_chk). Sends "one" and
 * "two" to the echo at 10.7.0.1:7000 and prints what comes back. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(7000)};
    inet_pton(AF_INET, "10.7.0.1", &to.sin_addr);
    if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
        perror("socket/connect");
        return 1;
    }
    char one[] = "one", two[] = "two";
    struct iovec out[2] = {{one, 3}, {two, 3}};
    struct mmsghdr outgoing[2];
    memset(outgoing, 0, sizeof outgoing);
    for (int i = 0; i < 2; i++) {
        outgoing[i].msg_hdr.msg_iov = &out[i];
        outgoing[i].msg_hdr.msg_iovlen = 1;
    }
    if (sendmmsg(s, outgoing, 2, 0) != 2) {
        perror("sendmmsg");
        return 1;
    }
    char in[2][64];
    struct iovec iov[2] = {{in[0], sizeof in[0]}, {in[1], sizeof in[1]}};
    struct mmsghdr incoming[2];
    memset(incoming, 0, sizeof incoming);
    for (int i = 0; i < 2; i++) {
        incoming[i].msg_hdr.msg_iov = &iov[i];
        incoming[i].msg_hdr.msg_iovlen = 1;
    }
    int got = 0;
    while (got < 2) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 20000) != 1) {
            fprintf(stderr, "no reply\n");
            return 1;
        }
        int n = recvmmsg(s, incoming + got, 2 - got, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            perror("recvmmsg");
            return 1;
        }
        for (int i = got; i < got + n; i++)
            printf("recvmmsg: %.*s\n", (int)incoming[i].msg_len, in[i]);
        got += n;
    }
    char buf[64];
    if (send(s, "three", 5, 0) != 5) {
        perror("send");
        return 1;
    }
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, NULL, NULL);
    if (n < 0) {
        perror("recvfrom");
        return 1;
    }
    printf("recvfrom: %.*s\n", (int)n, buf);
    return 0;
}
