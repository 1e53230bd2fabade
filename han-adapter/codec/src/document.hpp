// The hardened path from untrusted bytes to a schema-valid libxml2 document.
#pragma once

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <memory>
#include <string_view>

#include "headend/plugin/result.hpp"
#include "sep/codec.hpp"

namespace sep::detail {

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

struct ExpectedRoot {
    std::string_view ns;
    std::string_view name;
};

// Size cap, DOCTYPE rejection, depth cap, well-formedness, root check (when expected is set), schema validation.
headend::Result<DocPtr> parse_and_validate(std::string_view xml, const CodecLimits& limits, xmlSchema* schema,
                                           const ExpectedRoot* expected);

}  // namespace sep::detail
