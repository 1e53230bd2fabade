// Reading a schema-valid document into the plain structs. The schema has already fixed names, order and ranges;
// the reader still checks each step so a mismatched schema file fails cleanly instead of misreading.
#pragma once

#include <libxml/tree.h>

#include "document.hpp"
#include "headend/plugin/result.hpp"
#include "schema.hpp"
#include "sep/codec.hpp"

namespace sep::detail {

// Errors come back as xml.schema naming the line and element.
template <Decodable T>
headend::Result<T> read_document(const xmlNode* root);

}  // namespace sep::detail
