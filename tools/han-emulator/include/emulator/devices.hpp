// HAN device emulators: an ESCI, an EUMD and PEVs, each a real DTLS client (han::DeviceClient) with its own
// credentials, following DESIGN §6 step by step and writing every step to a shared log. Used by the han-emulator
// tool and by the conformance tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "han/device_client.hpp"
#include "han/identity.hpp"
#include "headend/plugin/result.hpp"
#include "sep/codec.hpp"
#include "sep/types.hpp"

namespace emulator {

// Seconds since the epoch by the device's own clock (tests inject one; a skewed clock is a fault to correct).
using LocalClock = std::function<std::int64_t()>;
LocalClock system_clock();

struct Step {
    std::int64_t at = 0;  // head-end time as the device knows it
    std::string device;
    std::string name;
    std::string detail;
    bool ok = true;
};

// Thread-safe: many emulated devices may share one log.
class StepLog {
public:
    void add(Step step);
    std::vector<Step> steps() const;
    bool has(const std::string& device, const std::string& name) const;
    std::size_t failures() const;
    nlohmann::json summary() const;
    void print(std::ostream& out) const;

private:
    mutable std::mutex mutex_;
    std::vector<Step> steps_;
};

struct Endpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5684;
    std::filesystem::path server_ca;  // the head-end's CA (data/tls/ca.pem); devices verify the head-end with it
    han::ClientOptions client;
    std::shared_ptr<const sep::Codec> codec;  // loaded once, shared by every emulated device
};

// Shared by the three devices: a session and the head-end's clock.
class Device {
public:
    Device(std::string name, Endpoint endpoint, StepLog& log, LocalClock clock);
    virtual ~Device() = default;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const std::string& name() const { return name_; }
    // GET /tm: the offset that makes now() the head-end's time. Returns the correction applied, in seconds.
    headend::Result<std::int64_t> sync_clock();
    std::int64_t now() const { return clock_() + offset_; }
    bool connected() const { return client_ && client_->connected(); }
    void disconnect() {
        client_.reset();
        notifications_.clear();
    }
    // CoAP exchanges made and time spent in DTLS handshakes so far, for the binding storm's accounting.
    std::size_t exchanges() const { return exchanges_; }
    std::chrono::nanoseconds handshake_time() const { return handshake_time_; }

protected:
    // A session with the head-end; a failed handshake is logged as a failed `step`, or as a step that went as
    // expected when the caller has a fallback (`fallback_follows`).
    headend::Result<void> open(const han::ClientCredentials& credentials, const std::string& step,
                               bool fallback_follows = false);
    void step(const std::string& name, const std::string& detail, bool ok = true);
    // A request whose failure (transport or a code outside 2.xx) is logged as a failed step.
    headend::Result<han::ClientResponse> exchange(const han::ClientRequest& request);
    template <typename T>
    headend::Result<T> get_document(const std::string& path);
    // GET with Observe: the first representation; later ones are queued for await_notification.
    template <typename T>
    headend::Result<T> observe_document(const std::string& path);
    // Takes queued notifications in arrival order, waiting up to `wait`, until one that `wanted` accepts; each taken is
    // logged as `step`. Without a session or within the wait, none: an error.
    template <typename T>
    headend::Result<T> await_notification(const std::string& step, std::chrono::milliseconds wait,
                                          const std::function<bool(const T&)>& wanted);
    headend::Result<int> post_response(const std::string& lfdi, const std::string& subject);
    // POST of an XML body, blockwise (Block1, 1024-byte blocks) when it does not fit one datagram.
    headend::Result<han::ClientResponse> post_xml(const std::string& path, const std::string& body);
    // POST /mup of a mirror (the same mRID answers the same location every time): where its readings go.
    headend::Result<std::string> create_mirror(const sep::MirrorUsagePoint& mirror);
    // `energy_wh` per interval of `interval_s` from `start` as one MirrorReadingSet of meter reading `reading_mrid`,
    // POSTed to the mirror at `location` and logged as `step_name`. Returns the answer's code.
    headend::Result<int> post_readings(const std::string& location, const std::string& reading_mrid,
                                       std::uint32_t interval_s, std::int64_t start,
                                       const std::vector<std::int64_t>& energy_wh, const std::string& step_name);

