/*
 * zts: a userspace TCP/IP stack with a BSD-style socket API.
 *
 * Calls return -1 (or NULL) on failure and set the calling thread's errno to
 * the platform's value; zts_errno() returns the same value.
 * Types and constants (AF_INET, SOCK_STREAM, struct sockaddr_in, ...) are the
 * system's own.
 */

#ifndef ZTS_H
#define ZTS_H

/* Generated from the Rust sources by build.rs (cbindgen). Do not edit. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/select.h>
#include <poll.h>
#include <netdb.h>

/*
 Kinds of `struct zts_event`.
 */
enum zts_event_type {
  /*
   A node started.
   */
  ZTS_EVENT_NODE_UP = 1,
  /*
   A node stopped.
   */
  ZTS_EVENT_NODE_DOWN = 2,
  /*
   A started node's network is up (`net` says which).
   */
  ZTS_EVENT_NET_UP = 3,
  /*
   A network went down with its node.
   */
  ZTS_EVENT_NET_DOWN = 4,
  /*
   An address was added to a running node (or came with its start,
   or from DHCP); `addr` holds it.
   */
  ZTS_EVENT_ADDR_ADDED = 5,
  /*
   An address was removed (a DHCP lease ended); `addr` holds it.
   */
  ZTS_EVENT_ADDR_REMOVED = 6,
};

/*
 An event given to the handler set with zts_set_event_handler; valid
 only during the call.
 */
struct zts_event {
  /*
   One of `enum zts_event_type`.
   */
  int type;
  int node;
  /*
   The network id within the node; -1 for node events.
   */
  int net;
  /*
   For address events: a `sockaddr_in` or `sockaddr_in6` (port 0);
   otherwise `ss_family` is AF_UNSPEC.
   */
  struct sockaddr_storage addr;
};

/*
 Frame counters of one network of a node (zts_net_stats).
 */
struct zts_net_stats {
  /*
   Frames (and their bytes) the node received from the network.
   */
  uint64_t rx_frames;
  uint64_t rx_bytes;
  /*
   Frames (and their bytes) the node put on the network.
   */
  uint64_t tx_frames;
  uint64_t tx_bytes;
  /*
   Received frames dropped because the node's queue was full.
   */
  uint64_t drop_queue_full;
  /*
   VXLAN datagrams from an endpoint that is not a peer (learn=0).
   */
  uint64_t drop_not_peer;
  /*
   Frames too short, with a bad VXLAN header, or the wrong VNI.
   */
  uint64_t drop_malformed;
  /*
   Frames larger than the network's MTU.
   */
  uint64_t drop_oversize;
  /*
   Frames the in-process switch lost on purpose (loss=).
   */
  uint64_t drop_impaired;
  /*
   Frames the OS refused to send (a full socket buffer, say).
   */
  uint64_t drop_send_failed;
};

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/*
 The calling thread's last zts error (the errno value the last failing
 zts call set); 0 if no zts call has failed on this thread.
 */
int zts_errno(void);

/*
 Why the calling thread's last failing zts call failed: a detailed
 explanation when there is one (for example why a TAP device cannot be
 created), else the errno's standard text. Valid until this thread's
 next zts call; never freed by the caller.
 */
const char *zts_errmsg(void);

/*
 Sets the function called for each node and network event (NODE_UP,
 NODE_DOWN, NET_UP, NET_DOWN, ADDR_ADDED, ADDR_REMOVED), or clears it
 when `cb` is NULL. Events are delivered in the order they happened, one
 at a time, from a dedicated thread, as soon as they happen; events with
 no handler set are dropped. The handler may call any zts function.
 `ev` is valid during the call only; `user` is passed back unchanged and
 must stay valid until the handler is replaced or cleared: when this
 returns (called from outside the handler), the previous handler is not
 running and will not be called again.
 */
int zts_set_event_handler(void (*cb)(const struct zts_event *ev, void *user), void *user);

/*
 `zts_recv` with no flags.
 */
ssize_t zts_read(int fd, void *buf, size_t len);

