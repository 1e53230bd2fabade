// What the portal reads about one account, through the views the other components publish (pev_accounts_v1,
// pev_billing_premises_v1, pev_enrollments_v1, pev_bindings_v1, pev_power_status_v1, interval_channels_v1,
// intervals_v1). Every query names the account: nothing of another account can come back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "charts.hpp"
#include "headend/plugin/plugin.hpp"
#include "sep/types.hpp"

namespace portal {

struct PremisesInfo {
    std::string id;
    std::string address;
    std::string default_rate;
};

struct AccountInfo {
    std::string account_id;
    std::string customer_id;
    std::string customer_name;
    std::vector<PremisesInfo> premises;
};

struct BindingState {
    std::string lfdi;
    std::string premises_id;
    std::string kind;    // home, guest, roaming
    std::string status;  // requested ... active, ended, refused, fallback
    std::int64_t updated_at = 0;
};

struct LiveStatus {
    bool plugged_in = false;
    std::int64_t changed_at = 0;
    std::optional<sep::PowerStatus> power_status;  // none when the stored document does not decode
};

struct PevState {
    std::string vin;
    std::string premises_id;
    std::string program_id;
    bool allow_guest_charging = false;
    std::string guest_charging_payer;  // owner, host
    bool allow_roaming = false;
    std::int64_t enrolled_at = 0;
    std::optional<BindingState> binding;  // the latest
    std::optional<LiveStatus> live;
};

// Errors: storage errors. An account not in the customer records: nullopt.
headend::Result<std::optional<AccountInfo>> read_account(headend::storage::Transaction& tx,
                                                         const std::string& account_id);
// The account's enrolled PEVs (VIN order) with their latest binding and last PowerStatus.
headend::Result<std::vector<PevState>> read_pevs(headend::storage::Transaction& tx, const std::string& account_id,
                                                 const headend::plugin::SepCodec& codec);
// The account's premises' intervals in [from, to): whole premises and PEV circuits, summed per interval start.
headend::Result<std::vector<UsageInterval>> read_usage(headend::storage::Transaction& tx, const std::string& account_id,
                                                       std::int64_t from, std::int64_t to);

// The newest interval change anywhere (interval collection numbers every stored value): what is drawn from intervals
// is current while it stays the same.
headend::Result<std::int64_t> read_data_version(headend::storage::Transaction& tx);

// One metered channel of the account's premises and its intervals, for Green Button downloads.
struct ChannelInterval {
    std::int64_t start = 0;
    std::int64_t duration = 0;
    std::int64_t value_wh = 0;
    std::uint16_t quality_flags = 0;
};
struct Channel {
    std::int64_t mmr_id = 0;
    std::string usage_point_mrid;
    std::string meter_reading_mrid;
    std::string premises_id;
    std::string device_lfdi;  // the PEV's on a PEV circuit
    bool pev = false;         // a PEV circuit; otherwise the whole premises
    std::int64_t interval_length = 900;
    std::vector<ChannelInterval> intervals;
};
headend::Result<std::vector<Channel>> read_channels(headend::storage::Transaction& tx, const std::string& account_id,
                                                    std::int64_t from, std::int64_t to);

}  // namespace portal
