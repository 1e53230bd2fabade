#include "sep/plugin_codec.hpp"

#include <array>
#include <cassert>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "sep/encode.hpp"

namespace sep {
namespace {

using headend::plugin::SepDocument;

using DecodeFunction = headend::Result<SepDocument> (*)(const Codec&, std::string_view);

template <std::size_t I>
headend::Result<SepDocument> decode_alternative(const Codec& codec, std::string_view xml) {
    auto value = codec.decode<std::variant_alternative_t<I, SepDocument>>(xml);
    if (!value)
        return value.error();
    return SepDocument(std::in_place_index<I>, std::move(value).value());
}

template <std::size_t... I>
constexpr std::array<DecodeFunction, sizeof...(I)> make_decoders(std::index_sequence<I...>) {
    return {&decode_alternative<I>...};
}

// Indexed like SepDocument, so decode_as needs no switch to keep in step with the variant.
constexpr auto kDecoders = make_decoders(std::make_index_sequence<std::variant_size_v<SepDocument>>{});

class PluginCodec final : public headend::plugin::SepCodec {
public:
    explicit PluginCodec(std::shared_ptr<const Codec> codec) : codec_(std::move(codec)) {}

    std::string encode(const SepDocument& document) const override {
        return std::visit([](const auto& value) { return sep::encode(value); }, document);
    }

protected:
    headend::Result<SepDocument> decode_as(std::string_view xml, std::size_t index) const override {
        assert(index < kDecoders.size());  // only SepCodec::decode calls this, with an alternative's index
        return kDecoders[index](*codec_, xml);
    }

private:
    std::shared_ptr<const Codec> codec_;
};

}  // namespace

std::unique_ptr<headend::plugin::SepCodec> make_plugin_codec(std::shared_ptr<const Codec> codec) {
    return std::make_unique<PluginCodec>(std::move(codec));
}

}  // namespace sep