/*
 `zts_send` with no flags.
 */
ssize_t zts_write(int fd, const void *buf, size_t len);

/*
 Reads up to `len` bytes into `buf` (valid for `len` bytes for the call)
 and returns how many; 0 once the peer has shut down writing. A stream
 socket returns what is available without waiting for `len`
 (MSG_WAITALL waits); a datagram socket returns one datagram, cut to
 `len` (MSG_TRUNC returns its full length). Blocks unless O_NONBLOCK or
 MSG_DONTWAIT (then EAGAIN); SO_RCVTIMEO bounds the wait (EAGAIN).
 MSG_PEEK leaves the data queued.

 Errors: EBADF (also when closed while blocked), EFAULT (NULL buf with
 len > 0), ENOTCONN, ECONNRESET, ENETDOWN (node stopped), EOPNOTSUPP.
 */
ssize_t zts_recv(int fd, void *buf, size_t len, int flags);

/*
 `zts_recv` that also reports the sender in `addr` (may be NULL),
 truncated to `*addrlen`, with `*addrlen` set to the address's size.
 Stream sockets leave `addr` untouched.
 */
ssize_t zts_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addrlen);

/*
 Queues `len` bytes from `buf` (read during the call only). On a stream
 socket a blocking send returns once every byte is queued; O_NONBLOCK or
 MSG_DONTWAIT queue what fits (EAGAIN if nothing does). On a datagram
 socket it sends one datagram to the connected peer. SO_SNDTIMEO bounds
 the wait. Never raises SIGPIPE.

 Errors: EBADF, EFAULT, ENOTCONN, EDESTADDRREQ, EPIPE (shut down or
 reset), ECONNRESET, EMSGSIZE, ENETDOWN, EOPNOTSUPP.
 */
ssize_t zts_send(int fd, const void *buf, size_t len, int flags);

/*
 `zts_send` to `addr` (read during the call; NULL for the connected
 peer). Datagrams: up to 65507 bytes over IPv4 (fragmented as needed);
 over IPv6 up to what fits the network's MTU (no IPv6 fragmentation: 1452
 bytes of UDP payload at MTU 1500), else EMSGSIZE; to a broadcast address
 only with SO_BROADCAST (else EACCES). Stream sockets ignore `addr`.

 Errors: as zts_send, plus EINVAL (address length or family, port 0),
 ENETUNREACH, EACCES.
 */
ssize_t zts_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t addrlen);

/*
 Reads into `iovcnt` (at most 1024) buffers in order, as zts_read.
 `iov` and its buffers are used during the call only.
 Errors: as zts_read, plus EINVAL (iovcnt).
 */
ssize_t zts_readv(int fd, const struct iovec *iov, int iovcnt);

/*
 Writes `iovcnt` (at most 1024) buffers in order as one zts_write (one
 datagram on a datagram socket).
 Errors: as zts_write, plus EINVAL (iovcnt).
 */
ssize_t zts_writev(int fd, const struct iovec *iov, int iovcnt);

/*
 recvmsg(2): reads into `msg->msg_iov`, writes the sender to
 `msg->msg_name` (if not NULL; `msg_namelen` is updated), sets
 `msg->msg_controllen` to 0 (no ancillary data is produced) and
 `msg->msg_flags` (MSG_TRUNC when a datagram was cut).
 Errors: as zts_recvfrom, plus EFAULT (NULL msg), EINVAL (msg_iovlen).
 */
ssize_t zts_recvmsg(int fd, struct msghdr *msg, int flags);

/*
 sendmsg(2): sends `msg->msg_iov` as one zts_sendto to `msg->msg_name`
 (NULL for the connected peer). Ancillary data is not supported
 (EOPNOTSUPP when `msg_controllen` > 0).
 Errors: as zts_sendto, plus EFAULT (NULL msg), EINVAL (msg_iovlen).
 */
ssize_t zts_sendmsg(int fd, const struct msghdr *msg, int flags);

