#include "headend_fixture.hpp"

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace bench {
namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream file(path);
    if (!file)
        throw std::runtime_error("cannot read " + path.string());
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

std::string hex(const std::string& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : bytes) {
        out += kDigits[c >> 4];
        out += kDigits[c & 0xf];
    }
    return out;
}

// One HTTP/1.1 request with Connection: close; returns the status code and the response body.
std::pair<int, std::string> http_call(std::uint16_t port, const std::string& method, const std::string& target,
                                      const std::string& token, const std::string& body) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        close(fd);
        throw std::runtime_error("cannot connect to the admin API");
    }
    const std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                token +
                                "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\nConnection: close\r\n\r\n" + body;
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = write(fd, request.data() + sent, request.size() - sent);
        if (n <= 0)
            break;
        sent += static_cast<std::size_t>(n);
    }
    std::string response;
    char chunk[4096];
    for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;)
        response.append(chunk, static_cast<std::size_t>(n));
    close(fd);
    int status = 0;
    std::sscanf(response.c_str(), "HTTP/1.1 %d", &status);
    const auto body_start = response.find("\r\n\r\n");
    return {status, body_start == std::string::npos ? std::string() : response.substr(body_start + 4)};
}

int http_post(std::uint16_t port, const std::string& target, const std::string& token, const std::string& body) {
    return http_call(port, "POST", target, token, body).first;
}

}  // namespace

HeadendFixture::HeadendFixture(const std::filesystem::path& headend, const std::filesystem::path& work_dir,
                               const std::vector<std::filesystem::path>& device_cas, const std::string& extra_config) {
    const auto data_dir = work_dir / "data";
    std::filesystem::create_directories(data_dir);
    const auto config = work_dir / "headend.toml";
    {
        std::ofstream out(config);
        out << "[server]\nlisten = \"127.0.0.1\"\ncoaps_port = 0\nadmin_port = 0\nlog_level = \"warn\"\n"
            << "data_dir = " << nlohmann::json(data_dir.string()).dump() << "\n\n[tls]\ndevice_ca = [";
        for (std::size_t i = 0; i < device_cas.size(); ++i)
            out << (i ? ", " : "") << nlohmann::json(device_cas[i].string()).dump();
        out << "]\n" << extra_config;
    }
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{headend.string(), "--config", config.string()},
                                              work_dir / "headend.log");
    const auto line = process_->wait_for_line("headend ready", std::chrono::seconds(30));
    std::smatch match;
    if (!line || !std::regex_search(*line, match, std::regex(R"(coaps_port=(\d+) admin_port=(\d+))")))
        throw std::runtime_error("the head-end did not become ready; see " + (work_dir / "headend.log").string());
    coaps_port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
    admin_port_ = static_cast<std::uint16_t>(std::stoi(match[2]));
    token_ = read_file(data_dir / "admin.token");
    while (!token_.empty() && std::isspace(static_cast<unsigned char>(token_.back())))
        token_.pop_back();
}

void HeadendFixture::add_psk_device(const std::string& identity, const std::string& key) {
    post_device(
        nlohmann::json{{"type", "esci"}, {"premises_id", "P1"}, {"psk_identity", identity}, {"psk_key", hex(key)}}
            .dump());
}

void HeadendFixture::add_certificate_device(const std::filesystem::path& cert_pem) {
    post_device(nlohmann::json{{"type", "esci"}, {"premises_id", "P1"}, {"cert_pem", read_file(cert_pem)}}.dump());
}

int HeadendFixture::admin_post(const std::string& target, const std::string& body) {
    return http_post(admin_port_, target, token_, body);
}

std::string HeadendFixture::admin_get(const std::string& target) {
    auto [status, body] = http_call(admin_port_, "GET", target, token_, "");
    if (status != 200)
        throw std::runtime_error("GET " + target + " answered HTTP " + std::to_string(status));
    return body;
}

void HeadendFixture::post_device(const std::string& json_body) {
    const int status = http_post(admin_port_, "/api/v1/devices", token_, json_body);
    if (status < 200 || status >= 300)
        throw std::runtime_error("device registration failed with HTTP " + std::to_string(status));
}

std::uint16_t free_udp_port_pair() {
    auto try_bind = [](std::uint16_t port) -> std::uint16_t {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        std::uint16_t bound = 0;
        if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
            bound = ntohs(address.sin_port);
        close(fd);
        return bound;
    };
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::uint16_t port = try_bind(0);
        if (port != 0 && port < 65535 && try_bind(static_cast<std::uint16_t>(port + 1)) != 0)
            return port;
    }
    throw std::runtime_error("no free UDP port pair");
}

}  // namespace bench
