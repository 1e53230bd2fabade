#include "emulator/devices.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <thread>

#include "sep/encode.hpp"

namespace emulator {

namespace {

constexpr std::uint32_t kPevCategory = 0x00010000;  // DeviceCategoryType: electric vehicle
constexpr std::uint8_t kMains = 1;
constexpr std::uint8_t kBattery = 2;
constexpr std::uint8_t kResponseReceived = 1;

headend::Error failure(const std::string& message) {
    return headend::make_error("emulator", message);
}

std::uint64_t fnv1a(const std::string& text, std::uint64_t hash = 0xcbf29ce484222325ULL) {
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

// A stable mRID for what `seed` names (128 bits of two FNV-1a hashes; the low 32 bits a PEN of 0, a test device's).
std::string derived_mrid(const std::string& seed) {
    const std::uint64_t high = fnv1a(seed);
    const std::uint64_t low = fnv1a(seed + "#", high);
    std::array<char, 33> text{};
    std::snprintf(text.data(), text.size(), "%016llX%08llX%08X", static_cast<unsigned long long>(high),
                  static_cast<unsigned long long>(low >> 32), 0U);
    return text.data();
}

constexpr std::uint16_t kPevMirrorRoles = sep::kRoleIsMirror | sep::kRoleIsPev | sep::kRoleIsSubmeter;
constexpr std::uint16_t kPremisesMirrorRoles = sep::kRoleIsMirror | sep::kRoleIsPremisesAggregationPoint;

// A mirror measuring one circuit's energy: one meter reading of delivered Wh per `interval_s`.
sep::MirrorUsagePoint energy_mirror(const std::string& mrid, const std::string& description, std::uint16_t roles,
                                    const std::string& device_lfdi, const std::string& reading_mrid,
                                    std::uint32_t interval_s) {
    sep::MirrorUsagePoint mirror;
    mirror.mrid = mrid;
    mirror.description = description;
    mirror.role_flags = roles;
    mirror.status = 1;
    mirror.device_lfdi = device_lfdi;
    sep::MirrorMeterReading reading;
    reading.mrid = reading_mrid;
    reading.description = "energy per interval";
    sep::ReadingType type;
    type.accumulation_behaviour = 4;  // deltaData
    type.commodity = 1;
    type.flow_direction = 1;
    type.interval_length = interval_s;
    type.kind = 12;  // energy
    type.uom = 72;   // Wh
    reading.reading_type = type;
    mirror.mirror_meter_readings.push_back(reading);
    return mirror;
}

// splitmix64: a well-mixed 64-bit value for each input, so a house's load depends only on its seed and the instant.
std::uint64_t mix(std::uint64_t value) {
    value += 0x9e3779b97f4a7c15ULL;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

// Uniform in [0, 1) from a mixed value.
double unit(std::uint64_t value) {
    return static_cast<double>(mix(value) >> 11) / static_cast<double>(1ULL << 53);
}

}  // namespace

LocalClock system_clock() {
    return [] {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
}

void StepLog::add(Step step) {
    std::lock_guard lock(mutex_);
    steps_.push_back(std::move(step));
}

std::vector<Step> StepLog::steps() const {
    std::lock_guard lock(mutex_);
    return steps_;
}

bool StepLog::has(const std::string& device, const std::string& name) const {
    std::lock_guard lock(mutex_);
    return std::any_of(steps_.begin(), steps_.end(),
                       [&](const Step& step) { return step.device == device && step.name == name && step.ok; });
}

std::size_t StepLog::failures() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(steps_.begin(), steps_.end(), [](const Step& step) { return !step.ok; }));
}

nlohmann::json StepLog::summary() const {
    std::lock_guard lock(mutex_);
    nlohmann::json steps = nlohmann::json::array();
    std::size_t failed = 0;
    for (const auto& step : steps_) {
        steps.push_back(
            {{"at", step.at}, {"device", step.device}, {"step", step.name}, {"detail", step.detail}, {"ok", step.ok}});
        failed += step.ok ? 0 : 1;
    }
    return {{"steps", steps}, {"failures", failed}};
}

void StepLog::print(std::ostream& out) const {
    for (const auto& step : steps()) {
        out << step.at << "  " << step.device << "  " << (step.ok ? "" : "FAILED ") << step.name
            << (step.detail.empty() ? "" : "  " + step.detail) << '\n';
    }
}

Device::Device(std::string name, Endpoint endpoint, StepLog& log, LocalClock clock)
    : name_(std::move(name)), endpoint_(std::move(endpoint)), log_(log), clock_(std::move(clock)) {}

void Device::step(const std::string& name, const std::string& detail, bool ok) {
    log_.add(Step{now(), name_, name, detail, ok});
}

headend::Result<void> Device::open(const han::ClientCredentials& credentials, const std::string& step_name,
                                   bool fallback_follows) {
    const auto started = std::chrono::steady_clock::now();
    auto client = han::DeviceClient::connect(endpoint_.host, endpoint_.port, credentials, endpoint_.client);
    handshake_time_ += std::chrono::steady_clock::now() - started;
    if (!client) {
        step(step_name, (fallback_follows ? "refused, falling back: " : "") + client.error().message, fallback_follows);
        return client.error();
    }
    client_ = std::move(*client);
    notifications_.clear();
    step(step_name, client_->cipher_suite());
    return {};
}

headend::Result<han::ClientResponse> Device::exchange(const han::ClientRequest& request) {
    if (!client_)
        return failure(name_ + " has no session");
    ++exchanges_;
    auto answer = client_->request(request);
    if (!answer) {
        step("coap.failed", request.path + ": " + answer.error().message, false);
        return answer.error();
    }
    return answer;
}

template <typename T>
headend::Result<T> Device::get_document(const std::string& path) {
    han::ClientRequest request;
    request.path = path;
    auto answer = exchange(request);
    if (!answer)
        return answer.error();
    if (answer->code != 205)
        return headend::make_error("coap." + std::to_string(answer->code),
                                   path + " answered " + std::to_string(answer->code));
    return endpoint_.codec->decode<T>(answer->body);
}

template <typename T>
headend::Result<T> Device::observe_document(const std::string& path) {
    if (!client_)
        return failure(name_ + " has no session");
    ++exchanges_;
    auto observed =
        client_->observe(path, [this](const han::ClientResponse& response) { notifications_.push_back(response); });
    if (!observed)
        return observed.error();
    if (observed->response.code != 205 || observed->id == 0)
        return headend::make_error("coap." + std::to_string(observed->response.code),
                                   path + " answered " + std::to_string(observed->response.code) +
                                       (observed->id == 0 ? " without observing" : ""));
    return endpoint_.codec->decode<T>(observed->response.body);
}

template <typename T>
headend::Result<T> Device::await_notification(const std::string& step_name, std::chrono::milliseconds wait,
                                              const std::function<bool(const T&)>& wanted) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
        while (!notifications_.empty()) {
            const han::ClientResponse response = std::move(notifications_.front());
            notifications_.pop_front();
            if (response.code != 205) {
                step(step_name, "answered " + std::to_string(response.code), false);
                continue;
            }
            auto document = endpoint_.codec->decode<T>(response.body);
            if (!document) {
                step(step_name, document.error().message, false);
                continue;
            }
            if (wanted(*document))
                return document;
            step(step_name, "passed over");
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (!client_ || left.count() <= 0)
            return failure(name_ + ": no such notification within the wait");
        client_->poll(std::min(left, std::chrono::milliseconds(20)));
    }
}

headend::Result<std::int64_t> Device::sync_clock() {
    auto time = get_document<sep::Time>("/tm");
    if (!time) {
        step("clock.sync", time.error().message, false);
        return time.error();
    }
    const std::int64_t correction = time->current_time - now();
    offset_ += correction;
    step("clock.sync", "corrected by " + std::to_string(correction) + " s");
    return correction;
}

headend::Result<int> Device::post_response(const std::string& lfdi, const std::string& subject) {
    sep::Response response;
    response.created_date_time = now();
    response.end_device_lfdi = lfdi;
    response.status = kResponseReceived;
    response.subject = subject;
    han::ClientRequest request;
    request.method = han::Method::post;
    request.path = "/rsps/bnd";
    request.body = sep::encode(response);
    request.content_format = 41;
    auto answer = exchange(request);
    if (!answer)
        return answer.error();
    return answer->code;
}

headend::Result<han::ClientResponse> Device::post_xml(const std::string& path, const std::string& body) {
    constexpr unsigned kBlock = 1024;
    if (body.size() <= kBlock) {
        han::ClientRequest request;
        request.method = han::Method::post;
        request.path = path;
        request.body = body;
        request.content_format = 41;
        return exchange(request);
    }
    if (!client_)
        return failure(name_ + " has no session");
    ++exchanges_;
    auto answer = client_->post_blockwise(path, body, kBlock, true);
    if (!answer)
        step("coap.failed", path + ": " + answer.error().message, false);
    return answer;
}

headend::Result<std::string> Device::create_mirror(const sep::MirrorUsagePoint& mirror) {
    auto answer = post_xml("/mup", sep::encode(mirror));
    if (!answer)
        return answer.error();
    const bool ok = (answer->code == 201 || answer->code == 204) && !answer->location_path.empty();
    step("mirror.created", "answered " + std::to_string(answer->code) + " " + answer->location_path, ok);
    if (!ok)
        return failure(name_ + ": /mup answered " + std::to_string(answer->code) + " " + answer->body);
    return answer->location_path;
}

headend::Result<int> Device::post_readings(const std::string& location, const std::string& reading_mrid,
                                           std::uint32_t interval_s, std::int64_t start,
                                           const std::vector<std::int64_t>& energy_wh, const std::string& step_name) {
    sep::MirrorMeterReading document;
    document.mrid = reading_mrid;
    sep::MirrorReadingSet set;
    set.mrid = derived_mrid(reading_mrid + "/" + std::to_string(start));
    set.time_period = {static_cast<std::uint32_t>(energy_wh.size() * interval_s), start};
    std::int64_t total = 0;
    for (std::size_t i = 0; i < energy_wh.size(); ++i) {
        sep::Reading reading;
        reading.time_period = sep::DateTimeInterval{interval_s, start + static_cast<std::int64_t>(i * interval_s)};
        reading.value = energy_wh[i];
        set.readings.push_back(reading);
        total += energy_wh[i];
    }
    document.mirror_reading_sets.push_back(std::move(set));
    auto answer = post_xml(location, sep::encode(document));
    if (!answer)
        return answer.error();
    step(step_name,
         std::to_string(energy_wh.size()) + " intervals, " + std::to_string(total) + " Wh, answered " +
             std::to_string(answer->code) + (answer->body.empty() ? "" : ": " + answer->body),
         answer->code == 201);
    return answer->code;
}

// ---- ESCI

Esci::Esci(std::string name, Endpoint endpoint, han::PskCredentials credentials, StepLog& log, LocalClock clock)
    : Device(std::move(name), std::move(endpoint), log, std::move(clock)), credentials_(std::move(credentials)) {}

headend::Result<void> Esci::connect() {
    if (auto opened = open(han::ClientCredentials::psk(credentials_.identity, credentials_.key), "dtls.psk"); !opened)
        return opened;
    if (auto synced = sync_clock(); !synced)
        return synced.error();
    return {};
}

headend::Result<Esci::BindingAnswer> Esci::request_binding(const han::DeviceIdentity& pev) {
    step("han.pev_seen", "lFDI " + pev.lfdi);
    sep::EndDevice device;
    device.device_category = kPevCategory;
    device.lfdi = pev.lfdi;
    device.sfdi = pev.sfdi;
    device.changed_time = now();
    han::ClientRequest request;
    request.method = han::Method::post;
    request.path = "/edev";
    request.body = sep::encode(device);
    request.content_format = 41;
    auto answer = exchange(request);
    if (!answer)
        return answer.error();
    BindingAnswer result{answer->code, answer->location_path, answer->code == 201 ? "" : answer->body};
    step("binding.requested", answer->code == 201 ? "accepted: " + answer->location_path : "refused: " + answer->body,
         true);
    return result;
}

std::string Esci::meter_lfdi() const {
    // 160 bits, as a certificate's LFDI has: three FNV-1a hashes of the ESCI's identity.
    const std::string seed = credentials_.identity + "/meter";
    const std::uint64_t first = fnv1a(seed);
    const std::uint64_t second = fnv1a(seed + "#", first);
    const std::uint64_t third = fnv1a(seed + "##", second);
    std::array<char, 41> text{};
    std::snprintf(text.data(), text.size(), "%016llX%016llX%08llX", static_cast<unsigned long long>(first),
                  static_cast<unsigned long long>(second), static_cast<unsigned long long>(third >> 32));
    return text.data();
}

headend::Result<std::string> Esci::mirror_premises(std::uint32_t interval_s) {
    if (premises_mirror_)
        return *premises_mirror_;
    const std::string meter = meter_lfdi();
    const std::string reading = derived_mrid(credentials_.identity + "/" + meter + "/" + std::to_string(interval_s));
    auto location = create_mirror(energy_mirror(derived_mrid(credentials_.identity + "/" + meter), "premises meter",
                                                kPremisesMirrorRoles, meter, reading, interval_s));
    if (!location)
        return location.error();
    premises_mirror_ = *location;
    meter_reading_ = reading;
    meter_interval_ = interval_s;
    return location;
}

headend::Result<int> Esci::post_premises_load(std::int64_t start, const std::vector<std::int64_t>& energy_wh) {
    auto location = mirror_premises();
    if (!location)
        return location.error();
    return post_readings(*location, meter_reading_, meter_interval_, start, energy_wh, "premises_load.posted");
}

// ---- EUMD

Eumd::Eumd(std::string name, Endpoint endpoint, han::PskCredentials credentials, StepLog& log, LocalClock clock)
    : Device(std::move(name), std::move(endpoint), log, std::move(clock)), credentials_(std::move(credentials)) {}

headend::Result<void> Eumd::connect() {
    if (auto opened = open(han::ClientCredentials::psk(credentials_.identity, credentials_.key), "dtls.psk"); !opened)
        return opened;
    if (auto synced = sync_clock(); !synced)
        return synced.error();
    // Its own EndDevice is the only one it may see.
    auto list = get_document<sep::EndDeviceList>("/edev?l=1");
    if (!list || list->end_devices.empty() || !list->end_devices[0].href || !list->end_devices[0].lfdi) {
        step("edev.self", "own EndDevice not found", false);
        return failure(name_ + ": own EndDevice not found");
    }
    edev_path_ = *list->end_devices[0].href;
    lfdi_ = *list->end_devices[0].lfdi;
    step("edev.self", edev_path_);
    return {};
}

headend::Result<sep::PEVBinding> Eumd::read_configuration() {
    return apply(get_document<sep::PEVBinding>(edev_path_ + "/bnd"), "configuration.read");
}

headend::Result<sep::PEVBinding> Eumd::observe_configuration() {
    return apply(observe_document<sep::PEVBinding>(edev_path_ + "/bnd"), "configuration.observed");
}

headend::Result<sep::PEVBinding> Eumd::await_configuration(const std::function<bool(const sep::PEVBinding&)>& wanted,
                                                           std::chrono::milliseconds wait) {
    return apply(await_notification<sep::PEVBinding>("configuration.notified", wait, wanted), "configuration.notified");
}

headend::Result<sep::PEVBinding> Eumd::apply(headend::Result<sep::PEVBinding> configuration, const std::string& how) {
    if (!configuration) {
        step(how, configuration.error().message, false);
        return configuration;
    }
    applied_ = *configuration;
    interval_ = configuration->interval_length;
    metered_pev_ = configuration->pev_lfdi;
    step(how, std::string(sep::to_string(configuration->status)) + " pev=" + configuration->pev_lfdi.value_or("-"));
    step("configuration.applied", "interval " + std::to_string(interval_) + " s");
    return configuration;
}

headend::Result<int> Eumd::acknowledge() {
    if (!applied_)
        return failure(name_ + ": no configuration applied yet");
    if (acknowledged_.contains(applied_->mrid)) {
        step("configuration.known", "acknowledged before: " + applied_->mrid);
        return 0;
    }
    auto code = post_response(lfdi_, applied_->mrid);
    if (code)
        step("configuration.acknowledged", "answered " + std::to_string(*code), *code == 201);
    if (code && *code == 201)
        acknowledged_.insert(applied_->mrid);
    return code;
}

headend::Result<std::string> Eumd::mirror_pev() {
    if (!metered_pev_)
        return failure(name_ + ": no PEV to meter in its configuration");
    return mirror(*metered_pev_);
}

headend::Result<std::string> Eumd::mirror(const std::string& pev_lfdi) {
    if (auto known = mirrors_.find(pev_lfdi); known != mirrors_.end())
        return known->second;
    auto location =
        create_mirror(energy_mirror(derived_mrid(lfdi_ + "/" + pev_lfdi), "EV circuit", kPevMirrorRoles, pev_lfdi,
                                    derived_mrid(lfdi_ + "/" + pev_lfdi + "/" + std::to_string(interval_)), interval_));
    if (!location)
        return location.error();
    mirrors_[pev_lfdi] = *location;
    return location;
}

headend::Result<int> Eumd::post_session(std::int64_t start, const std::vector<std::int64_t>& energy_wh) {
    auto location = mirror_pev();
    if (!location)
        return location.error();
    return post_readings(*location, derived_mrid(lfdi_ + "/" + *metered_pev_ + "/" + std::to_string(interval_)),
                         interval_, start, energy_wh, "session.posted");
}

std::vector<std::int64_t> charging_profile(std::uint32_t interval_s, double kilowatts, std::int64_t energy_wh) {
    // Work in Wh per interval at full power; the last fifth of the energy comes at a third of it.
    const double full = kilowatts * 1000.0 * interval_s / 3600.0;
    if (!(full > 0) || energy_wh <= 0)
        return {};
    const double taper_from = energy_wh * 0.8;
    std::vector<std::int64_t> profile;
    double delivered = 0;
    std::int64_t counted = 0;
    while (counted < energy_wh) {
        const double step = delivered < taper_from ? full : full / 3.0;
        delivered += step;
        const auto upto = std::min<std::int64_t>(energy_wh, static_cast<std::int64_t>(delivered));
        profile.push_back(upto - counted);
        counted = upto;
    }
    return profile;
}

std::vector<std::int64_t> house_load(std::int64_t start, std::uint32_t interval_s, std::size_t count,
                                     std::uint64_t seed, std::int64_t utc_offset_s) {
    // Watts: a base of 250-450 W for the house, about +0.9 kW around 07:30 and +1.6 kW around 19:00 local time, each
    // interval within ±20 % of that.
    const double base = 250.0 + 200.0 * unit(seed);
    const auto peak = [](double hour, double at, double width) {
        return std::exp(-(hour - at) * (hour - at) / (2 * width * width));
    };
    std::vector<std::int64_t> load;
    load.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t at = start + static_cast<std::int64_t>(i * interval_s);
        const std::int64_t middle = at + interval_s / 2 + utc_offset_s;
        const double hour = static_cast<double>(((middle % 86400) + 86400) % 86400) / 3600.0;
        const double watts = (base + 900.0 * peak(hour, 7.5, 1.0) + 1600.0 * peak(hour, 19.0, 1.5)) *
                             (0.8 + 0.4 * unit(seed ^ mix(static_cast<std::uint64_t>(at))));
        load.push_back(std::max<std::int64_t>(1, std::llround(watts * interval_s / 3600.0)));
    }
    return load;
}

