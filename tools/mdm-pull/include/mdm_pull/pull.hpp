// The MDM's side of the export: list the head-end's waiting files, download each (resuming a partial one), check its
// SHA-256, keep it under its name, acknowledge it. Run again after any failure, it picks up where it stopped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "headend/plugin/result.hpp"

namespace mdm_pull {

struct Options {
    std::string url;                  // the listener, e.g. https://headend.example:8443
    std::filesystem::path out;        // where files are kept
    std::filesystem::path ca_file;    // the head-end's CA; empty: the system's
    std::filesystem::path cert_file;  // the MDM's client certificate (mutual TLS), or
    std::filesystem::path key_file;   //   its key
    std::string token;                // a bearer token
    bool acknowledge = true;          // false: fetch and check only
    long timeout_s = 300;             // per request
};

struct FileOutcome {
    std::string name;
    std::string status;  // "fetched", "kept" (already here and intact), "checksum_mismatch", "failed"
    std::int64_t bytes = 0;
    std::int64_t resumed_from = 0;  // bytes of an earlier partial download that were kept
    std::string sha256;
    bool acknowledged = false;
    std::string error;
};

struct Outcome {
    std::vector<FileOutcome> files;
    bool ok() const;
};

// Errors: "pull.list" (the listing could not be had or read). Each file's trouble is in its outcome; `progress` is
// told of each file as it finishes.
headend::Result<Outcome> pull(const Options& options, const std::function<void(const FileOutcome&)>& progress = {});

}  // namespace mdm_pull
