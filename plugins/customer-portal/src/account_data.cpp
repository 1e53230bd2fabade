#include "account_data.hpp"

#include <algorithm>
#include <map>

namespace portal {
namespace {

using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

constexpr std::int64_t kPremisesRole = 2;  // roleFlags isPremisesAggregationPoint
constexpr std::int64_t kPevRole = 4;       // roleFlags isPEV

}  // namespace

Result<std::optional<AccountInfo>> read_account(Transaction& tx, const std::string& account_id) {
    auto rows = tx.query("SELECT account_id, customer_id, customer_name FROM pev_accounts_v1 WHERE account_id = ?",
                         std::vector<Value>{account_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<AccountInfo>();
    AccountInfo info{rows->front().text(0), rows->front().text(1), rows->front().text(2), {}};
    auto premises = tx.query(
        "SELECT premises_id, service_address, default_rate FROM pev_billing_premises_v1 WHERE account_id = ? "
        "ORDER BY premises_id",
        std::vector<Value>{account_id});
    if (!premises)
        return premises.error();
    for (const auto& row : *premises)
        info.premises.push_back({row.text(0), row.text(1), row.text(2)});
    return std::optional(std::move(info));
}

Result<std::vector<PevState>> read_pevs(Transaction& tx, const std::string& account_id,
                                        const headend::plugin::SepCodec& codec) {
    auto rows = tx.query(
        "SELECT vin, premises_id, program_id, allow_guest_charging, guest_charging_payer, allow_roaming, enrolled_at "
        "FROM pev_enrollments_v1 WHERE account_id = ? ORDER BY vin",
        std::vector<Value>{account_id});
    if (!rows)
        return rows.error();
    std::vector<PevState> pevs;
    for (const auto& row : *rows) {
        PevState pev{row.text(0),    row.text(1), row.text(2), row.integer(3) != 0, row.text(4), row.integer(5) != 0,
                     row.integer(6), {},          {}};
        auto binding = tx.query(
            "SELECT lfdi, premises_id, kind, status, updated_at FROM pev_bindings_v1 WHERE vin = ? "
            "ORDER BY binding_id DESC LIMIT 1",
            std::vector<Value>{pev.vin});
        if (!binding)
            return binding.error();
        if (!binding->empty()) {
            const auto& b = binding->front();
            pev.binding = BindingState{b.text(0), b.text(1), b.text(2), b.text(3), b.integer(4)};
            auto status = tx.query("SELECT plugged_in, changed_at, document FROM pev_power_status_v1 WHERE lfdi = ?",
                                   std::vector<Value>{pev.binding->lfdi});
            if (!status)
                return status.error();
            if (!status->empty()) {
                const auto& s = status->front();
                LiveStatus live{s.integer(0) != 0, s.integer(1), std::nullopt};
                if (auto decoded = codec.decode<sep::PowerStatus>(s.text(2)); decoded)
                    live.power_status = std::move(*decoded);
                pev.live = std::move(live);
            }
        }
        pevs.push_back(std::move(pev));
    }
    return pevs;
}

Result<std::vector<UsageInterval>> read_usage(Transaction& tx, const std::string& account_id, std::int64_t from,
                                              std::int64_t to) {
    // Channel by channel along the intervals' primary key, then merged here: one GROUP BY over the join would sort
    // the whole range in a temporary B-tree (a month of quarters took three times as long).
    auto channels = tx.query(
        "SELECT mmr_id, role_flags FROM interval_channels_v1 WHERE premises_id IN "
        "(SELECT premises_id FROM pev_billing_premises_v1 WHERE account_id = ?) AND (role_flags & ?) <> 0",
        std::vector<Value>{account_id, kPremisesRole | kPevRole});
    if (!channels)
        return channels.error();
    std::vector<UsageInterval> usage;
    for (const auto& channel : *channels) {
        const bool pev = (channel.integer(1) & kPevRole) != 0;
        auto rows = tx.query(
            "SELECT start_at, value_wh FROM intervals_v1 WHERE mmr_id = ? AND start_at >= ? AND "
            "start_at < ?",
            std::vector<Value>{channel.integer(0), from, to});
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            usage.push_back({row.integer(0), pev ? 0 : row.integer(1), pev ? row.integer(1) : 0});
    }
    std::sort(usage.begin(), usage.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    std::vector<UsageInterval> merged;
    merged.reserve(usage.size());
    for (const auto& one : usage) {
        if (!merged.empty() && merged.back().start == one.start) {
            merged.back().premises_wh += one.premises_wh;
            merged.back().pev_wh += one.pev_wh;
        } else {
            merged.push_back(one);
        }
    }
    return merged;
}

Result<std::int64_t> read_data_version(Transaction& tx) {
    auto rows = tx.query("SELECT last_change FROM interval_changes_head_v1");
    if (!rows)
        return rows.error();
    return rows->empty() ? 0 : rows->front().integer(0);
}

Result<std::vector<Channel>> read_channels(Transaction& tx, const std::string& account_id, std::int64_t from,
                                           std::int64_t to) {
    auto rows = tx.query(
        "SELECT mmr_id, usage_point_mrid, meter_reading_mrid, premises_id, role_flags, interval_length, device_lfdi "
        "FROM interval_channels_v1 WHERE premises_id IN "
        "(SELECT premises_id FROM pev_billing_premises_v1 WHERE account_id = ?) AND (role_flags & ?) <> 0 "
        "ORDER BY premises_id, usage_point_mrid, meter_reading_mrid",
        std::vector<Value>{account_id, kPremisesRole | kPevRole});
    if (!rows)
        return rows.error();
    std::vector<Channel> channels;
    for (const auto& row : *rows) {
        Channel channel{row.integer(0), row.text(1), row.text(2),
                        row.text(3),    row.text(6), (row.integer(4) & kPevRole) != 0,
                        row.integer(5), {}};
        auto intervals = tx.query(
            "SELECT start_at, duration, value_wh, quality_flags FROM intervals_v1 WHERE mmr_id = ? AND start_at >= ? "
            "AND start_at < ? ORDER BY start_at",
            std::vector<Value>{channel.mmr_id, from, to});
        if (!intervals)
            return intervals.error();
        for (const auto& interval : *intervals)
            channel.intervals.push_back({interval.integer(0), interval.integer(1), interval.integer(2),
                                         static_cast<std::uint16_t>(interval.integer(3))});
        channels.push_back(std::move(channel));
    }
    return channels;
}

}  // namespace portal
