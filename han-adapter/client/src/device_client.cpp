#include "han/device_client.hpp"

#include <coap3/coap.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

namespace han {
namespace {

using Clock = std::chrono::steady_clock;
using headend::Error;
using headend::make_error;
using headend::Result;
using OptionList = std::vector<std::pair<std::uint16_t, std::string>>;

// Odd, so critical; from the experimental range, so no server knows it (see reset_duplicate_filter).
constexpr std::uint16_t kUnknownCriticalOption = 65001;
// Upper bound on one coap_io_process wait, so deadlines and session failures are noticed promptly.
constexpr std::chrono::milliseconds kIoSlice{100};
constexpr unsigned kMaxSzx = 6;  // 1024-byte blocks; 7 is BERT, which only exists over TCP

std::once_flag g_coap_started;

coap_log_t to_coap_level(LogLevel level) {
    switch (level) {
        case LogLevel::off:
            return LOG_EMERG;
        case LogLevel::error:
            return LOG_ERR;
        case LogLevel::warning:
            return LOG_WARNING;
        case LogLevel::info:
            return LOG_INFO;
        case LogLevel::debug:
            return LOG_DEBUG;
    }
    return LOG_EMERG;
}

std::optional<unsigned> szx_for(unsigned size) {
    for (unsigned szx = 0; szx <= kMaxSzx; ++szx) {
        if ((16u << szx) == size) {
            return szx;
        }
    }
    return std::nullopt;
}

std::string encode_uint(std::uint32_t value) {
    std::uint8_t buf[4];
    const unsigned len = coap_encode_var_safe(buf, sizeof(buf), value);
    return std::string(reinterpret_cast<const char*>(buf), len);
}

std::uint32_t decode_uint(std::string_view bytes) {
    std::uint32_t value = 0;
    for (char c : bytes.substr(0, 4)) {
        value = (value << 8) | static_cast<std::uint8_t>(c);
    }
    return value;
}

std::string encode_block(std::uint32_t num, bool more, unsigned szx) {
    return encode_uint((num << 4) | (more ? 0x08u : 0u) | szx);
}

BlockOption decode_block(std::string_view bytes) {
    const std::uint32_t value = decode_uint(bytes);
    return BlockOption{value >> 4, (value & 0x08u) != 0, 16u << std::min<unsigned>(value & 0x07u, kMaxSzx)};
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Malformed escapes are kept literally rather than rejected: this client also sends deliberately odd requests.
std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        parts.push_back(percent_decode(text.substr(start, end - start)));
        if (end == std::string_view::npos) {
            return parts;
        }
        start = end + 1;
    }
}

// Uri-Path and Uri-Query options for "/a/b?x=1&y=2"; "/" and "" have no Uri-Path (RFC 7252 6.4).
OptionList uri_options(std::string_view path_with_query) {
    OptionList options;
    const std::size_t question = path_with_query.find('?');
    std::string_view path = path_with_query.substr(0, question);
    if (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    if (!path.empty()) {
        for (auto& segment : split(path, '/')) {
            options.emplace_back(COAP_OPTION_URI_PATH, std::move(segment));
        }
    }
    if (question != std::string_view::npos && question + 1 < path_with_query.size()) {
        for (auto& query : split(path_with_query.substr(question + 1), '&')) {
            options.emplace_back(COAP_OPTION_URI_QUERY, std::move(query));
        }
    }
    return options;
}

coap_pdu_code_t to_coap_code(Method method) {
    switch (method) {
        case Method::get:
            return COAP_REQUEST_CODE_GET;
        case Method::post:
            return COAP_REQUEST_CODE_POST;
        case Method::put:
            return COAP_REQUEST_CODE_PUT;
        case Method::del:
            return COAP_REQUEST_CODE_DELETE;
    }
    return COAP_REQUEST_CODE_GET;
}

std::string token_of(const coap_pdu_t* pdu) {
    const coap_bin_const_t token = coap_pdu_get_token(pdu);
    return std::string(reinterpret_cast<const char*>(token.s), token.length);
}

ClientResponse to_response(const coap_pdu_t* pdu) {
    ClientResponse response;
    const coap_pdu_code_t code = coap_pdu_get_code(pdu);
    response.code = (code >> 5) * 100 + (code & 0x1f);
    response.type = static_cast<MessageType>(coap_pdu_get_type(pdu));
    response.message_id = static_cast<std::uint16_t>(coap_pdu_get_mid(pdu));

    coap_opt_iterator_t iterator;
    coap_option_iterator_init(pdu, &iterator, COAP_OPT_ALL);
    while (coap_opt_t* option = coap_option_next(&iterator)) {
        std::string value(reinterpret_cast<const char*>(coap_opt_value(option)), coap_opt_length(option));
        switch (iterator.number) {
            case COAP_OPTION_CONTENT_FORMAT:
                response.content_format = static_cast<int>(decode_uint(value));
                break;
            case COAP_OPTION_LOCATION_PATH:
                response.location_path += "/" + value;
                break;
            case COAP_OPTION_LOCATION_QUERY:
                response.location_query += (response.location_query.empty() ? "" : "&") + value;
                break;
            case COAP_OPTION_OBSERVE:
                response.observe = decode_uint(value);
                break;
            case COAP_OPTION_MAXAGE:
                response.max_age = decode_uint(value);
                break;
            case COAP_OPTION_ETAG:
                response.etag = value;
                break;
            case COAP_OPTION_BLOCK1:
                response.block1 = decode_block(value);
                break;
            case COAP_OPTION_BLOCK2:
                response.block2 = decode_block(value);
                break;
            case COAP_OPTION_SIZE1:
                response.size1 = decode_uint(value);
                break;
            case COAP_OPTION_SIZE2:
                response.size2 = decode_uint(value);
                break;
            default:
                break;
        }
        response.options.emplace_back(iterator.number, std::move(value));
    }
    std::size_t length = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data(pdu, &length, &data) != 0 && length > 0) {
        response.body.assign(reinterpret_cast<const char*>(data), length);
    }
    return response;
}

std::string nack_text(coap_nack_reason_t reason) {
    switch (reason) {
        case COAP_NACK_TOO_MANY_RETRIES:
            return "no acknowledgement after all retransmissions";
        case COAP_NACK_NOT_DELIVERABLE:
            return "request could not be delivered";
        case COAP_NACK_RST:
            return "server answered with Reset";
        case COAP_NACK_TLS_FAILED:
            return "DTLS session failed";
        case COAP_NACK_ICMP_ISSUE:
            return "ICMP error from the server";
    }
    return "request failed";
}

// One token's worth of traffic: a request (or a repeated/observed one) and what came back for it.
struct Exchange {
    std::vector<ClientResponse> responses;
    std::string failure;            // set by the NACK handler
    std::uint64_t observation = 0;  // once registered, responses go to the notification queue instead
};

// A request on the wire: options still unsorted, token and message id chosen by the caller or fresh.
struct Outgoing {
    Method method = Method::get;
    bool confirmable = true;
    OptionList options;
    std::string_view payload;
    std::optional<std::uint16_t> message_id;
};

Outgoing outgoing_for(const ClientRequest& request) {
    Outgoing out{request.method, request.confirmable, uri_options(request.path), request.body, std::nullopt};
    if (request.content_format) {
        out.options.emplace_back(COAP_OPTION_CONTENT_FORMAT,
                                 encode_uint(static_cast<std::uint32_t>(*request.content_format)));
    }
    if (request.accept) {
        out.options.emplace_back(COAP_OPTION_ACCEPT, encode_uint(static_cast<std::uint32_t>(*request.accept)));
    }
    out.options.insert(out.options.end(), request.extra_options.begin(), request.extra_options.end());
    return out;
}

}  // namespace

