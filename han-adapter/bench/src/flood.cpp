#include "flood.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

namespace bench {
namespace {

constexpr std::size_t kRecordHeader = 13;
constexpr std::size_t kHandshakeHeader = 12;
constexpr std::uint8_t kContentHandshake = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::uint8_t kHelloVerifyRequest = 3;
constexpr std::uint32_t kChannelTag = UINT32_MAX;  // epoll tag of the channel to the parent; sockets: their index

std::uint32_t big_endian(const std::vector<std::uint8_t>& bytes, std::size_t at, std::size_t length) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < length; ++i)
        value = (value << 8) | bytes[at + i];
    return value;
}

void check_client_hello(const std::vector<std::uint8_t>& hello) {
    const std::size_t body = kRecordHeader + kHandshakeHeader;
    // Record header: type, version, epoch, sequence number, length. Handshake header: type, length, message_seq,
    // fragment_offset, fragment_length. Then client_version, random, session_id and the cookie, which must be empty.
    if (hello.size() < kClientRandomOffset + 32 + 2 || hello[0] != kContentHandshake || big_endian(hello, 3, 2) != 0 ||
        big_endian(hello, 11, 2) != hello.size() - kRecordHeader || hello[kRecordHeader] != kClientHello)
        throw std::runtime_error("OpenSSL's first datagram is not one ClientHello record");
    const std::uint32_t length = big_endian(hello, kRecordHeader + 1, 3);
    if (length != hello.size() - body || big_endian(hello, kRecordHeader + 6, 3) != 0 ||
        big_endian(hello, kRecordHeader + 9, 3) != length)
        throw std::runtime_error("OpenSSL's ClientHello is fragmented");
    const std::size_t session_id_length = hello[kClientRandomOffset + 32];
    const std::size_t cookie_at = kClientRandomOffset + 32 + 1 + session_id_length;
    if (cookie_at >= hello.size() || hello[cookie_at] != 0)
        throw std::runtime_error("OpenSSL's first ClientHello carries a cookie");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Reads everything waiting on a source socket and tells HelloVerifyRequests from anything else.
void drain(int fd, FloodResult& result) {
    std::array<std::uint8_t, 2048> buffer;
    for (ssize_t n; (n = recv(fd, buffer.data(), buffer.size(), 0)) >= 0;) {
        const bool verify_request = n > static_cast<ssize_t>(kRecordHeader) && buffer[0] == kContentHandshake &&
                                    buffer[kRecordHeader] == kHelloVerifyRequest;
        ++(verify_request ? result.hello_verify_requests : result.other_answers);
    }
}

// The flood process's body: sends a ready byte once its sockets are bound, floods until a stop byte (or the parent's
// end of the channel closing) and sends back its result.
[[noreturn]] void flood_child(const FloodOptions& options, std::vector<std::uint8_t> hello, int channel_fd) {
    const auto fail = [](const char* what) {
        std::fprintf(stderr, "headend-bench flood: %s: %s\n", what, std::strerror(errno));
        _exit(1);
    };
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0)
        fail("epoll_create1");
    epoll_event channel_event{.events = EPOLLIN, .data = {.u32 = kChannelTag}};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, channel_fd, &channel_event) != 0)
        fail("epoll_ctl");
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(options.port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<int> sockets;
    for (std::uint32_t i = 0; i < options.sources; ++i) {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            fail("socket");
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // Connected, so only the server's answers arrive and send() needs no address.
        if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
            connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0)
            fail("bind/connect");
        epoll_event event{.events = EPOLLIN, .data = {.u32 = i}};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0)
            fail("epoll_ctl");
        sockets.push_back(fd);
    }
    const char ready = 'R';
    if (send(channel_fd, &ready, 1, MSG_NOSIGNAL) != 1)
        fail("send");

    FloodResult result;
    // The client randoms only need to differ from one another, not to be unpredictable.
    std::mt19937_64 random(static_cast<std::uint64_t>(getpid()));
    std::size_t next_socket = 0;
    std::uint64_t attempted = 0;
    // After a stall (the cores are shared with the server and the workers) at most 50 ms' worth goes out at once.
    const auto max_burst = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(options.rate / 20));
    std::array<epoll_event, 256> events;
    const auto start = std::chrono::steady_clock::now();
    for (bool stopping = false; !stopping;) {
        const auto due =
            static_cast<std::uint64_t>(options.rate * seconds_since(start)) - result.skipped_behind_schedule;
        std::uint64_t owed = due > attempted ? due - attempted : 0;
        if (owed > max_burst) {
            result.skipped_behind_schedule += owed - max_burst;
            owed = max_burst;
        }
        // One send per datagram: sendmmsg would send a whole batch from one socket, i.e. one source port.
        for (; owed > 0; --owed, ++attempted) {
            for (std::size_t at = 0; at < 32; at += 8) {
                const std::uint64_t bytes = random();
                std::memcpy(hello.data() + kClientRandomOffset + at, &bytes, sizeof bytes);
            }
            const ssize_t sent = send(sockets[next_socket], hello.data(), hello.size(), 0);
            ++(sent == static_cast<ssize_t>(hello.size()) ? result.datagrams_sent : result.send_errors);
            next_socket = (next_socket + 1) % sockets.size();
        }
        // The 1 ms wait paces the flood in batches; an answer ends it early, which only means another look at the
        // schedule.
        const int ready_count = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 1);
        for (int i = 0; i < ready_count; ++i) {
            if (events[i].data.u32 == kChannelTag) {
                stopping = true;
                // Read, since closing a Unix socket with unread data resets it and the parent would lose the result;
                // and no longer watched, since at end of file it stays readable and would wake the drain below.
                char stop_byte = 0;
                static_cast<void>(recv(channel_fd, &stop_byte, 1, 0));
                epoll_ctl(epoll_fd, EPOLL_CTL_DEL, channel_fd, nullptr);
            } else {
                drain(sockets[events[i].data.u32], result);
            }
        }
    }
    result.seconds = seconds_since(start);
    // Answers to the last ClientHellos may still be on their way.
    const auto drain_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < drain_until) {
        const int ready_count = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 10);
        for (int i = 0; i < ready_count; ++i)
            if (events[i].data.u32 != kChannelTag)
                drain(sockets[events[i].data.u32], result);
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    result.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    _exit(send(channel_fd, &result, sizeof result, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof result) ? 0 : 1);
}

