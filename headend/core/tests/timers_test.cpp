// The host's timers on simulated time: when the clock moves forward, each pending timer is that much closer to
// firing, so a binding's timeout falls due with the simulated hours and not with the wall clock.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <thread>

#include "headend/core/services.hpp"

namespace headend::core {
namespace {

using namespace std::chrono_literals;

class TimersTest : public ::testing::Test {
protected:
    void SetUp() override {
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        work_.reset();
        io_.stop();
        thread_.join();
    }
    // True once `flag` is set, waiting at most `wait`.
    static bool within(const std::atomic<bool>& flag, std::chrono::milliseconds wait) {
        for (auto waited = 0ms; waited < wait && !flag; waited += 10ms)
            std::this_thread::sleep_for(10ms);
        return flag;
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
    AsioTimers timers_{io_};
    std::thread thread_;
};

TEST_F(TimersTest, AdvancingPastATimersDelayFiresIt) {
    std::atomic<bool> fired{false};
    timers_.after(std::chrono::hours(1), [&] { fired = true; });
    EXPECT_FALSE(within(fired, 100ms));
    timers_.advance(std::chrono::hours(1));
    EXPECT_TRUE(within(fired, 2000ms));
}

TEST_F(TimersTest, AdvancingLessThanItsDelayLeavesTheRestToWait) {
    std::atomic<bool> fired{false};
    timers_.after(std::chrono::hours(2), [&] { fired = true; });
    timers_.advance(std::chrono::hours(1));
    EXPECT_FALSE(within(fired, 200ms));
    timers_.advance(std::chrono::hours(1));
    EXPECT_TRUE(within(fired, 2000ms));
}

TEST_F(TimersTest, ACancelledTimerStaysCancelledWhenTheClockMoves) {
    std::atomic<bool> fired{false};
    std::atomic<bool> other{false};
    const auto id = timers_.after(std::chrono::hours(1), [&] { fired = true; });
    timers_.after(std::chrono::hours(1), [&] { other = true; });
    timers_.cancel(id);
    timers_.advance(std::chrono::hours(2));
    EXPECT_TRUE(within(other, 2000ms));
    EXPECT_FALSE(fired);
}

TEST_F(TimersTest, ManyLongMovesInARowNeitherOverflowNorLoseATimer) {
    std::atomic<bool> fired{false};
    timers_.after(std::chrono::hours(1), [&] { fired = true; });
    for (int i = 0; i < 100; ++i)
        timers_.advance(std::chrono::hours(24 * 3650));
    EXPECT_TRUE(within(fired, 2000ms));
}

TEST_F(TimersTest, SimulatedClockTellsItsListenerOfEachMove) {
    SimulatedClock clock;
    std::atomic<bool> fired{false};
    clock.on_advance([this](std::chrono::seconds by) { timers_.advance(by); });
    timers_.after(std::chrono::seconds(120), [&] { fired = true; });
    ASSERT_TRUE(clock.advance(119));
    EXPECT_FALSE(within(fired, 200ms));
    ASSERT_TRUE(clock.advance(1));
    EXPECT_TRUE(within(fired, 2000ms));
}

}  // namespace
}  // namespace headend::core
