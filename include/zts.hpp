/*
 * zts.hpp: a thin C++17 layer over zts.h, header-only.
 *
 * It adds ownership and exceptions, nothing else:
 *  - zts::Node owns a node id (zts_node_free on destruction) and
 *    zts::Socket owns a zts fd (zts_close on destruction). Both are
 *    move-only, so a node or fd has exactly one owner and is released once.
 *  - A failing call throws std::system_error(errno, std::generic_category(),
 *    "zts_xxx"), naming the C function that failed. Each throwing member has
 *    an overload taking std::error_code& that never throws: it clears the
 *    code on success and sets it from errno on failure. Use those where
 *    failure is expected, e.g. EAGAIN on non-blocking sockets.
 *
 * Every member is one C call (write_all is a loop of them), with the C
 * API's arguments and semantics; see zts.h for what each does and its
 * errors. Node::id() and Socket::fd() are the C API's own values, so
 * everything this layer leaves out (poll, fcntl, watches, getaddrinfo,
 * events, send/recv flags, getsockname...) is one zts_* call away, and
 * Socket::release() / Socket(int fd) move an fd between the two worlds.
 *
 * Destroy sockets before the node they live on (declare the Node first):
 * zts_node_free stops the node, after which their calls fail with ENETDOWN.
 *
 * Threads: as with raw fds, one Socket may be read in one thread and
 * written in another, and close() wakes a thread blocked on it (EBADF).
 * Moving or destroying a Socket or Node while another thread uses it is a
 * data race, as for any C++ object; Node::stop() is the way to wake every
 * thread blocked on a node's sockets (they fail with ENETDOWN).
 */
#ifndef ZTS_HPP
#define ZTS_HPP

#include <zts.h>

#include <netinet/in.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace zts {

namespace detail {

/* The error of the zts call that just failed. zts sets errno; its own
 * zts_errno() is the fallback should errno have been clobbered, and EIO
 * the last resort so that a failure never turns into an empty (= success)
 * error_code. */
inline int last_error() noexcept
{
    int e = errno;
    if (e == 0)
        e = zts_errno();
    return e != 0 ? e : EIO;
}

/* Sets ec from a C return value (negative: failed) and passes it on. */
template <class R>
R check(R ret, std::error_code& ec) noexcept
{
    if (ret < 0)
        ec.assign(last_error(), std::generic_category());
    else
        ec.clear();
    return ret;
}

/* The throwing overloads are the error_code ones plus this. */
inline void throw_if(const std::error_code& ec, const char* what)
{
    if (ec)
        throw std::system_error(ec, what);
}

/* The address structs whose size says which family they hold; they may be
 * passed by reference instead of as (const sockaddr*, socklen_t). */
template <class A> struct is_sockaddr : std::false_type {};
template <> struct is_sockaddr<sockaddr_in> : std::true_type {};
template <> struct is_sockaddr<sockaddr_in6> : std::true_type {};
template <> struct is_sockaddr<sockaddr_storage> : std::true_type {};
template <class A>
using if_sockaddr = std::enable_if_t<is_sockaddr<A>::value, int>;

/* Option values are passed as their bytes, so they must be plain data of
 * the option's C type: int for flags and sizes (bool is one byte and
 * would be refused with EINVAL), struct timeval, struct linger... */
template <class T>
constexpr void check_option_type() noexcept
{
    static_assert(std::is_trivially_copyable<T>::value,
                  "socket option values are copied as bytes");
    static_assert(!std::is_same<T, bool>::value,
                  "pass boolean options as int, as in C");
    static_assert(!std::is_pointer<T>::value,
                  "pass the option value itself, not a pointer to it");
}

} // namespace detail

/* A zts fd: closed on destruction. An empty Socket (default-constructed,
 * moved from, released or closed) holds -1, on which calls fail with
 * EBADF as the C calls do. */