struct DeviceClient::Impl {
    ClientOptions options;
    std::string peer;  // "host:port" for messages
    // libcoap keeps pointers to these file names in its PKI setup, so they live as long as the session.
    std::string cert_file;
    std::string key_file;
    coap_context_t* ctx = nullptr;
    coap_session_t* session = nullptr;

    std::string session_error;  // non-empty once the session is unusable
    std::string alert;          // last fatal TLS alert, for handshake diagnostics
    std::string verify_error;   // why we rejected the server's certificate, if we did
    std::string cipher;
    std::string last_error;
    std::optional<std::uint16_t> last_ack_mid;

    std::map<std::string, Exchange> exchanges;  // by token

    struct ObservationState {
        std::string token;
        std::string path;
        NotificationCallback callback;
    };
    std::map<std::uint64_t, ObservationState> observations;
    std::deque<std::pair<std::uint64_t, ClientResponse>> notifications;
    std::uint64_t next_observation_id = 1;

    ~Impl() {
        if (session != nullptr) {
            coap_session_release(session);
        }
        if (ctx != nullptr) {
            coap_free_context(ctx);
        }
    }

    Error fail(std::string code, std::string message) {
        last_error = message;
        return make_error(std::move(code), std::move(message));
    }

    std::string new_token() {
        std::uint8_t buf[8];
        std::size_t length = sizeof(buf);
        coap_session_new_token(session, &length, buf);
        return std::string(reinterpret_cast<const char*>(buf), length);
    }

