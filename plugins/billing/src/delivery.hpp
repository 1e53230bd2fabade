// Delivering issued bills (issue 11): each bill rendered once into the delivery folder as JSON, HTML and PDF
// (<folder>/<month>/bill-<id>-<account>.<ext>, each file written whole before it appears), and the customer told by
// e-mail through the configured SMTP relay with the PDF attached. The queue is a table written in the bill's own
// transaction, so no issued bill is left out; a relay that refuses for now or is down is tried again with a doubling
// delay, one that refuses the address for good marks the mail failed for the operator (`bill resend`). A bill is
// marked sent when the relay accepted it; a crash between the two sends it again with the same Message-ID, which
// mail clients show once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "billing/mailer.hpp"
#include "headend/plugin/plugin.hpp"

namespace billing {

struct DeliverySettings {
    std::filesystem::path folder;
    std::optional<SmtpSettings> smtp;  // none: bills are filed and nobody is told
    std::chrono::seconds retry_initial{60};
    std::chrono::seconds retry_max{6 * 3600};
};

struct DeliveryPass {
    std::size_t filed = 0;
    std::size_t sent = 0;
    std::size_t deferred = 0;  // transient failures, tried again later
    std::size_t failed = 0;    // refused for good
};

// The queue row each issued bill gets, in the transaction that issues it: mailed to `email`, or nobody.
headend::Result<void> queue_delivery(headend::storage::Transaction& tx, std::int64_t bill_id,
                                     const std::optional<std::string>& email, std::int64_t now);
// Queues the bill's e-mail again, to the account's address in the customer records now. Errors:
// "billing.not_found", "billing.no_address".
headend::Result<std::string> queue_resend(headend::storage::Transaction& tx, std::int64_t bill_id, std::int64_t now);

// The files of a bill: the folder below the delivery folder and the name without extension.
std::filesystem::path bill_file_stem(const std::string& month, std::int64_t bill_id, const std::string& account);

class Delivery {
public:
    Delivery(headend::storage::Database& database, DeliverySettings settings, std::string time_zone,
             const headend::plugin::Clock& clock, headend::plugin::Logger& logger);

    // One pass (the plugin's worker runs it): files every bill not yet filed, sends the mail that is due.
    headend::Result<DeliveryPass> deliver_due();

private:
    headend::Result<void> file_bill(std::int64_t bill_id);
    headend::Result<bool> mail_bill(std::int64_t bill_id, const std::string& to, int attempts, DeliveryPass& pass);

    headend::storage::Database& database_;
    DeliverySettings settings_;
    std::string time_zone_;
    const headend::plugin::Clock& clock_;
    headend::plugin::Logger& logger_;
    std::mutex pass_mutex_;  // one pass at a time
};

}  // namespace billing
