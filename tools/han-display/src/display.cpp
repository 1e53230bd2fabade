#include "display/display.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "money/currency.hpp"

namespace display {

namespace {

constexpr std::uint8_t kMains = 1;  // PowerSourceType: plugged in
constexpr std::uint32_t kListLimit = 255;
constexpr std::uint16_t kEstimated = (1U << 2U) | (1U << 3U);  // qualityFlags: estimated (reference day, interpolated)

headend::Error refused(const std::string& message) {
    return headend::make_error("display.refused", message);
}

headend::Error session(const headend::Error& error) {
    return headend::make_error("display.session", error.message);
}

// value × 10^power_of_ten (the 2030.5 multipliers of power and energy are small).
std::int64_t scaled(std::int64_t value, std::int8_t power_of_ten) {
    for (std::int8_t i = 0; i < power_of_ten; ++i)
        value *= 10;
    for (std::int8_t i = 0; i > power_of_ten; --i)
        value /= 10;
    return value;
}

std::int64_t watts(const sep::ActivePower& power) {
    return scaled(power.value, power.multiplier);
}

std::int64_t watt_hours(const sep::RealEnergy& energy) {
    return scaled(static_cast<std::int64_t>(energy.value), energy.multiplier);
}

// "2026-06-01 18:30" in the territory's local time.
std::string local_time(std::int64_t utc, const Screen& screen) {
    const auto t = static_cast<std::time_t>(utc + screen.local_offset(utc));
    std::tm parts{};
    gmtime_r(&t, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &parts);
    return text;
}

// `value` / 1000 with up to three decimals, cut not rounded: (7200, 1) is "7.2", (1250, 3) "1.250".
std::string thousandths(std::int64_t value, int decimals) {
    const bool negative = value < 0;
    const std::int64_t magnitude = negative ? -value : value;
    std::string text = std::to_string(magnitude / 1000);
    if (decimals > 0) {
        char fraction[8];
        std::snprintf(fraction, sizeof fraction, "%03lld", static_cast<long long>(magnitude % 1000));
        text += "." + std::string(fraction, static_cast<std::size_t>(decimals));
    }
    return (negative ? "-" : "") + text;
}

std::string meter_kind(std::uint16_t role_flags) {
    if ((role_flags & sep::kRoleIsPev) != 0)
        return "pev";
    if ((role_flags & sep::kRoleIsPremisesAggregationPoint) != 0)
        return "premises";
    return "meter";
}

bool plugged_in(const sep::PowerStatus& status) {
    return status.current_power_source == kMains;
}

bool charging(const sep::PowerStatus& status) {
    return plugged_in(status) && status.pev_info && watts(status.pev_info->charging_power_now) > 0;
}

template <typename Panel>
Panel* find_panel(std::vector<Panel>& panels, const std::string& path, std::string Panel::*key) {
    for (auto& panel : panels)
        if (panel.*key == path)
            return &panel;
    return nullptr;
}

// "/upt/1/mr/2/r" of "/upt/1/mr/2/r?x": the path without its query.
std::string without_query(const std::string& path) {
    return path.substr(0, path.find('?'));
}

// "href" + "?s=..&l=..", or "&s=" when it has a query already.
std::string paged(const std::string& href, std::size_t start) {
    return href + (href.find('?') == std::string::npos ? "?" : "&") + "s=" + std::to_string(start) +
           "&l=" + std::to_string(kListLimit);
}

nlohmann::json period_json(const sep::BillingPeriod& period, std::int8_t power, bool to_date) {
    nlohmann::json out = {{"from", period.interval.start},
                          {"to", period.interval.start + static_cast<std::int64_t>(period.interval.duration)}};
    const auto& amount = to_date ? period.bill_to_date : period.bill_last_period;
    if (amount) {
        out["amount"] = money(*amount, power);
        out["amount_raw"] = *amount;
    }
    if (period.status_time_stamp)
        out["as_of"] = *period.status_time_stamp;
    return out;
}

}  // namespace

std::string money(std::int64_t amount, std::int8_t power_of_ten) {
    // In cents, half away from zero.
    std::int64_t cents = amount;
    if (power_of_ten >= -2) {
        cents = scaled(amount, static_cast<std::int8_t>(power_of_ten + 2));
    } else {
        std::int64_t divisor = 1;
        for (std::int8_t i = -2; i > power_of_ten; --i)
            divisor *= 10;
        const std::int64_t magnitude = (amount < 0 ? -amount : amount) + divisor / 2;
        cents = (amount < 0 ? -1 : 1) * (magnitude / divisor);
    }
    const std::int64_t magnitude = cents < 0 ? -cents : cents;
    char text[40];
    std::snprintf(text, sizeof text, "%s%lld.%02lld", cents < 0 ? "-" : "", static_cast<long long>(magnitude / 100),
                  static_cast<long long>(magnitude % 100));
    return text;
}

std::optional<han::PskCredentials> parse_psk(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() || (text.size() - colon - 1) % 2 != 0)
        return std::nullopt;
    han::PskCredentials psk{text.substr(0, colon), {}};
    const auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = colon + 1; i + 1 < text.size(); i += 2) {
        const int high = digit(text[i]);
        const int low = digit(text[i + 1]);
        if (high < 0 || low < 0)
            return std::nullopt;
        psk.key.push_back(static_cast<std::uint8_t>(high * 16 + low));
    }
    return psk;
}

