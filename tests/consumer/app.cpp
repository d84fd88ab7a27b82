// Install test, C++ side: app.c through zts.hpp, built against an installed
// zts (find_package(zts), target zts::zts or zts::zts_static). Prints
// "consumer c++ ok".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <zts.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

const char* const NET = "mem:consumer-cpp";
const unsigned short PORT = 7;

zts::Node start_node(const std::string& cidr)
{
    zts::Node node;
    node.add_address(node.join(NET), cidr);
    node.start();
    return node;
}

// Receive timeouts turn a hang into a failure.
zts::Socket tcp_socket(zts::Node& node)
{
    zts::Socket s = node.socket(AF_INET, SOCK_STREAM);
    timeval tv{};
    tv.tv_sec = 10;
    s.setsockopt(SOL_SOCKET, SO_RCVTIMEO, tv);
    return s;
}

std::string read_exact(zts::Socket& s, std::size_t len)
{
    std::string buf(len, '\0');
    for (std::size_t got = 0; got < len;) {
        std::size_t n = s.read(&buf[got], len - got);
        if (n == 0)
            throw std::runtime_error("connection closed early");
        got += n;
    }
    return buf;
}

void run()
{
    // Nodes first, so the sockets are destroyed before them.
    zts::Node a = start_node("10.0.0.1/24");
    zts::Node b = start_node("10.0.0.2/24");

    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(PORT);
    inet_pton(AF_INET, "10.0.0.1", &addr.sin_addr);
    zts::Socket listener = tcp_socket(a);
    listener.bind(addr);
    listener.listen(1);

    // One thread: the backlog completes the handshake before accept.
    zts::Socket client = tcp_socket(b);
    client.connect(addr);
    zts::Socket server = listener.accept();

    const std::string msg = "consumer ping";
    client.write_all(msg.data(), msg.size());
    std::string got = read_exact(server, msg.size());
    server.write_all(got.data(), got.size());
    std::string back = read_exact(client, msg.size());
    if (back != msg)
        throw std::runtime_error("echo came back as '" + back + "'");
}

} // namespace

int main()
{
    try {
        run();
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "app_cpp: %s (%s)\n", e.what(), e.code().message().c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "app_cpp: %s\n", e.what());
        return 1;
    }
    std::printf("consumer c++ ok\n");
    return 0;
}