    // Runs libcoap until done() holds, the deadline passes or the session dies.
    template <typename Done>
    Result<void> run_until(Done done, Clock::time_point deadline, std::string_view what) {
        while (!done()) {
            if (!session_error.empty()) {
                return fail("coap.session", session_error);
            }
            const auto now = Clock::now();
            if (now >= deadline) {
                return fail("coap.timeout", "no answer to " + std::string(what) + " from " + peer + " in time");
            }
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::min<Clock::duration>(deadline - now, kIoSlice));
            if (coap_io_process(ctx, static_cast<std::uint32_t>(std::max<std::int64_t>(wait.count(), 1))) < 0) {
                return fail("coap.io", "libcoap I/O processing failed");
            }
        }
        return {};
    }

    Result<void> send(const Outgoing& out, const std::string& token) {
        if (!session_error.empty()) {
            return fail("coap.session", session_error);
        }
        const coap_mid_t mid = out.message_id ? *out.message_id : coap_new_message_id(session);
        coap_pdu_t* pdu = coap_pdu_init(out.confirmable ? COAP_MESSAGE_CON : COAP_MESSAGE_NON, to_coap_code(out.method),
                                        mid, coap_session_max_pdu_size(session));
        if (pdu == nullptr) {
            return fail("coap.pdu", "cannot allocate a PDU");
        }
        OptionList sorted = out.options;
        std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        bool ok = coap_add_token(pdu, token.size(), reinterpret_cast<const std::uint8_t*>(token.data())) != 0;
        for (const auto& [number, value] : sorted) {
            ok = ok &&
                 coap_add_option(pdu, number, value.size(), reinterpret_cast<const std::uint8_t*>(value.data())) != 0;
        }
        if (!ok) {
            coap_delete_pdu(pdu);
            return fail("coap.options", "the request's options were rejected (too long or repeated)");
        }
        if (!out.payload.empty() &&
            coap_add_data(pdu, out.payload.size(), reinterpret_cast<const std::uint8_t*>(out.payload.data())) == 0) {
            coap_delete_pdu(pdu);
            return fail("coap.too_large", "a body of " + std::to_string(out.payload.size()) +
                                              " bytes does not fit one datagram (max PDU " +
                                              std::to_string(coap_session_max_pdu_size(session)) +
                                              " bytes); send it blockwise");
        }
        if (coap_send(session, pdu) == COAP_INVALID_MID) {  // coap_send owns the PDU either way
            return fail("coap.send", "libcoap could not send the request");
        }
        return {};
    }

    // Sends out under token and waits until a response or a NACK arrives for it.
    Result<void> send_and_wait(const Outgoing& out, const std::string& token, std::string_view what) {
        Exchange& exchange = exchanges[token];
        if (auto sent = send(out, token); !sent) {
            return sent;
        }
        if (auto waited = run_until([&] { return !exchange.responses.empty() || !exchange.failure.empty(); },
                                    Clock::now() + options.request_timeout, what);
            !waited) {
            return waited;
        }
        if (exchange.responses.empty()) {
            return fail("coap.nack", std::string(what) + ": " + exchange.failure);
        }
        return {};
    }

    // Sends out under a fresh token and returns the first response to it.
    Result<ClientResponse> round_trip(const Outgoing& out, std::string_view what) {
        const std::string token = new_token();
        auto status = send_and_wait(out, token, what);
        auto node = exchanges.extract(token);
        if (!status) {
            return status.error();
        }
        return std::move(node.mapped().responses.front());
    }

    // Fetches the remaining Block2 blocks of a GET whose first response is `first` (RFC 7959 2.4).
    Result<ClientResponse> fetch_rest(const OptionList& base_options, ClientResponse first) {
        ClientResponse whole = std::move(first);
        while (whole.block2 && whole.block2->more) {
            const unsigned size = whole.block2->size;
            if (whole.body.size() % size != 0) {
                return fail("coap.block2", "a non-final block was shorter than its block size");
            }
            if (whole.body.size() > options.max_body) {
                return fail("coap.too_large", "Block2 body exceeds " + std::to_string(options.max_body) + " bytes");
            }
            const auto num = static_cast<std::uint32_t>(whole.body.size() / size);
            Outgoing next{Method::get, true, base_options, {}, std::nullopt};
            next.options.emplace_back(COAP_OPTION_BLOCK2, encode_block(num, false, *szx_for(size)));
            auto block = round_trip(next, "Block2 block " + std::to_string(num));
            if (!block) {
                return block.error();
            }
            if (block->code / 100 != 2) {
                return block;
            }
            if (!block->block2 || block->block2->num * block->block2->size != whole.body.size()) {
                return fail("coap.block2", "asked for block " + std::to_string(num) + ", got a different one");
            }
            if (block->etag != whole.etag) {
                return fail("coap.block2", "the representation changed during the Block2 transfer (ETag)");
            }
            block->body = std::move(whole.body) + block->body;
            whole = std::move(*block);
        }
        return whole;
    }

    Result<ClientResponse> perform(const ClientRequest& request) {
        Outgoing out = outgoing_for(request);
        const bool explicit_block2 = std::any_of(out.options.begin(), out.options.end(),
                                                 [](const auto& o) { return o.first == COAP_OPTION_BLOCK2; });
        const OptionList base_options = out.options;
        if (request.method == Method::get && options.block2_size != 0 && !explicit_block2) {
            out.options.emplace_back(COAP_OPTION_BLOCK2, encode_block(0, false, *szx_for(options.block2_size)));
        }
        auto response = round_trip(out, request.path);
        if (response && request.method == Method::get && !explicit_block2 && response->block2 &&
            response->block2->more) {
            return fetch_rest(base_options, std::move(*response));
        }
        return response;
    }

    // libcoap 4.3.1 drops an ACK whose message id equals the previous ACK's (handle_response in net.c), which would
    // hide the answers to repeated copies. Any ACK with another id resets that: a request with an unknown critical
    // option draws 4.02 Bad Option from the server's CoAP layer (RFC 7252 5.4.1) without reaching any resource.
    // The 4.02 echoes the option, so connect() registers it as known here or libcoap would drop that answer too.
    Result<void> reset_duplicate_filter(std::uint16_t avoid_mid) {
        std::uint16_t mid = coap_new_message_id(session);
        while (mid == avoid_mid) {
            mid = coap_new_message_id(session);
        }
        Outgoing probe{Method::get, true, {{kUnknownCriticalOption, ""}}, {}, mid};
        auto answer = round_trip(probe, "duplicate-filter probe");
        if (!answer) {
            return answer.error();
        }
        return {};
    }

    Result<std::vector<ClientResponse>> repeat(const Outgoing& out, int times) {
        const std::string token = new_token();
        Exchange& exchange = exchanges[token];
        std::vector<ClientResponse> responses;
        Result<void> status;
        for (int i = 0; i < times && status; ++i) {
            if (last_ack_mid && last_ack_mid == out.message_id) {
                status = reset_duplicate_filter(*out.message_id);
                if (!status) {
                    break;
                }
            }
            exchange.failure.clear();
            status = send(out, token);
            if (!status) {
                break;
            }
            auto waited = run_until([&] { return !exchange.responses.empty() || !exchange.failure.empty(); },
                                    Clock::now() + options.request_timeout, "repeated request");
            // A copy without an answer is part of what the caller is probing for; only a dead session ends it.
            if (!waited && !session_error.empty()) {
                status = waited.error();
            }
            for (auto& response : exchange.responses) {
                responses.push_back(std::move(response));
            }
            exchange.responses.clear();
        }
        exchanges.erase(token);
        if (!status) {
            return status.error();
        }
        return responses;
    }

    Result<ClientResponse> upload_blockwise(Method method, std::string_view path, std::string_view body,
                                            unsigned block_size, bool include_size1, int content_format) {
        auto szx = szx_for(block_size);
        if (!szx) {
            return fail("coap.block1", "block size must be a power of two from 16 to 1024");
        }
        const ClientRequest base{method, std::string(path), {}, content_format, std::nullopt, true, {}};
        std::size_t offset = 0;
        while (true) {
            const std::size_t size = 16u << *szx;
            const std::string_view chunk = body.substr(offset, size);
            const bool more = offset + chunk.size() < body.size();
            const auto num = static_cast<std::uint32_t>(offset / size);
            Outgoing out = outgoing_for(base);
            out.payload = chunk;
            out.options.emplace_back(COAP_OPTION_BLOCK1, encode_block(num, more, *szx));
            if (include_size1) {
                out.options.emplace_back(COAP_OPTION_SIZE1, encode_uint(static_cast<std::uint32_t>(body.size())));
            }
            auto response = round_trip(out, "Block1 block " + std::to_string(num));
            if (!response || !more || response->code != 231) {
                return response;
            }
            offset += chunk.size();
            // The server may ask for smaller blocks in its 2.31 (RFC 7959 2.3); later blocks use that size.
            if (response->block1 && response->block1->size < size) {
                szx = szx_for(response->block1->size);
            }
        }
    }

    Result<Observation> observe(std::string_view path, NotificationCallback callback) {
        const std::string token = new_token();
        Outgoing out{Method::get, true, uri_options(path), {}, std::nullopt};
        out.options.emplace_back(COAP_OPTION_OBSERVE, encode_uint(COAP_OBSERVE_ESTABLISH));
        if (options.block2_size != 0)  // a registration is a GET, and its notifications come in that size too
            out.options.emplace_back(COAP_OPTION_BLOCK2, encode_block(0, false, *szx_for(options.block2_size)));
        if (auto sent = send_and_wait(out, token, "observe registration"); !sent) {
            exchanges.erase(token);
            return sent.error();
        }
        Exchange& exchange = exchanges[token];
        Observation observation{0, std::move(exchange.responses.front())};
        const bool accepted = observation.response.code / 100 == 2 && observation.response.observe.has_value();
        if (!accepted) {
            exchanges.erase(token);
            return observation;
        }
        observation.id = next_observation_id++;
        exchange.observation = observation.id;
        for (auto it = std::next(exchange.responses.begin()); it != exchange.responses.end(); ++it) {
            notifications.emplace_back(observation.id, std::move(*it));
        }
        exchange.responses.clear();
        observations[observation.id] = ObservationState{token, std::string(path), std::move(callback)};
        if (observation.response.block2 && observation.response.block2->more) {
            auto whole = fetch_rest(uri_options(path), std::move(observation.response));
            if (!whole) {
                return whole.error();
            }
            observation.response = std::move(*whole);
        }
        return observation;
    }

    Result<ClientResponse> cancel_observe(std::uint64_t id) {
        auto found = observations.find(id);
        if (found == observations.end()) {
            return fail("observe.unknown", "no active observation " + std::to_string(id));
        }
        const ObservationState state = found->second;
        observations.erase(found);
        std::erase_if(notifications, [id](const auto& entry) { return entry.first == id; });
        Exchange& exchange = exchanges[state.token];
        exchange.observation = 0;
        exchange.responses.clear();
        const std::uint16_t mid = coap_new_message_id(session);
        Outgoing out{Method::get, true, uri_options(state.path), {}, mid};
        out.options.emplace_back(COAP_OPTION_OBSERVE, encode_uint(COAP_OBSERVE_CANCEL));
        // Notifications still in flight share the token; the answer is the ACK to our message id or lacks Observe.
        const auto is_answer = [mid](const ClientResponse& r) {
            return (r.type == MessageType::ack && r.message_id == mid) || !r.observe;
        };
        auto status = send(out, state.token);
        if (status) {
            status = run_until(
                [&] {
                    return !exchange.failure.empty() ||
                           std::any_of(exchange.responses.begin(), exchange.responses.end(), is_answer);
                },
                Clock::now() + options.request_timeout, "observe cancellation");
        }
        auto node = exchanges.extract(state.token);
        if (!status) {
            return status.error();
        }
        auto& responses = node.mapped().responses;
        const auto answer = std::find_if(responses.begin(), responses.end(), is_answer);
        if (answer == responses.end()) {
            return fail("coap.nack", "observe cancellation: " + node.mapped().failure);
        }
        return std::move(*answer);
    }

    void deliver_notifications() {
        while (!notifications.empty()) {
            auto [id, response] = std::move(notifications.front());
            notifications.pop_front();
            auto found = observations.find(id);
            if (found == observations.end()) {
                continue;
            }
            // Copies, because the callback may cancel this observation (or others) and invalidate found.
            const std::string path = found->second.path;
            const NotificationCallback callback = found->second.callback;
            if (response.block2 && response.block2->more) {
                auto whole = fetch_rest(uri_options(path), std::move(response));
                if (!whole) {
                    continue;  // last_error says why
                }
                response = std::move(*whole);
            }
            if (callback) {
                callback(response);
            }
        }
    }

    void poll(std::chrono::milliseconds duration) {
        const auto deadline = Clock::now() + duration;
        deliver_notifications();
        while (session_error.empty()) {
            const auto now = Clock::now();
            if (now >= deadline) {
                break;
            }
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::min<Clock::duration>(deadline - now, kIoSlice));
            coap_io_process(ctx, static_cast<std::uint32_t>(std::max<std::int64_t>(wait.count(), 1)));
            deliver_notifications();
        }
    }

    // libcoap callbacks; they record and return, never throw.
    coap_response_t on_response(const coap_pdu_t* received) {
        ClientResponse response = to_response(received);
        if (response.type == MessageType::ack) {
            last_ack_mid = response.message_id;
        }
        auto found = exchanges.find(token_of(received));
        if (found == exchanges.end()) {
            // Late answers to abandoned requests are fine; a notification nobody wants gets a Reset (RFC 7641 3.6).
            return response.type == MessageType::ack ? COAP_RESPONSE_OK : COAP_RESPONSE_FAIL;
        }
        if (found->second.observation != 0) {
            notifications.emplace_back(found->second.observation, std::move(response));
        } else {
            found->second.responses.push_back(std::move(response));
        }
        return COAP_RESPONSE_OK;
    }

    void on_nack(const coap_pdu_t* sent, coap_nack_reason_t reason) {
        if (sent == nullptr) {
            return;
        }
        auto found = exchanges.find(token_of(sent));
        if (found != exchanges.end()) {
            found->second.failure = nack_text(reason);
        }
    }

    void on_event(const coap_session_t* event_session, coap_event_t event) {
        const bool established = coap_session_get_state(event_session) == COAP_SESSION_STATE_ESTABLISHED;
        switch (event) {
            case COAP_EVENT_DTLS_CLOSED:
                session_error = established ? "the server closed the DTLS session"
                                            : "the DTLS session closed during the handshake (nothing listening?)";
                break;
            case COAP_EVENT_DTLS_ERROR:
                session_error = "DTLS error";
                break;
            case COAP_EVENT_SESSION_FAILED:
                session_error = "session failed";
                break;
            default:
                break;
        }
        if (!session_error.empty() && !alert.empty()) {
            session_error += " (" + alert + ")";
        }
    }

    void on_tls_message(int write_p, const std::uint8_t* bytes, std::size_t length, SSL* ssl) {
        if (length < 2 || bytes[0] != SSL3_AL_FATAL) {
            return;
        }
        alert =
            std::string(write_p ? "sent" : "received") + " fatal alert '" + SSL_alert_desc_string_long(bytes[1]) + "'";
        const long verify = SSL_get_verify_result(ssl);
        if (write_p && verify != X509_V_OK) {
            verify_error = std::string("server certificate rejected: ") + X509_verify_cert_error_string(verify);
        }
    }

    std::string handshake_detail() const {
        std::string detail = alert.empty() ? session_error : alert;
        if (!verify_error.empty()) {
            detail += "; " + verify_error;
        }
        return detail;
    }
};