nlohmann::json render_json(const Screen& screen, const Update& update) {
    nlohmann::json pevs = nlohmann::json::array();
    for (const auto& pev : screen.pevs) {
        nlohmann::json entry = {{"href", pev.status_path}, {"reported", pev.status.has_value()}};
        if (pev.status) {
            const auto& status = *pev.status;
            entry["plugged_in"] = plugged_in(status);
            entry["charging"] = charging(status);
            entry["changed_time"] = status.changed_time;
            if (status.estimated_charge_remaining)
                entry["state_of_charge_percent"] = *status.estimated_charge_remaining / 100.0;
            if (status.pev_info) {
                const auto& info = *status.pev_info;
                entry["power_w"] = watts(info.charging_power_now);
                entry["energy_requested_wh"] = watt_hours(info.energy_request_now);
                entry["max_power_w"] = watts(info.max_forward_power);
                entry["target_soc_percent"] = info.target_state_of_charge / 100.0;
                entry["time_charge_is_needed"] = info.time_charge_is_needed;
                entry["minimum_charging_duration_s"] = info.minimum_charging_duration;
            }
        }
        pevs.push_back(std::move(entry));
    }
    nlohmann::json usage = nlohmann::json::array();
    for (const auto& meter : screen.meters) {
        nlohmann::json entry = {{"usage_point", meter.usage_point},
                                {"reading", meter.reading_path},
                                {"kind", meter_kind(meter.role_flags)},
                                {"register", !meter.interval_length.has_value()}};
        if (meter.latest && meter.latest->value) {
            entry["wh"] = *meter.latest->value;
            if (meter.latest->time_period) {
                entry["start"] = meter.latest->time_period->start;
                entry["duration_s"] = meter.latest->time_period->duration;
            }
            entry["estimated"] = (meter.latest->quality_flags.value_or(0) & kEstimated) != 0;
        }
        usage.push_back(std::move(entry));
    }
    nlohmann::json out = {{"update", update.number}, {"at", update.at},           {"cause", update.cause},
                          {"pevs", std::move(pevs)}, {"usage", std::move(usage)}, {"bill", nullptr}};
    if (screen.bill) {
        const auto& bill = *screen.bill;
        nlohmann::json entry = {{"account", bill.account},
                                {"customer", bill.customer_name},
                                {"currency", money::currency_code(bill.currency)},
                                {"last_bill", nullptr},
                                {"month_to_date", nullptr}};
        if (bill.last_bill)
            entry["last_bill"] = period_json(*bill.last_bill, bill.power_of_ten, false);
        if (bill.month_to_date)
            entry["month_to_date"] = period_json(*bill.month_to_date, bill.power_of_ten, true);
        out["bill"] = std::move(entry);
    }
    return out;
}

