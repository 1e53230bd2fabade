#include "mdm_pull/pull.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

namespace mdm_pull {

namespace {

using headend::make_error;
using headend::Result;
namespace fs = std::filesystem;

struct CurlDeleter {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// One request's handle with the listener's TLS and credentials set.
class Request {
public:
    Request(const Options& options, const std::string& path) : curl_(curl_easy_init()) {
        url_ = options.url + path;
        curl_easy_setopt(curl_.get(), CURLOPT_URL, url_.c_str());
        curl_easy_setopt(curl_.get(), CURLOPT_PROTOCOLS_STR, "https,http");
        curl_easy_setopt(curl_.get(), CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
        curl_easy_setopt(curl_.get(), CURLOPT_TIMEOUT, options.timeout_s);
        curl_easy_setopt(curl_.get(), CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl_.get(), CURLOPT_ERRORBUFFER, error_.data());
        if (!options.ca_file.empty())
            curl_easy_setopt(curl_.get(), CURLOPT_CAINFO, options.ca_file.c_str());
        if (!options.cert_file.empty()) {
            curl_easy_setopt(curl_.get(), CURLOPT_SSLCERT, options.cert_file.c_str());
            curl_easy_setopt(curl_.get(), CURLOPT_SSLKEY, options.key_file.c_str());
        }
        if (!options.token.empty()) {
            headers_.reset(curl_slist_append(nullptr, ("Authorization: Bearer " + options.token).c_str()));
            curl_easy_setopt(curl_.get(), CURLOPT_HTTPHEADER, headers_.get());
        }
    }

    // Runs it, handing the body to `sink`; the HTTP status, or an error naming the URL.
    Result<long> perform(const std::function<bool(const char*, std::size_t)>& sink) {
        sink_ = &sink;
        curl_easy_setopt(curl_.get(), CURLOPT_WRITEFUNCTION, &Request::write);
        curl_easy_setopt(curl_.get(), CURLOPT_WRITEDATA, this);
        const CURLcode code = curl_easy_perform(curl_.get());
        if (code != CURLE_OK)
            return make_error("pull.transport",
                              url_ + ": " + (error_[0] != 0 ? error_.data() : curl_easy_strerror(code)));
        long status = 0;
        curl_easy_getinfo(curl_.get(), CURLINFO_RESPONSE_CODE, &status);
        return status;
    }
    Result<std::pair<long, std::string>> perform_text() {
        std::string body;
        auto status = perform([&body](const char* data, std::size_t size) {
            body.append(data, size);
            return body.size() < (std::size_t{16} << 20);  // a listing, not a file: refuse anything huge
        });
        if (!status)
            return status.error();
        return std::pair{*status, std::move(body)};
    }
    CURL* handle() { return curl_.get(); }

private:
    static std::size_t write(char* data, std::size_t size, std::size_t count, void* self) {
        auto* request = static_cast<Request*>(self);
        return (*request->sink_)(data, size * count) ? size * count : 0;
    }

    std::unique_ptr<CURL, CurlDeleter> curl_;
    std::unique_ptr<curl_slist, CurlDeleter> headers_;
    std::string url_;
    std::array<char, CURL_ERROR_SIZE> error_{};
    const std::function<bool(const char*, std::size_t)>* sink_ = nullptr;
};

std::string sha256_of(const fs::path& path) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr);
    std::ifstream in(path, std::ios::binary);
    std::array<char, 1 << 16> chunk{};
    while (in) {
        in.read(chunk.data(), chunk.size());
        EVP_DigestUpdate(digest.get(), chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned length = 0;
    EVP_DigestFinal_ex(digest.get(), hash.data(), &length);
    std::string hex;
    for (unsigned i = 0; i < length; ++i) {
        std::array<char, 3> two{};
        std::snprintf(two.data(), two.size(), "%02x", hash[i]);
        hex += two.data();
    }
    return hex;
}

// Makes the finished download durable under its own name.
Result<void> keep(const fs::path& partial, const fs::path& final_path) {
    const int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        if (fd >= 0)
            ::close(fd);
        return make_error("pull.io", "syncing " + partial.string());
    }
    ::close(fd);
    std::error_code error;
    fs::rename(partial, final_path, error);
    if (error)
        return make_error("pull.io", "renaming " + partial.string() + ": " + error.message());
    const int folder = ::open(final_path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folder >= 0) {
        ::fsync(folder);
        ::close(folder);
    }
    return {};
}

// Downloads into `partial`, continuing after what it already holds (Range), then checks the whole file.
void fetch(const Options& options, const std::string& name, std::int64_t size, const std::string& sha256,
           FileOutcome& outcome) {
    const fs::path final_path = options.out / name;
    const fs::path partial = options.out / ("." + name + ".part");
    std::error_code error;
    std::int64_t have = fs::exists(partial) ? static_cast<std::int64_t>(fs::file_size(partial, error)) : 0;
    if (have > size) {  // not this file's beginning: start over
        fs::remove(partial, error);
        have = 0;
    }
    outcome.resumed_from = have;
    if (have < size) {
        std::ofstream out(partial, std::ios::binary | std::ios::app);
        Request request(options, "/mdm/v1/files/" + name);
        if (have > 0)
            curl_easy_setopt(request.handle(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
        auto status = request.perform([&out](const char* data, std::size_t bytes) {
            out.write(data, static_cast<std::streamsize>(bytes));
            return static_cast<bool>(out);
        });
        out.close();
        if (!status || (*status != 200 && *status != 206) || (have > 0 && *status != 206)) {
            outcome.status = "failed";
            outcome.error = !status ? status.error().message : "download answered " + std::to_string(*status);
            // A 200 to a ranged request would have appended the whole file after the partial one.
            if (status && *status == 200 && have > 0)
                fs::remove(partial, error);
            return;
        }
    }
    outcome.bytes = static_cast<std::int64_t>(fs::file_size(partial, error));
    outcome.sha256 = sha256_of(partial);
    if (outcome.bytes != size || outcome.sha256 != sha256) {
        outcome.status = "checksum_mismatch";
        outcome.error = "got " + std::to_string(outcome.bytes) + " bytes with SHA-256 " + outcome.sha256 +
                        ", the listing says " + std::to_string(size) + " bytes with " + sha256;
        fs::remove(partial, error);  // the next run downloads it whole
        return;
    }
    if (auto kept = keep(partial, final_path); !kept) {
        outcome.status = "failed";
        outcome.error = kept.error().message;
        return;
    }
    outcome.status = "fetched";
}

}  // namespace

bool Outcome::ok() const {
    return std::all_of(files.begin(), files.end(),
                       [](const FileOutcome& file) { return file.status == "fetched" || file.status == "kept"; });
}

Result<Outcome> pull(const Options& options, const std::function<void(const FileOutcome&)>& progress) {
    Request listing(options, "/mdm/v1/files?state=waiting");
    auto listed = listing.perform_text();
    if (!listed)
        return make_error("pull.list", listed.error().message);
    if (listed->first != 200)
        return make_error("pull.list", "the listing answered " + std::to_string(listed->first) + ": " + listed->second);
    const auto body = nlohmann::json::parse(listed->second, nullptr, false);
    if (!body.is_object() || !body.contains("files") || !body["files"].is_array())
        return make_error("pull.list", "the listing is not {\"files\": [...]}");
    std::error_code error;
    fs::create_directories(options.out, error);
    if (error)
        return make_error("pull.list", "creating " + options.out.string() + ": " + error.message());
    Outcome outcome;
    for (const auto& file : body["files"]) {
        FileOutcome one;
        one.name = file.value("name", "");
        const auto size = file.value("bytes", std::int64_t{-1});
        const auto sha256 = file.value("sha256", "");
        // Names come from the head-end; anything that could leave the folder is refused.
        if (one.name.empty() || one.name.find('/') != std::string::npos || one.name.front() == '.' || size < 0 ||
            sha256.size() != 64) {
            one.status = "failed";
            one.error = "the listing's entry is malformed: " + file.dump();
            outcome.files.push_back(one);
            continue;
        }
        const fs::path final_path = options.out / one.name;
        if (fs::exists(final_path) && static_cast<std::int64_t>(fs::file_size(final_path, error)) == size &&
            sha256_of(final_path) == sha256) {
            one.status = "kept";  // fetched before; the acknowledgement may not have gone through
            one.bytes = size;
            one.sha256 = sha256;
        } else {
            fetch(options, one.name, size, sha256, one);
        }
        if (options.acknowledge && (one.status == "fetched" || one.status == "kept")) {
            Request ack(options, "/mdm/v1/files/" + one.name + "/ack");
            curl_easy_setopt(ack.handle(), CURLOPT_POST, 1L);
            curl_easy_setopt(ack.handle(), CURLOPT_POSTFIELDS, "");
            auto answered = ack.perform_text();
            one.acknowledged = answered && answered->first == 200;
            if (!one.acknowledged) {
                one.status = "failed";
                one.error = "acknowledging: " + (answered ? std::to_string(answered->first) + " " + answered->second
                                                          : answered.error().message);
            }
        }
        if (progress)
            progress(one);
        outcome.files.push_back(std::move(one));
    }
    return outcome;
}

}  // namespace mdm_pull