// ---- PEV

Pev::Pev(std::string name, Endpoint endpoint, Options options, StepLog& log, LocalClock clock)
    : Device(std::move(name), std::move(endpoint), log, std::move(clock)), options_(std::move(options)) {
    if (auto identity = han::identity_from_pem_file(options_.cert))
        identity_ = *identity;
}

headend::Result<void> Pev::plug_in() {
    step("on_plug", "");
    auto opened =
        open(han::ClientCredentials::certificate(options_.cert, options_.key, endpoint_.server_ca), "dtls.certificate");
    if (!opened) {
        charge_anyway("no session with the head-end");
        return opened;
    }
    if (auto synced = sync_clock(); !synced)
        return synced.error();
    return {};
}

headend::Result<bool> Pev::discover() {
    if (auto dcap = get_document<sep::DeviceCapability>("/dcap"); !dcap)
        return dcap.error();
    auto list = get_document<sep::EndDeviceList>("/edev?l=1");
    if (!list)
        return list.error();
    if (list->end_devices.empty() || !list->end_devices[0].href) {
        if (!announced_waiting_)
            step("edev.none_yet", "waiting for the ESCI's binding request");
        announced_waiting_ = true;
        return false;
    }
    edev_path_ = *list->end_devices[0].href;
    step("edev.found", edev_path_);
    return true;
}

