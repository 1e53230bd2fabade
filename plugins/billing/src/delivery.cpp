#include "delivery.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>

#include "billing/bill.hpp"
#include "ledger.hpp"

namespace billing {

namespace {

using headend::make_error;
using headend::Result;
using headend::storage::Transaction;
using headend::storage::Value;

// Account ids come from the CIS: anything but letters, digits, '-' and '_' becomes '_' in a file name.
std::string file_safe(const std::string& text) {
    std::string safe = text;
    std::replace_if(
        safe.begin(), safe.end(),
        [](char c) {
            return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-');
        },
        '_');
    return safe.substr(0, 64);
}

// Writes `bytes` to `path` whole: a temporary file beside it, synced, then renamed over it.
Result<void> write_whole(const std::filesystem::path& path, const std::string& bytes) {
    const std::filesystem::path temporary = path.string() + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return make_error("delivery.io", temporary.string() + ": cannot be written");
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n <= 0) {
            ::close(fd);
            return make_error("delivery.io", temporary.string() + ": write failed (disk full?)");
        }
        written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced)
        return make_error("delivery.io", temporary.string() + ": fsync failed");
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error)
        return make_error("delivery.io", path.string() + ": " + error.message());
    return {};
}

std::string month_name(const std::string& month) {
    static constexpr std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                                            "May",       "June",     "July",     "August",
                                                            "September", "October",  "November", "December"};
    return std::string(kMonths.at(static_cast<std::size_t>(std::stoi(month.substr(5, 2)) - 1))) + " " +
           month.substr(0, 4);
}

}  // namespace

Result<void> queue_delivery(Transaction& tx, std::int64_t bill_id, const std::optional<std::string>& email,
                            std::int64_t now) {
    auto queued = tx.execute(
        "INSERT INTO bill_deliveries(bill_id, mail_to, mail_state, attempts, next_attempt_at) VALUES (?, ?, ?, 0, ?) "
        "ON CONFLICT (bill_id) DO NOTHING",
        std::vector<Value>{bill_id, email ? Value(*email) : Value(), std::string(email ? "pending" : "no_address"),
                           now});
    if (!queued)
        return queued.error();
    return {};
}

Result<std::string> queue_resend(Transaction& tx, std::int64_t bill_id, std::int64_t now) {
    auto rows = tx.query(
        "SELECT a.email FROM bill_deliveries d JOIN bills b ON b.bill_id = d.bill_id "
        "LEFT JOIN pev_accounts_v1 a ON a.account_id = b.account_id WHERE d.bill_id = ?",
        std::vector<Value>{bill_id});
    if (!rows)
        return rows.error();
    if (rows->empty())
        return make_error("billing.not_found", "no bill " + std::to_string(bill_id));
    if (rows->front().is_null(0))
        return make_error("billing.no_address", "the account of bill " + std::to_string(bill_id) +
                                                    " has no e-mail address in the customer records");
    const std::string to = rows->front().text(0);
    auto queued = tx.execute(
        "UPDATE bill_deliveries SET mail_to = ?, mail_state = 'pending', next_attempt_at = ?, attempts = 0, "
        "last_error = NULL WHERE bill_id = ?",
        std::vector<Value>{to, now, bill_id});
    if (!queued)
        return queued.error();
    return to;
}

std::filesystem::path bill_file_stem(const std::string& month, std::int64_t bill_id, const std::string& account) {
    return std::filesystem::path(month) / ("bill-" + std::to_string(bill_id) + "-" + file_safe(account));
}

Delivery::Delivery(headend::storage::Database& database, DeliverySettings settings, std::string time_zone,
                   const headend::plugin::Clock& clock, headend::plugin::Logger& logger)
    : database_(database),
      settings_(std::move(settings)),
      time_zone_(std::move(time_zone)),
      clock_(clock),
      logger_(logger) {}

Result<void> Delivery::file_bill(std::int64_t bill_id) {
    std::optional<IssuedBill> bill;
    std::vector<Posting> postings;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto found = find_bill(tx, bill_id);
        if (!found)
            return found.error();
        bill = *found;
        if (!bill)
            return make_error("delivery.missing", "bill " + std::to_string(bill_id) + " is queued but not stored");
        auto lines = postings_of(tx, bill_id);
        if (!lines)
            return lines.error();
        postings = std::move(*lines);
        return {};
    });
    if (!read)
        return read.error();
    const Bill document = bill_document(*bill, postings, time_zone_);
    const std::filesystem::path stem = settings_.folder / bill_file_stem(bill->month, bill_id, bill->account_id);
    std::error_code error;
    std::filesystem::create_directories(stem.parent_path(), error);
    if (error)
        return make_error("delivery.io", stem.parent_path().string() + ": " + error.message());
    for (const auto& [extension, bytes] :
         {std::pair{".json", render_json(document)}, std::pair{".html", render_html(document)},
          std::pair{".pdf", render_pdf(document)}})
        if (auto written = write_whole(stem.string() + extension, bytes); !written)
            return written;
    return database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto marked = tx.execute("UPDATE bill_deliveries SET filed_at = ? WHERE bill_id = ?",
                                 std::vector<Value>{clock_.now(), bill_id});
        if (!marked)
            return marked.error();
        return {};
    });
}