    std::string name_;
    Endpoint endpoint_;
    StepLog& log_;
    LocalClock clock_;
    std::int64_t offset_ = 0;
    std::unique_ptr<han::DeviceClient> client_;
    std::deque<han::ClientResponse> notifications_;  // of this session's observations, not yet taken
    std::size_t exchanges_ = 0;
    std::chrono::nanoseconds handshake_time_{0};
};

class Esci final : public Device {
public:
    Esci(std::string name, Endpoint endpoint, han::PskCredentials credentials, StepLog& log,
         LocalClock clock = system_clock());
    headend::Result<void> connect();

    struct BindingAnswer {
        int code = 0;  // 201 accepted, 403 refused
        std::string edev_path;
        std::string reason;
    };
    // Seed steps 8-9: the ESCI sees the PEV on the HAN and asks the head-end to bind it (POST /edev). In scenario 2
    // the same request confirms the PEV's presence.
    headend::Result<BindingAnswer> request_binding(const han::DeviceIdentity& pev);

    // The premises meter it reads (the billing meter, house and EVs together): an LFDI derived from its own identity,
    // the same every time.
    std::string meter_lfdi() const;
    // Scenario 3 for the premises: the meter's mirror (POST /mup, isMirror|isPremisesAggregationPoint, the same mRID
    // every time) with its energy per `interval_s`. Where its readings go; the first interval given stays.
    headend::Result<std::string> mirror_premises(std::uint32_t interval_s = 900);
    // The meter's energy per interval from `start`, in one MirrorReadingSet (a past day's too: backfill). Mirrors the
    // meter first if it has not. Returns the answer's code.
    headend::Result<int> post_premises_load(std::int64_t start, const std::vector<std::int64_t>& energy_wh);

private:
    han::PskCredentials credentials_;
    std::optional<std::string> premises_mirror_;  // its location
    std::string meter_reading_;                   // its meter reading's mRID
    std::uint32_t meter_interval_ = 0;
};

class Eumd final : public Device {
public:
    Eumd(std::string name, Endpoint endpoint, han::PskCredentials credentials, StepLog& log,
         LocalClock clock = system_clock());
    // Connects and finds its own EndDevice (the first of its /edev list).
    headend::Result<void> connect();
    // Seed steps 14-15: reads /edev/{n}/bnd and applies it (which PEV, which interval).
    headend::Result<sep::PEVBinding> read_configuration();
    // The same, observing it: later configurations come as notifications.
    headend::Result<sep::PEVBinding> observe_configuration();
    // The first notified configuration that `wanted` accepts, within `wait`, applied.
    headend::Result<sep::PEVBinding> await_configuration(const std::function<bool(const sep::PEVBinding&)>& wanted,
                                                         std::chrono::milliseconds wait);
    // Seed step 16: acknowledges the configuration it applied. A configuration it acknowledged before (the same
    // PEV and interval at a later charge) needs no new acknowledgement: returns 0 without sending one.
    headend::Result<int> acknowledge();
    // Scenario 3 step 1: the mirror of the PEV its configuration names (POST /mup, the same mRID for the same PEV at
    // every charge): where to post its readings (/mup/{k}).
    headend::Result<std::string> mirror_pev();
    // The same for any LFDI (a faulty or rogue EUMD mirroring a PEV it was not configured for).
    headend::Result<std::string> mirror(const std::string& pev_lfdi);
    // A charging session's interval energy for the metered PEV: `energy_wh` per configured interval from `start`, in
    // one MirrorReadingSet (POST /mup/{k}). Returns the answer's code.
    headend::Result<int> post_session(std::int64_t start, const std::vector<std::int64_t>& energy_wh);
    std::uint32_t interval() const { return interval_; }
    const std::optional<std::string>& metered_pev() const { return metered_pev_; }
    const std::optional<sep::PEVBinding>& applied() const { return applied_; }

private:
    // Applies a configuration read, observed or notified, logging it as `how`; a failure is logged and returned.
    headend::Result<sep::PEVBinding> apply(headend::Result<sep::PEVBinding> configuration, const std::string& how);

    han::PskCredentials credentials_;
    std::string lfdi_;
    std::string edev_path_;
    std::optional<sep::PEVBinding> applied_;
    std::uint32_t interval_ = 0;
    std::optional<std::string> metered_pev_;
    std::set<std::string> acknowledged_;          // configuration mRIDs
    std::map<std::string, std::string> mirrors_;  // PEV LFDI -> its mirror's location
};