namespace {

DeviceClient::Impl* impl_of(const coap_session_t* session) {
    return static_cast<DeviceClient::Impl*>(coap_get_app_data(coap_session_get_context(session)));
}

coap_response_t response_handler(coap_session_t* session, const coap_pdu_t* /*sent*/, const coap_pdu_t* received,
                                 const coap_mid_t /*mid*/) noexcept {
    try {
        return impl_of(session)->on_response(received);
    } catch (...) {
        return COAP_RESPONSE_OK;  // out of memory: drop this response, the request times out
    }
}

void nack_handler(coap_session_t* session, const coap_pdu_t* sent, const coap_nack_reason_t reason,
                  const coap_mid_t /*mid*/) noexcept {
    try {
        impl_of(session)->on_nack(sent, reason);
    } catch (...) {
    }
}

int event_handler(coap_session_t* session, const coap_event_t event) noexcept {
    try {
        impl_of(session)->on_event(session, event);
    } catch (...) {
    }
    return 0;
}

void tls_message_callback(int write_p, int /*version*/, int content_type, const void* buf, std::size_t len, SSL* ssl,
                          void* arg) noexcept {
    if (content_type != SSL3_RT_ALERT) {
        return;
    }
    try {
        static_cast<DeviceClient::Impl*>(arg)->on_tls_message(write_p, static_cast<const std::uint8_t*>(buf), len, ssl);
    } catch (...) {
    }
}

Result<coap_address_t> resolve(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc != 0) {
        return make_error("net.resolve", "cannot resolve " + host + ": " + ::gai_strerror(rc));
    }
    coap_address_t address;
    coap_address_init(&address);
    const bool fits = found->ai_addrlen <= sizeof(address.addr);
    if (fits) {
        std::memcpy(&address.addr, found->ai_addr, found->ai_addrlen);
        address.size = found->ai_addrlen;
    }
    ::freeaddrinfo(found);
    if (!fits) {
        return make_error("net.resolve", "unsupported address family for " + host);
    }
    return address;
}

