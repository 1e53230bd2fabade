#include "headend/http/client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string_view>

namespace headend::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

constexpr std::uint64_t kMaxResponseBody = 64ULL * 1024 * 1024;

struct Url {
    std::string host;
    std::string port;
    std::string authority;  // for the Host header
    std::string target;
};

Result<Url> parse_url(const std::string& url) {
    constexpr std::string_view kScheme = "http://";
    const auto bad = [&url](const std::string& why) {
        return make_error("http.url", fmt::format("{}: '{}'", why, url));
    };
    if (url.compare(0, kScheme.size(), kScheme) != 0) {
        return bad("only http:// URLs are supported");
    }
    std::string_view rest(url);
    rest.remove_prefix(kScheme.size());
    rest = rest.substr(0, rest.find('#'));
    const auto authority_end = rest.find_first_of("/?");
    Url out;
    out.authority = std::string(rest.substr(0, authority_end));
    out.target = authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
    if (out.target.front() == '?') {
        out.target.insert(0, "/");
    }
    std::string_view authority(out.authority);
    if (authority.find('@') != std::string_view::npos) {
        return bad("user information in URLs is not supported");
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return bad("unterminated IPv6 address");
        }
        out.host = std::string(authority.substr(1, close - 1));
        const auto after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            return bad("unexpected text after the IPv6 address");
        }
        port = after.empty() ? after : after.substr(1);
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
    }
    if (out.host.empty()) {
        return bad("no host in URL");
    }
    if (port.empty()) {
        port = "80";
    }
    const bool digits =
        port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
        return bad("bad port in URL");
    }
    out.port = std::string(port);
    return out;
}

std::string describe_timeout(std::chrono::milliseconds timeout) {
    return timeout.count() % 1000 == 0 ? fmt::format("{} s", timeout.count() / 1000)
                                       : fmt::format("{} ms", timeout.count());
}

}  // namespace

Result<ClientResponse> http_request(const std::string& url, const std::string& method, const std::string& body,
                                    const std::map<std::string, std::string>& headers,
                                    std::chrono::milliseconds timeout) {
    auto parsed = parse_url(url);
    if (!parsed) {
        return parsed.error();
    }
    const Url& target = *parsed;
    const auto where = fmt::format("{}:{}", target.host, target.port);
    const auto timed_out = [&] {
        return make_error("http.timeout", fmt::format("no answer from {} within {}", where, describe_timeout(timeout)));
    };

    asio::io_context io;
    beast::error_code ec;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(target.host, target.port, ec);
    if (ec) {
        return make_error("http.resolve", fmt::format("cannot resolve '{}': {}", target.host, ec.message()));
    }

    // Asynchronous operations on a private io_context, because only those honour the stream's deadline.
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&ec](beast::error_code result, const tcp::endpoint&) { ec = result; });
    io.run();
    if (ec == beast::error::timeout) {
        return timed_out();
    }
    if (ec) {
        return make_error("http.connect", fmt::format("cannot connect to {}: {}", where, ec.message()));
    }

    bhttp::request<bhttp::string_body> request;
    request.version(11);
    const auto verb = bhttp::string_to_verb(method);
    if (verb == bhttp::verb::unknown) {
        request.method_string(method);
    } else {
        request.method(verb);
    }
    request.target(target.target);
    request.set(bhttp::field::host, target.authority);
    request.set(bhttp::field::user_agent, "headend-http-client");
    for (const auto& [name, value] : headers) {
        request.set(name, value);
    }
    request.body() = body;
    request.keep_alive(false);
    request.prepare_payload();

    io.restart();
    beast::error_code write_ec;
    bhttp::async_write(stream, request, [&write_ec](beast::error_code result, std::size_t) { write_ec = result; });
    io.run();
    if (write_ec == beast::error::timeout) {
        return timed_out();
    }
    // A failed write may still have a response behind it (a server refusing a large body early), so read anyway.

    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    if (request.method() == bhttp::verb::head) {
        parser.skip(true);
    }
    io.restart();
    bhttp::async_read(stream, buffer, parser, [&ec](beast::error_code result, std::size_t) { ec = result; });
    io.run();
    if (ec == beast::error::timeout) {
        return timed_out();
    }
    if (ec) {
        const auto& failure = write_ec ? write_ec : ec;
        return make_error("http.io", fmt::format("exchange with {} failed: {}", where, failure.message()));
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    auto response = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(response.result_int());
    out.body = std::move(response.body());
    for (const auto& field : response) {
        std::string name(field.name_string().data(), field.name_string().size());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
        const std::string value(field.value().data(), field.value().size());
        auto [it, inserted] = out.headers.emplace(std::move(name), value);
        if (!inserted) {
            it->second += ", " + value;
        }
    }
    return out;
}

}  // namespace headend::http