/*
 getaddrinfo(3) on node `node`: numeric addresses, "localhost", names
 added with zts_hosts_add, then DNS (A and AAAA) over the node's networks
 to the servers added with zts_dns_add. `host`, `service` and `hints`
 (each may be NULL, not both host and service) are read during the call;
 on success `*res` is a list to free with zts_freeaddrinfo (not the
 system's freeaddrinfo). Returns 0 or an EAI_* code (zts_gai_strerror
 explains it); EAI_SYSTEM sets errno.
 */
int zts_node_getaddrinfo(int node, const char *host, const char *service, const struct addrinfo *hints, struct addrinfo **res);

/*
 zts_node_getaddrinfo on the default node (zts_node_set_default);
 without one, only numeric hosts and "localhost" resolve.
 */
int zts_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints, struct addrinfo **res);

/*
 Frees a list from zts_getaddrinfo; NULL is a no-op.
 */
void zts_freeaddrinfo(struct addrinfo *res);

/*
 The message for an EAI_* code from zts_getaddrinfo (the platform's
 text); a static string, never freed.
 */
const char *zts_gai_strerror(int code);

/*
 Makes `name` resolve to `addr` (numeric) on node `node`, before DNS; a
 name may have several addresses. Errors: ENODEV, EFAULT, EINVAL.
 */
int zts_hosts_add(int node, const char *name, const char *addr);

/*
 Adds a DNS server (numeric IPv4 or IPv6 address) for node `node`'s
 lookups; up to 4 are asked, in the order added. It is reached over the
 network its address routes to. Errors: ENODEV, EFAULT, EINVAL.
 */
int zts_dns_add(int node, const char *addr);

/*
 Creates a stopped node and returns its id (a small non-negative int),
 or -1 with errno set.
 */
int zts_node_new(void);

/*
 Joins the node to the network `uri` names and returns the network's id
 within the node (0 for the first). The node must be stopped. `uri` is
 read during the call only.

 - `mem:NAME`: the in-process Ethernet segment NAME, shared by every node
   of this process that joined it. Impairment of what this node sends:
   `loss=P`, `dup=P`, `reorder=P`, `corrupt=P` (probabilities 0..1),
   `delay_ms=N`, `jitter_ms=N`, `seed=N` (the same seed, the same run).
   A TCP segment of up to 64 KiB crosses the switch as one frame, as on
   the kernel's loopback and veth (cut to the MTU's frames where they are
   impaired or shown); `gso=off` sends only frames of the MTU's size.
 - `vxlan://BIND_IP:PORT?vni=N&peer=IP:PORT[&peer=...][&learn=1]`:
   Ethernet in UDP with the RFC 7348 header, interoperable with Linux
   `vxlan` devices. The socket is bound at the join (port 0 picks one;
   zts_net_get_port reads it). Broadcast and unknown unicast go to every
   peer; a learned MAC only to its peer. Datagrams from other endpoints
   are dropped (counted) unless `learn=1`. Peers are matched by address.
 - `tap:NAME`: a Linux TAP device (created if missing); needs
   CAP_NET_ADMIN, else EPERM with the reason in zts_errmsg().
 - Every backend: `mtu=N` (576..65535, default 1500) and `pcap=PATH`
   (every frame both ways, written to a pcap file from the join on).

 Errors: ENODEV (no such node), EFAULT (NULL uri), EINVAL (malformed
 URI or option), EPROTONOSUPPORT (unknown scheme), EISCONN (node
 running), EADDRINUSE (VXLAN port taken), errors creating the pcap file.
 */
int zts_net_join(int node, const char *uri);

/*
 Adds an address with its prefix length ("10.0.0.1/24", "fd00::1/64") to
 network `net` of the node; works on a stopped or running node. "dhcp"
 instead runs a DHCPv4 client on the network while the node runs: the
 lease brings the IPv4 address, the default route and DNS servers, each
 announced by ZTS_EVENT_ADDR_ADDED (and ZTS_EVENT_ADDR_REMOVED when the
 lease ends).

 Errors: ENODEV, EFAULT, EINVAL (bad CIDR or network id), EADDRINUSE
 (the node already has it), ENOBUFS (more than 8 addresses on one
 network), EALREADY (DHCP already on for the network).
 */
