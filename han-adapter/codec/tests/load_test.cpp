// Schema loading from a folder we control: broken or over-reaching schema files fail cleanly and quietly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "samples.hpp"

namespace sep {
namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

class codec_load_folder : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("han_codec_schemas_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        write_file(dir_ / "pev-ext.xsd", read_file(std::filesystem::path(HEADEND_SCHEMA_DIR) / "pev-ext.xsd"));
        sep_ = read_file(std::filesystem::path(HEADEND_SCHEMA_DIR) / "sep.xsd");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path dir_;
    std::string sep_;
};

TEST_F(codec_load_folder, CopyLoads) {
    write_file(dir_ / "sep.xsd", sep_);
    const auto result = Codec::load(dir_);
    ASSERT_TRUE(result.ok()) << result.error().message;
}

TEST_F(codec_load_folder, BrokenSchemaIsReportedNotPrinted) {
    write_file(dir_ / "sep.xsd", sep_.substr(0, sep_.size() / 2));
    ::testing::internal::CaptureStderr();
    const auto result = Codec::load(dir_);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "codec.schema_load");
    EXPECT_NE(result.error().message.find("sep.xsd"), std::string::npos) << result.error().message;
}

// Only sep.xsd and pev-ext.xsd may be opened, even by the schemas themselves.
TEST_F(codec_load_folder, SchemasCannotPullInOtherFiles) {
    write_file(dir_ / "extra.xsd",
               "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:ieee:std:2030.5:ns\"/>");
    std::string with_include = sep_;
    with_include.insert(with_include.find("<xs:simpleType"), "<xs:include schemaLocation=\"extra.xsd\"/>\n");
    write_file(dir_ / "sep.xsd", with_include);
    const std::uint64_t before = Codec::refused_external_loads();
    ::testing::internal::CaptureStderr();
    const auto result = Codec::load(dir_);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    EXPECT_GT(Codec::refused_external_loads(), before);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "codec.schema_load");
}

}  // namespace
}  // namespace sep