std::string render_text(const Screen& screen, const Update& update) {
    std::ostringstream out;
    out << "== update " << update.number << " at " << local_time(update.at, screen) << " ("
        << (update.cause == "start" ? "first look" : update.cause) << ")\n";
    if (screen.pevs.empty())
        out << "PEV: none registered at this premises\n";
    for (const auto& pev : screen.pevs) {
        out << "PEV " << pev.status_path.substr(0, pev.status_path.rfind('/')) << ": ";
        if (!pev.status) {
            out << "no status reported yet\n";
            continue;
        }
        const auto& status = *pev.status;
        if (!plugged_in(status)) {
            out << "not plugged in\n";
            continue;
        }
        out << "plugged in, ";
        if (charging(status))
            out << "charging at " << thousandths(watts(status.pev_info->charging_power_now), 1) << " kW\n";
        else
            out << "not charging\n";
        if (status.pev_info) {
            const auto& info = *status.pev_info;
            out << "  energy requested " << thousandths(watt_hours(info.energy_request_now), 1) << " kWh, target "
                << thousandths(info.target_state_of_charge * 10, 1) << " % charged, needed by "
                << local_time(info.time_charge_is_needed, screen) << '\n';
        }
    }
    if (screen.meters.empty())
        out << "usage: no readings shared with this display\n";
    for (const auto& meter : screen.meters) {
        const std::string kind = meter_kind(meter.role_flags);
        out << "usage "
            << (kind == "pev"        ? "PEV"
                : kind == "premises" ? "premises meter"
                                     : "meter")
            << " " << meter.usage_point << ": ";
        if (!meter.latest || !meter.latest->value) {
            out << "no readings yet\n";
            continue;
        }
        const auto& reading = *meter.latest;
        if (!meter.interval_length) {
            out << "total " << thousandths(*reading.value, 3) << " kWh";
        } else {
            out << thousandths(*reading.value, 3) << " kWh";
            if (reading.time_period)
                out << " in the " << reading.time_period->duration / 60 << " min from "
                    << local_time(reading.time_period->start, screen);
        }
        if ((reading.quality_flags.value_or(0) & kEstimated) != 0)
            out << " (estimated)";
        out << '\n';
    }
    if (!screen.bill) {
        out << "bill: no account for this premises\n";
    } else {
        const auto& bill = *screen.bill;
        const std::string code = money::currency_code(bill.currency);
        out << "bill for " << bill.customer_name << " (account " << bill.account << "): ";
        if (bill.last_bill && bill.last_bill->bill_last_period) {
            const auto& period = bill.last_bill->interval;
            out << "last bill " << code << " " << money(*bill.last_bill->bill_last_period, bill.power_of_ten) << " for "
                << local_time(period.start, screen).substr(0, 10) << " to "
                << local_time(period.start + static_cast<std::int64_t>(period.duration) - 1, screen).substr(0, 10);
        } else {
            out << "no bill yet";
        }
        if (bill.month_to_date && bill.month_to_date->bill_to_date)
            out << "; this month so far " << code << " " << money(*bill.month_to_date->bill_to_date, bill.power_of_ten);
        out << '\n';
    }
    out << '\n';
    return out.str();
}

// ---- Display

