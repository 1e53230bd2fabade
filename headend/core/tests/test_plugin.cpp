// A minimal plugin for the host's tests: registers a CoAP resource and an HTTP route, reads its config, opens a
// listener with files under the data folder.
#include "headend/plugin/plugin.hpp"

namespace {

class TestPlugin final : public headend::plugin::Plugin {
public:
    headend::Result<void> start(headend::plugin::Context& context) override {
#ifdef TEST_PLUGIN_FAILS_TO_START
        (void)context;
        return headend::make_error("test.broken", "this plugin never starts");
#else
        const std::string greeting = context.config.string("greeting");
        context.resources.add("/hello", [greeting](const headend::coap::Request&, headend::coap::Responder respond) {
            respond(headend::coap::Response{headend::coap::Code::Content, greeting, 0, "", std::nullopt});
        });
        context.routes.add("GET", "/api/v1/hello", [greeting](const headend::http::Request&) {
            return headend::http::Response{200, "\"" + greeting + "\"", "application/json", {}, {}};
        });
        headend::http::ListenerOptions listener;
        listener.certificate_file = (context.data_dir / "listener.pem").string();
        listener.key_file = (context.data_dir / "listener.key").string();
        auto routes = context.listeners.open("test", listener);
        if (!routes)
            return routes.error();
        (*routes)->add("GET", "/export", [](const headend::http::Request&) {
            headend::http::Response response;
            response.file = "export.csv";
            return response;
        });
        context.metrics.add_collector([greeting] {
            return std::vector<headend::plugin::MetricFamily>{{"headend_test_greetings_total",
                                                               "greetings configured",
                                                               headend::plugin::MetricType::Counter,
                                                               {{{{"greeting", greeting}}, 1}}}};
        });
        context.logger.info("TEST_PLUGIN_STARTED", "started");
        return {};
#endif
    }
    void stop() override {}
};

std::vector<headend::storage::Migration> migrations() {
    return {{1, "greetings", "CREATE TABLE test_plugin_greetings(id INTEGER PRIMARY KEY, text TEXT NOT NULL)"}};
}

std::vector<headend::plugin::ConfigKey> config_keys() {
    return {{"greeting", std::string("hello"), "what /hello answers"}, {"repeat", std::int64_t{1}, "unused"}};
}

std::unique_ptr<headend::plugin::Plugin> create() {
    return std::make_unique<TestPlugin>();
}

const headend::plugin::Descriptor descriptor{
    headend::plugin::kApiVersion, "test", "1.0", &migrations, &config_keys, &create};

}  // namespace

extern "C" const headend::plugin::Descriptor* headend_plugin_entry_v1() {
    return &descriptor;
}