Result<void> check_options(const ClientOptions& options) {
    if (options.nstart == 0 || options.max_retransmit == 0 || options.request_timeout.count() <= 0 ||
        options.connect_timeout.count() <= 0 || options.ack_timeout.count() <= 0) {
        return make_error("client.options", "timeouts, nstart and max_retransmit must be positive");
    }
    if (options.block2_size != 0 && !szx_for(options.block2_size)) {
        return make_error("client.options", "block2_size must be 0 or a power of two from 16 to 1024");
    }
    return {};
}

bool readable(const std::filesystem::path& path) {
    return ::access(path.c_str(), R_OK) == 0;
}

// Starts the libcoap session for the credentials; the handshake itself runs later in coap_io_process.
Result<coap_session_t*> start_session(DeviceClient::Impl& impl, const coap_address_t& server,
                                      const ClientCredentials& credentials) {
    // The wildcard address of the server's family, on the fixed port if one is asked for.
    coap_address_t local_address;
    coap_address_init(&local_address);
    local_address.size = server.size;
    local_address.addr.sa.sa_family = server.addr.sa.sa_family;
    coap_address_set_port(&local_address, impl.options.local_port);
    const coap_address_t* local = impl.options.local_port != 0 ? &local_address : nullptr;
    if (const auto* psk = std::get_if<PskCredentials>(&credentials.secret)) {
        if (psk->identity.empty() || psk->identity.size() > COAP_DTLS_MAX_PSK_IDENTITY || psk->key.empty() ||
            psk->key.size() > COAP_DTLS_MAX_PSK) {
            return make_error("dtls.credentials", "PSK identity must be 1-64 bytes and the key 1-64 bytes");
        }
        coap_dtls_cpsk_t setup{};
        setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
        setup.psk_info.identity = {psk->identity.size(), reinterpret_cast<const std::uint8_t*>(psk->identity.data())};
        setup.psk_info.key = {psk->key.size(), psk->key.data()};
        return coap_new_client_session_psk2(impl.ctx, local, &server, COAP_PROTO_DTLS, &setup);
    }
    const auto& pki = std::get<CertificateCredentials>(credentials.secret);
    for (const auto& file : {pki.cert_file, pki.key_file}) {
        if (!readable(file)) {
            return make_error("dtls.credentials", "cannot read " + file.string());
        }
    }
    coap_dtls_pki_t setup{};
    setup.version = COAP_DTLS_PKI_SETUP_VERSION;
    if (pki.ca_file) {
        if (!readable(*pki.ca_file) || coap_context_set_pki_root_cas(impl.ctx, pki.ca_file->c_str(), nullptr) != 1) {
            return make_error("dtls.credentials", "cannot load CA file " + pki.ca_file->string());
        }
        setup.verify_peer_cert = 1;
        setup.cert_chain_validation = 1;
        setup.cert_chain_verify_depth = 3;
    }
    impl.cert_file = pki.cert_file.string();
    impl.key_file = pki.key_file.string();
    setup.pki_key.key_type = COAP_PKI_KEY_PEM;
    setup.pki_key.key.pem.public_cert = impl.cert_file.c_str();
    setup.pki_key.key.pem.private_key = impl.key_file.c_str();
    return coap_new_client_session_pki(impl.ctx, local, &server, COAP_PROTO_DTLS, &setup);
}

}  // namespace