headend::Result<std::string> Pev::find_end_device() {
    const auto deadline = std::chrono::steady_clock::now() + options_.wait;
    while (true) {
        auto found = discover();
        if (!found)
            return found.error();
        if (*found)
            return edev_path_;
        if (std::chrono::steady_clock::now() >= deadline) {
            charge_anyway("no EndDevice within the wait");
            return failure(name_ + ": no EndDevice within the wait");
        }
        std::this_thread::sleep_for(options_.poll_every);
    }
}

headend::Result<sep::PEVBinding> Pev::read_binding() {
    const auto deadline = std::chrono::steady_clock::now() + options_.wait;
    while (true) {
        auto binding = get_document<sep::PEVBinding>(edev_path_ + "/bnd");
        if (binding && binding->status != sep::BindingStatus::kRequested) {
            binding_ = *binding;
            step("binding.read", std::string(sep::to_string(binding->status)) + " program=" + binding->program_id +
                                     " tariff=" + binding->tariff_profile_link.href +
                                     (binding->reason ? " reason=" + *binding->reason : ""));
            if (binding->status == sep::BindingStatus::kRefused || binding->status == sep::BindingStatus::kFallback)
                charge_anyway("binding " + std::string(sep::to_string(binding->status)));
            else
                charging_ = "program " + binding->program_id;
            return binding;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            charge_anyway("no binding within the wait");
            return failure(name_ + ": no binding within the wait");
        }
        std::this_thread::sleep_for(options_.poll_every);
    }
}

