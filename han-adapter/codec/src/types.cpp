#include "sep/types.hpp"

#include <array>
#include <utility>

namespace sep {
namespace {

constexpr std::array<std::pair<BindingStatus, std::string_view>, 7> kBindingStatusNames{{
    {BindingStatus::kRequested, "requested"},
    {BindingStatus::kConfirmed, "confirmed"},
    {BindingStatus::kAcknowledged, "acknowledged"},
    {BindingStatus::kActive, "active"},
    {BindingStatus::kEnded, "ended"},
    {BindingStatus::kRefused, "refused"},
    {BindingStatus::kFallback, "fallback"},
}};

}  // namespace

std::string_view to_string(BindingStatus status) {
    for (const auto& [value, name] : kBindingStatusNames) {
        if (value == status)
            return name;
    }
    return "";  // not a BindingStatus: the document will fail validation rather than carry a wrong status
}

std::optional<BindingStatus> parse_binding_status(std::string_view text) {
    for (const auto& [value, name] : kBindingStatusNames) {
        if (name == text)
            return value;
    }
    return std::nullopt;
}

}  // namespace sep
