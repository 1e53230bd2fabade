#include "emulator/live_head_end.hpp"

#include "emulator/certificates.hpp"
#include "headend/http/client.hpp"

namespace emulator {

namespace {

headend::Error failure(const std::string& message) {
    return headend::make_error("fleet", message);
}

}  // namespace

headend::Result<std::unique_ptr<LiveHeadEnd>> LiveHeadEnd::connect(Options options) {
    std::unique_ptr<LiveHeadEnd> headend(new LiveHeadEnd(std::move(options)));
    auto answer = headend->admin("GET", "/api/v1/clock");
    if (answer && answer->status == 404)
        return failure("the head-end at " + headend->options_.admin_url +
                       " does not run on simulated time (start it with headend --simulated-time on a test or demo "
                       "system): the fleet moves its clock through the simulated days");
    if (answer && answer->status == 401)
        return failure("the head-end at " + headend->options_.admin_url + " refused the admin token");
    if (auto kept = headend->keep_time(answer, "reading the head-end's clock"); !kept)
        return kept.error();
    return headend;
}

headend::Result<FleetHeadEnd::Answer> LiveHeadEnd::admin(const std::string& method, const std::string& path,
                                                         const std::string& body) {
    std::string url = options_.admin_url;
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    auto response = headend::http::http_request(
        url + path, method, body,
        {{"Accept", "application/json"}, {"User-Agent", "han-emulator"}, {"Authorization", "Bearer " + options_.token}},
        std::chrono::seconds(30));
    if (!response)
        return failure(method + " " + url + path + ": " + response.error().message);
    return Answer{response->status, nlohmann::json::parse(response->body, nullptr, false)};
}

headend::Result<Endpoint> LiveHeadEnd::endpoint() {
    Endpoint endpoint;
    endpoint.host = options_.host;
    endpoint.server_ca = options_.server_ca;
    if (options_.coaps_port) {
        endpoint.port = *options_.coaps_port;
        return endpoint;
    }
    auto health = admin("GET", "/api/v1/health");
    if (!health)
        return health.error();
    const auto& port = health->body.is_object() ? health->body["coaps"]["port"] : nlohmann::json();
    if (health->status != 200 || !port.is_number_unsigned())
        return failure("the health report names no CoAPS port (answered " + std::to_string(health->status) + ")");
    endpoint.port = port.get<std::uint16_t>();
    return endpoint;
}

headend::Result<headend::pki::CertificateFiles> LiveHeadEnd::pev_certificate(const std::string&,
                                                                             const std::string& vin) {
    // Named by VIN, as han-emulator names its PEV's: the same VIN is the same vehicle whichever run minted it.
    return mint_pev_certificate(options_.mfr_ca, options_.mfr_ca, "pev-" + vin, vin);
}

headend::Result<headend::pki::CertificateFiles> LiveHeadEnd::roaming_certificate(const std::string& vin) {
    headend::pki::CertificateFiles files;
    files.cert = options_.mfr_ca / ("visitor-" + vin + ".pem");
    files.key = options_.mfr_ca / ("visitor-" + vin + ".key");
    if (!std::filesystem::exists(files.cert) || !std::filesystem::exists(files.key))
        return failure("no " + files.cert.string() + ": make it (headend-pki device --ca " + options_.mfr_ca.string() +
                       " --out " + options_.mfr_ca.string() + " --name visitor-" + vin + " --serial " + vin +
                       ") and name its LFDI in the head-end's roaming registry (plugin.pev-binding "
                       "roaming_registry_file) before the head-end starts");
    return files;
}

std::int64_t LiveHeadEnd::now() const {
    return system_clock()() + offset_.load();
}

headend::Result<void> LiveHeadEnd::advance(std::chrono::seconds by) {
    const nlohmann::json body = {{"advance_s", by.count()}};
    return keep_time(admin("POST", "/api/v1/clock", body.dump()), "moving the head-end's clock");
}

headend::Result<void> LiveHeadEnd::keep_time(const headend::Result<Answer>& answer, const std::string& what) {
    if (!answer)
        return failure(what + ": " + answer.error().message);
    const auto& now = answer->body.is_object() ? answer->body["now"] : nlohmann::json();
    if (answer->status != 200 || !now.is_number_integer())
        return failure(what + " answered " + std::to_string(answer->status) + ": " + answer->body.dump());
    offset_ = now.get<std::int64_t>() - system_clock()();
    return {};
}

}  // namespace emulator
