// The answers every plugin resource gives alike, and the two request checks they share.
#pragma once

#include <charconv>
#include <optional>
#include <string>

#include "headend/plugin/coap.hpp"

namespace coap_replies {

// 2.05 with a SEP document.
inline headend::coap::Response content(std::string xml) {
    return {headend::coap::Code::Content, std::move(xml), headend::coap::kContentFormatXml, "", std::nullopt};
}

// A code with no body; 4.03 this way is the same answer whether the target exists or not (DESIGN §4).
inline headend::coap::Response empty(headend::coap::Code code) {
    return {code, "", headend::coap::kContentFormatXml, "", std::nullopt};
}

// What a caller may not touch, alike whether it exists or not (DESIGN §4).
inline headend::coap::Response forbidden() {
    return empty(headend::coap::Code::Forbidden);
}

// A code with a reason for people as text/plain (Content-Format 0), and a Location-Path where one is given.
inline headend::coap::Response reason(headend::coap::Code code, std::string text = {}, std::string location = {}) {
    return {code, std::move(text), 0, std::move(location), std::nullopt};
}

// Devices write SEP XML (Content-Format 41); a request without the option is taken as XML, as the core does.
inline bool xml_body(const headend::coap::Request& request) {
    return !request.content_format || *request.content_format == headend::coap::kContentFormatXml;
}

// The positive decimal id in path segment `index` ("/edev/{n}": 1), read whole.
inline std::optional<std::int64_t> id_segment(const headend::coap::Request& request, std::size_t index) {
    if (request.segments.size() <= index)
        return std::nullopt;
    std::int64_t id = 0;
    const std::string& text = request.segments[index];
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (problem != std::errc() || end != text.data() + text.size() || id <= 0)
        return std::nullopt;
    return id;
}

}  // namespace coap_replies