// Energy per interval of a charge of `energy_wh` at `kilowatts` (level 2 about 7.2, level 1 about 1.4), tapering to a
// third of that power over the last fifth of the energy as the battery fills; whole Wh, summing to energy_wh exactly.
std::vector<std::int64_t> charging_profile(std::uint32_t interval_s, double kilowatts, std::int64_t energy_wh);

// A house's own load (no EV) per interval of `interval_s` for `count` intervals from `start`: a base load with a
// morning and an evening peak by the local hour (`utc_offset_s` east of UTC), varied per house and per interval as
// `seed` decides; whole Wh, at least 1, the same for the same arguments whichever stretch is asked.
std::vector<std::int64_t> house_load(std::int64_t start, std::uint32_t interval_s, std::size_t count,
                                     std::uint64_t seed, std::int64_t utc_offset_s);

class Pev final : public Device {
public:
    struct Options {
        std::filesystem::path cert;
        std::filesystem::path key;
        std::chrono::milliseconds wait{60'000};     // for the binding before charging anyway
        std::chrono::milliseconds poll_every{100};  // while waiting
        bool drop_acknowledgement = false;          // fault: never send the binding's Response
    };
    Pev(std::string name, Endpoint endpoint, Options options, StepLog& log, LocalClock clock = system_clock());

    const han::DeviceIdentity& identity() const { return identity_; }
    // Seed steps 5-6: On-Plug; DTLS with the certificate. A failed handshake means charging anyway.
    headend::Result<void> plug_in();
    // Seed step 7: /dcap and one look at /edev; true once the ESCI's request registered the PEV's EndDevice.
    headend::Result<bool> discover();
    // Seed step 11: discover() until the EndDevice appears, at most the wait; then charging anyway.
    headend::Result<std::string> find_end_device();
    // Seed step 12: the binding confirmation, polled until it is no longer "requested" or the wait is over.
    headend::Result<sep::PEVBinding> read_binding();
    // Its charging energy as the utility sees it (/upt): every Reading of each of its usage points' first meter
    // reading (one per premises that metered it), day by day, oldest first. None while nothing is mirrored.
    headend::Result<std::vector<sep::Reading>> read_usage();
    // Observes its binding from then on; await_binding takes the first notification that `wanted` accepts.
    headend::Result<sep::PEVBinding> observe_binding();
    headend::Result<sep::PEVBinding> await_binding(const std::function<bool(const sep::PEVBinding&)>& wanted,
                                                   std::chrono::milliseconds wait);
    // Reads its program's time-of-use intervals (the binding's TariffProfileLink) and picks the start of the cheapest
    // upcoming one: when it would begin charging to pay least. Returns that UTC time.
    headend::Result<std::int64_t> plan_charging();
    // Seed step 13: the PEV's Response (skipped under the drop-acknowledgement fault).
    headend::Result<int> acknowledge();
    // Unplugs: PowerStatus on battery, session closed.
    headend::Result<void> unplug();
    // Scenario 2 steps 1-3: DTLS with the re-bind PSK, straight to the cached /edev/{n}/ps (plugged in). When the
    // head-end refuses the PSK (expired, or never installed) the PEV plugs in with its certificate as the first time:
    // then rebinding() is false and the binding is to be read and acknowledged again, which brings a fresh credential.
    // Without `announce` the plugged-in PowerStatus is lost (a fault): the head-end, which takes it as the re-binding's
    // acknowledgement, never hears of the PEV, and the binding falls back when its time is up.
    headend::Result<void> replug(bool announce = true);
    bool rebinding() const { return rebinding_; }
    // After the wait or the binding: how this charge is billed as the PEV understands it.
    std::string charging_mode() const;
    // No binding within the wait (or no session at all): the PEV charges anyway at the premises' default rate.
    void charge_anyway(const std::string& why);

    const std::optional<sep::PEVBinding>& binding() const { return binding_; }
    const std::string& edev_path() const { return edev_path_; }

private:
    headend::Result<int> put_power_status(std::uint8_t source);
    // A session re-bound with a credential that has since expired is gone (the head-end closes it then): opens one
    // with the certificate before the next request.
    headend::Result<void> keep_session();
    // Keeps a binding observed or notified, logging it as `how`.
    headend::Result<sep::PEVBinding> keep(headend::Result<sep::PEVBinding> binding, const std::string& how);

    Options options_;
    han::DeviceIdentity identity_;
    std::string edev_path_;
    std::optional<sep::PEVBinding> binding_;
    std::string charging_;
    bool announced_waiting_ = false;
    bool rebinding_ = false;
};

}  // namespace emulator