ClientCredentials ClientCredentials::psk(std::string identity, std::vector<std::uint8_t> key) {
    return ClientCredentials{PskCredentials{std::move(identity), std::move(key)}, {}};
}

ClientCredentials ClientCredentials::psk(std::string identity, std::string_view key) {
    return psk(std::move(identity), std::vector<std::uint8_t>(key.begin(), key.end()));
}

ClientCredentials ClientCredentials::certificate(std::filesystem::path cert_file, std::filesystem::path key_file,
                                                 std::optional<std::filesystem::path> ca_file) {
    return ClientCredentials{CertificateCredentials{std::move(cert_file), std::move(key_file), std::move(ca_file)}, {}};
}

Result<std::unique_ptr<DeviceClient>> DeviceClient::connect(const std::string& host, std::uint16_t port,
                                                            const ClientCredentials& credentials,
                                                            const ClientOptions& options) {
    if (auto checked = check_options(options); !checked) {
        return checked.error();
    }
    std::call_once(g_coap_started, coap_startup);
    coap_set_log_level(to_coap_level(options.log_level));
    coap_dtls_set_log_level(to_coap_level(options.log_level));
    if (coap_dtls_is_supported() == 0) {
        return make_error("dtls.unsupported", "this libcoap build has no DTLS");
    }
    auto server = resolve(host, port);
    if (!server) {
        return server.error();
    }

    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->peer = host + ":" + std::to_string(port);
    impl->ctx = coap_new_context(nullptr);
    if (impl->ctx == nullptr) {
        return make_error("coap.context", "cannot create a libcoap context");
    }
    coap_set_app_data(impl->ctx, impl.get());
    coap_register_response_handler(impl->ctx, response_handler);
    coap_register_nack_handler(impl->ctx, nack_handler);
    coap_register_event_handler(impl->ctx, event_handler);
    coap_register_option(impl->ctx, kUnknownCriticalOption);

    auto session = start_session(*impl, *server, credentials);
    if (!session) {
        return session.error();
    }
    if (*session == nullptr) {
        return make_error("dtls.setup", "libcoap could not start a DTLS session to " + impl->peer +
                                            " (unusable certificate or key file?)");
    }
    impl->session = *session;
    coap_session_set_nstart(impl->session, static_cast<std::uint16_t>(options.nstart));
    coap_session_set_max_retransmit(impl->session, static_cast<std::uint16_t>(options.max_retransmit));
    const auto ack_ms = options.ack_timeout.count();
    coap_session_set_ack_timeout(impl->session, coap_fixed_point_t{static_cast<std::uint16_t>(ack_ms / 1000),
                                                                   static_cast<std::uint16_t>(ack_ms % 1000)});

    coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
    auto* ssl = static_cast<SSL*>(coap_session_get_tls(impl->session, &library));
    if (ssl == nullptr || library != COAP_TLS_LIBRARY_OPENSSL) {
        return make_error("dtls.setup", "libcoap is not using OpenSSL for this session");
    }
    SSL_set_msg_callback(ssl, tls_message_callback);
    SSL_set_msg_callback_arg(ssl, impl.get());
    // libcoap 4.3.1 never calls additional_tls_setup_call_back on the client side, so the offer is changed on the
    // SSL object directly; it is rebuilt from this list after the server's HelloVerifyRequest.
    if (!credentials.cipher_list.empty() && SSL_set_cipher_list(ssl, credentials.cipher_list.c_str()) != 1) {
        return make_error("dtls.cipher", "no usable cipher suite in '" + credentials.cipher_list + "'");
    }

    const auto established =
        impl->run_until([&] { return coap_session_get_state(impl->session) == COAP_SESSION_STATE_ESTABLISHED; },
                        Clock::now() + options.connect_timeout, "the DTLS handshake");
    if (!established) {
        // A DTLS server silently discards records it cannot decrypt (RFC 6347 4.1.2.7), so a wrong PSK key
        // usually ends in this timeout rather than an alert.
        const bool silent = impl->session_error.empty() && impl->alert.empty();
        return make_error("dtls.handshake",
                          silent ? "DTLS handshake with " + impl->peer + " did not complete within " +
                                       std::to_string(options.connect_timeout.count()) +
                                       " ms (no server, or it dropped our credentials silently)"
                                 : "DTLS handshake with " + impl->peer + " failed: " + impl->handshake_detail());
    }
    ssl = static_cast<SSL*>(coap_session_get_tls(impl->session, &library));
    impl->cipher = ssl != nullptr ? SSL_get_cipher_name(ssl) : "";
    return std::unique_ptr<DeviceClient>(new DeviceClient(std::move(impl)));
}