int zts_addr_add(int node, int net, const char *cidr);

/*
 Routes `cidr` ("0.0.0.0/0" for the default route, "fd00:9::/64", ...)
 through the gateway `via`, which must lie in the subnet of one of the
 node's networks: that network carries the traffic. Works on a stopped
 or running node; a route for the same prefix is replaced.

 Errors: ENODEV, EFAULT, EINVAL (bad CIDR or gateway, mixed families),
 ENETUNREACH (no network's subnet holds the gateway).
 */
int zts_route_add(int node, const char *cidr, const char *via);

/*
 Writes the first address of `family` (AF_INET or AF_INET6) on network
 `net` of the node to `*out` (a `struct sockaddr_storage` holding a
 `sockaddr_in` or `sockaddr_in6` with port 0).

 Errors: ENODEV, EFAULT (NULL out), EINVAL (no such network),
 EAFNOSUPPORT (family), EADDRNOTAVAIL (no address of that family yet).
 */
int zts_addr_get(int node, int net, int family, struct sockaddr_storage *out);

/*
 Copies the frame counters of network `net` of the node into `*out`.
 They count from the join and survive stop and start.
 Errors: ENODEV, EINVAL (no such network), EFAULT (NULL out).
 */
int zts_net_stats(int node, int net, struct zts_net_stats *out);

/*
 The local UDP port of a `vxlan://` network (useful after binding port
 0), known from the join on. Errors: ENODEV, EINVAL (no such network),
 EOPNOTSUPP (not an overlay network).
 */
int zts_net_get_port(int node, int net);

/*
 Starts the node: attaches it to its networks and spawns its stack
 thread. Errors: ENODEV, EALREADY (already running).
 */
int zts_node_start(int node);

/*
 Stops the node: its connections are reset (data still queued in them is
 lost: read to the end of stream before stopping to be sure it arrived),
 calls blocked on its sockets return -1 with ENETDOWN, and its threads
 are joined. Its fds stay open
 (every call on them fails with ENETDOWN) until closed. The node can be
 started again. Errors: ENODEV, ENETDOWN (not running).
 */
int zts_node_stop(int node);

/*
 Stops the node if it runs and forgets it; its id becomes invalid.
 Errors: ENODEV.
 */
int zts_node_free(int node);

/*
 Makes `node` the one `zts_socket` creates sockets on. Errors: ENODEV.
 */
int zts_node_set_default(int node);

/*
 Sets how far the send and receive buffers of the node's TCP sockets
 created from now on may grow by themselves, each way: from 512 KiB
 they grow as a connection's rate times its RTT asks (16 MiB by default;
 the pages are mapped as data fills them). A socket given SO_RCVBUF or
 SO_SNDBUF before it connects keeps that size instead, as on Linux.
 Errors: ENODEV, EINVAL (`bytes` outside 4 KiB..32 MiB).
 */
int zts_node_set_tcp_buffer_max(int node, size_t bytes);

/*
 The library's version, e.g. "0.1.0"; a static string, never freed.
 */
const char *zts_version(void);

/*
 Sets an option; `val` is read during the call only.
 - SOL_SOCKET: SO_RCVTIMEO, SO_SNDTIMEO (struct timeval), SO_RCVBUF,
   SO_SNDBUF (int bytes, 4 KiB to 32 MiB; they size the socket's
   buffers, a TCP connection's as it starts, so set them before connect
   or listen; TCP default 512 KiB, datagram 256 KiB), SO_REUSEADDR,
   SO_KEEPALIVE, SO_BROADCAST, SO_RCVLOWAT (int), SO_LINGER (struct
   linger; {1, 0} makes close send a reset; a nonzero time is kept but
   close never blocks: queued data is sent after it returns).
 - IPPROTO_TCP: TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
   (smoltcp has one keepalive timer: probes every TCP_KEEPIDLE seconds of
   silence; the connection drops after TCP_KEEPIDLE + TCP_KEEPINTVL x
   TCP_KEEPCNT seconds without an answer).
 - IPPROTO_IP: IP_TTL, IP_TOS (kept and reported, but packets carry TOS
   0: smoltcp does not set it), IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP
   (struct ip_mreq; imr_interface INADDR_ANY joins on every network).
 - IPPROTO_IPV6: IPV6_UNICAST_HOPS, IPV6_V6ONLY (before bind),
   IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP (struct ipv6_mreq; interface index
   n + 1 is network n, 0 every network).

 Errors: EBADF, EFAULT (NULL val with len > 0), EINVAL (len too short or
 bad value), ENOPROTOOPT (unknown level or option).
 */
