#include "mdm_pull/pull.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
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

// Opens the partial download for appending, never through a symlink (the folder is the MDM's, but a link planted
// there must not redirect the write); its size so far in `have`. -1 when it cannot be opened.
int open_partial(const fs::path& partial, std::int64_t& have) {
    int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0 && errno == ELOOP && ::unlink(partial.c_str()) == 0)  // a link, not ours: gone, start afresh
        fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    have = size < 0 ? 0 : static_cast<std::int64_t>(size);
    return fd;
}

// One transfer into `fd` from byte `have`, refusing more than `size` in all. The HTTP status, or an error.
Result<long> transfer(const Options& options, const std::string& name, int fd, std::int64_t have, std::int64_t size) {
    Request request(options, "/mdm/v1/files/" + name);
    if (have > 0)
        curl_easy_setopt(request.handle(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
    std::int64_t received = have;
    return request.perform([&](const char* data, std::size_t bytes) {
        received += static_cast<std::int64_t>(bytes);
        if (received > size)
            return false;  // more than the listing said: not this file
        while (bytes > 0) {
            const ssize_t written = ::write(fd, data, bytes);
            if (written <= 0)
                return false;
            data += written;
            bytes -= static_cast<std::size_t>(written);
        }
        return true;
    });
}

// Downloads into `partial`, continuing after what it already holds (Range), then checks the whole file.
void fetch(const Options& options, const std::string& name, std::int64_t size, const std::string& sha256,
           FileOutcome& outcome) {
    const fs::path final_path = options.out / name;
    const fs::path partial = options.out / ("." + name + ".part");
    std::error_code error;
    std::int64_t have = 0;
    int fd = open_partial(partial, have);
    if (fd >= 0 && have > size) {  // not this file's beginning: start over
        ::close(fd);
        fs::remove(partial, error);
        fd = open_partial(partial, have);
    }
    if (fd < 0) {
        outcome.status = "failed";
        outcome.error = "cannot write " + partial.string() + ": " + std::strerror(errno);
        return;
    }
    outcome.resumed_from = have;
    if (have < size) {
        auto status = transfer(options, name, fd, have, size);
        // A server that cannot resume: start over from the first byte, in this same run.
        if (have > 0 && (!status || *status == 200)) {
            ::ftruncate(fd, 0);
            outcome.resumed_from = 0;
            status = transfer(options, name, fd, 0, size);
        }
        if (!status || (*status != 200 && *status != 206)) {
            ::close(fd);
            outcome.status = "failed";
            outcome.error = !status ? status.error().message : "download answered " + std::to_string(*status);
            return;
        }
    }
    ::close(fd);
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

// A name the head-end would give a file: letters, digits, '-', '_' and '.', not starting with '.'.
bool plain_name(const std::string& name) {
    return !name.empty() && name.size() <= 255 && name.front() != '.' &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
           });
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
        // Names come from the head-end; anything that could leave the folder, or is not what a listing holds, is
        // refused and reported.
        const bool typed = file.is_object() && file.contains("name") && file["name"].is_string() &&
                           file.contains("bytes") && file["bytes"].is_number_integer() && file.contains("sha256") &&
                           file["sha256"].is_string();
        one.name = typed ? file["name"].get<std::string>() : std::string();
        const std::int64_t size = typed ? file["bytes"].get<std::int64_t>() : -1;
        const std::string sha256 = typed ? file["sha256"].get<std::string>() : std::string();
        if (!typed || !plain_name(one.name) || size < 0 || sha256.size() != 64 ||
            sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
            one.status = "failed";
            one.error = "the listing's entry is malformed: " +
                        file.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            if (progress)
                progress(one);
            outcome.files.push_back(one);
            continue;
        }
        const fs::path final_path = options.out / one.name;
        if (fs::exists(final_path)) {
            const auto have = static_cast<std::int64_t>(fs::file_size(final_path, error));
            const std::string have_sha256 = sha256_of(final_path);
            if (have == size && have_sha256 == sha256) {
                one.status = "kept";  // fetched before; the acknowledgement may not have gone through
                one.bytes = size;
                one.sha256 = sha256;
            } else {
                // Another file of the same name was received before (a head-end whose numbering started over, say):
                // it may not have been processed yet, so it is never replaced, and this one is not acknowledged.
                one.status = "failed";
                one.error = "a different " + one.name + " (" + std::to_string(have) + " bytes, SHA-256 " + have_sha256 +
                            ") is already in " + options.out.string() + "; not replaced";
            }
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
