// Block1 (RFC 7959) reassembly. Transfers are keyed by session and path ("session|method path"), capped in size,
// in number per session and in number overall, and dropped when idle for longer than the timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace han {

struct Block1Option {
    std::uint32_t num = 0;
    bool more = false;
    unsigned szx = 6;  // block size = 1 << (szx + 4)
    std::size_t size() const { return std::size_t{1} << (szx + 4); }
};

class Block1Assembler {
public:
    using Clock = std::chrono::steady_clock;

    struct Continue {};  // answer 2.31 and wait for the next block
    struct Complete {
        std::string body;
    };
    struct TooLarge {};    // 4.13
    struct Incomplete {};  // 4.08: a block out of order or a transfer we do not know
    struct Busy {};        // 5.03: the session (or the server) already has as many uploads going as it may
    using Outcome = std::variant<Continue, Complete, TooLarge, Incomplete, Busy>;

    static constexpr std::size_t kPerSession = 2;
    static constexpr std::size_t kOverall = 1024;

    Block1Assembler(std::size_t max_body, std::chrono::seconds timeout, std::size_t per_session = kPerSession,
                    std::size_t overall = kOverall)
        : max_body_(max_body), timeout_(timeout), per_session_(per_session), overall_(overall) {}

    Outcome add(const std::string& key, const Block1Option& block, std::optional<std::size_t> size1,
                std::string_view payload, Clock::time_point now);

    // Forgets transfers idle longer than the timeout, and everything of a closed session (key prefix).
    void expire(Clock::time_point now);
    void forget_prefix(const std::string& prefix);
    std::size_t pending() const { return transfers_.size(); }
    std::size_t max_body() const { return max_body_; }

private:
    struct Transfer {
        std::string body;
        unsigned szx = 6;
        Clock::time_point last_seen;
    };

    std::size_t transfers_of(const std::string& key) const;

    std::size_t max_body_;
    std::chrono::seconds timeout_;
    std::size_t per_session_;
    std::size_t overall_;
    std::map<std::string, Transfer> transfers_;
};

}  // namespace han