Display::Display(Options options, std::unique_ptr<han::DeviceClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

headend::Result<std::unique_ptr<Display>> Display::connect(Options options) {
    auto client = han::DeviceClient::connect(options.host, options.port, options.credentials, options.client);
    if (!client)
        return headend::make_error("display.connect", client.error().message);
    return std::unique_ptr<Display>(new Display(std::move(options), std::move(*client)));
}

template <typename T>
headend::Result<std::optional<T>> Display::read(const std::string& path) {
    auto answer = client_->get(path);
    if (!answer)
        return session(answer.error());
    if (answer->code == 404)
        return std::optional<T>();
    if (answer->code != 205)
        return refused(path + " answered " + std::to_string(answer->code / 100) + "." +
                       std::to_string(answer->code % 100 / 10) + std::to_string(answer->code % 10));
    auto document = options_.codec->decode<T>(answer->body);
    if (!document)
        return refused(path + ": " + document.error().message);
    return std::optional<T>(std::move(*document));
}

template <typename T>
headend::Result<std::optional<T>> Display::observe(const std::string& path, bool& observed) {
    auto answer = client_->observe(
        path, [this, path](const han::ClientResponse& response) { pending_.emplace_back(path, response); });
    if (!answer)
        return session(answer.error());
    observed = answer->id != 0;
    const int code = answer->response.code;
    if (code == 404)
        return std::optional<T>();
    if (code != 205)
        return refused(path + " answered " + std::to_string(code));
    auto document = options_.codec->decode<T>(answer->response.body);
    if (!document)
        return refused(path + ": " + document.error().message);
    return std::optional<T>(std::move(*document));
}

headend::Result<void> Display::discover() {
    auto time = read<sep::Time>("/tm");
    if (!time)
        return time.error();
    if (*time) {
        screen_.tz_offset_s = (*time)->tz_offset;
        screen_.dst_offset_s = (*time)->dst_offset;
        screen_.dst_start = (*time)->dst_start_time;
        screen_.dst_end = (*time)->dst_end_time;
    }
    auto capability = read<sep::DeviceCapability>("/dcap");
    if (!capability)
        return capability.error();
    if (!*capability)
        return refused("/dcap answered 4.04");
    const auto& dcap = **capability;
    if (dcap.end_device_list_link)
        if (auto found = discover_pevs(dcap.end_device_list_link->href); !found)
            return found;
    if (dcap.usage_point_list_link)
        if (auto found = discover_usage(dcap.usage_point_list_link->href); !found)
            return found;
    if (dcap.customer_account_list_link)
        if (auto found = discover_bill(dcap.customer_account_list_link->href); !found)
            return found;
    return {};
}

headend::Result<bool> Display::refresh() {
    const Update none;
    const auto before = render_json(screen_, none);
    if (auto found = discover(); !found)
        return found.error();
    return render_json(screen_, none) != before;
}

headend::Result<void> Display::discover_pevs(const std::string& end_devices) {
    std::vector<std::string> links;
    for (std::size_t start = 0;;) {
        auto list = read<sep::EndDeviceList>(paged(end_devices, start));
        if (!list)
            return list.error();
        if (!*list)
            return {};
        for (const auto& device : (*list)->end_devices)
            if (device.power_status_link)
                links.push_back(device.power_status_link->href);
        start += (*list)->end_devices.size();
        if ((*list)->end_devices.empty() || start >= (*list)->all)
            break;
    }
    for (const auto& link : links) {
        PevPanel* panel = find_panel(screen_.pevs, link, &PevPanel::status_path);
        if (panel != nullptr && panel->observed)
            continue;
        bool observed = false;
        auto status = observe<sep::PowerStatus>(link, observed);
        if (!status) {
            if (status.error().code == "display.session")
                return status.error();
            continue;  // not this display's to read after all
        }
        if (panel == nullptr) {
            screen_.pevs.push_back(PevPanel{link, std::nullopt, false});
            panel = &screen_.pevs.back();
        }
        panel->status = std::move(*status);
        panel->observed = observed && panel->status.has_value();
    }
    return {};
}

headend::Result<void> Display::discover_usage(const std::string& usage_points) {
    for (std::size_t start = 0;;) {
        auto list = read<sep::UsagePointList>(paged(usage_points, start));
        if (!list)
            return list.error();
        if (!*list)
            return {};
        for (const auto& point : (*list)->usage_points) {
            if (!point.href || !point.meter_reading_list_link)
                continue;
            auto readings = read<sep::MeterReadingList>(paged(point.meter_reading_list_link->href, 0));
            if (!readings)
                return readings.error();
            if (!*readings)
                continue;
            for (const auto& reading : (*readings)->meter_readings) {
                if (!reading.reading_link)
                    continue;
                const std::string path = reading.reading_link->href;
                MeterPanel* panel = find_panel(screen_.meters, path, &MeterPanel::reading_path);
                if (panel != nullptr && panel->observed)
                    continue;
                if (panel == nullptr) {
                    auto type = read<sep::ReadingType>(reading.reading_type_link.href);
                    if (!type)
                        return type.error();
                    MeterPanel added;
                    added.usage_point = *point.href;
                    added.reading_path = path;
                    added.role_flags = point.role_flags;
                    added.description = point.description.value_or("");
                    if (*type)
                        added.interval_length = (*type)->interval_length;
                    screen_.meters.push_back(std::move(added));
                    panel = &screen_.meters.back();
                }
                bool observed = false;
                auto latest = observe<sep::Reading>(path, observed);
                if (!latest) {
                    if (latest.error().code == "display.session")
                        return latest.error();
                    continue;
                }
                panel->latest = std::move(*latest);
                panel->observed = observed && panel->latest.has_value();
            }
        }
        start += (*list)->usage_points.size();
        if ((*list)->usage_points.empty() || start >= (*list)->all)
            break;
    }
    return {};
}

headend::Result<void> Display::discover_bill(const std::string& accounts) {
    // Observed: bill runs are notified, and the month to date is read again with each reading.
    if (screen_.bill && screen_.bill->observed)
        return {};
    auto list = read<sep::CustomerAccountList>(paged(accounts, 0));
    if (!list)
        return list.error();
    if (!*list || (*list)->customer_accounts.empty() ||
        !(*list)->customer_accounts.front().customer_agreement_list_link)
        return {};
    const auto& account = (*list)->customer_accounts.front();
    auto agreements = read<sep::CustomerAgreementList>(paged(account.customer_agreement_list_link->href, 0));
    if (!agreements)
        return agreements.error();
    if (!*agreements || (*agreements)->customer_agreements.empty())
        return {};
    const auto& agreement = (*agreements)->customer_agreements.front();
    BillPanel bill;
    bill.account = account.customer_account.value_or("");
    bill.customer_name = account.customer_name.value_or("");
    bill.currency = account.currency;
    bill.power_of_ten = account.price_power_of_ten_multiplier;
    if (agreement.billing_period_list_link)
        bill.periods_path = agreement.billing_period_list_link->href;
    if (agreement.active_billing_period_list_link)
        bill.active_path = agreement.active_billing_period_list_link->href;
    bool periods_observed = bill.periods_path.empty();
    if (!bill.periods_path.empty()) {
        // The newest bill is the list's first.
        auto periods = observe<sep::BillingPeriodList>(bill.periods_path + "?l=1", periods_observed);
        if (!periods)
            return periods.error();
        if (*periods && !(*periods)->billing_periods.empty())
            bill.last_bill = (*periods)->billing_periods.front();
    }
    bool active_observed = bill.active_path.empty();
    if (!bill.active_path.empty()) {
        auto active = observe<sep::BillingPeriodList>(bill.active_path, active_observed);
        if (!active)
            return active.error();
        if (*active && !(*active)->billing_periods.empty())
            bill.month_to_date = (*active)->billing_periods.front();
    }
    bill.observed = periods_observed && active_observed;
    screen_.bill = std::move(bill);
    return {};
}

// The month to date follows the usage: read again whenever a reading arrives.
headend::Result<void> Display::read_month_to_date() {
    if (!screen_.bill || screen_.bill->active_path.empty())
        return {};
    auto active = read<sep::BillingPeriodList>(screen_.bill->active_path);
    if (!active) {
        if (active.error().code == "display.session")
            return active.error();
        return {};
    }
    if (*active && !(*active)->billing_periods.empty())
        screen_.bill->month_to_date = (*active)->billing_periods.front();
    return {};
}

bool Display::apply(const std::string& path, const han::ClientResponse& response) {
    const bool ok = response.code == 205;
    const std::string plain = without_query(path);
    // An error notification ends the observation: the PEV, meter or account is no longer this display's to see.
    if (auto* pev = find_panel(screen_.pevs, path, &PevPanel::status_path)) {
        if (!ok) {
            std::erase_if(screen_.pevs, [&](const PevPanel& panel) { return panel.status_path == path; });
            return true;
        }
        auto status = options_.codec->decode<sep::PowerStatus>(response.body);
        if (!status)
            return false;
        pev->status = std::move(*status);
        return true;
    }
    if (auto* meter = find_panel(screen_.meters, path, &MeterPanel::reading_path)) {
        if (!ok) {
            std::erase_if(screen_.meters, [&](const MeterPanel& panel) { return panel.reading_path == path; });
            return true;
        }
        auto reading = options_.codec->decode<sep::Reading>(response.body);
        if (!reading)
            return false;
        meter->latest = std::move(*reading);
        (void)read_month_to_date();
        return true;
    }
    if (screen_.bill && (plain == screen_.bill->periods_path || plain == screen_.bill->active_path)) {
        if (!ok) {
            screen_.bill.reset();
            return true;
        }
        auto periods = options_.codec->decode<sep::BillingPeriodList>(response.body);
        if (!periods)
            return false;
        auto& slot = plain == screen_.bill->periods_path ? screen_.bill->last_bill : screen_.bill->month_to_date;
        if (periods->billing_periods.empty())
            slot.reset();
        else
            slot = periods->billing_periods.front();
        return true;
    }
    return false;
}

headend::Result<void> Display::wait(std::chrono::milliseconds wait,
                                    const std::function<void(const std::string&)>& shown) {
    client_->poll(wait);
    // Applying may read (the month to date), which may queue more notifications: they are taken in turn.
    while (!pending_.empty()) {
        auto [path, response] = std::move(pending_.front());
        pending_.erase(pending_.begin());
        if (apply(path, response))
            shown(path);
    }
    if (!client_->connected())
        return headend::make_error("display.session", "the session with the head-end ended: " + client_->last_error());
    return {};
}

}  // namespace display
