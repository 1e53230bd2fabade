#include "psk_load.hpp"

#include <chrono>
#include <stdexcept>

#include <arpa/inet.h>
#include <coap3/coap.h>

namespace bench {
namespace {

struct LoadState {
    const PskLoadOptions* options = nullptr;
    bool running = false;
    unsigned connected = 0;
    unsigned failed = 0;
    std::uint64_t sent = 0;  // requests of the timed window
    PskLoadResult result;
};

LoadState& state_of(coap_session_t* session) {
    return *static_cast<LoadState*>(coap_session_get_app_data(session));
}

void send_get(coap_session_t* session, const std::string& path) {
    coap_pdu_t* pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, session);
    if (pdu == nullptr)
        return;
    ++state_of(session).sent;
    std::uint8_t token[8];
    std::size_t token_length = 0;
    coap_session_new_token(session, &token_length, token);
    coap_add_token(pdu, token_length, token);
    if (!path.empty())
        coap_add_option(pdu, COAP_OPTION_URI_PATH, path.size(), reinterpret_cast<const std::uint8_t*>(path.data()));
    coap_send(session, pdu);
}

coap_response_t on_response(coap_session_t* session, const coap_pdu_t*, const coap_pdu_t* received, coap_mid_t) {
    LoadState& state = state_of(session);
    if (!state.running)
        return COAP_RESPONSE_OK;
    if (coap_pdu_get_code(received) == COAP_RESPONSE_CODE(205))
        ++state.result.responses;
    else
        ++state.result.errors;
    send_get(session, state.options->path);
    return COAP_RESPONSE_OK;
}

void on_nack(coap_session_t* session, const coap_pdu_t*, coap_nack_reason_t reason, coap_mid_t) {
    LoadState& state = state_of(session);
    if (!state.running)
        return;
    if (reason == COAP_NACK_TOO_MANY_RETRIES)
        ++state.result.timeouts;
    else
        ++state.result.errors;
    // Keep the pipeline depth, unless the session itself is gone.
    if (reason == COAP_NACK_TOO_MANY_RETRIES || reason == COAP_NACK_RST)
        send_get(session, state.options->path);
}

int on_event(coap_session_t* session, coap_event_t event) {
    LoadState& state = state_of(session);
    if (event == COAP_EVENT_DTLS_CONNECTED)
        ++state.connected;
    if (event == COAP_EVENT_DTLS_ERROR || event == COAP_EVENT_DTLS_CLOSED) {
        ++state.failed;
        if (state.running)
            ++state.result.errors;
    }
    return 0;
}

}  // namespace

PskLoadResult run_psk_load(const PskLoadOptions& options) {
    coap_startup();
    coap_set_log_level(LOG_EMERG);
    coap_dtls_set_log_level(LOG_EMERG);
    coap_context_t* context = coap_new_context(nullptr);
    if (context == nullptr)
        throw std::runtime_error("coap_new_context failed");
    LoadState state;
    state.options = &options;
    coap_register_response_handler(context, on_response);
    coap_register_nack_handler(context, on_nack);
    coap_register_event_handler(context, on_event);

    coap_address_t server;
    coap_address_init(&server);
    server.addr.sin.sin_family = AF_INET;
    server.addr.sin.sin_port = htons(options.port);
    server.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.size = sizeof(server.addr.sin);

    std::vector<coap_session_t*> sessions;
    for (const auto& identity : options.identities) {
        coap_dtls_cpsk_t setup{};
        setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
        setup.psk_info.identity = {identity.size(), reinterpret_cast<const std::uint8_t*>(identity.data())};
        setup.psk_info.key = {options.key.size(), reinterpret_cast<const std::uint8_t*>(options.key.data())};
        coap_session_t* session = coap_new_client_session_psk2(context, nullptr, &server, COAP_PROTO_DTLS, &setup);
        if (session == nullptr)
            continue;
        // libcoap 4.3.1 has no context app data, so every session points at the shared state.
        coap_session_set_app_data(session, &state);
        coap_session_set_nstart(session, static_cast<std::uint16_t>(options.outstanding));
        sessions.push_back(session);
    }
    // The handshakes are not part of the measurement. Lost flights are retransmitted by libcoap; what has not
    // connected by the deadline (10 s, plus 2 ms a session for large runs) is left out.
    const auto handshake_deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10) + std::chrono::milliseconds(2) * sessions.size();
    while (state.connected + state.failed < sessions.size() && std::chrono::steady_clock::now() < handshake_deadline)
        coap_io_process(context, 100);
    state.result.sessions_established = state.connected;

    state.running = true;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration<double>(options.seconds);
    for (coap_session_t* session : sessions) {
        if (coap_session_get_state(session) != COAP_SESSION_STATE_ESTABLISHED)
            continue;
        for (unsigned i = 0; i < options.outstanding; ++i)
            send_get(session, options.path);
    }
    // Requests lost on the way are retransmitted by libcoap (ACK_TIMEOUT, MAX_RETRANSMIT) and counted as timeouts
    // when it gives up; the window ends on time whatever is still unanswered.
    while (std::chrono::steady_clock::now() < deadline)
        coap_io_process(context, 50);
    state.running = false;
    state.result.unanswered_at_end = state.sent - state.result.responses - state.result.errors - state.result.timeouts;
    state.result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    coap_free_context(context);
    return state.result;
}

}  // namespace bench
