// cxx-echo: the demo through the C++ layer (zts.hpp). Two nodes on an
// in-process network, a TCP echo server on one (a std::thread), a client on
// the other that sends a few messages and checks the echoes.
//
//   g++ -std=c++17 -pthread -Iinclude examples-c/cxx-echo.cpp -lzts -o cxx-echo
//   ./cxx-echo
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <zts.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

const char* const NET = "mem:cxx-echo";
const char* const SERVER_IP = "10.0.0.1";
const unsigned short PORT = 7;

// A node is a host of its own: it joins a network, gets an address, and
// only then starts its stack thread.
zts::Node start_node(const std::string& cidr)
{
    zts::Node node;
    int net = node.join(NET);
    node.add_address(net, cidr);
    node.start();
    std::printf("node %d started with %s on %s\n", node.id(), cidr.c_str(), NET);
    return node;
}

sockaddr_in ipv4(const char* ip, unsigned short port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        throw std::invalid_argument(std::string("not an IPv4 address: ") + ip);
    return a;
}

std::string to_string(const sockaddr_in& a)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

// Reads exactly len bytes: TCP is a byte stream, an echo may come back in
// pieces.
void read_exact(zts::Socket& s, char* buf, std::size_t len)
{
    for (std::size_t got = 0; got < len;) {
        std::size_t n = s.read(buf + got, len - got);
        if (n == 0)
            throw std::runtime_error("server closed the connection early");
        got += n;
    }
}

// A zts call's failure names the call and says why (with errno, for
// looking up in zts.h which case it was); other failures say what went wrong.
void print_error(const char* who, const std::exception& e)
{
    std::fprintf(stderr, "cxx-echo: %s%s", who ? who : "", who ? ": " : "");
    if (auto* se = dynamic_cast<const std::system_error*>(&e))
        std::fprintf(stderr, "%s (errno %d: %s)\n", se->what(), se->code().value(),
                     se->code().message().c_str());
    else
        std::fprintf(stderr, "%s\n", e.what());
}

// Echoes one connection until the client shuts down its half.
void serve(zts::Socket& listener)
{
    sockaddr_in peer{};
    zts::Socket conn = listener.accept(peer);
    std::printf("server accepted %s\n", to_string(peer).c_str());
    char buf[512];
    std::size_t total = 0;
    while (std::size_t n = conn.read(buf, sizeof buf)) {
        conn.write_all(buf, n);
        total += n;
    }
    std::printf("server saw end of stream after %zu bytes, closing\n", total);
}

// Runs serve() on its own thread. An exception there is kept and rethrown
// by join(). Should main fail first, the destructor stops the server's node,
// which wakes the server from whatever call it is blocked in (ENETDOWN),
// so the thread can always be joined.
class Server {
public:
    Server(zts::Node& node, zts::Socket& listener)
        : node_(node), thread_([this, &listener] {
              try {
                  serve(listener);
              } catch (...) {
                  error_ = std::current_exception();
              }
              finished_ = true;
          })
    {
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    // Only reached joinable when main failed. If the server had failed on
    // its own by then, that may be the cause, so it is printed rather than
    // lost; a failure from the stop below is not news.
    ~Server()
    {
        if (!thread_.joinable())
            return;
        bool failed_first = finished_;
        std::error_code ignored;
        node_.stop(ignored);
        thread_.join();
        if (error_ && failed_first) {
            try {
                std::rethrow_exception(error_);
            } catch (const std::exception& e) {
                print_error("server", e);
            }
        }
    }

    void join()
    {
        thread_.join();
        if (error_)
            std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    zts::Node& node_;
    std::exception_ptr error_;
    std::atomic<bool> finished_{false};
    std::thread thread_; // last: started once the members it uses exist
};

int run()
{
    zts::Node a = start_node("10.0.0.1/24");
    zts::Node b = start_node("10.0.0.2/24");
    const sockaddr_in server_addr = ipv4(SERVER_IP, PORT);

    // Listen before the server thread starts, so the client cannot race it.
    zts::Socket listener = a.socket(AF_INET, SOCK_STREAM);
    listener.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    listener.bind(server_addr);
    listener.listen(1);
    std::printf("server listening on %s\n", to_string(server_addr).c_str());
    Server server(a, listener);

    zts::Socket client = b.socket(AF_INET, SOCK_STREAM);
    client.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    client.connect(server_addr);
    std::printf("client connected to %s\n", to_string(server_addr).c_str());

    // The last message is larger than a segment, so it travels (and may
    // come back) in pieces.
    const std::vector<std::string> messages = {
        "hello", "from node B", "over an in-process network", std::string(4000, 'z')};
    for (const std::string& m : messages) {
        client.write_all(m.data(), m.size());
        std::string back(m.size(), '\0');
        read_exact(client, &back[0], back.size());
        if (back != m)
            throw std::runtime_error("echo of '" + m + "' came back as '" + back + "'");
        if (m.size() <= 40)
            std::printf("echoed '%s' (%zu bytes)\n", m.c_str(), m.size());
        else
            std::printf("echoed %zu bytes of '%c'\n", m.size(), m[0]);
    }

    // Half-close: the server reads end of stream, closes, and we read 0.
    client.shutdown(SHUT_WR);
    char tail[16];
    if (std::size_t n = client.read(tail, sizeof tail))
        throw std::runtime_error("unexpected " + std::to_string(n) + " bytes after shutdown");
    std::printf("client read end of stream\n");
    server.join();

    // The destructors would do all this; explicit calls report errors.
    client.close();
    listener.close();
    a.stop();
    b.stop();
    std::printf("nodes %d and %d stopped\n", a.id(), b.id());
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 1) {
        bool help = argc == 2 && (std::strcmp(argv[1], "-h") == 0 ||
                                  std::strcmp(argv[1], "--help") == 0);
        std::fprintf(help ? stdout : stderr,
                     "usage: %s\n"
                     "Runs a TCP echo between two zts nodes on %s (10.0.0.1 and\n"
                     "10.0.0.2) inside this process. Takes no arguments.\n",
                     argv[0], NET);
        return help ? 0 : 2;
    }
    try {
        return run();
    } catch (const std::exception& e) {
        print_error(nullptr, e);
    }
    return 1;
}
