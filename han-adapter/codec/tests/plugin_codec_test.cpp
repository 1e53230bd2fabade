// The plugin API's SepCodec as the host hands it to plugins: the same bytes as sep::encode, decoding through the
// hardened codec for every document type.
#include "sep/plugin_codec.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "samples.hpp"
#include "sep/encode.hpp"

namespace sep {
namespace {

using headend::plugin::SepCodec;
using headend::plugin::SepDocument;

std::unique_ptr<SepCodec> plugin_codec() {
    auto loaded = Codec::load(HEADEND_SCHEMA_DIR);
    EXPECT_TRUE(loaded.ok());
    return make_plugin_codec(std::move(loaded).value());
}

// One full sample per SepDocument alternative, in the variant's order.
std::vector<SepDocument> every_document_type() {
    return {test::full_device_capability(),
            test::full_time(),
            test::full_end_device(),
            test::full_end_device_list(),
            test::full_registration(),
            test::full_device_information(),
            test::full_response(),
            test::full_error(),
            test::full_power_status(),
            test::full_pev_binding(),
            test::full_reading_type(),
            test::full_tariff_profile_list(),
            test::full_tariff_profile(),
            test::full_rate_component_list(),
            test::full_rate_component(),
            test::full_time_tariff_interval_list(),
            test::full_time_tariff_interval(),
            test::full_consumption_tariff_interval_list(),
            test::full_consumption_tariff_interval(),
            test::full_mirror_usage_point_list(),
            test::full_mirror_usage_point(),
            test::full_mirror_meter_reading_list(),
            test::full_mirror_meter_reading(),
            test::full_mirror_reading_set(),
            test::full_reading(),
            test::full_usage_point_list(),
            test::full_usage_point(),
            test::full_meter_reading_list(),
            test::full_meter_reading(),
            test::full_reading_set_list(),
            test::full_reading_set(),
            test::full_reading_list(),
            test::full_function_set_assignments_list(),
            test::full_function_set_assignments(),
            test::full_customer_account_list(),
            test::full_customer_account(),
            test::full_customer_agreement_list(),
            test::full_customer_agreement(),
            test::full_billing_period_list(),
            test::full_billing_period(),
            test::full_historical_reading_list(),
            test::full_historical_reading()};
}

TEST(plugin_codec, SamplesCoverEveryDocumentType) {
    const auto documents = every_document_type();
    ASSERT_EQ(documents.size(), std::variant_size_v<SepDocument>);
    for (std::size_t i = 0; i < documents.size(); ++i)
        EXPECT_EQ(documents[i].index(), i);
}

TEST(plugin_codec, EncodesExactlyLikeSepEncode) {
    const auto codec = plugin_codec();
    for (const auto& document : every_document_type()) {
        std::visit([&](const auto& value) { EXPECT_EQ(codec->encode(document), encode(value)); }, document);
    }
}

TEST(plugin_codec, DecodesEveryDocumentType) {
    const auto codec = plugin_codec();
    for (const auto& document : every_document_type()) {
        std::visit(
            [&](const auto& value) {
                using T = std::decay_t<decltype(value)>;
                const auto decoded = codec->decode<T>(codec->encode(document));
                ASSERT_TRUE(decoded.ok()) << decoded.error().code << ": " << decoded.error().message;
                EXPECT_TRUE(*decoded == value) << encode(value);
            },
            document);
    }
}

TEST(plugin_codec, WrongRootIsRejected) {
    const auto codec = plugin_codec();
    const auto result = codec->decode<TariffProfile>(encode(test::full_tariff_profile_list()));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "xml.unexpected_root");

    // Same element name in the wrong namespace.
    const auto binding =
        codec->decode<PEVBinding>("<PEVBinding xmlns=\"urn:ieee:std:2030.5:ns\"><status>active</status></PEVBinding>");
    ASSERT_FALSE(binding.ok());
    EXPECT_EQ(binding.error().code, "xml.unexpected_root");
}

TEST(plugin_codec, ReportsTheHardenedDecodersErrors) {
    const auto codec = plugin_codec();
    const auto result = codec->decode<Time>("<!DOCTYPE Time [<!ENTITY x \"y\">]><Time/>");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "xml.doctype");
}

}  // namespace
}  // namespace sep