int zts_setsockopt(int fd, int level, int name, const void *val, socklen_t len);

/*
 Reads an option into `val` (truncated to `*len`; `*len` is set to the
 bytes written). Besides those zts_setsockopt takes (but the multicast
 ones): SO_ERROR (and clears it), SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
 SO_ACCEPTCONN, TCP_MAXSEG (the connection's segment size).

 Errors: EBADF, EFAULT, ENOPROTOOPT.
 */
int zts_getsockopt(int fd, int level, int name, void *val, socklen_t *len);

/*
 F_GETFL returns the fd's flags (O_RDWR, plus O_NONBLOCK when set);
 F_SETFL sets or clears O_NONBLOCK from `arg`. Errors: EBADF, EINVAL.
 */
int zts_fcntl(int fd, int cmd, int arg);

/*
 ioctl(2) on a zts fd: FIONREAD writes to `*(int *)arg` the bytes a read
 would return now (the size of the next datagram on a datagram socket);
 FIONBIO sets O_NONBLOCK from `*(int *)arg`.
 Errors: EBADF, EFAULT (NULL arg), ENOTTY (other requests).
 */
int zts_ioctl(int fd, unsigned long request, void *arg);

/*
 poll(2) over zts fds (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP,
 POLLNVAL). `fds` is valid for `nfds` entries during the call; a negative
 fd is skipped. `timeout_ms` < 0 waits forever, 0 does not wait.
 Returns how many entries have events, 0 on timeout.
 Errors: EFAULT (NULL fds with nfds > 0), EINVAL (nfds too large).
 */
int zts_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/*
 select(2) over zts fds with the system's `fd_set` (so at most
 FD_SETSIZE, 1024, fds). Each set may be NULL; they are rewritten to the
 ready fds. `timeout` NULL waits forever. The exception set reports
 nothing (zts has no out-of-band data) and is cleared. Returns the
 number of bits set, 0 on timeout.
 Errors: EINVAL (nfds or timeout), EBADF (a set names a non-zts fd).
 */
int zts_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout);

/*
 Creates a socket on node `node` and returns its fd. `domain` is AF_INET
 or AF_INET6; `type` (optionally or'ed with SOCK_NONBLOCK) and
 `protocol`: SOCK_STREAM with 0 or IPPROTO_TCP; SOCK_DGRAM with 0 or
 IPPROTO_UDP; SOCK_DGRAM with IPPROTO_ICMP (AF_INET) or IPPROTO_ICMPV6
 (AF_INET6) for a ping socket, as on Linux; SOCK_RAW with an IP protocol
 number (IPv4 raw sockets receive the IP header, IPv6 ones do not).

 Errors: ENODEV (no such node), ENETDOWN (node not running),
 EAFNOSUPPORT (domain), EPROTONOSUPPORT / EINVAL (type or protocol),
 EMFILE (fd table full).
 */
int zts_node_socket(int node, int domain, int type, int protocol);

/*
 `zts_node_socket` on the default node (see `zts_node_set_default`);
 ENETDOWN if there is none.
 */
int zts_socket(int domain, int type, int protocol);

/*
 Binds the socket to a local address of its node (or the wildcard) and
 port (0 picks one). `addr` is read during the call only.

 Errors: EBADF, EFAULT (NULL addr), EINVAL (length too short for the
 family, family differs from the socket's, or already bound),
 EADDRNOTAVAIL (not an address of this node), EADDRINUSE.
 */
