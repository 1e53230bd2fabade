// The plugin API's SepCodec (headend/plugin/sep_codec.hpp) on top of this codec: plugins get sep::encode and the
// host's hardened, schema-validating decoder without seeing the XML library.
#pragma once

#include <memory>

#include "headend/plugin/sep_codec.hpp"
#include "sep/codec.hpp"

namespace sep {

// `codec` must not be null; the adapter shares it and is as thread-safe as Codec itself.
std::unique_ptr<headend::plugin::SepCodec> make_plugin_codec(std::shared_ptr<const Codec> codec);

}  // namespace sep