headend::Result<void> Pev::keep_session() {
    if (!rebinding_ || !binding_ || !binding_->expiry || *binding_->expiry > now())
        return {};
    // The head-end closes a session at its credential's expiry: a new one with the certificate.
    step("session.expired", "the re-bind credential expired at " + std::to_string(*binding_->expiry));
    rebinding_ = false;
    return open(han::ClientCredentials::certificate(options_.cert, options_.key, endpoint_.server_ca),
                "dtls.certificate");
}

headend::Result<std::vector<sep::Reading>> Pev::read_usage() {
    if (auto kept = keep_session(); !kept)
        return kept.error();
    constexpr std::uint32_t kPage = 100;
    std::vector<sep::Reading> readings;
    // One usage point per premises whose EUMD metered it (its home's, a host's after a guest charge).
    std::vector<std::string> points;
    for (std::uint32_t start = 0;; start += kPage) {
        auto page =
            get_document<sep::UsagePointList>("/upt?s=" + std::to_string(start) + "&l=" + std::to_string(kPage));
        if (!page)
            return page.error();
        for (const auto& point : page->usage_points)
            if (point.href)
                points.push_back(*point.href);
        if (page->usage_points.empty() || start + page->usage_points.size() >= page->all)
            break;
    }
    for (const auto& point : points) {
        auto meter_readings = get_document<sep::MeterReadingList>(point + "/mr?l=1");
        if (!meter_readings)
            return meter_readings.error();
        if (meter_readings->meter_readings.empty() || !meter_readings->meter_readings[0].reading_set_list_link)
            continue;
        const std::string sets_path = meter_readings->meter_readings[0].reading_set_list_link->href;
        std::vector<sep::ReadingSet> days;
        for (std::uint32_t start = 0;; start += kPage) {
            auto page = get_document<sep::ReadingSetList>(sets_path + "?s=" + std::to_string(start) +
                                                          "&l=" + std::to_string(kPage));
            if (!page)
                return page.error();
            days.insert(days.end(), page->reading_sets.begin(), page->reading_sets.end());
            if (page->reading_sets.empty() || days.size() >= page->all)
                break;
        }
        std::reverse(days.begin(), days.end());  // served newest first
        for (const auto& day : days) {
            if (!day.reading_list_link)
                continue;
            for (std::uint32_t start = 0;; start += kPage) {
                auto page = get_document<sep::ReadingList>(day.reading_list_link->href + "?s=" + std::to_string(start) +
                                                           "&l=" + std::to_string(kPage));
                if (!page)
                    return page.error();
                readings.insert(readings.end(), page->readings.begin(), page->readings.end());
                if (page->readings.empty() || start + page->readings.size() >= page->all)
                    break;
            }
        }
    }
    step("usage.read",
         std::to_string(readings.size()) + " intervals from " + std::to_string(points.size()) + " usage point(s)");
    return readings;
}

