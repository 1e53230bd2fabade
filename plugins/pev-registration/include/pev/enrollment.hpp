// PEV enrollment (seed scenario 1, steps 1-4): a VIN enrolled in a program by an account holder at one of the
// account's premises, with the owner's preferences for guest and roaming charging. The account, customer and
// premises must match the imported CIS records; refusals say why and store nothing.
//
// Other plugins (binding, billing) read enrollments through the view `pev_enrollments_v1` (columns: enrollment_id,
// vin, account_id, customer_id, premises_id, program_id, allow_guest_charging, guest_charging_payer,
// allow_roaming, enrolled_at), which only lists current enrollments and keeps its columns across versions, and
// premises through `pev_premises_v1` (premises_id, account_id, default_rate, hosts_guests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "headend/plugin/plugin.hpp"
#include "pev/catalog_versions.hpp"

namespace pev {

// Who pays for energy this PEV draws at another customer's premises.
enum class GuestPayer { Owner, Host };

struct Preferences {
    bool allow_guest_charging = false;
    GuestPayer guest_charging_payer = GuestPayer::Owner;
    bool allow_roaming = false;
    bool operator==(const Preferences&) const = default;
};

struct EnrollmentRequest {
    std::string account_id;
    std::string customer_id;
    std::string premises_id;
    std::string vin;
    std::string program_id;
    Preferences preferences;
    std::string channel = "api";  // who took it: operator, portal, api
};

struct Enrollment {
    std::int64_t id = 0;
    std::string vin;
    std::string account_id;
    std::string customer_id;
    std::string premises_id;
    std::string program_id;
    Preferences preferences;
    std::string channel;
    std::int64_t enrolled_at = 0;
    std::int64_t updated_at = 0;
};

// A change of program or preferences; unset members stay as they are.
struct EnrollmentChange {
    std::optional<std::string> program_id;
    std::optional<bool> allow_guest_charging;
    std::optional<GuestPayer> guest_charging_payer;
    std::optional<bool> allow_roaming;
    std::string channel = "api";
};

struct EnrollmentFilter {
    std::optional<std::string> account_id;
    std::optional<std::string> premises_id;
};

// Outcome of enroll(): a new enrollment, or the same one again (an operator's retry changes nothing).
struct Enrolled {
    Enrollment enrollment;
    bool created = false;
};

// Error codes: vin.invalid, enrollment.unknown_account, enrollment.customer_mismatch,
// enrollment.unknown_premises, enrollment.premises_mismatch, enrollment.unknown_program,
// enrollment.program_not_enrollable, enrollment.already_enrolled, enrollment.not_found, storage.*.
class Enrollments {
public:
    Enrollments(headend::storage::Database& database, const CatalogVersions& catalog,
                const headend::plugin::Clock& clock)
        : database_(database), catalog_(catalog), clock_(clock) {}

    headend::Result<Enrolled> enroll(const EnrollmentRequest& request);
    headend::Result<Enrollment> find(const std::string& vin) const;
    headend::Result<std::vector<Enrollment>> list(const EnrollmentFilter& filter) const;
    headend::Result<Enrollment> change(const std::string& vin, const EnrollmentChange& change);
    // Ends the enrollment; its history stays, and the VIN may be enrolled again.
    headend::Result<Enrollment> unenroll(const std::string& vin, const std::string& channel);
    // Whether customers may enroll in `program_id`: a PEV program of the latest catalog version.
    headend::Result<void> check_program(const std::string& program_id) const;

private:
    headend::storage::Database& database_;
    const CatalogVersions& catalog_;
    const headend::plugin::Clock& clock_;
};

std::vector<headend::storage::Migration> enrollment_migrations();
// The plugin's whole schema: customer records, then enrollments.
std::vector<headend::storage::Migration> registration_migrations();

std::string_view to_string(GuestPayer payer);
std::optional<GuestPayer> parse_guest_payer(std::string_view text);

}  // namespace pev
