// A UDP relay on loopback between one device and the server that drops what the test says, as a lossy HAN or a
// device that went silent would. The device talks to port(); the relay talks to the server from one socket of its
// own, so the server sees one fixed address however often the device restarts behind it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace han::testing {

class LossyLink {
public:
    enum class Direction { to_server, to_device };
    // Called for each datagram with its index in its direction (from 0); true drops it.
    using Filter = std::function<bool(Direction, std::size_t index, std::string_view datagram)>;

    struct Datagram {
        Direction direction;
        std::string bytes;
        bool dropped;
    };

    explicit LossyLink(std::uint16_t server_port) {
        front_ = bound_socket();
        back_ = bound_socket();
        sockaddr_in server = loopback(server_port);
        if (::connect(back_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0)
            throw std::runtime_error("relay cannot reach the server");
        sockaddr_in local{};
        socklen_t length = sizeof local;
        ::getsockname(front_, reinterpret_cast<sockaddr*>(&local), &length);
        port_ = ntohs(local.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~LossyLink() {
        stopping_ = true;
        thread_.join();
        ::close(front_);
        ::close(back_);
    }
    LossyLink(const LossyLink&) = delete;
    LossyLink& operator=(const LossyLink&) = delete;

    std::uint16_t port() const { return port_; }
    void set_filter(Filter filter) {
        std::lock_guard lock(mutex_);
        filter_ = std::move(filter);
    }
    // Drops everything from now on in both directions: the device is gone.
    void cut() {
        set_filter([](Direction, std::size_t, std::string_view) { return true; });
    }
    // Returns once everything already sent through the relay has been passed or dropped, so a filter changed next
    // does not apply to it (a device's last words before a cut stay cut).
    void drain() const {
        const auto queued = [](int fd) {
            int bytes = 0;
            return ::ioctl(fd, FIONREAD, &bytes) == 0 && bytes > 0;
        };
        while (handling_ || queued(front_) || queued(back_))
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // Sends a datagram to the server as if the device had sent it (same source address).
    void inject_to_server(std::string_view datagram) { ::send(back_, datagram.data(), datagram.size(), 0); }
    std::vector<Datagram> log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    std::size_t count(Direction direction, bool dropped) const {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& datagram : log_)
            n += datagram.direction == direction && datagram.dropped == dropped ? 1 : 0;
        return n;
    }

private:
    static sockaddr_in loopback(std::uint16_t port) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return address;
    }
    static int bound_socket() {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in any = loopback(0);
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
            throw std::runtime_error("relay cannot bind");
        return fd;
    }

    bool pass(Direction direction, std::string_view datagram) {
        std::lock_guard lock(mutex_);
        std::size_t& index = direction == Direction::to_server ? to_server_ : to_device_;
        const bool drop = filter_ && filter_(direction, index, datagram);
        ++index;
        log_.push_back({direction, std::string(datagram), drop});
        return !drop;
    }

    void run() {
        std::vector<char> buffer(65536);
        sockaddr_in device{};
        bool have_device = false;
        while (!stopping_) {
            pollfd fds[2] = {{front_, POLLIN, 0}, {back_, POLLIN, 0}};
            if (::poll(fds, 2, 20) <= 0)
                continue;
            handling_ = true;
            if ((fds[0].revents & POLLIN) != 0) {
                socklen_t length = sizeof device;
                const ssize_t n =
                    ::recvfrom(front_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&device), &length);
                if (n >= 0) {
                    have_device = true;
                    if (pass(Direction::to_server, {buffer.data(), static_cast<std::size_t>(n)}))
                        ::send(back_, buffer.data(), static_cast<std::size_t>(n), 0);
                }
            }
            if ((fds[1].revents & POLLIN) != 0) {
                const ssize_t n = ::recv(back_, buffer.data(), buffer.size(), 0);
                if (n >= 0 && pass(Direction::to_device, {buffer.data(), static_cast<std::size_t>(n)}) && have_device) {
                    ::sendto(front_, buffer.data(), static_cast<std::size_t>(n), 0,
                             reinterpret_cast<sockaddr*>(&device), sizeof device);
                }
            }
            handling_ = false;
        }
    }

    int front_ = -1;
    int back_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> handling_{false};
    mutable std::mutex mutex_;
    Filter filter_;
    std::size_t to_server_ = 0;
    std::size_t to_device_ = 0;
    std::vector<Datagram> log_;
    std::thread thread_;
};

}  // namespace han::testing