class Socket {
public:
    Socket() noexcept = default;
    /* Adopts fd (from zts_node_socket, zts_accept, release()...). */
    explicit Socket(int fd) noexcept : fd_(fd) {}
    Socket(Socket&& other) noexcept : fd_(other.release()) {}
    Socket& operator=(Socket&& other) noexcept
    {
        if (this != &other) {
            std::error_code ignored;
            close(ignored);
            fd_ = other.release();
        }
        return *this;
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    /* zts_close's only error is EBADF, which a destructor could not report
     * anyway; call close() first to see it. */
    ~Socket()
    {
        std::error_code ignored;
        close(ignored);
    }

    int fd() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /* Gives up ownership: the caller closes the fd with zts_close. */
    int release() noexcept { return std::exchange(fd_, -1); }

    /* zts_close. The Socket is empty afterwards even if it failed: the C
     * call leaves no fd to retry on. No-op on an empty Socket. */
    void close()
    {
        std::error_code ec;
        close(ec);
        detail::throw_if(ec, "zts_close");
    }
    void close(std::error_code& ec) noexcept
    {
        ec.clear();
        if (fd_ >= 0)
            detail::check(zts_close(release()), ec);
    }

    void bind(const sockaddr* addr, socklen_t len)
    {
        std::error_code ec;
        bind(addr, len, ec);
        detail::throw_if(ec, "zts_bind");
    }
    void bind(const sockaddr* addr, socklen_t len, std::error_code& ec) noexcept
    {
        detail::check(zts_bind(fd_, addr, len), ec);
    }
    template <class A, detail::if_sockaddr<A> = 0>
    void bind(const A& addr)
    {
        bind(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    }
    template <class A, detail::if_sockaddr<A> = 0>
    void bind(const A& addr, std::error_code& ec) noexcept
    {
        bind(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, ec);
    }

    void listen(int backlog)
    {
        std::error_code ec;
        listen(backlog, ec);
        detail::throw_if(ec, "zts_listen");
    }
    void listen(int backlog, std::error_code& ec) noexcept
    {
        detail::check(zts_listen(fd_, backlog), ec);
    }

    /* zts_accept: the peer's address goes to addr (may be NULL), truncated
     * to *len, and *len is set to its size. */
    Socket accept(sockaddr* addr = nullptr, socklen_t* len = nullptr)
    {
        std::error_code ec;
        Socket s = accept(addr, len, ec);
        detail::throw_if(ec, "zts_accept");
        return s;
    }
    Socket accept(std::error_code& ec) noexcept { return accept(nullptr, nullptr, ec); }
    Socket accept(sockaddr* addr, socklen_t* len, std::error_code& ec) noexcept
    {
        return Socket(detail::check(zts_accept(fd_, addr, len), ec));
    }
    /* Peer address into a sockaddr_in, sockaddr_in6 or (either family)
     * sockaddr_storage; a larger address is truncated, as in C. */
    template <class A, detail::if_sockaddr<A> = 0>
    Socket accept(A& peer)
    {
        socklen_t len = sizeof peer;
        return accept(reinterpret_cast<sockaddr*>(&peer), &len);
    }
    template <class A, detail::if_sockaddr<A> = 0>
    Socket accept(A& peer, std::error_code& ec) noexcept
    {
        socklen_t len = sizeof peer;
        return accept(reinterpret_cast<sockaddr*>(&peer), &len, ec);
    }

    void connect(const sockaddr* addr, socklen_t len)
    {
        std::error_code ec;
        connect(addr, len, ec);
        detail::throw_if(ec, "zts_connect");
    }
    /* On a non-blocking socket this reports EINPROGRESS; completion is
     * POLLOUT from zts_poll, then SO_ERROR (getsockopt). */
    void connect(const sockaddr* addr, socklen_t len, std::error_code& ec) noexcept
    {
        detail::check(zts_connect(fd_, addr, len), ec);
    }
    template <class A, detail::if_sockaddr<A> = 0>
    void connect(const A& addr)
    {
        connect(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    }
    template <class A, detail::if_sockaddr<A> = 0>
    void connect(const A& addr, std::error_code& ec) noexcept
    {
        connect(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, ec);
    }

    /* zts_read: what is available, up to len; 0 once the peer has shut
     * down writing. The error_code overload also returns 0 on failure, so
     * test ec before taking 0 for end of stream. */
    std::size_t read(void* buf, std::size_t len)
    {
        std::error_code ec;
        std::size_t n = read(buf, len, ec);
        detail::throw_if(ec, "zts_read");
        return n;
    }
    std::size_t read(void* buf, std::size_t len, std::error_code& ec) noexcept
    {
        ssize_t n = detail::check(zts_read(fd_, buf, len), ec);
        return n < 0 ? 0 : static_cast<std::size_t>(n);
    }

    /* zts_write: on a blocking stream socket every byte is queued;
     * O_NONBLOCK queues what fits and says how much. */
    std::size_t write(const void* buf, std::size_t len)
    {
        std::error_code ec;
        std::size_t n = write(buf, len, ec);
        detail::throw_if(ec, "zts_write");
        return n;
    }
    std::size_t write(const void* buf, std::size_t len, std::error_code& ec) noexcept
    {
        ssize_t n = detail::check(zts_write(fd_, buf, len), ec);
        return n < 0 ? 0 : static_cast<std::size_t>(n);
    }

    /* zts_write until all of buf is queued, for callers that do not want
     * to care whether the socket is non-blocking. On failure (EAGAIN
     * included) the error_code overload says how many bytes were queued
     * before it; the throwing one cannot, so use the other where a partial
     * write must be resumed. */
    void write_all(const void* buf, std::size_t len)
    {
        std::error_code ec;
        write_all(buf, len, ec);
        detail::throw_if(ec, "zts_write");
    }
    std::size_t write_all(const void* buf, std::size_t len, std::error_code& ec) noexcept
    {
        const char* p = static_cast<const char*>(buf);
        std::size_t done = 0;
        ec.clear();
        while (done < len) {
            /* zts_write queues at least one byte or fails (EAGAIN when
             * nothing fits), so this loop always progresses. */
            std::size_t n = write(p + done, len - done, ec);
            if (ec)
                break;
            done += n;
        }
        return done;
    }

    /* SHUT_RD, SHUT_WR (the peer reads end of stream once queued data is
     * delivered) or SHUT_RDWR. */
    void shutdown(int how)
    {
        std::error_code ec;
        shutdown(how, ec);
        detail::throw_if(ec, "zts_shutdown");
    }
    void shutdown(int how, std::error_code& ec) noexcept
    {
        detail::check(zts_shutdown(fd_, how), ec);
    }

    /* zts_setsockopt with value's bytes: an int for flags and sizes
     * (s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)), or the option's struct
     * (struct timeval for SO_RCVTIMEO, struct linger, struct ip_mreq...). */
    template <class T>
    void setsockopt(int level, int name, const T& value)
    {
        std::error_code ec;
        setsockopt(level, name, value, ec);
        detail::throw_if(ec, "zts_setsockopt");
    }
    template <class T>
    void setsockopt(int level, int name, const T& value, std::error_code& ec) noexcept
    {
        detail::check_option_type<T>();
        detail::check(zts_setsockopt(fd_, level, name, &value, sizeof value), ec);
    }

    /* zts_getsockopt into a T (int unless told: s.getsockopt(SOL_SOCKET,
     * SO_ERROR), s.getsockopt<timeval>(SOL_SOCKET, SO_RCVTIMEO)). T must be
     * the option's C type; bytes the option does not fill stay zero. Not
     * const: SO_ERROR clears the error it reads. */
    template <class T = int>
    T getsockopt(int level, int name)
    {
        std::error_code ec;
        T value = getsockopt<T>(level, name, ec);
        detail::throw_if(ec, "zts_getsockopt");
        return value;
    }
    template <class T = int>
    T getsockopt(int level, int name, std::error_code& ec) noexcept
    {
        detail::check_option_type<T>();
        T value{};
        socklen_t len = sizeof value;
        detail::check(zts_getsockopt(fd_, level, name, &value, &len), ec);
        return value;
    }

private:
    int fd_ = -1;
};

/* A node: a host with its own stack. The constructor creates it stopped;
 * join networks and add addresses, then start() it. Destruction frees it
 * (zts_node_free, which stops it first). A moved-from Node holds id -1, on
 * which calls fail with ENODEV as the C calls do. */
class Node {
public:
    Node()
    {
        std::error_code ec;
        id_ = detail::check(zts_node_new(), ec);
        detail::throw_if(ec, "zts_node_new");
    }
    /* On failure ec is set and the Node holds -1. */
    explicit Node(std::error_code& ec) noexcept : id_(detail::check(zts_node_new(), ec)) {}
    Node(Node&& other) noexcept : id_(std::exchange(other.id_, -1)) {}
    Node& operator=(Node&& other) noexcept
    {
        if (this != &other) {
            free_node();
            id_ = std::exchange(other.id_, -1);
        }
        return *this;
    }
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node() { free_node(); }

    int id() const noexcept { return id_; }

    /* zts_net_join (node stopped): the network's id within the node, 0 for
     * the first; uri is e.g. "mem:NAME", "vxlan://...", "tap:NAME". */
    int join(const std::string& uri)
    {
        std::error_code ec;
        int net = join(uri, ec);
        detail::throw_if(ec, "zts_net_join");
        return net;
    }
    int join(const std::string& uri, std::error_code& ec) noexcept
    {
        return detail::check(zts_net_join(id_, uri.c_str()), ec);
    }

    /* zts_addr_add: "10.0.0.1/24", "fd00::1/64" or "dhcp" on network net. */
    void add_address(int net, const std::string& cidr)
    {
        std::error_code ec;
        add_address(net, cidr, ec);
        detail::throw_if(ec, "zts_addr_add");
    }
    void add_address(int net, const std::string& cidr, std::error_code& ec) noexcept
    {
        detail::check(zts_addr_add(id_, net, cidr.c_str()), ec);
    }

    void start()
    {
        std::error_code ec;
        start(ec);
        detail::throw_if(ec, "zts_node_start");
    }
    void start(std::error_code& ec) noexcept { detail::check(zts_node_start(id_), ec); }

    /* zts_node_stop: resets its connections and wakes calls blocked on its
     * sockets (ENETDOWN). Its sockets stay open until closed; the node can
     * be started again. */
    void stop()
    {
        std::error_code ec;
        stop(ec);
        detail::throw_if(ec, "zts_node_stop");
    }
    void stop(std::error_code& ec) noexcept { detail::check(zts_node_stop(id_), ec); }

    /* zts_node_socket on this node (which must be running). */
    Socket socket(int domain, int type, int protocol = 0)
    {
        std::error_code ec;
        Socket s = socket(domain, type, protocol, ec);
        detail::throw_if(ec, "zts_node_socket");
        return s;
    }
    Socket socket(int domain, int type, int protocol, std::error_code& ec) noexcept
    {
        return Socket(detail::check(zts_node_socket(id_, domain, type, protocol), ec));
    }

private:
    /* zts_node_free's only error is ENODEV, impossible for an id we own. */
    void free_node() noexcept
    {
        if (id_ >= 0)
            zts_node_free(std::exchange(id_, -1));
    }

    int id_ = -1;
};

} // namespace zts

#endif /* ZTS_HPP */