Result<bool> Delivery::mail_bill(std::int64_t bill_id, const std::string& to, int attempts, DeliveryPass& pass) {
    std::optional<IssuedBill> bill;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto found = find_bill(tx, bill_id);
        if (!found)
            return found.error();
        bill = *found;
        return {};
    });
    if (!read)
        return read.error();
    const std::filesystem::path pdf =
        settings_.folder / (bill_file_stem(bill->month, bill_id, bill->account_id).string() + ".pdf");
    std::ifstream in(pdf, std::ios::binary);
    if (!in) {
        // Gone from the delivery folder (removed by hand, say): filed again by the next pass, mailed after that.
        logger_.warn("BILL_FILE_MISSING", pdf.string() + " cannot be read; the bill is filed again");
        auto refile = database_.write_sync([&](Transaction& tx) -> Result<void> {
            auto reset =
                tx.execute("UPDATE bill_deliveries SET filed_at = NULL WHERE bill_id = ?", std::vector<Value>{bill_id});
            if (!reset)
                return reset.error();
            return {};
        });
        if (!refile)
            return refile.error();
        return false;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string domain = settings_.smtp->from.substr(settings_.smtp->from.find('@') + 1);
    Mail mail;
    mail.to = to;
    mail.subject = "Your bill for " + month_name(bill->month) + " (account " + bill->account_id + ")";
    mail.text = fmt::format(
        "Dear {},\r\n\r\nyour bill for {} is ready: {} {}.\r\nThe bill is attached as a PDF; every line on it shows "
        "the energy and the charge it is for.\r\n",
        bill->customer_name, month_name(bill->month), bill->currency, format_money(bill->total));
    mail.message_id = "<bill-" + std::to_string(bill_id) + "." + file_safe(bill->account_id) + "@" + domain + ">";
    mail.attachment = Attachment{pdf.filename().string(), "application/pdf", std::move(bytes)};
    const std::int64_t now = clock_.now();
    auto sent = send_mail(*settings_.smtp, mail, now);
    std::string state = "sent";
    std::int64_t next = now;
    std::string problem;
    if (!sent) {
        problem = sent.error().message;
        if (sent.error().code == "smtp.transient") {
            state = "pending";
            const std::int64_t delay = std::min<std::int64_t>(
                settings_.retry_max.count(), settings_.retry_initial.count() << std::min(attempts, 20));
            next = now + delay;
            ++pass.deferred;
            logger_.warn("BILL_MAIL_DEFERRED", "bill " + std::to_string(bill_id) + " to " + mail.to + ": " + problem +
                                                   "; trying again in " + std::to_string(delay) + " s");
        } else {
            state = "failed";
            ++pass.failed;
            logger_.error("BILL_MAIL_FAILED", "bill " + std::to_string(bill_id) + " to " + mail.to + ": " + problem);
        }
    } else {
        ++pass.sent;
        logger_.info("BILL_MAIL_SENT", "bill " + std::to_string(bill_id) + " to " + mail.to);
    }
    auto marked = database_.write_sync([&](Transaction& tx) -> Result<void> {
        auto updated = tx.execute(
            "UPDATE bill_deliveries SET mail_state = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?, "
            "sent_at = ? WHERE bill_id = ?",
            std::vector<Value>{state, next, problem.empty() ? Value() : Value(problem),
                               state == "sent" ? Value(now) : Value(), bill_id});
        if (!updated)
            return updated.error();
        return {};
    });
    if (!marked)
        return marked.error();
    return state == "sent";
}

Result<DeliveryPass> Delivery::deliver_due() {
    const std::lock_guard lock(pass_mutex_);
    DeliveryPass pass;
    std::vector<std::int64_t> unfiled;
    struct Due {
        std::int64_t bill_id;
        std::string to;
        int attempts;
    };
    std::vector<Due> due;
    auto read = database_.read([&](Transaction& tx) -> Result<void> {
        auto rows = tx.query("SELECT bill_id FROM bill_deliveries WHERE filed_at IS NULL ORDER BY bill_id");
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            unfiled.push_back(row.integer(0));
        if (!settings_.smtp)
            return {};
        rows = tx.query(
            "SELECT bill_id, mail_to, attempts FROM bill_deliveries WHERE mail_state = 'pending' "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at, bill_id",
            std::vector<Value>{clock_.now()});
        if (!rows)
            return rows.error();
        for (const auto& row : *rows)
            due.push_back({row.integer(0), row.text(1), static_cast<int>(row.integer(2))});
        return {};
    });
    if (!read)
        return read.error();
    for (const std::int64_t bill_id : unfiled) {
        if (auto filed = file_bill(bill_id); !filed)
            return filed.error();
        ++pass.filed;
    }
    for (const auto& [bill_id, to, attempts] : due) {
        auto mailed = mail_bill(bill_id, to, attempts, pass);
        if (!mailed)
            return mailed.error();
    }
    if (pass.filed + pass.sent + pass.deferred + pass.failed > 0)
        logger_.info("BILL_DELIVERY_PASS", fmt::format("{} bill(s) filed, {} mailed, {} deferred, {} failed",
                                                       pass.filed, pass.sent, pass.deferred, pass.failed));
    return pass;
}

}  // namespace billing