int zts_bind(int fd, const struct sockaddr *addr, socklen_t len);

/*
 Listens for connections; up to `backlog` (clamped to 1..4096) can wait
 to be accepted. Binds an ephemeral port if unbound.
 Errors: EBADF, EINVAL (connected), EADDRINUSE (another listener).
 */
int zts_listen(int fd, int backlog);

/*
 Accepts a connection and returns its fd; the peer's address goes to
 `addr` (may be NULL) truncated to `*len`, and `*len` is set to its size.
 Blocks unless O_NONBLOCK (then EAGAIN); SO_RCVTIMEO bounds the wait
 (EAGAIN). Errors: EBADF (also when the fd is closed while waiting),
 EINVAL (not listening), ENETDOWN (node stopped), EFAULT, EMFILE.
 */
int zts_accept(int fd, struct sockaddr *addr, socklen_t *len);

/*
 Connects to `addr`. Blocks until connected unless O_NONBLOCK, which
 gives EINPROGRESS (completion: POLLOUT from zts_poll, then SO_ERROR).
 The wait is bounded by SO_SNDTIMEO (default 30 s), then ETIMEDOUT.

 Errors: EBADF, EFAULT, EINVAL (length or family), ECONNREFUSED,
 ETIMEDOUT, ENETUNREACH (no network reaches addr), EALREADY, EISCONN,
 ENETDOWN (node stopped).
 */
int zts_connect(int fd, const struct sockaddr *addr, socklen_t len);

/*
 Shuts down reading (SHUT_RD), writing (SHUT_WR: the peer reads 0 once
 queued data is delivered) or both. Errors: EBADF, EINVAL, ENOTCONN.
 */
int zts_shutdown(int fd, int how);

/*
 Closes the fd. Queued data is still delivered, then the connection is
 closed (SO_LINGER {1, 0} resets it instead). Threads blocked on the fd
 return -1 with EBADF at once. Errors: EBADF.
 */
int zts_close(int fd);

/*
 The socket's local address (see zts_accept for `addr`/`len`).
 Errors: EBADF, EFAULT.
 */
int zts_getsockname(int fd, struct sockaddr *addr, socklen_t *len);

/*
 The connected peer's address (see zts_accept for `addr`/`len`).
 Errors: EBADF, EFAULT, ENOTCONN.
 */
int zts_getpeername(int fd, struct sockaddr *addr, socklen_t *len);

/*
 Creates a watch: an OS file descriptor (an eventfd) that is readable
 while at least one zts socket added to it is ready for what it was
 added for. Put it in epoll, poll, select, libuv or asyncio
 (`loop.add_reader`) beside your own fds; when it is readable, call
 zts_watch_ready to learn which sockets are ready. Level-triggered: a
 socket is reported, and the fd stays readable, while it remains ready.
 Returns the OS fd; close it only with zts_watch_free.
 Errors: EMFILE/ENFILE (no fd available).
 */
int zts_watch_new(void);

/*
 Watches zts fd `fd` for `events` (POLLIN, POLLOUT, POLLRDHUP; POLLERR
 and POLLHUP are always reported). Adding an fd again replaces its events.
 Errors: EBADF (`watch` is not a watch, or `fd` not a zts fd).
 */
int zts_watch_add(int watch, int fd, short events);

/*
 Stops watching `fd`. Errors: EBADF, ENOENT (not watched).
 */
int zts_watch_del(int watch, int fd);

/*
 Never blocks: fills up to `max` entries of `out` (valid for `max`
 entries during the call) with ready zts fds (`fd`, `revents`; `events`
 is set to 0) and returns how many, 0 if none. A watched fd that was
 closed is reported once with POLLNVAL and forgotten.
 Errors: EBADF, EFAULT (NULL out with max > 0), EINVAL (max < 0).
 */
int zts_watch_ready(int watch, struct pollfd *out, int max);

/*
 Forgets the watch and closes its OS fd. Errors: EBADF.
 */
int zts_watch_free(int watch);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* ZTS_H */
