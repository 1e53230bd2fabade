#include "admin/json_reply.hpp"
#include "routes.hpp"

namespace mdm {

namespace {

using admin_replies::error_reply;
using admin_replies::json_reply;
using headend::make_error;
using headend::http::Request;
using headend::http::Response;
using nlohmann::json;

// Storage and disk trouble is the server's (503: try again), anything else the request's.
int status_of(const headend::Error& error) {
    if (error.code == "mdm.not_found")
        return 404;
    if (error.code == "mdm.not_ready")
        return 409;
    if (error.code == "mdm.io" || error.code.starts_with("storage."))
        return 503;
    return 400;
}

json files_json(const std::vector<ExportFile>& files) {
    json list = json::array();
    for (const auto& file : files)
        list.push_back(file_json(file));
    return {{"files", std::move(list)}};
}

headend::Result<bool> waiting_only(const Request& request) {
    for (const auto& [key, value] : request.query)
        if (key != "state")
            return make_error("mdm.invalid", "unknown parameter '" + key + "' (state)");
    const auto state = request.query.find("state");
    if (state == request.query.end() || state->second == "all")
        return false;
    if (state->second == "waiting")
        return true;
    return make_error("mdm.invalid", "state is waiting or all, not '" + state->second + "'");
}

// The files, or those still waiting; `finished_only` for the MDM, which has no use for one still being written.
Response list_files(Exporter& exporter, const Request& request, bool finished_only) {
    auto waiting = waiting_only(request);
    if (!waiting)
        return error_reply(400, waiting.error());
    auto files = exporter.list(*waiting);
    if (!files)
        return error_reply(status_of(files.error()), files.error());
    if (finished_only)
        std::erase_if(*files, [](const ExportFile& file) { return file.state == FileState::Pending; });
    return json_reply(200, files_json(*files));
}

// {"format": "cmep"|"espi", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}: the territory's local days, both included.
Response resend(Exporter& exporter, const calendar::LocalDays& days, const Request& request) {
    const json body = json::parse(request.body, nullptr, false);
    if (!body.is_object())
        return error_reply(400, make_error("mdm.invalid", "the body is a JSON object {format, from, to}"));
    for (const auto& [key, value] : body.items())
        if (key != "format" && key != "from" && key != "to")
            return error_reply(400, make_error("mdm.invalid", "unknown field '" + key + "' (format, from, to)"));
    const auto text = [&](const char* key) {
        return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
    };
    const auto format = parse_format(text("format"));
    if (!format)
        return error_reply(400, make_error("mdm.invalid", "format is cmep or espi"));
    const auto from = calendar::LocalDays::parse(text("from"));
    const auto to = calendar::LocalDays::parse(text("to"));
    if (!from || !to)
        return error_reply(400, make_error("mdm.invalid", "from and to are local dates, YYYY-MM-DD"));
    if (*to < *from)
        return error_reply(400, make_error("mdm.invalid", "to comes before from"));
    auto file = exporter.resend(*format, days.bounds(*from).first, days.bounds(*to).second);
    if (!file)
        return error_reply(status_of(file.error()), file.error());
    return json_reply(201, {{"file", file_json(*file)}});
}

// A finished file, streamed from disk (resumable with Range); a missing or unfinished one is 404 as if unknown.
Response download(Exporter& exporter, const std::string& name) {
    auto file = exporter.find(name);
    if (!file)
        return error_reply(status_of(file.error()), file.error());
    if (!*file || (*file)->state == FileState::Pending)
        return error_reply(404, make_error("mdm.not_found", "no export file " + name));
    Response response;
    response.file = (exporter.folder() / (*file)->name).string();
    response.content_type = (*file)->format == Format::Cmep ? "text/csv" : "application/atom+xml";
    response.headers["ETag"] = "\"" + (*file)->sha256 + "\"";
    response.headers["Digest"] = "sha-256=" + (*file)->sha256;
    return response;
}

Response acknowledge(Exporter& exporter, const std::string& name) {
    auto file = exporter.acknowledge(name);
    if (!file)
        return error_reply(status_of(file.error()), file.error());
    return json_reply(200, {{"file", file_json(*file)}});
}

}  // namespace

void add_pull_routes(headend::http::RouteRegistry& routes, Exporter& exporter) {
    routes.add("GET", "/mdm/v1/files",
               [&exporter](const Request& request) { return list_files(exporter, request, true); });
    routes.add("GET", "/mdm/v1/files/{name}",
               [&exporter](const Request& request) { return download(exporter, request.params.at("name")); });
    routes.add("POST", "/mdm/v1/files/{name}/ack",
               [&exporter](const Request& request) { return acknowledge(exporter, request.params.at("name")); });
    routes.add("GET", "/mdm/v1/manifest", [&exporter](const Request&) {
        Response response;
        response.file = (exporter.folder() / "manifest.json").string();
        return response;
    });
}

void add_admin_routes(headend::http::RouteRegistry& routes, Exporter& exporter, const calendar::LocalDays& days) {
    routes.add("GET", "/api/v1/mdm/files",
               [&exporter](const Request& request) { return list_files(exporter, request, false); });
    routes.add("POST", "/api/v1/mdm/cycle", [&exporter](const Request&) {
        auto files = exporter.run_cycle();
        if (!files)
            return error_reply(status_of(files.error()), files.error());
        return json_reply(200, files_json(*files));
    });
    routes.add("POST", "/api/v1/mdm/resend",
               [&exporter, &days](const Request& request) { return resend(exporter, days, request); });
}

}  // namespace mdm
