// Alarms an operator lists and clears (`headendctl alarm list|clear`), raised by plugins inside their own write
// transaction so an alarm is stored exactly when the change that caused it commits, and never without it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "headend/plugin/result.hpp"
#include "headend/plugin/storage.hpp"

namespace headend::plugin {

struct Alarm {
    std::string kind;    // stable, snake_case: "clone_vin", "interval_conflict", ...
    std::string detail;  // for the operator
    // The same key from the same plugin raises one alarm, however often its cause repeats (a device resending a
    // conflicting reading). Without a key every call raises one.
    std::optional<std::string> key;
    std::optional<std::string> vin;
    std::optional<std::string> lfdi;
    std::optional<std::string> premises_id;
    std::int64_t at = 0;  // UTC seconds
};

class Alarms {
public:
    virtual ~Alarms() = default;
    // True when a new alarm was raised, false when one with this key exists already (open or cleared).
    virtual Result<bool> raise(storage::Transaction& tx, const Alarm& alarm) = 0;
};

}  // namespace headend::plugin
