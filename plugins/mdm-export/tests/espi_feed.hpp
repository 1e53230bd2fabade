// Reading ESPI feeds back in tests: libxml2 parsing, validation against schemas/espi.xsd, XPath over the feed and
// its IntervalReadings in document order.
#pragma once

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "mdm/espi.hpp"

namespace mdm::testing {

struct XmlFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
    void operator()(xmlXPathContext* context) const { xmlXPathFreeContext(context); }
    void operator()(xmlXPathObject* object) const { xmlXPathFreeObject(object); }
    void operator()(xmlSchema* schema) const { xmlSchemaFree(schema); }
    void operator()(xmlSchemaParserCtxt* context) const { xmlSchemaFreeParserCtxt(context); }
    void operator()(xmlSchemaValidCtxt* context) const { xmlSchemaFreeValidCtxt(context); }
    void operator()(xmlChar* chars) const { xmlFree(chars); }
};
template <typename T>
using XmlPtr = std::unique_ptr<T, XmlFree>;

inline const xmlChar* xml_chars(const char* text) {
    return reinterpret_cast<const xmlChar*>(text);
}

inline XmlPtr<xmlDoc> parse(const std::string& xml) {
    return XmlPtr<xmlDoc>(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "feed.xml", nullptr,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

inline void collect_error(void* errors, xmlError* error) {
    *static_cast<std::string*>(errors) += error->message != nullptr ? error->message : "?";
}

// The schema's complaints about `xml`; empty when it is valid.
inline std::string schema_errors(const std::string& xml) {
    static const XmlPtr<xmlSchema> schema = [] {
        XmlPtr<xmlSchemaParserCtxt> parser(xmlSchemaNewParserCtxt(HEADEND_SCHEMA_DIR "/espi.xsd"));
        return XmlPtr<xmlSchema>(xmlSchemaParse(parser.get()));
    }();
    if (!schema)
        return "schemas/espi.xsd does not load";
    const auto doc = parse(xml);
    if (!doc)
        return "not well-formed";
    std::string errors;
    XmlPtr<xmlSchemaValidCtxt> validator(xmlSchemaNewValidCtxt(schema.get()));
    xmlSchemaSetValidStructuredErrors(validator.get(), collect_error, &errors);
    if (xmlSchemaValidateDoc(validator.get(), doc.get()) != 0 && errors.empty())
        errors = "invalid";
    return errors;
}

// XPath over a parsed feed, prefixes a (Atom) and e (ESPI).
class Feed {
public:
    explicit Feed(const std::string& xml) : doc_(parse(xml)), xpath_(xmlXPathNewContext(doc_.get())) {
        xmlXPathRegisterNs(xpath_.get(), xml_chars("a"), xml_chars("http://www.w3.org/2005/Atom"));
        xmlXPathRegisterNs(xpath_.get(), xml_chars("e"), xml_chars("http://naesb.org/espi"));
    }

    std::vector<xmlNode*> nodes(const std::string& path, xmlNode* context = nullptr) const {
        XmlPtr<xmlXPathObject> found(xmlXPathNodeEval(context != nullptr ? context : xmlDocGetRootElement(doc_.get()),
                                                      xml_chars(path.c_str()), xpath_.get()));
        std::vector<xmlNode*> out;
        if (found && found->nodesetval != nullptr)
            out.assign(found->nodesetval->nodeTab, found->nodesetval->nodeTab + found->nodesetval->nodeNr);
        return out;
    }

    std::vector<std::string> texts(const std::string& path, xmlNode* context = nullptr) const {
        std::vector<std::string> out;
        for (auto* node : nodes(path, context)) {
            XmlPtr<xmlChar> content(xmlNodeGetContent(node));
            out.emplace_back(reinterpret_cast<const char*>(content.get()));
        }
        return out;
    }

    std::string text(const std::string& path, xmlNode* context = nullptr) const {
        const auto all = texts(path, context);
        return all.size() == 1 ? all.front() : "<" + std::to_string(all.size()) + " matches of " + path + ">";
    }

    std::int64_t number(const std::string& path, xmlNode* context = nullptr) const {
        return std::stoll(text(path, context));
    }

private:
    XmlPtr<xmlDoc> doc_;
    XmlPtr<xmlXPathContext> xpath_;
};

struct Reading {
    std::int64_t start = 0;
    std::int64_t duration = 0;
    std::int64_t value = 0;
    std::vector<int> qualities;
    bool operator==(const Reading&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const Reading& reading) {
    out << "{" << reading.start << "+" << reading.duration << " = " << reading.value << " q";
    for (const int quality : reading.qualities)
        out << " " << quality;
    return out << "}";
}

inline Reading reading(const EspiInterval& interval) {
    return {interval.start, interval.duration, interval.value_wh,
            std::vector<int>(interval.qualities.begin(), interval.qualities.end())};
}

inline std::vector<Reading> readings(const Feed& feed, xmlNode* block = nullptr) {
    std::vector<Reading> out;
    for (auto* node : feed.nodes(block != nullptr ? "e:IntervalReading" : "//e:IntervalReading", block)) {
        Reading read{feed.number("e:timePeriod/e:start", node),
                     feed.number("e:timePeriod/e:duration", node),
                     feed.number("e:value", node),
                     {}};
        for (const auto& quality : feed.texts("e:ReadingQuality/e:quality", node))
            read.qualities.push_back(std::stoi(quality));
        out.push_back(read);
    }
    return out;
}

}  // namespace mdm::testing
