#include "han/block1.hpp"

#include <gtest/gtest.h>

namespace han {
namespace {

using Clock = Block1Assembler::Clock;

TEST(Block1Assembler, ReassemblesBlocksWithoutSize1) {
    Block1Assembler assembler(4096, std::chrono::seconds(60));
    const auto now = Clock::now();
    const std::string first(16, 'a');
    const std::string second(16, 'b');
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(
        assembler.add("s1|/edev", {0, true, 0}, std::nullopt, first, now)));
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(
        assembler.add("s1|/edev", {1, true, 0}, std::nullopt, second, now)));
    auto outcome = assembler.add("s1|/edev", {2, false, 0}, std::nullopt, "tail", now);
    ASSERT_TRUE(std::holds_alternative<Block1Assembler::Complete>(outcome));
    EXPECT_EQ(std::get<Block1Assembler::Complete>(outcome).body, first + second + "tail");
    EXPECT_EQ(assembler.pending(), 0U);
}

TEST(Block1Assembler, RefusesBodiesOverTheCap) {
    Block1Assembler assembler(32, std::chrono::seconds(60));
    const auto now = Clock::now();
    const std::string block(16, 'x');
    EXPECT_TRUE(
        std::holds_alternative<Block1Assembler::Continue>(assembler.add("k", {0, true, 0}, std::nullopt, block, now)));
    EXPECT_TRUE(
        std::holds_alternative<Block1Assembler::Continue>(assembler.add("k", {1, true, 0}, std::nullopt, block, now)));
    EXPECT_TRUE(
        std::holds_alternative<Block1Assembler::TooLarge>(assembler.add("k", {2, true, 0}, std::nullopt, block, now)));
    EXPECT_EQ(assembler.pending(), 0U);
}

TEST(Block1Assembler, RefusesAnOversizedSize1BeforeStoringAnything) {
    Block1Assembler assembler(1024, std::chrono::seconds(60));
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::TooLarge>(
        assembler.add("k", {0, true, 0}, std::size_t{1} << 30, std::string(16, 'x'), Clock::now())));
    EXPECT_EQ(assembler.pending(), 0U);
}

TEST(Block1Assembler, OutOfOrderBlockIsIncomplete) {
    Block1Assembler assembler(4096, std::chrono::seconds(60));
    const auto now = Clock::now();
    EXPECT_TRUE(
        std::holds_alternative<Block1Assembler::Incomplete>(assembler.add("k", {1, false, 0}, std::nullopt, "x", now)));
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(
        assembler.add("k", {0, true, 0}, std::nullopt, std::string(16, 'a'), now)));
    EXPECT_TRUE(
        std::holds_alternative<Block1Assembler::Incomplete>(assembler.add("k", {2, false, 0}, std::nullopt, "x", now)));
}

TEST(Block1Assembler, ForgetsIdleTransfers) {
    Block1Assembler assembler(4096, std::chrono::seconds(5));
    const auto start = Clock::now();
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(
        assembler.add("k", {0, true, 0}, std::nullopt, std::string(16, 'a'), start)));
    assembler.expire(start + std::chrono::seconds(6));
    EXPECT_EQ(assembler.pending(), 0U);
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Incomplete>(
        assembler.add("k", {1, false, 0}, std::nullopt, "x", start + std::chrono::seconds(6))));
}

TEST(Block1Assembler, ForgetsEverythingOfAClosedSession) {
    Block1Assembler assembler(4096, std::chrono::seconds(60));
    const auto now = Clock::now();
    (void)assembler.add("s1|a", {0, true, 0}, std::nullopt, std::string(16, 'a'), now);
    (void)assembler.add("s2|a", {0, true, 0}, std::nullopt, std::string(16, 'a'), now);
    assembler.forget_prefix("s1|");
    EXPECT_EQ(assembler.pending(), 1U);
}

// From the adversarial review: uploads to many paths from one session (any trusted certificate) held 16 KiB each.
TEST(Block1Assembler, ASessionHasAFewUploadsGoingAtOnceAndTheServerABoundedNumber) {
    Block1Assembler assembler(4096, std::chrono::seconds(60), 2, 3);
    const auto now = Clock::now();
    const std::string block(16, 'a');
    const auto start = [&](const std::string& key) {
        return assembler.add(key, {0, true, 0}, std::nullopt, block, now);
    };
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(start("s1|2/a")));
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(start("s1|2/b")));
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Busy>(start("s1|2/c")));
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(start("s1|2/a")));  // the same one again is fine
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Continue>(start("s2|2/a")));  // another session's own
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Busy>(start("s3|2/a")));      // the server's bound
    EXPECT_EQ(assembler.pending(), 3U);
    // A whole body in one block needs no room.
    EXPECT_TRUE(std::holds_alternative<Block1Assembler::Complete>(
        assembler.add("s3|2/a", {0, false, 0}, std::nullopt, "x", now)));
}

}  // namespace
}  // namespace han
