#include "han/block1.hpp"

namespace han {

Block1Assembler::Outcome Block1Assembler::add(const std::string& key, const Block1Option& block,
                                              std::optional<std::size_t> size1, std::string_view payload,
                                              Clock::time_point now) {
    if (size1 && *size1 > max_body_) {
        transfers_.erase(key);
        return TooLarge{};
    }
    if (block.num == 0) {
        transfers_.erase(key);  // a new upload replaces an unfinished one
        if (block.more && payload.size() != block.size())
            return Incomplete{};
        if (!block.more) {
            if (payload.size() > max_body_)
                return TooLarge{};
            return Complete{std::string(payload)};
        }
        if (payload.size() > max_body_)
            return TooLarge{};
        if (transfers_.size() >= overall_ || transfers_of(key) >= per_session_)
            return Busy{};
        transfers_[key] = Transfer{std::string(payload), block.szx, now};
        return Continue{};
    }

    auto it = transfers_.find(key);
    if (it == transfers_.end() || now - it->second.last_seen > timeout_) {
        if (it != transfers_.end())
            transfers_.erase(it);
        return Incomplete{};
    }
    Transfer& transfer = it->second;
    // The client may shrink the block size mid-transfer (RFC 7959 §2.5); the offset is what must line up.
    const std::size_t offset = static_cast<std::size_t>(block.num) * block.size();
    if (block.szx > transfer.szx || offset != transfer.body.size() || (block.more && payload.size() != block.size())) {
        transfers_.erase(it);
        return Incomplete{};
    }
    if (transfer.body.size() + payload.size() > max_body_) {
        transfers_.erase(it);
        return TooLarge{};
    }
    transfer.body.append(payload);
    transfer.szx = block.szx;
    transfer.last_seen = now;
    if (block.more)
        return Continue{};
    Complete complete{std::move(transfer.body)};
    transfers_.erase(it);
    return complete;
}

// The transfers of the session `key` belongs to (its part before '|').
std::size_t Block1Assembler::transfers_of(const std::string& key) const {
    const std::string prefix = key.substr(0, key.find('|') + 1);
    std::size_t count = 0;
    for (auto it = transfers_.lower_bound(prefix);
         it != transfers_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
        ++count;
    return count;
}

void Block1Assembler::expire(Clock::time_point now) {
    std::erase_if(transfers_, [&](const auto& entry) { return now - entry.second.last_seen > timeout_; });
}

void Block1Assembler::forget_prefix(const std::string& prefix) {
    auto it = transfers_.lower_bound(prefix);
    while (it != transfers_.end() && it->first.compare(0, prefix.size(), prefix) == 0)
        it = transfers_.erase(it);
}

}  // namespace han
