#include "tariff/versions.hpp"

#include <algorithm>
#include <cassert>

namespace tariff {

Versions::Versions(std::vector<std::shared_ptr<const Version>> versions) : versions_(std::move(versions)) {
    assert(std::adjacent_find(versions_.begin(), versions_.end(), [](const auto& a, const auto& b) {
               return a->effective_from() >= b->effective_from();
           }) == versions_.end());
}

Versions Versions::with(std::shared_ptr<const Version> next) const {
    auto versions = versions_;
    versions.push_back(std::move(next));
    return Versions(std::move(versions));
}

const Version* Versions::in_force(std::int64_t at) const {
    const auto after =
        std::upper_bound(versions_.begin(), versions_.end(), at,
                         [](std::int64_t instant, const auto& v) { return instant < v->effective_from(); });
    return after == versions_.begin() ? nullptr : (after - 1)->get();
}

std::vector<VersionedSpan> Versions::spans(std::string_view program_id, std::int64_t from, std::int64_t to) const {
    std::vector<VersionedSpan> spans;
    for (std::size_t v = 0; v < versions_.size(); ++v) {
        const std::int64_t begin = std::max(from, versions_[v]->effective_from());
        const std::int64_t end = v + 1 < versions_.size() ? std::min(to, versions_[v + 1]->effective_from()) : to;
        const Program* program = versions_[v]->catalog().find(program_id);
        if (begin >= end || program == nullptr)
            continue;
        for (const auto& span : versions_[v]->calendar().spans(*program, begin, end))
            spans.push_back({span.start, span.end, v, span.season, span.period});
    }
    return spans;
}

}  // namespace tariff