headend::Result<sep::PEVBinding> Pev::observe_binding() {
    return keep(observe_document<sep::PEVBinding>(edev_path_ + "/bnd"), "binding.observed");
}

headend::Result<sep::PEVBinding> Pev::await_binding(const std::function<bool(const sep::PEVBinding&)>& wanted,
                                                    std::chrono::milliseconds wait) {
    return keep(await_notification<sep::PEVBinding>("binding.notified", wait, wanted), "binding.notified");
}

headend::Result<sep::PEVBinding> Pev::keep(headend::Result<sep::PEVBinding> binding, const std::string& how) {
    step(how, binding ? std::string(sep::to_string(binding->status)) : binding.error().message, binding.ok());
    if (binding)
        binding_ = *binding;
    return binding;
}

headend::Result<std::int64_t> Pev::plan_charging() {
    if (!binding_)
        return failure(name_ + ": no binding, no program");
    auto intervals = get_document<sep::TimeTariffIntervalList>(binding_->tariff_profile_link.href + "/rc/1/tti?l=255");
    if (!intervals || intervals->time_tariff_intervals.empty()) {
        step("charging.planned", intervals ? "no intervals" : intervals.error().message, false);
        return intervals ? failure(name_ + ": no tariff intervals") : intervals.error();
    }
    // touTier 1 is the program's cheapest price; the first such interval is the plan.
    const auto& all = intervals->time_tariff_intervals;
    const auto cheapest = std::min_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.tou_tier < b.tou_tier || (a.tou_tier == b.tou_tier && a.interval.start < b.interval.start);
    });
    const std::int64_t start = std::max(cheapest->interval.start, now());
    step("charging.planned", "cheapest period '" + cheapest->description.value_or("?") + "' (tier " +
                                 std::to_string(cheapest->tou_tier) + ") from " + std::to_string(start));
    return start;
}

