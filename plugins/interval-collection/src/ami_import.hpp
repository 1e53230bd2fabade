// Premises meter data from the AMI as a CMEP MEPMD01 file (headendctl import intervals): each record becomes the
// MirrorMeterReading a premises meter would have posted, so the same checks and the same store apply. Pure logic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "calendar/local_days.hpp"
#include "sep/types.hpp"

namespace intervals {

struct AmiRecord {
    std::size_t line = 0;
    std::string meter_id;  // the AMI's MeterID: the premises id of the CIS
    sep::MirrorMeterReading reading;
};

struct LineError {
    std::size_t line = 0;
    std::string reason;
};

struct AmiFile {
    std::vector<AmiRecord> records;
    std::vector<LineError> errors;  // any error: nothing is imported
};

// Reads every line (blank ones skipped). Times are UTC, or with `local` the territory's wall clock: a time in the
// repeated fall-back hour is the earliest instant after the meter's previous value in the file, so a file that lists
// the hour twice, in order (in one record or in several), keeps both; a time that does not exist (spring forward) is
// an error. Purposes other than
// OK, RESEND and HISTORY are refused; N (not available) values carry no energy and are skipped. The same interval
// of a meter with two different values in the file is an error on the later line.
AmiFile parse_ami_file(std::string_view text, const calendar::LocalDays* local);

// The mRIDs of the AMI's mirrors: HexBinary128 made from the MeterID (SHA-256), the utility's PEN in the low 32 bits.
std::string ami_mrid(std::string_view meter_id, std::string_view part, std::uint32_t pen);

}  // namespace intervals
