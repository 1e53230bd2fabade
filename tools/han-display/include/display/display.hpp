// A HAN display device (DESIGN §1, §5): a DTLS client with the display's own credential that discovers from /dcap
// what its premises shows it — the PEVs' PowerStatus with PEVInfo (/edev/{n}/ps), the usage points (/upt) and the
// account's bills (/bill) — reads them, observes them (RFC 7641), and keeps a Screen of what a home display would
// show, updated once per notification. Used by the han-display tool; rendering is separate so it can be tested alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "han/device_client.hpp"
#include "headend/plugin/result.hpp"
#include "sep/codec.hpp"
#include "sep/types.hpp"

namespace display {

// One PEV of the premises as its PowerStatus says.
struct PevPanel {
    std::string status_path;                 // /edev/{n}/ps
    std::optional<sep::PowerStatus> status;  // none until the PEV has reported one (4.04 until then)
    bool observed = false;
};

// One meter reading of a usage point: its latest reading.
struct MeterPanel {
    std::string usage_point;   // /upt/{k}
    std::string reading_path;  // /upt/{k}/mr/{m}/r
    std::uint16_t role_flags = 0;
    std::string description;
    std::optional<std::uint32_t> interval_length;  // none: a register (the running total)
    std::optional<sep::Reading> latest;
    bool observed = false;
};

// The account's bills: the latest issued bill and the month so far.
struct BillPanel {
    std::string account;
    std::string customer_name;
    std::uint16_t currency = 840;
    std::int8_t power_of_ten = 0;  // amounts are in the currency × 10^power_of_ten
    std::string periods_path;      // .../bp (newest first)
    std::string active_path;       // .../abp
    std::optional<sep::BillingPeriod> last_bill;
    std::optional<sep::BillingPeriod> month_to_date;
    bool observed = false;
};

struct Screen {
    std::vector<PevPanel> pevs;
    std::vector<MeterPanel> meters;
    std::optional<BillPanel> bill;  // none: no /bill, or no account for this premises
    // The territory's time from /tm: its offset from UTC, and the DST rule of the current year.
    std::int64_t tz_offset_s = 0;
    std::int64_t dst_offset_s = 0;
    std::int64_t dst_start = 0;
    std::int64_t dst_end = 0;
    // Seconds east of UTC at `utc` (exact within the current year, the rule /tm gives).
    std::int64_t local_offset(std::int64_t utc) const {
        // South of the equator DST spans the new year: it ends before it starts within one year.
        const bool dst = dst_start <= dst_end ? dst_start <= utc && utc < dst_end : utc >= dst_start || utc < dst_end;
        return tz_offset_s + (dst ? dst_offset_s : 0);
    }
};

// What made the screen change: "start", "refresh", or the notified path.
struct Update {
    std::uint64_t number = 0;
    std::int64_t at = 0;  // UTC seconds
    std::string cause;
};

// Human text, one block per update (ends with a blank line).
std::string render_text(const Screen& screen, const Update& update);
// One JSON object (printed on one line).
nlohmann::json render_json(const Screen& screen, const Update& update);
// `amount` × 10^power_of_ten of the currency, to cents ("-12.34").
std::string money(std::int64_t amount, std::int8_t power_of_ten);

// "identity:hexkey"; none when malformed.
std::optional<han::PskCredentials> parse_psk(const std::string& text);

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5684;
    han::ClientCredentials credentials;
    han::ClientOptions client;
    std::shared_ptr<const sep::Codec> codec;
};

// Error codes: "display.connect" (no session: handshake failed or no answer), "display.session" (the session was
// lost), "display.refused" (the head-end answered something a display cannot use: /dcap refused, a bad document).
class Display {
public:
    static headend::Result<std::unique_ptr<Display>> connect(Options options);

    // /tm, /dcap, then every resource above: read and observed. Again at every refresh(): PEVs and meters that
    // appeared since are added, those not readable before (4.04: nothing reported yet) are tried again.
    headend::Result<void> discover();
    // discover() again; true when the screen changed.
    headend::Result<bool> refresh();
    // Runs the session up to `wait`, applying notifications in arrival order; `shown` is called after each with the
    // path notified.
    headend::Result<void> wait(std::chrono::milliseconds wait, const std::function<void(const std::string&)>& shown);

    const Screen& screen() const { return screen_; }
    bool connected() const { return client_ && client_->connected(); }

private:
    explicit Display(Options options, std::unique_ptr<han::DeviceClient> client);

    template <typename T>
    headend::Result<std::optional<T>> read(const std::string& path);  // none: 4.04
    template <typename T>
    headend::Result<std::vector<T>> read_all(const std::string& list_path);
    // Observes `path`: its first representation (none for 4.04); `observed` says whether the head-end registered it.
    template <typename T>
    headend::Result<std::optional<T>> observe(const std::string& path, bool& observed);

    headend::Result<void> discover_pevs(const std::string& end_devices);
    headend::Result<void> discover_usage(const std::string& usage_points);
    headend::Result<void> discover_bill(const std::string& accounts);
    headend::Result<void> read_month_to_date();
    // One notification: true when it changed the screen.
    bool apply(const std::string& path, const han::ClientResponse& response);

    Options options_;
    std::unique_ptr<han::DeviceClient> client_;
    Screen screen_;
    std::vector<std::pair<std::string, han::ClientResponse>> pending_;  // notifications not applied yet
};

}  // namespace display