headend::Result<int> Pev::acknowledge() {
    if (!binding_)
        return failure(name_ + ": no binding to acknowledge");
    if (options_.drop_acknowledgement) {
        step("binding.acknowledgement_dropped", "fault injected");
        return 0;
    }
    auto code = post_response(identity_.lfdi, binding_->mrid);
    if (code)
        step("binding.acknowledged", "answered " + std::to_string(*code), *code == 201);
    return code;
}

headend::Result<int> Pev::put_power_status(std::uint8_t source) {
    sep::PowerStatus status;
    status.changed_time = now();
    status.current_power_source = source;
    if (source == kMains) {
        // What a charging PEV tells: 6.6 kW now, 18 kWh still wanted, 80 % by seven in the morning-ish (8 h away).
        sep::PEVInfo info;
        info.charging_power_now = {0, 6600};
        info.energy_request_now = {0, 18000};
        info.max_forward_power = {0, 7200};
        info.minimum_charging_duration = 3 * 3600;
        info.target_state_of_charge = 8000;
        info.time_charge_is_needed = status.changed_time + 8 * 3600;
        info.time_charging_status_pev = status.changed_time;
        status.pev_info = info;
    }
    han::ClientRequest request;
    request.method = han::Method::put;
    request.path = edev_path_ + "/ps";
    request.body = sep::encode(status);
    request.content_format = 41;
    auto answer = exchange(request);
    if (!answer)
        return answer.error();
    return answer->code;
}

