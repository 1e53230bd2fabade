#include "billing/ocpi_push.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace billing::ocpi {

namespace {

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

}  // namespace

PushResult push_cdr(const Peer& peer, const Cdr& cdr) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl)
        return {PushOutcome::RetryLater, "libcurl could not start"};
    const std::string body = format_cdr(cdr);
    std::string answer;
    char error[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Authorization: Token " + encode_token(peer.token)).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_owner(headers, &curl_slist_free_all);
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, peer.cdrs_url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    if (!peer.ca_file.empty())
        curl_easy_setopt(handle, CURLOPT_CAINFO, peer.ca_file.c_str());
    curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(peer.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    if (const CURLcode code = curl_easy_perform(handle); code != CURLE_OK)
        return {PushOutcome::RetryLater, error[0] != '\0' ? error : curl_easy_strerror(code)};
    long http = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &http);
    auto status = envelope_status(answer);
    const std::string detail = "HTTP " + std::to_string(http) +
                               (status ? ", status_code " + std::to_string(*status) : ", no OCPI envelope") + ": " +
                               answer.substr(0, 300);
    if (http >= 200 && http < 300 && status && *status == kSuccess)
        return {PushOutcome::Accepted, detail};
    // The hub read the CDR and refuses it (2xxx other than an unknown credential): sending it again changes nothing.
    const bool refused_cdr = http != 401 && http != 403 && status && *status >= 2000 && *status < 3000;
    return {refused_cdr ? PushOutcome::Rejected : PushOutcome::RetryLater, detail};
}

std::chrono::seconds retry_delay(int failures) {
    constexpr std::int64_t kFirst = 30;
    constexpr std::int64_t kLongest = 6 * 3600;
    std::int64_t delay = kFirst;
    for (int i = 1; i < failures && delay < kLongest; ++i)
        delay *= 2;
    return std::chrono::seconds(std::min(delay, kLongest));
}

}  // namespace billing::ocpi