void ensure_open_files(rlim_t needed) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        throw std::runtime_error("getrlimit failed");
    if (limit.rlim_cur >= needed)
        return;
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed)
        throw std::runtime_error("the flood needs " + std::to_string(needed) +
                                 " open files but RLIMIT_NOFILE's hard limit is " + std::to_string(limit.rlim_max) +
                                 "; use fewer --sources");
    limit.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
        throw std::runtime_error("setrlimit failed");
}

}  // namespace

std::vector<std::uint8_t> make_client_hello() {
    const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(DTLS_client_method()), SSL_CTX_free);
    if (!context || SSL_CTX_set_min_proto_version(context.get(), DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(context.get(), DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(context.get(), "ECDHE-ECDSA-AES128-CCM8:PSK-AES128-CCM8") != 1)
        throw std::runtime_error("cannot set up an OpenSSL DTLS client context");
    const std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), SSL_free);
    BIO* input = BIO_new(BIO_s_mem());
    BIO* output = BIO_new(BIO_s_mem());
    if (!ssl || input == nullptr || output == nullptr) {
        BIO_free(input);
        BIO_free(output);
        throw std::runtime_error("cannot create an OpenSSL DTLS client");
    }
    SSL_set_bio(ssl.get(), input, output);
    // A memory BIO has no path MTU to ask; without one OpenSSL would assume its 256-byte minimum and could fragment.
    SSL_set_options(ssl.get(), SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl.get(), 1280);
    const int status = SSL_connect(ssl.get());
    if (status > 0 || SSL_get_error(ssl.get(), status) != SSL_ERROR_WANT_READ)
        throw std::runtime_error("OpenSSL's DTLS client did not stop for the server's answer");
    std::vector<std::uint8_t> hello(BIO_ctrl_pending(output));
    if (hello.empty() ||
        BIO_read(output, hello.data(), static_cast<int>(hello.size())) != static_cast<int>(hello.size()))
        throw std::runtime_error("OpenSSL's DTLS client wrote no ClientHello");
    check_client_hello(hello);
    return hello;
}

ClientHelloFlood::ClientHelloFlood(const FloodOptions& options) {
    if (options.sources == 0 || options.rate <= 0)
        throw std::runtime_error("the flood needs a rate and at least one source port");
    const auto hello = make_client_hello();
    // The sockets, the epoll and channel descriptors, and what the process inherited.
    ensure_open_files(static_cast<rlim_t>(options.sources) + 64);
    // Datagram-like messages both ways (ready, stop, result), and a peer that is gone reads as end of file.
    int channel[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0)
        throw std::runtime_error("socketpair failed");
    pid_ = fork();
    if (pid_ == 0) {
        // Nothing may unwind back into the parent's code in this process.
        try {
            close(channel[0]);
            flood_child(options, hello, channel[1]);
        } catch (...) {
            _exit(1);
        }
    }
    close(channel[1]);
    channel_fd_ = channel[0];
    char ready = 0;
    if (pid_ < 0 || recv(channel_fd_, &ready, 1, 0) != 1) {
        close(channel_fd_);
        if (pid_ > 0)
            waitpid(pid_, nullptr, 0);
        throw std::runtime_error("the flood process did not start (see stderr)");
    }
}

ClientHelloFlood::~ClientHelloFlood() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (channel_fd_ >= 0)
        close(channel_fd_);
}

FloodResult ClientHelloFlood::stop() {
    if (pid_ <= 0)
        throw std::runtime_error("the flood was already stopped");
    const char stop_byte = 'S';
    FloodResult result;
    const bool reported = send(channel_fd_, &stop_byte, 1, MSG_NOSIGNAL) == 1 &&
                          recv(channel_fd_, &result, sizeof result, 0) == static_cast<ssize_t>(sizeof result);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (!reported || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(std::string("the flood process failed (") +
                                 (reported ? "result received" : "no result") + ", " +
                                 (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                      : "exit status " + std::to_string(WEXITSTATUS(status))) +
                                 ")");
    return result;
}

}  // namespace bench