headend::Result<void> Pev::unplug() {
    if (auto kept = keep_session(); !kept)
        return kept.error();
    auto code = put_power_status(kBattery);
    step("unplugged", code ? "PowerStatus answered " + std::to_string(*code) : code.error().message, code.ok());
    disconnect();
    if (!code)
        return code.error();
    return {};
}

headend::Result<void> Pev::replug(bool announce) {
    step("on_plug", "re-binding");
    if (!binding_ || !binding_->rebind_psk_identity || !binding_->rebind_psk_key) {
        step("dtls.psk", "no re-bind credential cached", false);
        return failure(name_ + ": no re-bind credential");
    }
    rebinding_ = false;
    if (auto opened = open(han::ClientCredentials::psk(*binding_->rebind_psk_identity, *binding_->rebind_psk_key),
                           "dtls.psk", true);
        !opened) {
        // A refused credential and a lost handshake look alike: the credential is forgotten only once its binding
        // says it has expired, so a brief outage does not cost it.
        if (binding_->expiry && *binding_->expiry <= now())
            binding_.reset();
        return plug_in();
    }
    rebinding_ = true;
    if (!announce) {
        step("power_status.plugged_in_lost", "fault injected");
        return {};
    }
    // Straight to the cached link: no /dcap, no /edev.
    auto code = put_power_status(kMains);
    step("power_status.plugged_in", code ? "answered " + std::to_string(*code) : code.error().message,
         code && *code == 204);
    if (!code)
        return code.error();
    if (*code != 204)
        return failure(name_ + ": plugged-in PowerStatus answered " + std::to_string(*code));
    return {};
}

void Pev::charge_anyway(const std::string& why) {
    charging_ = "default rate";
    step("charging_anyway", why);
}

std::string Pev::charging_mode() const {
    return charging_.empty() ? "not charging" : charging_;
}

}  // namespace emulator