DeviceClient::DeviceClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DeviceClient::~DeviceClient() = default;

Result<ClientResponse> DeviceClient::request(const ClientRequest& request) {
    return impl_->perform(request);
}

Result<ClientResponse> DeviceClient::get(std::string_view path_with_query) {
    return request(ClientRequest{Method::get, std::string(path_with_query), {}, std::nullopt, std::nullopt, true, {}});
}

Result<ClientResponse> DeviceClient::post(std::string_view path, std::string_view body, int content_format) {
    return request(
        ClientRequest{Method::post, std::string(path), std::string(body), content_format, std::nullopt, true, {}});
}

Result<ClientResponse> DeviceClient::put(std::string_view path, std::string_view body, int content_format) {
    return request(
        ClientRequest{Method::put, std::string(path), std::string(body), content_format, std::nullopt, true, {}});
}

Result<ClientResponse> DeviceClient::del(std::string_view path) {
    return request(ClientRequest{Method::del, std::string(path), {}, std::nullopt, std::nullopt, true, {}});
}

Result<std::vector<ClientResponse>> DeviceClient::send_repeated(Method method, std::string_view path,
                                                                std::string_view body, std::uint16_t message_id,
                                                                int times, int content_format) {
    if (times < 1) {
        return impl_->fail("client.options", "times must be at least 1");
    }
    const bool has_body = method == Method::post || method == Method::put;
    Outgoing out = outgoing_for(ClientRequest{method,
                                              std::string(path),
                                              {},
                                              has_body ? std::optional<int>(content_format) : std::nullopt,
                                              std::nullopt,
                                              true,
                                              {}});
    out.payload = body;
    out.message_id = message_id;
    return impl_->repeat(out, times);
}

Result<ClientResponse> DeviceClient::post_blockwise(std::string_view path, std::string_view body, unsigned block_size,
                                                    bool include_size1, int content_format) {
    return impl_->upload_blockwise(Method::post, path, body, block_size, include_size1, content_format);
}

Result<ClientResponse> DeviceClient::put_blockwise(std::string_view path, std::string_view body, unsigned block_size,
                                                   bool include_size1, int content_format) {
    return impl_->upload_blockwise(Method::put, path, body, block_size, include_size1, content_format);
}

Result<Observation> DeviceClient::observe(std::string_view path, NotificationCallback callback) {
    return impl_->observe(path, std::move(callback));
}

Result<ClientResponse> DeviceClient::cancel_observe(std::uint64_t observation_id) {
    return impl_->cancel_observe(observation_id);
}

void DeviceClient::poll(std::chrono::milliseconds duration) {
    impl_->poll(duration);
}

std::string DeviceClient::last_error() const {
    return impl_->last_error;
}

std::string DeviceClient::cipher_suite() const {
    return impl_->cipher;
}

bool DeviceClient::connected() const {
    return impl_->session_error.empty();
}

}  // namespace han
