#include "document.hpp"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <cstring>
#include <string>

namespace sep::detail {
namespace {

// NONET is belt and braces (the entity loader refuses everything anyway); no NOENT, DTDLOAD, DTDATTR, DTDVALID,
// XINCLUDE, HUGE or RECOVER, ever. NOCDATA folds CDATA into text so reading has one case.
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;

struct ParserFree {
    void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};
struct ValidatorFree {
    void operator()(xmlSchemaValidCtxt* ctxt) const { xmlSchemaFreeValidCtxt(ctxt); }
};

// Per-parse state, reached from the SAX callbacks through ctxt->_private.
struct ParseState {
    int depth = 0;
    int max_depth = 0;
    bool doctype = false;
    bool too_deep = false;
    std::string first_error;
};

std::string_view trim_trailing_space(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

// Keeps libxml2's first message (the later ones are mostly consequences), prefixed with where it happened.
void remember(std::string& first, const xmlError* error) noexcept {
    if (!first.empty() || error == nullptr)
        return;
    try {
        first = "line " + std::to_string(error->line);
        if (error->domain == XML_FROM_PARSER && error->int2 > 0)
            first += ", column " + std::to_string(error->int2);
        first += ": ";
        first += trim_trailing_space(error->message != nullptr ? error->message : "unknown error");
    } catch (...) {  // out of memory while formatting: keep whatever fits
    }
}

ParseState& state_of(void* ctx) {
    return *static_cast<ParseState*>(static_cast<xmlParserCtxtPtr>(ctx)->_private);
}

void refuse_dtd(void* ctx) {
    state_of(ctx).doctype = true;
    xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
}

void on_internal_subset(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) noexcept {
    refuse_dtd(ctx);
}

void on_entity_decl(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) noexcept {
    refuse_dtd(ctx);
}

void on_start_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri, int nb_namespaces,
                      const xmlChar** namespaces, int nb_attributes, int nb_defaulted,
                      const xmlChar** attributes) noexcept {
    ParseState& state = state_of(ctx);
    if (++state.depth > state.max_depth) {
        state.too_deep = true;
        xmlStopParser(static_cast<xmlParserCtxtPtr>(ctx));
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
                          attributes);
}

void on_end_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri) noexcept {
    --state_of(ctx).depth;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

void on_parse_error(void* ctx, xmlErrorPtr error) noexcept {
    remember(state_of(ctx).first_error, error);
}

void on_validation_error(void* ctx, xmlErrorPtr error) noexcept {
    remember(*static_cast<std::string*>(ctx), error);
}

std::string describe_root(const xmlNode* root) {
    std::string text = "<";
    text += reinterpret_cast<const char*>(root->name);
    text += ">";
    if (root->ns != nullptr && root->ns->href != nullptr) {
        text += " in namespace '";
        text += reinterpret_cast<const char*>(root->ns->href);
        text += "'";
    } else {
        text += " without a namespace";
    }
    return text;
}

bool has_root(const xmlNode* root, const ExpectedRoot& expected) {
    return root->ns != nullptr && root->ns->href != nullptr &&
           expected.ns == reinterpret_cast<const char*>(root->ns->href) &&
           expected.name == reinterpret_cast<const char*>(root->name);
}

headend::Error doctype_error() {
    return headend::make_error("xml.doctype",
                               "DOCTYPE declarations are not accepted: IEEE 2030.5 documents carry no DTD or entities");
}

}  // namespace

headend::Result<DocPtr> parse_and_validate(std::string_view xml, const CodecLimits& limits, xmlSchema* schema,
                                           const ExpectedRoot* expected) {
    if (xml.size() > limits.max_document_bytes || xml.size() > INT_MAX) {
        return headend::make_error("xml.too_large", "document is " + std::to_string(xml.size()) +
                                                        " bytes; the limit is " +
                                                        std::to_string(limits.max_document_bytes) + " bytes");
    }
    // Cheap pre-check for the usual encodings; the SAX hooks below catch any other spelling.
    if (xml.find("<!DOCTYPE") != std::string_view::npos)
        return doctype_error();
    if (xml.empty())
        return headend::make_error("xml.malformed", "document is empty");

    std::unique_ptr<xmlParserCtxt, ParserFree> ctxt(
        xmlCreateMemoryParserCtxt(xml.data(), static_cast<int>(xml.size())));
    if (ctxt == nullptr)
        return headend::make_error("xml.internal", "cannot create an XML parser");
    xmlCtxtUseOptions(ctxt.get(), kParseOptions);

    ParseState state;
    state.max_depth = limits.max_depth;
    ctxt->_private = &state;
    xmlSAXHandler* sax = ctxt->sax;
    sax->internalSubset = on_internal_subset;
    sax->entityDecl = on_entity_decl;
    sax->startElementNs = on_start_element;
    sax->endElementNs = on_end_element;
    sax->serror = on_parse_error;  // per parse, and keeps libxml2 from printing to stderr

    xmlParseDocument(ctxt.get());
    DocPtr doc(ctxt->myDoc);
    ctxt->myDoc = nullptr;

    if (state.doctype)
        return doctype_error();
    if (state.too_deep) {
        return headend::make_error("xml.too_deep",
                                   "elements are nested deeper than " + std::to_string(limits.max_depth) + " levels");
    }
    if (doc == nullptr || ctxt->wellFormed == 0 || ctxt->nsWellFormed == 0) {
        return headend::make_error(
            "xml.malformed",
            "not well-formed XML: " + (state.first_error.empty() ? std::string("no root element") : state.first_error));
    }
    if (doc->intSubset != nullptr || doc->extSubset != nullptr)
        return doctype_error();

    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr)
        return headend::make_error("xml.malformed", "not well-formed XML: no root element");
    if (expected != nullptr && !has_root(root, *expected)) {
        return headend::make_error("xml.unexpected_root", "expected <" + std::string(expected->name) +
                                                              "> in namespace '" + std::string(expected->ns) +
                                                              "', got " + describe_root(root));
    }

    std::unique_ptr<xmlSchemaValidCtxt, ValidatorFree> validator(xmlSchemaNewValidCtxt(schema));
    if (validator == nullptr)
        return headend::make_error("xml.internal", "cannot create a schema validator");
    std::string first_error;
    xmlSchemaSetValidStructuredErrors(validator.get(), on_validation_error, &first_error);
    const int rc = xmlSchemaValidateDoc(validator.get(), doc.get());
    if (rc != 0) {
        return headend::make_error(
            "xml.schema", "not valid against the IEEE 2030.5 (or PEV extension) schema: " +
                              (first_error.empty() ? std::string("validator failed (code ") + std::to_string(rc) + ")"
                                                   : first_error));
    }
    return doc;
}

}  // namespace sep::detail
